# A gate in front of something this provider does not run: wait until the
# agents of two instances are Online. Terraform reads data sources on every plan
# and destroy; depends_on on the resources that give the instances their
# identity defers the read to the apply whenever one of them has a change (for
# example a repair after a policy was detached outside Terraform), so such a
# plan does not wait, and the apply repairs first, then waits. To run commands,
# use ssm_command_run's agent_wait_timeout instead.
variable "instance_ids" {
  type    = list(string)
  default = ["i-0123456789abcdef0", "i-0fedcba9876543210"]
}

resource "ssm_instance_role" "web" {
  name_prefix = "web-ssm-"
}

resource "ssm_instance_profile" "web" {
  name_prefix = "web-ssm-"
  role        = ssm_instance_role.web.name
}

resource "ssm_instance_profile_association" "web" {
  for_each         = toset(var.instance_ids)
  instance_id      = each.value
  instance_profile = ssm_instance_profile.web.name
}

data "ssm_agent_online" "web" {
  instance_ids = var.instance_ids
  timeout      = "5m"
  depends_on = [
    ssm_instance_role.web,
    ssm_instance_profile.web,
    ssm_instance_profile_association.web,
  ]
}

# A gate that must never block a plan or a destroy: stopped or terminated
# instances are not waited for; the others are waited for up to the timeout;
# whatever is not online is reported in a warning (and in not_online).
data "ssm_agent_online" "workers" {
  tags = {
    Environment = "staging"
    Role        = "worker"
  }
  min_count      = 3
  on_unreachable = "warn"
}

output "online_workers" {
  value = data.ssm_agent_online.workers.online_instance_ids
}

output "workers_not_online" {
  value = data.ssm_agent_online.workers.not_online
}
