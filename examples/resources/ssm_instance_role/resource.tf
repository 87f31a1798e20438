# The usual instance role: AmazonSSMManagedInstanceCore.
resource "ssm_instance_role" "web" {
  name = "web-ssm"
  tags = { Team = "platform" }
}

# Least privilege: only what the agent needs (including
# ssm:UpdateInstanceInformation, without which it never registers), plus
# Run Command output to S3 and CloudWatch Logs.
resource "ssm_instance_role" "locked_down" {
  name_prefix               = "ssm-minimal-"
  path                      = "/ssm/"
  policy                    = "minimal"
  output_bucket_arns        = ["arn:aws:s3:::my-ssm-output"]
  cloudwatch_log_group_arns = ["arn:aws:logs:us-east-1:123456789012:log-group:/ssm/run-command"]
  kms_key_arn               = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  additional_policy_arns    = ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]
}
