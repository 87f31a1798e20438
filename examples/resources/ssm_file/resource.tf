# A configuration file, inline in the command (small payloads need no bucket).
# Changing the content copies it again in place; the previous file stays until
# the new one has arrived whole and its sha256 matched.
resource "ssm_file" "app_conf" {
  instance_ids = ["i-0123456789abcdef0", "i-0fedcba9876543210"]
  destination  = "/etc/myapp/app.conf"
  content = templatefile("${path.module}/app.conf.tftpl", {
    port = 8080
  })
  # /etc/myapp is created 0755 if missing, so the myapp group can reach the file.
  mode  = "0640"
  owner = "root"
  group = "myapp"

  # Check the file on every refresh (one command for all instances) and copy it
  # again when someone edited or removed it.
  verify_on_read = true
}

# A binary from disk, to every instance tagged Role=web: above 16 KiB it is
# uploaded once to the staging bucket and each instance downloads it through a
# presigned URL that expires within minutes; the object is deleted afterwards.
# A rebuilt binary (new sha256) is copied again on the next apply.
variable "agent_binary" {
  type        = string
  description = "Path of the built agent binary, such as dist/myagent."
}

resource "ssm_file" "agent_binary" {
  targets {
    key    = "tag:Role"
    values = ["web"]
  }
  source             = var.agent_binary
  destination        = "/usr/local/bin/myagent"
  mode               = "0755"
  staging_bucket     = "my-deploy-staging"
  staging_key_prefix = "ssm-file/"
  agent_wait_timeout = "10m"

  # Up to 10% of the tagged instances may be stopped or offline: they are
  # skipped with a warning, recorded in pending_instances, and the next apply
  # copies to them once they are back. Terminated ones are always left out.
  max_unreachable = "10%"
}

# A secret that the provider never stores in the plan or the state (Terraform
# 1.11 or later), and never sends inside the command: it is always staged in
# the bucket (required) and the object is deleted after the copy.
# content_wo_version tells Terraform when to copy it again.
# Add `ephemeral = true` to the variable (or use an ephemeral resource) so that
# Terraform does not keep the value in a saved plan file either.
variable "db_password" {
  type      = string
  sensitive = true
}

resource "ssm_file" "db_password" {
  instance_ids       = ["i-0123456789abcdef0"]
  destination        = "/etc/myapp/db-password"
  content_wo         = var.db_password
  content_wo_version = 3
  staging_bucket     = "my-deploy-staging"
  mode               = "0400"
  owner              = "myapp"
}
