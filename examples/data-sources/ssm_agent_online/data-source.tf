# Wait until the agents of two instances are Online (for example after giving
# them an instance profile), then use them as command targets.
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
