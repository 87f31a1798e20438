#!/usr/bin/env bash
# Example deploy script for the ssm_command_run example: delivered byte-exact.
set -euo pipefail
systemctl restart myapp
echo "deployed on $(hostname)"
