#!/usr/bin/env bash
# make testacc-aws: the provider's acceptance tests against a real AWS account
# (or the endpoint AWS_ENDPOINT_URL names), on instances the lane launches, then
# the fidelity group, then the sweep (internal/awsacc, build tag awsacc).
# Opt-in: it refuses at once, creating nothing, without SSM_ACC_AWS=1,
# credentials and a region in the environment (with --check it stops after
# those checks).
set -euo pipefail
cd "$(dirname "$0")/.."

refuse() {
	cat >&2 <<MSG
testacc-aws: refusing to start: $1

A run creates, in the account and region of the credentials (all tagged ssm-acc-run=<run id>):
  - an IAM role and instance profile (path /ssm-acc/) for the SSM agent;
  - 1 (at most 2, SSM_ACC_AWS_INSTANCES) t3.nano instance(s) of the newest Amazon Linux 2023 AMI
    (t4g.nano with SSM_ACC_AWS_ARCH=arm64), no key pair, in the default VPC; each terminates
    itself 30 minutes after boot even if the run is killed;
  - one S3 bucket, and the roles, profiles, commands and files the tests create.
It deletes everything at its end; 'make sweep-aws' deletes what a killed run left.
Cost: at most about \$0.01 per run (2 x t3.nano for 30 minutes plus their volumes).

Run it as: SSM_ACC_AWS=1 AWS_PROFILE=<profile> AWS_REGION=<region> make testacc-aws
MSG
	exit 2
}

[ "${SSM_ACC_AWS:-}" = 1 ] || refuse "SSM_ACC_AWS=1 is not set (the confirmation that this run may create and pay for resources)"
if [ -z "${AWS_PROFILE:-}" ] && { [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; }; then
	refuse "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
fi
[ -n "${AWS_REGION:-${AWS_DEFAULT_REGION:-}}" ] || refuse "no region: set AWS_REGION"
export AWS_REGION=${AWS_REGION:-$AWS_DEFAULT_REGION}
# --check: only the checks above (make runs them before building anything).
[ "${1:-}" = --check ] && exit 0

# The lane's own TestMain checks the same again (and the instance cap), prints
# the plan, launches the fixture, runs the tests and sweeps; -timeout is above
# its 30-minute wall-time cap so that the sweep always gets to run.
TF_ACC=1 exec ${GO:-go} test -tags awsacc -count=1 -p 1 -timeout 45m -v \
	-run "${SSM_ACC_TESTS:-^(TestLane_.*|TestFidelity)\$}" ./internal/awsacc/
