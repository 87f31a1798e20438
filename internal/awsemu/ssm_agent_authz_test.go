package awsemu

import (
	"strings"
	"testing"
	"time"
)

// The simulated agent's output calls are checked against its instance role
// only while authorization is on, and as the real agent makes them: the S3
// upload needs s3:PutObject and s3:PutObjectAcl; the log group is created, or
// found with DescribeLogGroups when creating it is denied; the stream is
// created (or found) and written.
func TestAgentOutputPermissions(t *testing.T) {
	t.Parallel()
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ids, err := e.AddInstances(InstanceSpec{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	e.mu.Lock()
	defer e.mu.Unlock()
	setRole := func(policy string) {
		putTestRole(e, "agent", ec2TrustPolicy, map[string]string{"p": policy})
		e.iam.profiles["agent"] = &iamProfile{Name: "agent", Path: "/", ID: "AIPAAGENT", Arn: e.iamArn("instance-profile", "/", "agent"), Created: time.Now(), Role: "agent"}
		e.ec2.instances[id].Association = &ProfileAssociation{ID: "iip-assoc-1", ProfileArn: e.iamArn("instance-profile", "/", "agent"), State: "associated"}
	}
	stmt := func(actions, resource string) string {
		return `{"Effect":"Allow","Action":[` + actions + `],"Resource":"` + resource + `"}`
	}
	doc := func(stmts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	}

	setRole(doc(stmt(`"s3:PutObject"`, "arn:aws:s3:::out/*")))
	if !e.agentMayUploadLocked(id, "out", "k") {
		t.Fatal("without enforcement nothing is checked")
	}
	e.opts.EnforceIAM = true
	if e.agentMayUploadLocked(id, "out", "k") {
		t.Error("upload without s3:PutObjectAcl allowed")
	}
	setRole(doc(stmt(`"s3:PutObject","s3:PutObjectAcl"`, "arn:aws:s3:::out/*")))
	if !e.agentMayUploadLocked(id, "out", "k") || e.agentMayUploadLocked(id, "other", "k") {
		t.Error("upload not limited to the granted bucket")
	}

	// The group: CreateLogGroup, else DescribeLogGroups finding it.
	setRole(doc(stmt(`"logs:DescribeLogGroups"`, "arn:aws:logs:us-east-1:123456789012:log-group:*")))
	e.logsPutLocked("/aws/ssm/g", "seed", "x")
	if e.agentMayUseLogGroupLocked(id, "/aws/ssm/g") {
		t.Error("DescribeLogGroups granted on a group ARN pattern worked; it has no resource type")
	}
	delete(e.logs.groups, "/aws/ssm/g")
	setRole(doc(stmt(`"logs:DescribeLogGroups"`, "*")))
	if e.agentMayUseLogGroupLocked(id, "/aws/ssm/g") {
		t.Error("a missing group without CreateLogGroup was usable")
	}
	e.logsPutLocked("/aws/ssm/g", "seed", "x")
	if !e.agentMayUseLogGroupLocked(id, "/aws/ssm/g") {
		t.Error("an existing group found with DescribeLogGroups was not usable")
	}
	setRole(doc(stmt(`"logs:CreateLogGroup"`, "arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*")))
	if !e.agentMayUseLogGroupLocked(id, "/aws/ssm/new") || e.agentMayUseLogGroupLocked(id, "/other/new") {
		t.Error("CreateLogGroup not limited to the granted pattern")
	}

	// The stream: CreateLogStream (or DescribeLogStreams finding it) and PutLogEvents.
	setRole(doc(stmt(`"logs:CreateLogStream","logs:PutLogEvents"`, "arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*:*")))
	if !e.agentMayWriteStreamLocked(id, "/aws/ssm/g", "c/i/s/stdout") {
		t.Error("stream write with CreateLogStream and PutLogEvents denied")
	}
	setRole(doc(stmt(`"logs:CreateLogStream"`, "arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*:*")))
	if e.agentMayWriteStreamLocked(id, "/aws/ssm/g", "c/i/s/stdout") {
		t.Error("stream write without PutLogEvents allowed")
	}
}
