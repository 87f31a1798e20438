# Give instances an identity, then bootstrap them once their agents are online.
# The run waits for the agents itself (agent_wait_timeout) when it is created;
# later plans never wait for them, and neither a run nor a destroy ever waits
# for a stopped or terminated instance. Adding an instance later runs the
# commands on that instance only.
resource "ssm_instance_role" "web" {
  name_prefix = "web-"
  policy      = "managed"
}

resource "ssm_instance_profile" "web" {
  name_prefix = "web-"
  role        = ssm_instance_role.web.name
}

resource "ssm_instance_profile_association" "web" {
  for_each         = toset(["i-0123456789abcdef0", "i-0fedcba9876543210"])
  instance_id      = each.value
  instance_profile = ssm_instance_profile.web.name
}

resource "ssm_command_run" "bootstrap" {
  instance_ids       = [for a in ssm_instance_profile_association.web : a.instance_id]
  agent_wait_timeout = "10m"
  commands = [
    "dnf install -y nginx",
    "systemctl enable --now nginx",
  ]
  execution_timeout = "10m"
}

# A script delivered byte-exact, on every instance tagged Role=web, ten at a time,
# re-run whenever the script changes; full output kept in S3. Up to 10% of the
# fleet may be down (stopped, agent offline): the run goes to the others, the
# apply warns naming the rest, and the next apply runs on those once they are
# back (pending_instance_ids). Terminated instances are simply left out.
resource "ssm_command_run" "deploy" {
  targets {
    key    = "tag:Role"
    values = ["web"]
  }
  script                = file("${path.module}/deploy.sh")
  interpreter           = "bash"
  max_concurrency       = "10"
  max_errors            = "1"
  max_unreachable       = "10%"
  output_s3_bucket_name = "my-ssm-output"
  triggers_replace      = filesha256("${path.module}/deploy.sh")

  # At destroy the same rule applies; allow_failure also skips every instance
  # that cannot receive the commands (with a warning naming them).
  destroy {
    commands      = ["systemctl stop myapp"]
    allow_failure = true
  }

  timeouts {
    create = "30m"
  }
}

output "bootstrap_output" {
  value = { for id, inv in ssm_command_run.bootstrap.invocations : id => inv.stdout }
}
