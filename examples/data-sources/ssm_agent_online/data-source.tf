# A gate in front of something this provider does not run: wait until the
# agents of two instances are Online. Terraform reads data sources on every plan
# and destroy, so this waits (and fails when an agent is offline) every time;
# to run commands, use ssm_command_run's agent_wait_timeout instead.
data "ssm_agent_online" "web" {
  instance_ids = ["i-0123456789abcdef0", "i-0fedcba9876543210"]
  timeout      = "5m"
}

# Or: at least 3 instances of a tagged fleet.
data "ssm_agent_online" "workers" {
  tags = {
    Environment = "staging"
    Role        = "worker"
  }
  min_count = 3
}

output "online_workers" {
  value = data.ssm_agent_online.workers.online_instance_ids
}
