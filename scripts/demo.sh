#!/usr/bin/env bash
# make demo: the whole SSH -> SSM workflow on the bundled emulator, no AWS account.
# Builds the provider, starts the emulator with three fresh instances (agent
# installed, no instance profile), applies examples/demo (role, profile,
# association, wait for agents, run the system-info commands), prints the
# outputs and destroys everything.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
terraform=${TERRAFORM:-$(ls "$root"/bin/terraform-* 2>/dev/null | sort -V | tail -n 1)}
work=$(mktemp -d)
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> building the provider and the emulator"
go build -o "$work/plugins/terraform-provider-ssm" .
go build -o "$work/awsemu" ./internal/awsemu/cmd/awsemu

echo "==> starting the emulator with 3 instances (no instance profile yet)"
"$work/awsemu" -addr 127.0.0.1:0 -instances 3 -tags Environment=demo \
  -registration-delay 2s -iam-propagation-delay 3s >"$work/env.sh" 2>"$work/awsemu.log" &
emu_pid=$!
for _ in $(seq 1 100); do
  grep -q AWSEMU_INSTANCE_IDS "$work/env.sh" 2>/dev/null && break
  sleep 0.1
done
# shellcheck disable=SC1091
. "$work/env.sh"
echo "    endpoint $AWS_ENDPOINT_URL, instances $AWSEMU_INSTANCE_IDS"

cat >"$work/dev.tfrc" <<RC
provider_installation {
  dev_overrides {
    "terraform-ssm/ssm" = "$work/plugins"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/dev.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
cp examples/demo/*.tf "$work/"
ids=$(printf '"%s",' ${AWSEMU_INSTANCE_IDS//,/ })
cat >"$work/terraform.tfvars" <<VARS
instance_ids = [${ids%,}]
endpoint     = "$AWS_ENDPOINT_URL"
VARS

cd "$work"
echo "==> $(basename "$terraform") apply"
start=$(date +%s)
"$terraform" apply -auto-approve -no-color
echo "==> outputs"
"$terraform" output -no-color
echo "==> $(basename "$terraform") destroy"
"$terraform" destroy -auto-approve -no-color >/dev/null
echo "==> demo done in $(( $(date +%s) - start ))s after the build"
