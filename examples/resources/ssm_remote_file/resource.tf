# Generate a report on an instance, then bring it back: fetched once, kept in
# the state, shown as an output. Later plans make no AWS call and need no
# agent; the file is fetched again only when the command runs again (its id is
# the trigger).
resource "ssm_command_run" "inventory" {
  instance_ids = ["i-0123456789abcdef0"]
  commands = [
    "mkdir -p /var/lib/inventory",
    "rpm -qa --qf '%%{NAME} %%{VERSION}\\n' | sort > /var/lib/inventory/packages.txt",
  ]
  triggers_replace = "2026-week-49"
}

resource "ssm_remote_file" "packages" {
  instance_id      = "i-0123456789abcdef0"
  path             = "/var/lib/inventory/packages.txt"
  triggers_replace = ssm_command_run.inventory.id
}

output "installed_packages" {
  value = split("\n", trimspace(ssm_remote_file.packages.content))
}

# A binary file (or anything above 16 KiB) comes back through a staging bucket:
# the instance uploads it with a presigned PUT URL (it needs no S3 permission),
# the provider reads and deletes the object.
resource "ssm_remote_file" "core_dump" {
  instance_id    = "i-0123456789abcdef0"
  path           = "/var/crash/app.core.gz"
  encoding       = "base64"
  max_size       = 64 * 1024 * 1024
  staging_bucket = "my-ssm-staging-bucket"
}

output "core_dump_sha256" {
  value = ssm_remote_file.core_dump.sha256
}
