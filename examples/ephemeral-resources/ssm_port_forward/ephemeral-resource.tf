# A tunnel to a private database endpoint through an instance in its VPC, open
# for the length of the plan or apply. Nothing of it is stored in state.
ephemeral "ssm_port_forward" "db" {
  instance_tags      = { Role = "relay" }
  remote_host        = "orders.cluster-abc123.eu-west-1.rds.amazonaws.com"
  remote_port        = 5432
  agent_wait_timeout = "5m"
}

# A tunnel to a port on the instance itself, on a fixed local port.
ephemeral "ssm_port_forward" "admin" {
  instance_id = "i-0123456789abcdef0"
  remote_port = 8080
  local_port  = 18080
}
