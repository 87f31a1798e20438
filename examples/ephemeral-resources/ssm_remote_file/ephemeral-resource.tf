# The join token a k3s server generated, fetched during each plan and apply and
# copied to the agents as a write-only attribute: the token is in neither the
# plan nor the state, and never in a command's parameters or output. The server
# uploads it to the staging bucket with a presigned PUT URL (it needs no S3
# permission); the provider reads the object and deletes it at once.
ephemeral "ssm_remote_file" "join_token" {
  instance_id        = "i-0123456789abcdef0"
  path               = "/var/lib/rancher/k3s/server/node-token"
  staging_bucket     = "my-ssm-staging-bucket"
  agent_wait_timeout = "5m"
}

resource "ssm_file" "join_token" {
  instance_ids       = ["i-0fedcba9876543210", "i-0aaaabbbbccccdddd"]
  destination        = "/etc/rancher/k3s/node-token"
  mode               = "0600"
  content_wo         = ephemeral.ssm_remote_file.join_token.content
  content_wo_version = 1 # bump it when the server's token is rotated
  staging_bucket     = "my-ssm-staging-bucket"
}
