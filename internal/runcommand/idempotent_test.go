package runcommand_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

var reToken = regexp.MustCompile(`\[tf:[a-z2-7]{10}\]$`)

// emulatorCommands lists the comments of every command the emulator holds.
func emulatorCommands(t *testing.T, c runcommand.Clients) []string { return emulatorCommandsB(t, c) }

func emulatorCommandsB(t testing.TB, c runcommand.Clients) []string {
	t.Helper()
	var comments []string
	p := ssm.NewListCommandsPaginator(c.SSM, &ssm.ListCommandsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range page.Commands {
			comments = append(comments, aws.ToString(cmd.Comment))
		}
	}
	return comments
}

// The SDK alone retries SendCommand after a lost response and so runs the
// command once per attempt: the reason for the engine's own retry.
func TestSDKRetryAfterLostResponseSendsTwice(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, true)
	ids := addReady(t, e, 1, nil)
	e.SetFault("ssm.SendCommand", awsemu.Fault{LostResponseRate: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err := c.SSM.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids, Parameters: cmds("true")})
	if err == nil {
		t.Fatal("SendCommand succeeded with every response lost")
	}
	e.ClearFaults()
	if n := len(emulatorCommands(t, c)); n < 2 {
		t.Fatalf("%d commands after SDK retries of a lost SendCommand, want several (the duplicates this engine avoids)", n)
	}
}

func TestRun_lostSendCommandResponsesAreAdoptedNotResent(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, true)
	ids := addReady(t, e, 120, nil)
	// Every SendCommand response is lost: each command must be found and
	// adopted, never sent again.
	e.SetFault("ssm.SendCommand", awsemu.Fault{LostResponseRate: 1})
	res, err := runcommand.Run(ctxTimeout(t, 2*time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, Parameters: cmds("echo hi"), Comment: "lost responses",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ClearFaults()
	if len(res.CommandIDs) != 3 {
		t.Fatalf("command ids %v, want 3 (120 ids in chunks of 50)", res.CommandIDs)
	}
	comments := emulatorCommands(t, c)
	if len(comments) != 3 {
		t.Fatalf("emulator holds %d commands (%q), want 3", len(comments), comments)
	}
	for _, cm := range comments {
		if !strings.HasPrefix(cm, "lost responses [tf:") || !reToken.MatchString(cm) {
			t.Errorf("comment %q does not carry the run token", cm)
		}
	}
	if sent, lost := e.CallCount("ssm.SendCommand"), e.CallCount("ssm.SendCommand#lost"); sent != 3 || lost != 3 {
		t.Errorf("SendCommand called %d times, %d responses lost: want 3 and 3", sent, lost)
	}
	if len(res.Invocations) != 120 || res.Status != "Success" {
		t.Errorf("status %s with %d invocations", res.Status, len(res.Invocations))
	}
}

func TestRun_lostResponseByTagAndLongComment(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, true)
	addReady(t, e, 3, map[string]string{"Role": "lost"})
	e.SetFault("ssm.SendCommand", awsemu.Fault{LostResponseRate: 1})
	long := strings.Repeat("y", 100)
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		Targets: []runcommand.Target{{Key: "tag:Role", Values: []string{"lost"}}}, Parameters: cmds("true"), Comment: long,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ClearFaults()
	comments := emulatorCommands(t, c)
	if len(comments) != 1 {
		t.Fatalf("emulator holds %d commands, want 1", len(comments))
	}
	// A comment with no room for the token is cut to make room, within 100.
	if cm := comments[0]; len(cm) != 100 || !strings.HasPrefix(cm, strings.Repeat("y", 84)+" [tf:") {
		t.Errorf("comment %q (%d characters)", cm, len(cm))
	}
	// Import shows the comment without the token.
	_, spec, err := runcommand.Import(ctxTimeout(t, time.Minute), c, res.CommandIDs[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Comment != strings.Repeat("y", 84) {
		t.Errorf("imported comment %q", spec.Comment)
	}
}

// Under throttling, 5xx, resets and lost responses on every SSM call, runs by
// ids and by tag each send exactly one command per 50 ids.
func TestRun_chaosSendsEachCommandOnce(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{Seed: 7}, true)
	ids := addReady(t, e, 60, map[string]string{"Fleet": "chaos"})
	e.SetFault("ssm", awsemu.Fault{ThrottleRate: 0.3, ServerErrorRate: 0.05, ResetRate: 0.05, LostResponseRate: 0.05})
	for i := range 3 {
		if _, err := runcommand.Run(ctxTimeout(t, 2*time.Minute), c, runcommand.Spec{InstanceIDs: ids, Parameters: cmds("true")}); err != nil {
			t.Fatalf("run %d by ids: %v", i, err)
		}
		if _, err := runcommand.Run(ctxTimeout(t, 2*time.Minute), c, runcommand.Spec{
			Targets: []runcommand.Target{{Key: "tag:Fleet", Values: []string{"chaos"}}}, Parameters: cmds("true")}); err != nil {
			t.Fatalf("run %d by tag: %v", i, err)
		}
	}
	e.ClearFaults()
	if n := len(emulatorCommands(t, c)); n != 9 {
		t.Errorf("emulator holds %d commands, want 9 (3 runs of 2 by ids, 3 of 1 by tag)", n)
	}
	if e.CallCount("ssm.SendCommand#lost")+e.CallCount("ssm.SendCommand#reset")+e.CallCount("ssm.SendCommand#5xx")+e.CallCount("ssm.SendCommand#throttled") == 0 {
		t.Errorf("no SendCommand fault fired: %v", e.Calls())
	}
}

// Interrupted while SendCommand is in flight (SSM handles it after the client
// gave up): the command is found and cancelled, not left running.
func TestRun_interruptedInFlightSendIsCancelled(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, true)
	ids := addReady(t, e, 1, nil)
	e.SetFault("ssm.SendCommand", awsemu.Fault{Latency: 800 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	res, err := runcommand.Run(ctx, c, runcommand.Spec{InstanceIDs: ids, Parameters: cmds("sleep 30")})
	var ce *runcommand.CancelledError
	if !errors.As(err, &ce) {
		t.Fatalf("Run: %v, want a CancelledError", err)
	}
	e.ClearFaults()
	if res == nil || len(res.CommandIDs) != 1 {
		t.Fatalf("result %+v: want the command sent in flight", res)
	}
	if n := e.CallCount("ssm.CancelCommand"); n != 1 {
		t.Errorf("CancelCommand called %d times, want 1", n)
	}
	out, err := c.SSM.ListCommands(t.Context(), &ssm.ListCommandsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Commands) != 1 || (out.Commands[0].Status != "Cancelled" && out.Commands[0].Status != "Cancelling") {
		t.Errorf("commands %+v, want the one, cancelled", out.Commands)
	}
}

// Run Command is eventually consistent: with ListCommands lagging 5 s behind
// SendCommand and every SendCommand response lost, the run keeps looking for
// its token until the command is listed and adopts it: exactly one command is
// created and runs.
func TestRun_lostResponseUnderLaggingListRunsOnce(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, true)
	ids := addReady(t, e, 1, nil)
	e.SetFault("ssm.SendCommand", awsemu.Fault{LostResponseRate: 1})
	e.SetFault("ssm.ListCommands", awsemu.Fault{ListLag: 5 * time.Second})
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, Parameters: cmds("echo once"), Comment: "lagging list",
	})
	if err != nil {
		t.Fatal(err)
	}
	if sent, lost := e.CallCount("ssm.SendCommand"), e.CallCount("ssm.SendCommand#lost"); sent != 1 || lost != 1 {
		t.Errorf("SendCommand handled %d times, %d responses lost: want 1 and 1 (a resend would run the command twice)", sent, lost)
	}
	if n := e.CallCount("ssm.ListCommands"); n < 2 {
		t.Errorf("%d ListCommands calls: the lag was not waited out (want several lookups)", n)
	}
	e.ClearFaults()
	if comments := emulatorCommands(t, c); len(comments) != 1 {
		t.Fatalf("emulator holds %d commands (%q), want 1", len(comments), comments)
	}
	if len(res.CommandIDs) != 1 || res.Status != "Success" || res.Invocations[ids[0]].Stdout != "once\n" {
		t.Errorf("result: ids %v, status %s, invocations %+v", res.CommandIDs, res.Status, res.Invocations)
	}
}

// The window is what makes the lagging list safe: looking for less time than
// ListCommands lags, a lost response is sent again and the command runs twice
// (this is the engine's assumption made visible, see SendLookupWindow).
func TestRun_lookupWindowShorterThanListLagSendsAgain(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, true)
	ids := addReady(t, e, 1, nil)
	e.SetFault("ssm.SendCommand", awsemu.Fault{LostResponseRate: 1})
	e.SetFault("ssm.ListCommands", awsemu.Fault{ListLag: time.Hour})
	_, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, Parameters: cmds("true"), SendLookupWindow: 300 * time.Millisecond,
	})
	if err == nil {
		t.Fatal("Run succeeded with every response lost and no command ever listed")
	}
	e.ClearFaults()
	if n := len(emulatorCommands(t, c)); n < 2 {
		t.Errorf("emulator holds %d commands, want several: the window was shorter than the lag", n)
	}
}
