package awsemu

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// A ListLag fault hides from ListCommands the commands requested less than the
// lag ago; the command exists all along (GetCommandInvocation, the counters).
func TestListLagHidesRecentCommands(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	cl := ssm.NewFromConfig(cfg)
	ctx := t.Context()
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	list := func() []ssmtypes.Command {
		t.Helper()
		out, err := cl.ListCommands(ctx, &ssm.ListCommandsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out.Commands
	}
	send := func() string {
		t.Helper()
		out, err := cl.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids,
			Parameters: map[string][]string{"commands": {"true"}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Command.CommandId)
	}

	// A lag far longer than the test, by operation key and by service key.
	for _, key := range []string{"ssm.ListCommands", "ssm"} {
		e.ClearFaults()
		e.SetFault(key, Fault{ListLag: time.Hour})
		id := send()
		if got := list(); len(got) != 0 {
			t.Fatalf("fault on %s: listed %d commands, all younger than the lag, want none", key, len(got))
		}
		if _, err := cl.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(id), InstanceId: aws.String(ids[0])}); err != nil {
			t.Fatalf("fault on %s: the unlisted command does not exist: %v", key, err)
		}
	}
	e.ClearFaults()
	if got := list(); len(got) != 2 {
		t.Fatalf("listed %d commands without the fault, want 2", len(got))
	}

	// A short lag: a new command is listed once it is that old, never before.
	const lag = 300 * time.Millisecond
	e.SetFault("ssm.ListCommands", Fault{ListLag: lag})
	id := send()
	eventually(t, 10*time.Second, func() error {
		cmds := list()
		now := time.Now()
		if len(cmds) != 3 {
			return fmt.Errorf("command %s not listed after a %s lag (%d listed)", id, lag, len(cmds))
		}
		if aws.ToString(cmds[0].CommandId) != id {
			t.Fatalf("newest listed command %s, want %s", aws.ToString(cmds[0].CommandId), id)
		}
		if age := now.Sub(aws.ToTime(cmds[0].RequestedDateTime)); age < lag {
			t.Fatalf("command listed %s after its request, before the %s lag", age, lag)
		}
		return nil
	})
	if e.CallCount("ssm.SendCommand") != 3 {
		t.Errorf("ssm.SendCommand = %d, want 3", e.CallCount("ssm.SendCommand"))
	}
}

func TestAdminListLagFault(t *testing.T) {
	t.Parallel()
	e, _ := newTestEmulator(t, Options{})
	if code, body := adminDo(t, e, "PUT", "/_awsemu/faults/ssm.ListCommands", `{"list_lag":"5s"}`, nil); code != 200 {
		t.Fatalf("put fault: %d %s", code, body)
	}
	var faults map[string]adminFault
	adminDo(t, e, "GET", "/_awsemu/faults", "", &faults)
	if faults["ssm.ListCommands"].ListLag != "5s" {
		t.Errorf("faults %+v", faults)
	}
	if code, raw := adminDo(t, e, "PUT", "/_awsemu/faults/ssm", `{"list_lag":"soon"}`, nil); code != 400 {
		t.Errorf("bad list_lag: %d %s", code, raw)
	}
}
