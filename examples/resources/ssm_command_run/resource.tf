# Run commands on two instances and keep each one's output.
resource "ssm_command_run" "bootstrap" {
  instance_ids = ["i-0123456789abcdef0", "i-0fedcba9876543210"]
  commands = [
    "dnf install -y nginx",
    "systemctl enable --now nginx",
  ]
  execution_timeout = "10m"
}

# A script delivered byte-exact, on every instance tagged Role=web, ten at a time,
# re-run whenever the script changes; full output kept in S3.
resource "ssm_command_run" "deploy" {
  targets {
    key    = "tag:Role"
    values = ["web"]
  }
  script                = file("${path.module}/deploy.sh")
  interpreter           = "bash"
  max_concurrency       = "10"
  max_errors            = "1"
  output_s3_bucket_name = "my-ssm-output"
  triggers_replace      = filesha256("${path.module}/deploy.sh")

  destroy {
    commands = ["systemctl stop myapp"]
  }

  timeouts {
    create = "30m"
  }
}

output "bootstrap_output" {
  value = { for id, inv in ssm_command_run.bootstrap.invocations : id => inv.stdout }
}
