# What the deploy pipeline may do: run the two script documents on production web
# instances in two regions, read results, cancel, stage files for ssm_file, and open
# (and end) its own Session Manager sessions on the same instances: shells, and the
# tunnels of ssm_port_forward.
data "ssm_operator_policy_document" "deployer" {
  regions       = ["eu-west-1", "eu-central-1"]
  instance_tags = { Role = "web", Env = "prod" }

  sessions          = true
  session_documents = ["SSM-SessionManagerRunShell", "AWS-StartPortForwardingSession"]
  session_owner     = "$${aws:username}"

  staging_bucket_name = "example-ssm-staging"
  staging_key_prefix  = "ssm-file/"
}

# Attach it with the AWS provider, for example:
#   resource "aws_iam_policy" "deployer" {
#     name   = "ssm-deployer"
#     policy = data.ssm_operator_policy_document.deployer.json
#   }
output "deployer_policy" {
  value = data.ssm_operator_policy_document.deployer.json
}
