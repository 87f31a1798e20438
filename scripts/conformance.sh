#!/usr/bin/env bash
# Conformance check of the standalone AWS emulator (internal/awsemu/cmd/awsemu)
# against the real AWS CLI: drives the migration guide's flows (IAM role and
# instance profile, EC2 association, SSM registration and Run Command, S3 with
# presigned URLs, STS) and fails on any difference from what AWS would show.
#
# Usage: scripts/conformance.sh   (from anywhere; run by `make conformance`)
# Ends with the line "conformance: N passed, M failed" and exits 1 when M > 0.
set -euo pipefail

cd "$(dirname "$0")/.."

# --- tools -------------------------------------------------------------------

apt_install() {
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "conformance: $1 is missing and apt-get is not available" >&2
		exit 2
	fi
	if [ -z "${_apt_updated:-}" ]; then
		apt-get update
		_apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y "$1"
}

command -v aws >/dev/null 2>&1 || apt_install awscli
command -v curl >/dev/null 2>&1 || apt_install curl
command -v python3 >/dev/null 2>&1 || apt_install python3
# A pyenv shim costs about half a second a call: call the CLI it points to.
AWS_CLI=$(command -v aws)
if [[ $AWS_CLI == */shims/aws ]] && command -v pyenv >/dev/null 2>&1; then
	AWS_CLI=$(pyenv which aws 2>/dev/null) || AWS_CLI=aws
fi
"$AWS_CLI" --version

# --- isolated AWS CLI environment ---------------------------------------------

tmp=$(mktemp -d)
emu_pid=""
cleanup() {
	if [ -n "$emu_pid" ]; then
		kill "$emu_pid" 2>/dev/null || true
		wait "$emu_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Nothing from the user's ~/.aws or environment may leak in.
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p')
export AWS_CONFIG_FILE="$tmp/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$tmp/aws-credentials"
export AWS_PAGER=""
export AWS_EC2_METADATA_DISABLED=true
export AWS_MAX_ATTEMPTS=1
# S3 on an IP endpoint needs path-style addressing.
cat >"$AWS_CONFIG_FILE" <<'EOF'
[default]
s3 =
    addressing_style = path
EOF
: >"$AWS_SHARED_CREDENTIALS_FILE"

# --- emulator ------------------------------------------------------------------

echo "building the emulator (at ${SECONDS}s)"
"${GO:-go}" build -o "$tmp/awsemu" ./internal/awsemu/cmd/awsemu
# The propagation delay outlasts the two AWS CLI calls between creating the
# instance profile and associating it even on a loaded machine (each CLI call
# can take seconds there; 5 s was seen to pass before the association ran).
"$tmp/awsemu" -addr 127.0.0.1:0 -instances 2 -tags Environment=conformance \
	-registration-delay 1s -iam-propagation-delay 30s \
	>"$tmp/awsemu.env" 2>"$tmp/awsemu.log" &
emu_pid=$!
for _ in $(seq 1 100); do
	grep -q '^export AWSEMU_INSTANCE_IDS=' "$tmp/awsemu.env" 2>/dev/null && break
	kill -0 "$emu_pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q '^export AWSEMU_INSTANCE_IDS=' "$tmp/awsemu.env"; then
	echo "conformance: the emulator did not start" >&2
	cat "$tmp/awsemu.log" >&2
	exit 2
fi
eval "$(cat "$tmp/awsemu.env")"
case "$AWS_ENDPOINT_URL" in
http://127.0.0.1:* | http://localhost:* | http://\[::1\]:*) ;;
*) echo "conformance: endpoint $AWS_ENDPOINT_URL is not loopback" >&2; exit 2 ;;
esac
echo "emulator at $AWS_ENDPOINT_URL, instances $AWSEMU_INSTANCE_IDS"
ID=${AWSEMU_INSTANCE_IDS%%,*}

# --- assertions ------------------------------------------------------------------

passed=0
failed=0
section() { echo "== $1 (at ${SECONDS}s)"; }
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

# expect_eq NAME WANT GOT
expect_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: want $(printf %q "$2"), got $(printf %q "$3")"; fi
}

# expect_match NAME REGEX GOT (bash ERE)
expect_match() {
	if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1: $(printf %q "$3") does not match /$2/"; fi
}

# jget JSON EXPR: evaluates the Python expression EXPR on the decoded JSON `d`;
# prints strings raw, other values as JSON. Prints nothing on any error.
jget() {
	python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
    v = eval(sys.argv[2], {"d": d, "json": json})
except Exception:
    sys.exit(0)
sys.stdout.write(v if isinstance(v, str) else json.dumps(v))
' "$1" "$2"
}

# run_aws OUTVAR ERRVAR ARGS...: runs the CLI, stores stdout/stderr, returns its status.
run_aws() {
	local __out=$1 __err=$2 __rc=0
	shift 2
	# --endpoint-url as well as AWS_ENDPOINT_URL: CLIs before v1.29 / v2.13
	# (Debian's awscli among them) ignore the variable.
	"$AWS_CLI" --endpoint-url "$AWS_ENDPOINT_URL" --output json "$@" >"$tmp/out" 2>"$tmp/err" || __rc=$?
	printf -v "$__out" '%s' "$(cat "$tmp/out")"
	printf -v "$__err" '%s' "$(cat "$tmp/err")"
	return $__rc
}

# --- STS -------------------------------------------------------------------------

section "STS"
out="" err=""
if run_aws out err sts get-caller-identity; then
	expect_eq "sts get-caller-identity Account" 123456789012 "$(jget "$out" 'd["Account"]')"
	expect_match "sts get-caller-identity Arn" '^arn:aws:(iam|sts)::123456789012:' "$(jget "$out" 'd["Arn"]')"
else
	fail "sts get-caller-identity: $err"
fi

if AWS_ACCESS_KEY_ID=nope run_aws out err sts get-caller-identity; then
	fail "unknown access key accepted"
else
	expect_match "unknown access key rejected" 'InvalidClientTokenId' "$err"
fi

# --- IAM role ----------------------------------------------------------------------

section "IAM role"
cat >"$tmp/trust.json" <<'EOF'
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": { "Service": "ec2.amazonaws.com" },
      "Action": "sts:AssumeRole"
    }
  ]
}
EOF

if run_aws out err iam create-role --role-name SSMInstanceRole \
	--assume-role-policy-document "file://$tmp/trust.json"; then
	expect_eq "iam create-role Arn" arn:aws:iam::123456789012:role/SSMInstanceRole "$(jget "$out" 'd["Role"]["Arn"]')"
	expect_match "iam create-role RoleId" '^AROA[A-Z0-9]{17}$' "$(jget "$out" 'd["Role"]["RoleId"]')"
else
	fail "iam create-role: $err"
fi

if run_aws out err iam create-role --role-name SSMInstanceRole \
	--assume-role-policy-document "file://$tmp/trust.json"; then
	fail "iam create-role twice succeeded"
else
	expect_match "iam create-role twice: EntityAlreadyExists" 'EntityAlreadyExists' "$err"
fi

if run_aws out err iam attach-role-policy --role-name SSMInstanceRole \
	--policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore; then
	pass "iam attach-role-policy"
else
	fail "iam attach-role-policy: $err"
fi

if run_aws out err iam list-attached-role-policies --role-name SSMInstanceRole; then
	expect_eq "iam list-attached-role-policies" \
		'[["AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]]' \
		"$(jget "$out" '[[p["PolicyName"], p["PolicyArn"]] for p in d["AttachedPolicies"]]')"
else
	fail "iam list-attached-role-policies: $err"
fi

if run_aws out err iam get-role --role-name SSMInstanceRole; then
	expect_eq "iam get-role trust policy decoded" ec2.amazonaws.com \
		"$(jget "$out" 'd["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]')"
else
	fail "iam get-role: $err"
fi

if run_aws out err iam get-role --role-name NoSuchRole; then
	fail "iam get-role of a missing role succeeded"
else
	expect_match "iam get-role missing: NoSuchEntity" 'NoSuchEntity.*The role with name NoSuchRole cannot be found' "$err"
fi

# --- EC2 instance before association ---------------------------------------------

section "EC2 instance before association"
if run_aws out err ec2 describe-instances --instance-ids "$ID"; then
	expect_eq "ec2 describe-instances state" running "$(jget "$out" 'd["Reservations"][0]["Instances"][0]["State"]["Name"]')"
	expect_eq "ec2 describe-instances tag" conformance \
		"$(jget "$out" '[t["Value"] for t in d["Reservations"][0]["Instances"][0]["Tags"] if t["Key"] == "Environment"][0]')"
	expect_eq "ec2 describe-instances no profile yet" "" "$(jget "$out" 'd["Reservations"][0]["Instances"][0].get("IamInstanceProfile", "")')"
else
	fail "ec2 describe-instances: $err"
fi

# --- IAM instance profile ---------------------------------------------------------------

section "IAM instance profile"
if run_aws out err iam create-instance-profile --instance-profile-name SSMInstanceProfile; then
	expect_eq "iam create-instance-profile Arn" arn:aws:iam::123456789012:instance-profile/SSMInstanceProfile \
		"$(jget "$out" 'd["InstanceProfile"]["Arn"]')"
	expect_match "iam create-instance-profile Id" '^AIPA[A-Z0-9]{17}$' "$(jget "$out" 'd["InstanceProfile"]["InstanceProfileId"]')"
else
	fail "iam create-instance-profile: $err"
fi

if run_aws out err iam add-role-to-instance-profile --instance-profile-name SSMInstanceProfile --role-name SSMInstanceRole; then
	pass "iam add-role-to-instance-profile"
else
	fail "iam add-role-to-instance-profile: $err"
fi

# --- EC2 association ----------------------------------------------------------------------

section "EC2 association"
associated="" rejected=0 first_reject=""
for _ in $(seq 1 60); do
	if run_aws out err ec2 associate-iam-instance-profile --instance-id "$ID" \
		--iam-instance-profile Name=SSMInstanceProfile; then
		associated=yes
		break
	fi
	if [[ $err == *"Invalid IAM Instance Profile name"* ]]; then
		rejected=$((rejected + 1))
		[ -n "$first_reject" ] || first_reject=$err
		sleep 1
		continue
	fi
	break
done
if [ -n "$associated" ]; then
	pass "ec2 associate-iam-instance-profile (after $rejected propagation rejection(s))"
	expect_eq "ec2 associate State" associating "$(jget "$out" 'd["IamInstanceProfileAssociation"]["State"]')"
	expect_match "ec2 associate AssociationId" '^iip-assoc-[0-9a-f]{17}$' "$(jget "$out" 'd["IamInstanceProfileAssociation"]["AssociationId"]')"
	expect_eq "ec2 associate profile Arn" arn:aws:iam::123456789012:instance-profile/SSMInstanceProfile \
		"$(jget "$out" 'd["IamInstanceProfileAssociation"]["IamInstanceProfile"]["Arn"]')"
else
	fail "ec2 associate-iam-instance-profile: $err"
fi
if [ "$rejected" -gt 0 ]; then
	pass "ec2 associate rejected a just-created profile while IAM propagates"
	expect_match "ec2 associate propagation error" \
		'InvalidParameterValue.*Value \(SSMInstanceProfile\) for parameter iamInstanceProfile\.name is invalid\. Invalid IAM Instance Profile name' \
		"$first_reject"
else
	fail "ec2 associate accepted the profile without any IAM propagation delay"
fi

run_aws out err iam create-role --role-name SecondRole --assume-role-policy-document "file://$tmp/trust.json" ||
	fail "iam create-role SecondRole: $err"
if run_aws out err iam add-role-to-instance-profile --instance-profile-name SSMInstanceProfile --role-name SecondRole; then
	fail "iam add-role-to-instance-profile: a second role was accepted"
else
	expect_match "iam add-role-to-instance-profile second role: LimitExceeded" 'LimitExceeded' "$err"
fi

if run_aws out err iam get-instance-profile --instance-profile-name SSMInstanceProfile; then
	expect_eq "iam get-instance-profile roles" '["SSMInstanceRole"]' "$(jget "$out" '[r["RoleName"] for r in d["InstanceProfile"]["Roles"]]')"
else
	fail "iam get-instance-profile: $err"
fi

state=""
for _ in $(seq 1 20); do
	if run_aws out err ec2 describe-iam-instance-profile-associations --filters "Name=instance-id,Values=$ID"; then
		state=$(jget "$out" 'd["IamInstanceProfileAssociations"][0]["State"]')
		[ "$state" == associated ] && break
	fi
	sleep 0.5
done
expect_eq "ec2 describe-iam-instance-profile-associations State" associated "$state"

if run_aws out err ec2 associate-iam-instance-profile --instance-id "$ID" --iam-instance-profile Name=SSMInstanceProfile; then
	fail "ec2 second associate succeeded"
else
	expect_match "ec2 second associate: IncorrectState" 'IncorrectState.*existing association' "$err"
fi

# --- SSM registration -------------------------------------------------------------------------

section "SSM registration"
ping=""
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
	if run_aws out err ssm describe-instance-information --filters "Key=InstanceIds,Values=$ID"; then
		ping=$(jget "$out" 'd["InstanceInformationList"][0]["PingStatus"]')
		[ "$ping" == Online ] && break
	fi
	sleep 1
done
expect_eq "ssm describe-instance-information PingStatus" Online "$ping"
expect_eq "ssm describe-instance-information PlatformType" Linux "$(jget "$out" 'd["InstanceInformationList"][0]["PlatformType"]')"
expect_eq "ssm describe-instance-information ResourceType" EC2Instance "$(jget "$out" 'd["InstanceInformationList"][0]["ResourceType"]')"
expect_eq "ssm describe-instance-information InstanceId" "$ID" "$(jget "$out" 'd["InstanceInformationList"][0]["InstanceId"]')"

# --- SSM Run Command ----------------------------------------------------------------------------

section "SSM Run Command"
# wait_invocation CMD_ID: polls get-command-invocation until a terminal status;
# leaves the last response in $out.
wait_invocation() {
	local st=""
	local deadline=$((SECONDS + 30))
	while [ $SECONDS -lt $deadline ]; do
		if run_aws out err ssm get-command-invocation --command-id "$1" --instance-id "$ID"; then
			st=$(jget "$out" 'd["Status"]')
			case "$st" in
			Pending | InProgress | Delayed) ;;
			*) return 0 ;;
			esac
		elif [[ $err != *InvocationDoesNotExist* ]]; then
			return 1
		fi
		sleep 0.5
	done
	return 1
}

cmd_id=""
if run_aws out err ssm send-command --document-name AWS-RunShellScript --instance-ids "$ID" \
	--parameters 'commands=["echo hello-from-ssm","uname -s"]' --comment conformance; then
	cmd_id=$(jget "$out" 'd["Command"]["CommandId"]')
	expect_match "ssm send-command CommandId" '^[0-9a-f-]{36}$' "$cmd_id"
	expect_eq "ssm send-command Comment" conformance "$(jget "$out" 'd["Command"]["Comment"]')"
	expect_eq "ssm send-command DocumentName" AWS-RunShellScript "$(jget "$out" 'd["Command"]["DocumentName"]')"
else
	fail "ssm send-command: $err"
fi

if [ -n "$cmd_id" ]; then
	if wait_invocation "$cmd_id"; then
		expect_eq "ssm get-command-invocation Status" Success "$(jget "$out" 'd["Status"]')"
		expect_eq "ssm get-command-invocation StatusDetails" Success "$(jget "$out" 'd["StatusDetails"]')"
		expect_eq "ssm get-command-invocation ResponseCode" 0 "$(jget "$out" 'd["ResponseCode"]')"
		expect_eq "ssm get-command-invocation StandardOutputContent" '"hello-from-ssm\nLinux\n"' \
			"$(jget "$out" 'json.dumps(d["StandardOutputContent"])')"
	else
		fail "ssm get-command-invocation did not reach a terminal status: $err $out"
	fi

	if run_aws out err ssm list-command-invocations --command-id "$cmd_id" --details; then
		expect_eq "ssm list-command-invocations instance" "$ID" "$(jget "$out" 'd["CommandInvocations"][0]["InstanceId"]')"
		expect_eq "ssm list-command-invocations Status" Success "$(jget "$out" 'd["CommandInvocations"][0]["Status"]')"
		expect_match "ssm list-command-invocations plugin Output" 'hello-from-ssm' \
			"$(jget "$out" 'd["CommandInvocations"][0]["CommandPlugins"][0]["Output"]')"
	else
		fail "ssm list-command-invocations: $err"
	fi

	if run_aws out err ssm list-commands --command-id "$cmd_id"; then
		expect_eq "ssm list-commands Status" Success "$(jget "$out" 'd["Commands"][0]["Status"]')"
		expect_eq "ssm list-commands CompletedCount" 1 "$(jget "$out" 'd["Commands"][0]["CompletedCount"]')"
	else
		fail "ssm list-commands: $err"
	fi
fi

if run_aws out err ssm send-command --document-name AWS-RunShellScript --instance-ids "$ID" \
	--parameters 'commands=["echo failing","exit 3"]'; then
	fail_id=$(jget "$out" 'd["Command"]["CommandId"]')
	if wait_invocation "$fail_id"; then
		expect_eq "ssm failing command Status" Failed "$(jget "$out" 'd["Status"]')"
		expect_eq "ssm failing command ResponseCode" 3 "$(jget "$out" 'd["ResponseCode"]')"
	else
		fail "ssm failing command did not reach a terminal status: $err $out"
	fi
else
	fail "ssm send-command (failing): $err"
fi

if run_aws out err ssm send-command --document-name AWS-RunShellScript --instance-ids i-0123456789abcdef0 \
	--parameters 'commands=["true"]'; then
	fail "ssm send-command to an unknown instance succeeded"
else
	expect_match "ssm send-command unknown instance: InvalidInstanceId" 'InvalidInstanceId' "$err"
fi

# --- S3 -----------------------------------------------------------------------------------------------

section "S3"
printf 'conformance payload %s\n' "$RANDOM$RANDOM" >"$tmp/file.txt"
if run_aws out err s3 mb s3://conformance-bucket; then
	expect_match "s3 mb" 'make_bucket: conformance-bucket' "$out"
else
	fail "s3 mb: $err"
fi
if run_aws out err s3 cp "$tmp/file.txt" s3://conformance-bucket/file.txt; then
	pass "s3 cp upload"
else
	fail "s3 cp upload: $err"
fi
if run_aws out err s3 ls s3://conformance-bucket/; then
	expect_match "s3 ls" "[0-9]+ file\.txt" "$out"
else
	fail "s3 ls: $err"
fi
if run_aws out err s3 cp s3://conformance-bucket/file.txt "$tmp/back.txt" && cmp -s "$tmp/file.txt" "$tmp/back.txt"; then
	pass "s3 cp download round-trips"
else
	fail "s3 cp download: $err"
fi

url=""
if run_aws url err s3 presign s3://conformance-bucket/file.txt --expires-in 60; then
	expect_match "s3 presign URL on the endpoint" "^${AWS_ENDPOINT_URL}/conformance-bucket/file\.txt\?" "$url"
else
	fail "s3 presign: $err"
fi
if [ -n "$url" ]; then
	if curl -fsS -o "$tmp/presigned.txt" "$url" && cmp -s "$tmp/file.txt" "$tmp/presigned.txt"; then
		pass "presigned GET returns the object"
	else
		fail "presigned GET did not return the object"
	fi
	# Flip one character of the signature (hex for SigV4, base64 for SigV2).
	tampered=$(python3 -c '
import re, sys
u = sys.argv[1]
m = re.search(r"(X-Amz-Signature|Signature)=([^&]+)", u)
i = m.start(2)
c = u[i]
u = u[:i] + ("1" if c != "1" else "2") + u[i + 1:]
print(u)
' "$url")
	code=$(curl -sS -o /dev/null -w '%{http_code}' "$tampered" || true)
	expect_eq "tampered presigned URL is refused" 403 "$code"
fi

# --- Session Manager with the real session-manager-plugin --------------------------------------

section "Session Manager"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
# wait_for FILE REGEX: up to 60 s for the plugin to print REGEX.
wait_for() { for _ in $(seq 1 120); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done; return 1; }
if ! command -v session-manager-plugin >/dev/null 2>&1; then
	echo "SKIP: Session Manager: session-manager-plugin is not on PATH (build it from github.com/aws/session-manager-plugin: see README.md, Testing)"
elif ! command -v script >/dev/null 2>&1; then
	echo "SKIP: Session Manager: script(1) (util-linux) is needed to give the shell session a terminal"
else
	mkdir -p "$tmp/www" && head -c 1048576 /dev/urandom >"$tmp/www/blob" && echo hello >"$tmp/www/index.html"
	web_port=$(free_port)
	(cd "$tmp/www" && exec python3 -m http.server "$web_port" --bind 127.0.0.1 >/dev/null 2>&1) &
	web_pid=$!
	for doc in AWS-StartPortForwardingSession AWS-StartPortForwardingSessionToRemoteHost; do
		local_port=$(free_port)
		params="portNumber=$web_port,localPortNumber=$local_port"
		[ "$doc" = AWS-StartPortForwardingSessionToRemoteHost ] && params="host=localhost,$params"
		"$AWS_CLI" --endpoint-url "$AWS_ENDPOINT_URL" ssm start-session --target "$ID" --document-name "$doc" \
			--parameters "$params" >"$tmp/pf.out" 2>&1 &
		pf_pid=$!
		if wait_for "$tmp/pf.out" "Port $local_port opened"; then
			got=""
			for _ in $(seq 1 20); do got=$(curl -fsS -m 5 "http://127.0.0.1:$local_port/index.html" 2>/dev/null) && break; sleep 0.5; done
			expect_eq "$doc: a request through the tunnel" hello "$got"
			if curl -fsS -m 60 -o "$tmp/blob.got" "http://127.0.0.1:$local_port/blob" && cmp -s "$tmp/www/blob" "$tmp/blob.got"; then
				pass "$doc: 1 MiB byte-exact"
			else
				fail "$doc: 1 MiB body differs"
			fi
			sid=$(sed -n 's/^Starting session with SessionId: //p' "$tmp/pf.out" | tr -d '\r')
			run_aws out err ssm terminate-session --session-id "$sid" || fail "ssm terminate-session: $err"
			wait "$pf_pid" 2>/dev/null || true
			run_aws out err ssm describe-sessions --state History --filters "key=SessionId,value=$sid" || true
			expect_eq "$doc: session Terminated in History" Terminated "$(jget "$out" 'd["Sessions"][0]["Status"]')"
		else
			fail "$doc: the plugin did not open port $local_port: $(cat "$tmp/pf.out")"
			kill "$pf_pid" 2>/dev/null || true
		fi
	done
	kill "$web_pid" 2>/dev/null || true

	# A logged shell session: the preferences document names a bucket and a log group.
	run_aws out err s3api create-bucket --bucket conformance-session-logs || fail "s3api create-bucket: $err"
	run_aws out err logs create-log-group --log-group-name /conformance/sessions || fail "logs create-log-group: $err"
	cat >"$tmp/prefs.json" <<'EOF'
{"schemaVersion":"1.0","description":"Document to hold regional settings for Session Manager","sessionType":"Standard_Stream",
 "inputs":{"s3BucketName":"conformance-session-logs","s3KeyPrefix":"shell","s3EncryptionEnabled":true,
  "cloudWatchLogGroupName":"/conformance/sessions","cloudWatchEncryptionEnabled":false,"cloudWatchStreamingEnabled":false,
  "idleSessionTimeout":"20","shellProfile":{"linux":"echo profile-ran","windows":""}}}
EOF
	run_aws out err ssm create-document --name SSM-SessionManagerRunShell --document-type Session \
		--content "file://$tmp/prefs.json" || fail "ssm create-document SSM-SessionManagerRunShell: $err"
	(
		for _ in $(seq 1 120); do grep -q 'profile-ran' "$tmp/sh.out" 2>/dev/null && break; sleep 0.5; done
		printf 'echo shell-$((6*7))\n'
		for _ in $(seq 1 40); do grep -q 'shell-42' "$tmp/sh.out" 2>/dev/null && break; sleep 0.5; done
		printf 'exit\n'
		sleep 5
	) | timeout 120 script -qfec "$AWS_CLI --endpoint-url $AWS_ENDPOINT_URL ssm start-session --target $ID" /dev/null >"$tmp/sh.out" 2>&1 || true
	expect_match "shell session ran the shell profile and a command" 'shell-42' "$(tr -d '\r' <"$tmp/sh.out")"
	sid=$(sed -n 's/^Starting session with SessionId: //p' "$tmp/sh.out" | tr -d '\r' | head -1)
	run_aws out err ssm describe-sessions --state History --filters "key=SessionId,value=$sid" || true
	expect_eq "shell session Terminated after exit" Terminated "$(jget "$out" 'd["Sessions"][0]["Status"]')"
	if run_aws out err s3 cp "s3://conformance-session-logs/shell/$sid.log" "$tmp/session.log"; then
		expect_match "shell session log in S3" 'shell-42' "$(cat "$tmp/session.log")"
	else
		fail "shell session log not in S3: $err"
	fi
	run_aws out err logs get-log-events --log-group-name /conformance/sessions --log-stream-name "$sid" || true
	expect_match "shell session log in CloudWatch Logs" 'shell-42' "$(jget "$out" '"".join(e["message"] for e in d["events"])')"
fi

# --- summary ----------------------------------------------------------------------------------------

echo "took ${SECONDS}s"
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
