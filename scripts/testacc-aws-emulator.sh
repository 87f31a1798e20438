#!/usr/bin/env bash
# make testacc-aws-emulator (part of make test): the AWS acceptance lane against
# the standalone emulator, exactly as it runs on AWS but for AWS_ENDPOINT_URL:
# refusal without the confirmation (no call reaches the emulator), fixture
# launch, the lane's tests and fidelity group, make sweep-aws, and a check that
# nothing is left (through the API the emulator holds no live instance, role,
# instance profile, bucket or document of its own, and the admin API lists no
# instance that is not terminated).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
emu_pid=""
cleanup() {
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
start=$(date +%s)

echo "==> building the emulator"
${GO:-go} build -o "$work/awsemu" ./internal/awsemu/cmd/awsemu
# Agents register 2 s after launch; a new instance profile is refused by EC2
# for 3 s (the fixture retries, as on AWS).
"$work/awsemu" -addr 127.0.0.1:0 -registration-delay 2s -iam-propagation-delay 3s >"$work/env.sh" 2>"$work/awsemu.log" &
emu_pid=$!
for _ in $(seq 1 100); do
	grep -q AWSEMU_INSTANCE_IDS "$work/env.sh" 2>/dev/null && break
	sleep 0.1
done
unset AWS_PROFILE AWS_SESSION_TOKEN SSM_ACC_AWS SSM_ACC_RUN_ID
# shellcheck disable=SC1091
. "$work/env.sh"
admin=$AWS_ENDPOINT_URL/_awsemu
echo "    emulator at $AWS_ENDPOINT_URL"

echo "==> without SSM_ACC_AWS=1 the lane refuses at once and calls nothing"
if out=$(bash scripts/testacc-aws.sh 2>&1); then
	echo "FAIL: the lane started without SSM_ACC_AWS=1"; exit 1
fi
grep -q "refusing to start: SSM_ACC_AWS=1 is not set" <<<"$out" || { echo "FAIL: unexpected refusal:"; echo "$out"; exit 1; }
echo "==> with SSM_ACC_AWS=1 but no credentials it refuses too"
if out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY SSM_ACC_AWS=1 bash scripts/testacc-aws.sh 2>&1); then
	echo "FAIL: the lane started without credentials"; exit 1
fi
grep -q "refusing to start: no credentials" <<<"$out" || { echo "FAIL: unexpected refusal:"; echo "$out"; exit 1; }
calls=$(curl -fsS "$admin/calls")
[ "$(tr -d ' \n' <<<"$calls")" = "{}" ] || { echo "FAIL: calls reached the emulator: $calls"; exit 1; }

export SSM_ACC_AWS=1 AWS_S3_USE_PATH_STYLE=true SSM_ACC_REPORT=$work/fidelity.json
echo "==> make testacc-aws against the emulator"
bash scripts/testacc-aws.sh
echo "==> fidelity report: $(grep -c '"id"' "$work/fidelity.json") guesses, $(grep -c '"differs": true' "$work/fidelity.json" || true) differing from the emulator"

echo "==> make sweep-aws (nothing to do)"
bash scripts/sweep-aws.sh
bash scripts/sweep-aws.sh -check

echo "==> a run killed mid-run, after a fault: the lane cannot clean up"
SSM_ACC_RUN_ID=killedrun setsid bash scripts/testacc-aws.sh >"$work/killed.log" 2>&1 &
lane_pid=$!
for _ in $(seq 1 600); do
	grep -q "^==> fixture:" "$work/killed.log" 2>/dev/null && break
	kill -0 "$lane_pid" 2>/dev/null || break
	sleep 0.5
done
grep "^==> fixture:" "$work/killed.log" || { echo "FAIL: the killed run's fixture never came up"; cat "$work/killed.log"; exit 1; }
# The fault: every SSM call fails; then the run dies without its own sweep.
curl -fsS -X PUT -d '{"server_error_rate":1}' "$admin/faults/ssm" >/dev/null
kill -KILL -- "-$lane_pid"
wait "$lane_pid" 2>/dev/null || true
curl -fsS -X DELETE "$admin/faults" >/dev/null
if SSM_ACC_RUN_ID=killedrun bash scripts/sweep-aws.sh -check; then
	echo "FAIL: the killed run left nothing to sweep"; exit 1
fi
echo "==> make sweep-aws"
bash scripts/sweep-aws.sh
echo "==> nothing left: the emulator holds no live instance, role, profile, bucket or document"
bash scripts/sweep-aws.sh -check
bash scripts/sweep-aws.sh -check-empty
live=$(curl -fsS "$admin/instances" | grep -Ec '"state": "(pending|running|stopping|stopped)"' || true)
[ "$live" = 0 ] || { echo "FAIL: $live instances not terminated"; exit 1; }
echo "==> AWS lane on the emulator done in $(( $(date +%s) - start ))s"
