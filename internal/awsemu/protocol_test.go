package awsemu

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Malformed input never crashes the emulator nor yields a 5xx, and errors come
// back in each protocol's real shape.

// rawReq is a hand-made request, SigV4-signed (or deliberately not) like a client would.
type rawReq struct {
	svc    string // signing service name: iam, sts, ec2, ssm, logs, s3
	method string // default POST
	path   string // default "/"
	target string // X-Amz-Target for JSON services
	header map[string]string
	body   []byte
	// auth: "" signs correctly; "unsigned", "wrongsecret", "truncated-cred",
	// "truncated-sig" break the signature.
	auth string
}

func (rr rawReq) send(t *testing.T, e *Emulator) (int, []byte) {
	t.Helper()
	method, path := rr.method, rr.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequest(method, e.URL()+path, bytes.NewReader(rr.body))
	if err != nil {
		t.Fatal(err)
	}
	switch rr.svc {
	case "ssm", "logs":
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		if rr.target != "" {
			req.Header.Set("X-Amz-Target", rr.target)
		}
	case "iam", "sts", "ec2":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	for k, v := range rr.header {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(rr.body)
	hash := hex.EncodeToString(sum[:])
	if rr.svc == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if rr.auth != "unsigned" {
		secret := "test"
		if rr.auth == "wrongsecret" {
			secret = "not-the-secret"
		}
		creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hash, rr.svc, e.Options().Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		auth := req.Header.Get("Authorization")
		switch rr.auth {
		case "truncated-cred": // cut inside the credential scope
			i := strings.Index(auth, "Credential=")
			req.Header.Set("Authorization", auth[:i+len("Credential=test/2")])
		case "truncated-sig": // cut before the signature
			i := strings.Index(auth, ", Signature=")
			req.Header.Set("Authorization", auth[:i])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: no response (server crashed or dropped the connection?): %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return resp.StatusCode, body
}

// protocolErrorCode parses body as the error shape of svc's protocol and returns
// the error code; "" (with a reason) when the body is not that shape.
func protocolErrorCode(svc string, body []byte) (string, error) {
	switch svc {
	case "ssm", "logs":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return "", fmt.Errorf("not JSON: %v", err)
		}
		code, _ := m["__type"].(string)
		if code == "" {
			return "", errors.New("no __type")
		}
		return code, nil
	case "iam", "sts":
		var v struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   struct{ Type, Code, Message string }
			ReqID   string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			return "", fmt.Errorf("not <ErrorResponse>: %v", err)
		}
		if v.ReqID == "" || v.Error.Type == "" {
			return "", errors.New("missing RequestId or Type")
		}
		return v.Error.Code, nil
	case "ec2":
		var v struct {
			XMLName xml.Name `xml:"Response"`
			Errors  struct {
				Error []struct{ Code, Message string }
			}
			ReqID string `xml:"RequestID"`
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			return "", fmt.Errorf("not <Response>: %v", err)
		}
		if len(v.Errors.Error) != 1 || v.ReqID == "" {
			return "", errors.New("want exactly one <Error> and a RequestID")
		}
		return v.Errors.Error[0].Code, nil
	default:
		var v struct {
			XMLName xml.Name `xml:"Error"`
			Code    string
			Message string
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			return "", fmt.Errorf("not <Error>: %v", err)
		}
		return v.Code, nil
	}
}

// TestProtocolBadInput sends malformed, oversized and badly signed requests to
// every service: each gets its protocol's error status, shape and code, the
// service still answers a valid call afterwards, and no state changed.
func TestProtocolBadInput(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	ctx := t.Context()
	iamc, s3c := iam.NewFromConfig(cfg), newS3Client(cfg)
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("robust-base"), AssumeRolePolicyDocument: aws.String(testTrust)}); err != nil {
		t.Fatal(err)
	}
	mustCreateBucket(t, s3c, "robust")
	mustPut(t, s3c, "robust", "five", []byte("12345"))
	ids, err := e.AddInstances(InstanceSpec{Count: 1})
	if err != nil {
		t.Fatal(err)
	}

	big := strings.Repeat("a", 200<<10)
	huge := bytes.Repeat([]byte("x"), maxBodyDefault+10)
	form := func(kv ...string) []byte {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return []byte(v.Encode())
	}
	version := map[string]string{"iam": "2010-05-08", "sts": "2011-06-15", "ec2": "2016-11-15"}

	type tc struct {
		name   string
		req    rawReq
		status int
		code   string
	}
	cases := []tc{
		// awsJson1.1
		{"ssm not JSON", rawReq{svc: "ssm", target: "AmazonSSM.SendCommand", body: []byte("not json{")}, 400, "SerializationException"},
		{"ssm InstanceIds string", rawReq{svc: "ssm", target: "AmazonSSM.SendCommand", body: []byte(`{"InstanceIds": "i-1", "DocumentName": "AWS-RunShellScript"}`)}, 400, "SerializationException"},
		{"ssm Parameters wrong type", rawReq{svc: "ssm", target: "AmazonSSM.SendCommand", body: []byte(`{"InstanceIds": ["i-1"], "DocumentName": "AWS-RunShellScript", "Parameters": {"commands": "x"}}`)}, 400, "SerializationException"},
		{"ssm body is array", rawReq{svc: "ssm", target: "AmazonSSM.SendCommand", body: []byte(`[1,2]`)}, 400, "SerializationException"},
		{"ssm MaxResults string", rawReq{svc: "ssm", target: "AmazonSSM.DescribeInstanceInformation", body: []byte(`{"MaxResults":"x"}`)}, 400, "SerializationException"},
		{"ssm MaxResults overflow", rawReq{svc: "ssm", target: "AmazonSSM.ListCommandInvocations", body: []byte(`{"MaxResults":99999999999999999999999}`)}, 400, "SerializationException"},
		{"ssm MaxResults float", rawReq{svc: "ssm", target: "AmazonSSM.ListCommands", body: []byte(`{"MaxResults":1.5}`)}, 400, "SerializationException"},
		{"ssm Details string", rawReq{svc: "ssm", target: "AmazonSSM.ListCommandInvocations", body: []byte(`{"Details":"yes"}`)}, 400, "SerializationException"},
		{"ssm truncated JSON", rawReq{svc: "ssm", target: "AmazonSSM.GetCommandInvocation", body: []byte(`{"CommandId":"`)}, 400, "SerializationException"},
		{"ssm unknown operation", rawReq{svc: "ssm", target: "AmazonSSM.LaunchRockets", body: []byte(`{}`)}, 400, "UnknownOperationException"},
		{"ssm missing target", rawReq{svc: "ssm", body: []byte(`{}`)}, 400, "UnknownOperationException"},
		{"ssm target without dot", rawReq{svc: "ssm", target: "SendCommand", body: []byte(`{}`)}, 400, "UnknownOperationException"},
		{"ssm GET", rawReq{svc: "ssm", method: http.MethodGet, target: "AmazonSSM.ListCommands"}, 400, "UnknownOperationException"},
		{"ssm huge comment", rawReq{svc: "ssm", target: "AmazonSSM.SendCommand", body: []byte(`{"InstanceIds":["` + ids[0] + `"],"DocumentName":"AWS-RunShellScript","Comment":"` + big + `"}`)}, 400, "ValidationException"},
		{"ssm oversized body", rawReq{svc: "ssm", target: "AmazonSSM.SendCommand", body: huge}, 413, "RequestEntityTooLarge"},
		{"logs not JSON", rawReq{svc: "logs", target: "Logs_20140328.CreateLogGroup", body: []byte("<xml/>")}, 400, "SerializationException"},
		{"logs limit string", rawReq{svc: "logs", target: "Logs_20140328.DescribeLogGroups", body: []byte(`{"limit":"x"}`)}, 400, "SerializationException"},
		{"logs group name number", rawReq{svc: "logs", target: "Logs_20140328.CreateLogGroup", body: []byte(`{"logGroupName":5}`)}, 400, "SerializationException"},
		{"logs events wrong type", rawReq{svc: "logs", target: "Logs_20140328.PutLogEvents", body: []byte(`{"logGroupName":"g","logStreamName":"s","logEvents":{"timestamp":1}}`)}, 400, "SerializationException"},
		{"logs unknown operation", rawReq{svc: "logs", target: "Logs_20140328.Nope", body: []byte(`{}`)}, 400, "UnknownOperationException"},
		{"logs missing target", rawReq{svc: "logs", body: []byte(`{}`)}, 400, "UnknownOperationException"},
		{"logs oversized body", rawReq{svc: "logs", target: "Logs_20140328.PutLogEvents", body: huge}, 413, "RequestEntityTooLarge"},

		// awsQuery / ec2Query: shared cases below, service-specific here.
		{"iam huge RoleName", rawReq{svc: "iam", body: form("Action", "CreateRole", "Version", "2010-05-08", "RoleName", big, "AssumeRolePolicyDocument", testTrust)}, 400, "ValidationError"},
		{"iam huge trust policy", rawReq{svc: "iam", body: form("Action", "CreateRole", "Version", "2010-05-08", "RoleName", "r-huge", "AssumeRolePolicyDocument", `{"Version":"2012-10-17","Statement":[],"Pad":"`+big+`"}`)}, 400, "ValidationError"},
		{"iam huge inline policy", rawReq{svc: "iam", body: form("Action", "PutRolePolicy", "Version", "2010-05-08", "RoleName", "robust-base", "PolicyName", "p", "PolicyDocument", `{"Version":"2012-10-17","Statement":[],"Pad":"`+big+`"}`)}, 400, "ValidationError"},
		{"iam huge profile name", rawReq{svc: "iam", body: form("Action", "CreateInstanceProfile", "Version", "2010-05-08", "InstanceProfileName", big)}, 400, "ValidationError"},
		{"iam huge marker", rawReq{svc: "iam", body: form("Action", "ListRoles", "Version", "2010-05-08", "Marker", big)}, 400, "ValidationError"},
		{"iam MaxItems not a number", rawReq{svc: "iam", body: form("Action", "ListRoles", "Version", "2010-05-08", "MaxItems", "lots")}, 400, "ValidationError"},
		{"sts huge session name", rawReq{svc: "sts", body: form("Action", "AssumeRole", "Version", "2011-06-15", "RoleArn", "arn:aws:iam::123456789012:role/robust-base", "RoleSessionName", big)}, 400, "ValidationError"},
		{"sts huge role arn", rawReq{svc: "sts", body: form("Action", "AssumeRole", "Version", "2011-06-15", "RoleArn", big, "RoleSessionName", "s")}, 400, "ValidationError"},
		{"ec2 huge instance id", rawReq{svc: "ec2", body: form("Action", "DescribeInstances", "Version", "2016-11-15", "InstanceId.1", big)}, 400, "InvalidInstanceID.Malformed"},
		{"ec2 huge tag value", rawReq{svc: "ec2", body: form("Action", "CreateTags", "Version", "2016-11-15", "ResourceId.1", ids[0], "Tag.1.Key", "k", "Tag.1.Value", big)}, 400, "InvalidParameterValue"},
		{"ec2 MaxResults not a number", rawReq{svc: "ec2", body: form("Action", "DescribeInstances", "Version", "2016-11-15", "MaxResults", "x")}, 400, "InvalidParameterValue"},

		// S3
		{"s3 unknown bucket sub-resource", rawReq{svc: "s3", method: http.MethodGet, path: "/robust?acl"}, 501, "NotImplemented"},
		{"s3 unknown object sub-resource", rawReq{svc: "s3", method: http.MethodGet, path: "/robust/five?tagging"}, 501, "NotImplemented"},
		{"s3 DeleteObjects malformed XML", rawReq{svc: "s3", path: "/robust?delete", body: []byte(`<Delete><Object><Key>five`)}, 400, "MalformedXML"},
		{"s3 DeleteObjects not XML", rawReq{svc: "s3", path: "/robust?delete", body: []byte(`{"Objects":[]}`)}, 400, "MalformedXML"},
		{"s3 DeleteObjects no objects", rawReq{svc: "s3", path: "/robust?delete", body: []byte(`<Delete></Delete>`)}, 400, "MalformedXML"},
		{"s3 unsatisfiable range", rawReq{svc: "s3", method: http.MethodGet, path: "/robust/five", header: map[string]string{"Range": "bytes=100-200"}}, 416, "InvalidRange"},
	}
	for _, svc := range []string{"iam", "sts", "ec2"} {
		v := version[svc]
		cases = append(cases,
			tc{svc + " unknown Action", rawReq{svc: svc, body: form("Action", "LaunchRockets", "Version", v)}, 400, "InvalidAction"},
			tc{svc + " missing Action", rawReq{svc: svc, body: form("Version", v)}, 400, "MissingAction"},
			tc{svc + " garbage form encoding", rawReq{svc: svc, body: []byte("Action=DescribeInstances&Version=" + v + "&X=%zz")}, 400, "MalformedQueryString"},
			tc{svc + " oversized body", rawReq{svc: svc, body: append(form("Action", "ListRoles", "Version", v, "Pad", ""), huge...)}, 413, "RequestEntityTooLarge"},
		)
	}
	for _, svc := range []string{"iam", "sts", "ec2", "ssm", "logs", "s3"} {
		valid := validRawReq(svc, version[svc])
		unsigned := valid
		unsigned.auth = "unsigned"
		// Each protocol's own spelling of the authentication errors.
		unsignedStatus, wantUnsigned := 403, "MissingAuthenticationToken"
		wrongStatus, wantWrong, wantIncomplete := 403, "SignatureDoesNotMatch", "IncompleteSignature"
		switch svc {
		case "s3":
			wantUnsigned = "AccessDenied"
		case "ssm", "logs":
			unsignedStatus, wantUnsigned = 400, "MissingAuthenticationTokenException"
			wrongStatus, wantWrong, wantIncomplete = 400, "InvalidSignatureException", "IncompleteSignatureException"
		case "ec2":
			wrongStatus, wantWrong = 401, "AuthFailure"
		}
		wrong, truncCred, truncSig := valid, valid, valid
		wrong.auth, truncCred.auth, truncSig.auth = "wrongsecret", "truncated-cred", "truncated-sig"
		cases = append(cases,
			tc{svc + " unsigned", unsigned, unsignedStatus, wantUnsigned},
			tc{svc + " wrong secret", wrong, wrongStatus, wantWrong},
			tc{svc + " truncated credential", truncCred, 400, wantIncomplete},
			tc{svc + " truncated signature", truncSig, 400, wantIncomplete},
		)
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := c.req.send(t, e)
			show := body
			if len(show) > 300 {
				show = show[:300]
			}
			if status >= 500 && c.status < 500 {
				t.Fatalf("server error %d: %s", status, show)
			}
			if status != c.status {
				t.Errorf("status %d, want %d: %s", status, c.status, show)
			}
			code, err := protocolErrorCode(c.req.svc, body)
			if err != nil {
				t.Fatalf("not the %s error shape (%v): %s", c.req.svc, err, show)
			}
			if code != c.code {
				t.Errorf("code %q, want %q: %s", code, c.code, show)
			}
			// The server still answers a valid call of the same service.
			if st, b := validRawReq(c.req.svc, version[c.req.svc]).send(t, e); st != 200 {
				t.Fatalf("valid %s call after bad input: %d %s", c.req.svc, st, b)
			}
		})
	}

	// A syntactically invalid Range is ignored, as S3 does: the whole object.
	if st, b := (rawReq{svc: "s3", method: http.MethodGet, path: "/robust/five", header: map[string]string{"Range": "bytes=abc"}}).send(t, e); st != 200 || string(b) != "12345" {
		t.Errorf("invalid Range: %d %q", st, b)
	}

	// State is intact and every service still works through the SDK.
	calls := e.Calls()
	if calls["unknown.Unauthenticated"] == 0 || calls["ssm.Invalid"] == 0 {
		t.Errorf("rejections not counted: %v", calls)
	}
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Error("sts:", err)
	}
	roles, err := iamc.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Error("iam:", err)
	} else if len(roles.Roles) != 1 || aws.ToString(roles.Roles[0].RoleName) != "robust-base" {
		t.Errorf("roles after bad input: %+v", roles.Roles)
	}
	if pol, err := iamc.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("robust-base")}); err != nil || len(pol.PolicyNames) != 0 {
		t.Errorf("inline policies after rejected PutRolePolicy: %v %v", pol, err)
	}
	if prof, err := iamc.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{}); err != nil || len(prof.InstanceProfiles) != 0 {
		t.Errorf("instance profiles after bad input: %v %v", prof, err)
	}
	if out, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}); err != nil {
		t.Error("ec2:", err)
	} else if n := len(out.Reservations); n != 1 || len(out.Reservations[0].Instances[0].Tags) != 0 {
		t.Errorf("instance after rejected CreateTags: %+v", out.Reservations)
	}
	if _, err := ssm.NewFromConfig(cfg).DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{}); err != nil {
		t.Error("ssm:", err)
	}
	if out, err := ssm.NewFromConfig(cfg).ListCommands(ctx, &ssm.ListCommandsInput{}); err != nil || len(out.Commands) != 0 {
		t.Errorf("commands after rejected SendCommands: %v %v", out, err)
	}
	if _, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		t.Error("logs:", err)
	}
	if got := mustGet(t, s3c, "robust", "five"); string(got) != "12345" {
		t.Errorf("object after bad DeleteObjects: %q", got)
	}
}

// validRawReq is a minimal valid call of svc.
func validRawReq(svc, version string) rawReq {
	switch svc {
	case "ssm":
		return rawReq{svc: svc, target: "AmazonSSM.DescribeInstanceInformation", body: []byte(`{}`)}
	case "logs":
		return rawReq{svc: svc, target: "Logs_20140328.DescribeLogGroups", body: []byte(`{}`)}
	case "s3":
		return rawReq{svc: svc, method: http.MethodGet, path: "/"}
	case "iam":
		return rawReq{svc: svc, body: []byte("Action=ListRoles&Version=" + version)}
	case "sts":
		return rawReq{svc: svc, body: []byte("Action=GetCallerIdentity&Version=" + version)}
	default:
		return rawReq{svc: svc, body: []byte("Action=DescribeInstances&Version=" + version)}
	}
}

// FuzzServeHTTPJSON feeds arbitrary bodies to SSM operations through ServeHTTP. The
// emulator has no instances, so no fuzzed command can ever run on the host.
func FuzzServeHTTPJSON(f *testing.F) {
	e, err := New(Options{DisableSigV4: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = e.Close() })
	ops := []string{"SendCommand", "ListCommandInvocations", "DescribeInstanceInformation"}
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"s"`, `1`, `{"`, `not json`, "\xff\xfe",
		`{"InstanceIds":"i-1"}`, `{"InstanceIds":["i-0123456789abcdef0"],"DocumentName":"AWS-RunShellScript","Parameters":{"commands":["echo x"]}}`,
		`{"Targets":[{"Key":"tag:Env","Values":["none"]}],"DocumentName":"AWS-RunShellScript","Parameters":{"commands":["true"]}}`,
		`{"DocumentName":"AWS-RunShellScript","InstanceIds":[],"TimeoutSeconds":-1,"MaxConcurrency":"0%","MaxErrors":"-5"}`,
		`{"MaxResults":"x"}`, `{"MaxResults":0}`, `{"MaxResults":-1}`, `{"MaxResults":1e40}`, `{"NextToken":"!!!"}`, `{"NextToken":"aWlpOjk5OTk5OTk5OTk5OTk5OTk5OTk="}`,
		`{"CommandId":"x","Details":true,"Filters":[{"key":"Status","value":"Nope"}]}`,
		`{"Filters":[{"Key":"PingStatus","Values":[]}],"InstanceInformationFilterList":[{"key":"InstanceIds","valueSet":["i-1"]}]}`,
		`{"Filters":[{"Key":"tag:","Values":["` + strings.Repeat("v", 2000) + `"]}]}`,
		`{"CommandId":"` + strings.Repeat("a", 100000) + `"}`,
		strings.Repeat("[", 20000),
	} {
		for i := range ops {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSSM."+ops[int(op)%len(ops)])
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 200 || (rec.Code >= 300 && rec.Code < 400) {
			t.Fatalf("%s %q: status %d %s", ops[int(op)%len(ops)], body, rec.Code, rec.Body.Bytes())
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("response is not a JSON object: %v %q", err, rec.Body.Bytes())
		}
		if _, isErr := m["__type"]; isErr != (rec.Code >= 400) {
			t.Fatalf("status %d with body %s", rec.Code, rec.Body.Bytes())
		}
	})
}
