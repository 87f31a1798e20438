# In a .tfquery.hcl file: the instance profile associations of the web fleet.
# `terraform query -generate-config-out=generated.tf` writes an import block
# (by identity) and an ssm_instance_profile_association resource for each.
list "ssm_instance_profile_association" "web" {
  provider = ssm

  config {
    tags = {
      Role = "web"
    }
  }
}

# Only the instances that have a given profile, with the attributes the
# import would give (include_resource).
list "ssm_instance_profile_association" "legacy_profile" {
  provider         = ssm
  include_resource = true

  config {
    instance_profile = "legacy-ec2-profile"
  }
}
