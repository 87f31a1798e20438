resource "ssm_instance_role" "web" {
  name = "web-ssm"
}

resource "ssm_instance_profile" "web" {
  name = "web-ssm"
  role = ssm_instance_role.web.name
}

# Give an existing instance the profile (replacing any profile it has), then
# wait until its agent is Online before running commands on it.
resource "ssm_instance_profile_association" "web" {
  instance_id      = "i-0123456789abcdef0"
  instance_profile = ssm_instance_profile.web.name
}

data "ssm_agent_online" "web" {
  instance_ids = [ssm_instance_profile_association.web.instance_id]
  timeout      = "10m"
}
