resource "ssm_instance_role" "web" {
  name = "web-ssm"
}

# Ready for EC2 when created: use it in aws_instance.iam_instance_profile or
# ssm_instance_profile_association.
resource "ssm_instance_profile" "web" {
  name = "web-ssm"
  role = ssm_instance_role.web.name
}
