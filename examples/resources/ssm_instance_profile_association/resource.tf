resource "ssm_instance_role" "web" {
  name = "web-ssm"
}

resource "ssm_instance_profile" "web" {
  name = "web-ssm"
  role = ssm_instance_role.web.name
}

# Give an existing instance the profile, replacing any profile it has; destroy
# puts the replaced profile back (restore_on_destroy, the default), so
# applications using the old role get it again.
resource "ssm_instance_profile_association" "web" {
  instance_id      = "i-0123456789abcdef0"
  instance_profile = ssm_instance_profile.web.name
}

# Gate other providers' resources on the agent; depends_on on the identity
# resources defers the read to the apply whenever one of them changes.
data "ssm_agent_online" "web" {
  instance_ids = [ssm_instance_profile_association.web.instance_id]
  timeout      = "10m"
  depends_on   = [ssm_instance_role.web, ssm_instance_profile.web]
}
