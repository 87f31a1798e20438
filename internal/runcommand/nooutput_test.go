package runcommand_test

import (
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// NoOutput keeps no output but says there was some; 0 is the default limit.
func TestRun_noOutputLimit(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	for _, tc := range []struct {
		limit     int
		out       string
		truncated bool
	}{{runcommand.NoOutput, "", true}, {0, "hello\n", false}} {
		res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
			InstanceIDs: ids, Parameters: cmds("echo hello"), OutputLimit: tc.limit,
		})
		if err != nil {
			t.Fatal(err)
		}
		inv := res.Invocations[ids[0]]
		if inv.Stdout != tc.out || inv.StdoutTruncated != tc.truncated || inv.Stderr != "" || inv.StderrTruncated {
			t.Errorf("limit %d: stdout %q truncated %v, stderr %q truncated %v", tc.limit, inv.Stdout, inv.StdoutTruncated, inv.Stderr, inv.StderrTruncated)
		}
	}
}
