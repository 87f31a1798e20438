# The SSH -> SSM migration guide's end-to-end test ("aws-ec2-test.sh") as
# Terraform: give instances an SSM identity, run the system-information
# commands once their agents are online, and show each instance's output.
#
# `make demo` runs it against the bundled emulator. Against AWS, set
# instance_ids (and drop the endpoint variable).

terraform {
  required_providers {
    ssm = { source = "terraform-ssm/ssm" }
  }
}

variable "instance_ids" {
  description = "EC2 instances to manage through SSM."
  type        = list(string)
}

variable "endpoint" {
  description = "Base URL of an AWS-compatible endpoint (the bundled emulator), or null for AWS."
  type        = string
  default     = null
}

provider "ssm" {
  endpoints {
    ec2  = var.endpoint
    iam  = var.endpoint
    logs = var.endpoint
    s3   = var.endpoint
    ssm  = var.endpoint
    sts  = var.endpoint
  }
}

# Step 1: an identity the SSM agent can use.
resource "ssm_instance_role" "demo" {
  name_prefix = "ssm-demo-"
  policy      = "managed" # AmazonSSMManagedInstanceCore
}

resource "ssm_instance_profile" "demo" {
  name_prefix = "ssm-demo-"
  role        = ssm_instance_role.demo.name
}

resource "ssm_instance_profile_association" "demo" {
  for_each         = toset(var.instance_ids)
  instance_id      = each.value
  instance_profile = ssm_instance_profile.demo.name
}

# Step 2: run the guide's system-information test on every instance at once.
# The run itself waits for the agents (agent_wait_timeout) when it is created,
# so there is no data-source gate: later plans never wait for agents, no run or
# destroy waits for a stopped or terminated instance, and the command never
# re-runs because an agent went offline.
resource "ssm_command_run" "system_info" {
  instance_ids       = [for a in ssm_instance_profile_association.demo : a.instance_id]
  agent_wait_timeout = "5m"
  comment            = "migration guide system info test"
  commands = [
    "echo \"== $AWS_SSM_INSTANCE_ID ($(hostname))\"",
    "uname -srm",
    "uptime",
    "df -h / | tail -n 1",
    "id -un",
  ]
  execution_timeout = "2m"
}

output "command_id" {
  value = ssm_command_run.system_info.id
}

output "system_info" {
  description = "Each instance's status, exit code and output."
  value = {
    for id, inv in ssm_command_run.system_info.invocations :
    id => "${inv.status} (exit ${inv.response_code})\n${inv.stdout}"
  }
}
