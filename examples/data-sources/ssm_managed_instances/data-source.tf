# The fleet as it is: every managed node carrying the tags, with its agent's
# ping status, version and platform. Read once at every plan; never waits.
data "ssm_managed_instances" "web" {
  tags = {
    Role = "web"
  }
}

# What to check before and after a migration: nodes whose agent is not
# connected, and nodes whose agent is not the latest version.
output "web_not_online" {
  value = [for id, i in data.ssm_managed_instances.web.instances : id if i.ping_status != "Online"]
}

output "web_outdated_agents" {
  value = { for id, i in data.ssm_managed_instances.web.instances : id => i.agent_version if !i.is_latest_version }
}

# One resource per online Linux node: the instances map is usable as for_each
# directly (keys are instance ids). SSM cannot combine tag filters with other
# filter types, so here ping_statuses and platform_types are applied by the
# provider to the nodes carrying the tags.
data "ssm_managed_instances" "web_online_linux" {
  tags           = { Role = "web" }
  ping_statuses  = ["Online"]
  platform_types = ["Linux"]
}

resource "ssm_command_run" "inventory" {
  for_each     = data.ssm_managed_instances.web_online_linux.instances
  instance_ids = [each.key]
  commands     = ["echo ${each.value.platform_name} ${each.value.platform_version} on $(hostname)"]
}
