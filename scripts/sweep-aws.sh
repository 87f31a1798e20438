#!/usr/bin/env bash
# make sweep-aws: deletes, by tag, what runs of the AWS acceptance lane left
# (every run, or SSM_ACC_RUN_ID's). Same confirmation as make testacc-aws.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ${GO:-go} run ./internal/awsacc/cmd/awsacc-sweep "$@"
