# Turn on Default Host Management for the provider's account and region: agents on
# instances without an instance profile register with this role.
resource "ssm_default_host_management" "this" {}

# Instances launched without an instance profile (IMDSv2, SSM Agent 3.2.582.0+)
# come Online through it.
data "ssm_agent_online" "fleet" {
  tags       = { Fleet = "web" }
  min_count  = 3
  depends_on = [ssm_default_host_management.this]
}

# Or point the setting at an existing role, which is kept on destroy. Without
# role_path, a new role goes under /service-role/ (as in AWS's documented setup)
# and an existing one is used at the path it has.
# resource "ssm_default_host_management" "this" {
#   role_name   = "MyDefaultHostRole"
#   role_path   = "/service-role/"
#   create_role = false
# }
