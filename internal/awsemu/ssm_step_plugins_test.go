package awsemu

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// A finished multi-step invocation lists one plugin per step that ran, each
// with its own status, exit code and output.
func TestListCommandInvocationsOnePluginPerStep(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	cl := ssm.NewFromConfig(cfg)
	ctx := t.Context()
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	content := `{"schemaVersion":"2.2","description":"steps","mainSteps":[
	{"action":"aws:runShellScript","name":"first","inputs":{"runCommand":["echo one"]}},
	{"action":"aws:runShellScript","name":"second","inputs":{"runCommand":["echo two","exit 3"]}},
	{"action":"aws:runShellScript","name":"third","inputs":{"runCommand":["echo three"]}}]}`
	if _, err := cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Steps"), Content: aws.String(content), DocumentType: "Command"}); err != nil {
		t.Fatal(err)
	}
	out, err := cl.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("Steps"), InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Command.CommandId)
	waitCommand(t, cl, id, time.Minute)
	li, err := cl.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(id), Details: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(li.CommandInvocations) != 1 {
		t.Fatalf("%d invocations", len(li.CommandInvocations))
	}
	ps := li.CommandInvocations[0].CommandPlugins
	if len(ps) != 2 {
		t.Fatalf("%d plugins listed, want 2 (the steps that ran): %+v", len(ps), ps)
	}
	if aws.ToString(ps[0].Name) != "first" || ps[0].Status != "Success" || ps[0].ResponseCode != 0 || aws.ToString(ps[0].Output) != "one\n" {
		t.Errorf("first plugin %s %s %d %q", aws.ToString(ps[0].Name), ps[0].Status, ps[0].ResponseCode, aws.ToString(ps[0].Output))
	}
	if aws.ToString(ps[1].Name) != "second" || ps[1].Status != "Failed" || ps[1].ResponseCode != 3 {
		t.Errorf("second plugin %s %s %d", aws.ToString(ps[1].Name), ps[1].Status, ps[1].ResponseCode)
	}
	if ps[1].ResponseStartDateTime.Before(*ps[0].ResponseFinishDateTime) && !ps[1].ResponseStartDateTime.Equal(*ps[0].ResponseFinishDateTime) {
		t.Errorf("second step started %s, before the first finished %s", ps[1].ResponseStartDateTime, ps[0].ResponseFinishDateTime)
	}
}
