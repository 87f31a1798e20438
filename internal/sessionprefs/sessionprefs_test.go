package sessionprefs_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/sessionprefs"
)

func newClient(t testing.TB) (*awsemu.Emulator, *ssm.Client) {
	t.Helper()
	e := emutest.Start(t, awsemu.Options{})
	return e, ssm.NewFromConfig(emutest.Config(e))
}

var full = sessionprefs.Preferences{
	S3BucketName: "session-logs", S3KeyPrefix: "ssm/", S3EncryptionEnabled: true,
	CloudWatchLogGroupName: "/ssm/sessions", CloudWatchEncryptionEnabled: true, CloudWatchStreamingEnabled: true,
	KMSKeyID: "alias/sessions", RunAsEnabled: true, RunAsDefaultUser: "deploy",
	IdleSessionTimeout: 15, MaxSessionDuration: 120, ShellProfileLinux: "exec bash", ShellProfileWindows: "date",
}

// The content has the shape of the documented schema: every input, booleans as
// JSON booleans, both timeouts as strings of minutes.
func TestContentShape(t *testing.T) {
	var got map[string]any
	if err := json.Unmarshal([]byte(full.Content()), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"schemaVersion": "1.0",
		"description":   sessionprefs.Description,
		"sessionType":   "Standard_Stream",
		"inputs": map[string]any{
			"s3BucketName": "session-logs", "s3KeyPrefix": "ssm/", "s3EncryptionEnabled": true,
			"cloudWatchLogGroupName": "/ssm/sessions", "cloudWatchEncryptionEnabled": true, "cloudWatchStreamingEnabled": true,
			"kmsKeyId": "alias/sessions", "runAsEnabled": true, "runAsDefaultUser": "deploy",
			"idleSessionTimeout": "15", "maxSessionDuration": "120",
			"shellProfile": map[string]any{"linux": "exec bash", "windows": "date"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("content:\n%v\nwant\n%v", got, want)
	}
	var empty map[string]any
	if err := json.Unmarshal([]byte(sessionprefs.Preferences{}.Content()), &empty); err != nil {
		t.Fatal(err)
	}
	in, ok := empty["inputs"].(map[string]any)
	if !ok {
		t.Fatalf("content of no preferences has no inputs object: %v", empty)
	}
	if in["idleSessionTimeout"] != "20" || in["maxSessionDuration"] != "" {
		t.Fatalf("unset timeouts: idle %v, max %v; want \"20\" and \"\"", in["idleSessionTimeout"], in["maxSessionDuration"])
	}
}

func TestParseRoundTripAndAgentForms(t *testing.T) {
	p, err := sessionprefs.Parse(full.Content())
	if err != nil || p != full {
		t.Fatalf("round trip: %+v, %v", p, err)
	}
	// What the agent also accepts: booleans as strings, numbers for minutes, missing inputs.
	p, err = sessionprefs.Parse(`{"schemaVersion":"1.0","sessionType":"Standard_Stream","inputs":{"s3EncryptionEnabled":"true","runAsEnabled":"false","maxSessionDuration":60}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := sessionprefs.Preferences{S3EncryptionEnabled: true, IdleSessionTimeout: 20, MaxSessionDuration: 60}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	for _, bad := range []string{
		`not json`,
		`{"schemaVersion":"1.0","sessionType":"Port","inputs":{}}`,
		`{"schemaVersion":"1.0","sessionType":"Standard_Stream","inputs":{"idleSessionTimeout":"soon"}}`,
		`{"schemaVersion":"1.0","sessionType":"Standard_Stream","inputs":{"runAsEnabled":"maybe"}}`,
	} {
		var ce *sessionprefs.ContentError
		if _, err := sessionprefs.Parse(bad); !errors.As(err, &ce) {
			t.Errorf("Parse(%s) = %v, want a ContentError", bad, err)
		}
	}
}

func TestPutCreatesUpdatesAndDeletes(t *testing.T) {
	ctx := t.Context()
	e, c := newClient(t)
	const name = "SSM-SessionManagerRunShell"
	res, err := sessionprefs.Put(ctx, c, name, full.Content())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Version != "1" {
		t.Fatalf("first put: %+v", res)
	}
	d, err := c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Document.DocumentType != types.DocumentTypeSession || d.Document.DocumentFormat != types.DocumentFormatJson {
		t.Fatalf("type %s format %s", d.Document.DocumentType, d.Document.DocumentFormat)
	}
	// Same content again: no call that writes.
	before := e.CallCount("ssm.UpdateDocument")
	v, err := sessionprefs.SetContent(ctx, c, name, full.Content())
	if err != nil || v != "1" || e.CallCount("ssm.UpdateDocument") != before {
		t.Fatalf("same content: version %s err %v, UpdateDocument calls %d -> %d", v, err, before, e.CallCount("ssm.UpdateDocument"))
	}
	changed := full
	changed.IdleSessionTimeout = 60
	if v, err = sessionprefs.SetContent(ctx, c, name, changed.Content()); err != nil || v != "2" {
		t.Fatalf("update: %s %v", v, err)
	}
	// Back to version 1's content: SSM refuses a duplicate, so version 1 becomes the default.
	if v, err = sessionprefs.SetContent(ctx, c, name, full.Content()); err != nil || v != "1" {
		t.Fatalf("back to old content: %s %v", v, err)
	}
	got, err := sessionprefs.Find(ctx, c, name, "")
	if err != nil || got.Version != "1" || !sessionprefs.SameContent(got.Content, full.Content()) {
		t.Fatalf("default after revert: %+v %v", got, err)
	}
	if err := sessionprefs.Delete(ctx, c, name); err != nil {
		t.Fatal(err)
	}
	if _, err := sessionprefs.Find(ctx, c, name, ""); !sessionprefs.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
	if err := sessionprefs.Delete(ctx, c, name); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
}

func TestPutTakesOverAndRestores(t *testing.T) {
	ctx := t.Context()
	_, c := newClient(t)
	const name = "SSM-SessionManagerRunShell"
	original := `{"schemaVersion":"1.0","description":"console","sessionType":"Standard_Stream","inputs":{"s3BucketName":"old-logs","idleSessionTimeout":"20"}}`
	if _, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String(name), Content: aws.String(original), DocumentType: types.DocumentTypeSession}); err != nil {
		t.Fatal(err)
	}
	res, err := sessionprefs.Put(ctx, c, name, full.Content())
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.Version != "2" || res.PreviousVersion != "1" || res.PreviousContent != original {
		t.Fatalf("take over: %+v", res)
	}
	changed := full
	changed.S3BucketName = "new-logs"
	if _, err := sessionprefs.SetContent(ctx, c, name, changed.Content()); err != nil {
		t.Fatal(err)
	}
	if err := sessionprefs.Restore(ctx, c, name, res.PreviousVersion, res.PreviousContent); err != nil {
		t.Fatal(err)
	}
	got, err := sessionprefs.Find(ctx, c, name, "")
	if err != nil || got.Version != "1" || got.Content != original {
		t.Fatalf("restored: %+v %v", got, err)
	}
	// The version it took over was deleted meanwhile: a new version with that content.
	if _, err := sessionprefs.SetContent(ctx, c, name, changed.Content()); err != nil {
		t.Fatal(err)
	}
	if err := sessionprefs.Restore(ctx, c, name, "9", original); err != nil {
		t.Fatal(err)
	}
	if got, _ = sessionprefs.Find(ctx, c, name, ""); got.Version != "1" || got.Content != original {
		t.Fatalf("restored by content: %+v", got)
	}
}

func TestPutRefusesOtherDocumentTypes(t *testing.T) {
	ctx := t.Context()
	_, c := newClient(t)
	cmd := `{"schemaVersion":"2.2","mainSteps":[{"action":"aws:runShellScript","name":"run","inputs":{"runCommand":["true"]}}]}`
	if _, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Deploy"), Content: aws.String(cmd), DocumentType: types.DocumentTypeCommand}); err != nil {
		t.Fatal(err)
	}
	_, err := sessionprefs.Put(ctx, c, "Deploy", full.Content())
	var wt *sessionprefs.WrongTypeError
	if !errors.As(err, &wt) || wt.Type != "Command" {
		t.Fatalf("got %v, want a WrongTypeError naming Command", err)
	}
}
