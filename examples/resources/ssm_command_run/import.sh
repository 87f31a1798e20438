# A past run can be imported by its command id (Run Command keeps 30 days of history).
terraform import ssm_command_run.bootstrap 0b2d5f3c-1a2b-4c3d-9e8f-0123456789ab
