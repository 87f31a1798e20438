# Session Manager preferences for this account and region: every session is logged
# to S3 and streamed to CloudWatch Logs, encrypted, and ends after 20 idle minutes or
# 8 hours at most.
resource "ssm_session_preferences" "this" {
  s3_bucket_name            = "example-session-logs"
  s3_key_prefix             = "sessions/"
  cloudwatch_log_group_name = "/ssm/sessions"
  kms_key_id                = "alias/session-manager"

  idle_session_timeout = 20
  max_session_duration = 480

  run_as_enabled      = true
  run_as_default_user = "deploy"

  shell_profile = {
    linux = "exec bash -l"
  }
}
