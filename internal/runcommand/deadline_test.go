package runcommand_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// providerClients are the clients the provider builds (its retryer: 26
// attempts, no retry quota, retries stop before the deadline).
func providerClients(t *testing.T, url string, e *awsemu.Emulator) runcommand.Clients {
	t.Helper()
	o := e.Options()
	eps := map[string]string{}
	for _, s := range awsclient.Services {
		eps[s] = url
	}
	c, err := awsclient.New(t.Context(), awsclient.Settings{
		Region: o.Region, AccessKey: o.AccessKey, SecretKey: o.SecretKey, Endpoints: eps, S3UsePathStyle: true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return runcommand.Clients{SSM: c.SSM, S3: c.S3}
}

// ListCommandInvocations answering 500 forever: the run ends at its deadline
// (SDK retries included), names the operation and the 500, says nothing needed
// cancelling, and does not record Success.
func TestRun_500ForeverWhileCollectingEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	e, _ := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 2, nil)
	c := providerClients(t, e.URL(), e)
	e.SetFault("ssm.ListCommandInvocations", awsemu.Fault{ServerErrorRate: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Second)
	defer cancel()
	start := time.Now()
	res, err := runcommand.Run(ctx, c, runcommand.Spec{InstanceIDs: ids, Parameters: map[string][]string{"commands": {"echo hi"}}})
	took := time.Since(start)
	var ce *runcommand.CancelledError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a CancelledError", err)
	}
	if took > 9*time.Second {
		t.Errorf("run with a 6s deadline took %s", took)
	}
	if ce.LastErr == nil || ce.LastErr.Operation != "ListCommandInvocations" || awsclient.HTTPStatus(ce.LastErr) != 500 {
		t.Fatalf("last error = %v, want ListCommandInvocations' 500", ce.LastErr)
	}
	msg := err.Error()
	for _, want := range []string{"ListCommandInvocations", "HTTP 500", "nothing to cancel"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "<nil>") {
		t.Errorf("error leaks <nil>: %s", msg)
	}
	if res.Status == "Success" || res.StatusDetails != "Incomplete" {
		t.Errorf("status = %s/%s, want Failed/Incomplete: the invocations were never read", res.Status, res.StatusDetails)
	}
	if ce.CancelSent || ce.CancelErr != nil || e.CallCount("ssm.CancelCommand") != 0 {
		t.Errorf("CancelCommand sent for a finished command")
	}
}

// Persistent 5xx while collecting end the run before its deadline.
func TestRun_persistentServerErrorsEndTheCollection(t *testing.T) {
	t.Parallel()
	e, _ := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	c := providerClients(t, e.URL(), e)
	e.SetFault("ssm.ListCommandInvocations", awsemu.Fault{ServerErrorRate: 1})
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, Parameters: map[string][]string{"commands": {"true"}}, PersistentErrorLimit: 2 * time.Second,
	})
	var ae *poll.CallError
	if !errors.As(err, &ae) || ae.For < 2*time.Second || ae.Operation != "ListCommandInvocations" {
		t.Fatalf("err = %v, want ListCommandInvocations failing for 2s", err)
	}
	if res.Status == "Success" {
		t.Errorf("status Success although no invocation was read")
	}
}

// A run that never started (nothing listens at the endpoint) names the
// connection error of SendCommand: the SDK stops retrying before the deadline
// and hands back the cause.
func TestRun_neverStartedNamesTheConnectionError(t *testing.T) {
	t.Parallel()
	e, _ := newEmulator(t, awsemu.Options{}, false)
	c := providerClients(t, "http://127.0.0.1:1", e)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	res, err := runcommand.Run(ctx, c, runcommand.Spec{InstanceIDs: []string{"i-0123456789abcdef0"}, Parameters: map[string][]string{"commands": {"true"}}})
	if err == nil {
		t.Fatal("want an error")
	}
	if !strings.Contains(err.Error(), "SendCommand") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error does not name SendCommand's connection error: %v", err)
	}
	if strings.Contains(err.Error(), "<nil>") {
		t.Errorf("error leaks <nil>: %v", err)
	}
	if res != nil && len(res.CommandIDs) > 0 {
		t.Errorf("command ids %v for a run that never started", res.CommandIDs)
	}
}
