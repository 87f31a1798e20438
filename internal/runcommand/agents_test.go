package runcommand_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// withAgents adds the agent check's clients.
func withAgents(e *awsemu.Emulator, c runcommand.Clients) runcommand.Clients {
	cfg := emutest.Config(e)
	c.Agents = &agentwait.Clients{SSM: ssm.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg)}
	return c
}

// A target that cannot receive the command fails the run before anything is
// sent (instead of waiting out the delivery timeout), naming the instance; by
// tag too.
func TestRun_checksAgentsBeforeSending(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	c = withAgents(e, c)
	ids := addReady(t, e, 2, map[string]string{"Role": "check"})
	if err := e.SetAgentStopped(ids[1], true); err != nil {
		t.Fatal(err)
	}
	for name, spec := range map[string]runcommand.Spec{
		"ids":  {InstanceIDs: ids, Parameters: cmds("echo x")},
		"tags": {Targets: []runcommand.Target{{Key: "tag:Role", Values: []string{"check"}}}, Parameters: cmds("echo x")},
	} {
		start := time.Now()
		_, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
		var nr *agentwait.NotReadyError
		if !errors.As(err, &nr) || !strings.Contains(err.Error(), ids[1]) || !strings.Contains(err.Error(), "ConnectionLost") {
			t.Fatalf("%s: err = %v, want a NotReadyError naming %s", name, err, ids[1])
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %s", name, d)
		}
	}
	if n := e.CallCount("ssm.SendCommand"); n != 0 {
		t.Errorf("SendCommand called %d times", n)
	}
	// With AgentWaitTimeout the run waits for the agent and then runs.
	time.AfterFunc(time.Second, func() { _ = e.SetAgentStopped(ids[1], false) })
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{InstanceIDs: ids, Parameters: cmds("echo x"), AgentWaitTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Invocations[ids[1]] == nil || res.Invocations[ids[1]].Status != "Success" {
		t.Errorf("result = %+v", res.Invocations)
	}
}
