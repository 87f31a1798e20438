# On demand: restart the service on every instance tagged Role=web.
#   terraform apply -invoke=action.ssm_command.restart
# Terraform plans and runs only this action; nothing is stored in state.
action "ssm_command" "restart" {
  config {
    commands        = ["systemctl restart myapp", "systemctl is-active myapp"]
    max_concurrency = "25%"
    max_errors      = "1"
    targets {
      key    = "tag:Role"
      values = ["web"]
    }
  }
}

# After a change: reload the service whenever its configuration file is
# updated by an apply (not when the file is first created, and not on an
# apply that changes nothing).
action "ssm_command" "reload" {
  config {
    instance_ids = ["i-0123456789abcdef0", "i-0fedcba9876543210"]
    commands     = ["systemctl reload myapp"]
    # Run on the instances that can receive it; one offline agent warns.
    max_unreachable = "1"
    timeouts {
      invoke = "5m"
    }
  }
}

resource "ssm_file" "app_conf" {
  instance_ids = ["i-0123456789abcdef0", "i-0fedcba9876543210"]
  destination  = "/etc/myapp/app.conf"
  content = templatefile("${path.module}/app.conf.tftpl", {
    port = 8080
  })

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.ssm_command.reload]
    }
  }
}
