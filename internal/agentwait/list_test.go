package agentwait_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// waitPing polls the emulator until each instance's agent reports status.
func waitPing(t *testing.T, e *awsemu.Emulator, status string, ids ...string) {
	t.Helper()
	emutest.Eventually(t, 30*time.Second, func() error {
		for _, id := range ids {
			if inst, _ := e.Instance(id); inst.PingStatus != status {
				return fmt.Errorf("%s: ping status %q, want %q", id, inst.PingStatus, status)
			}
		}
		return nil
	})
}

func listedIDs(l *agentwait.Listing) []string {
	var ids []string
	for _, a := range l.Instances {
		ids = append(ids, a.InstanceID)
	}
	return ids
}

// 1,000 managed nodes cost 20 calls: one page of 50 per call, unfiltered or
// filtered by a tag every node carries.
func TestList_thousandNodesTwentyCalls(t *testing.T) {
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{})
	var attempts atomic.Int64
	api := ssm.NewFromConfig(emutest.Config(e), func(o *ssm.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("countAttempts",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					attempts.Add(1)
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 1000, Ready: true, Tags: map[string]string{"Fleet": "big"}})
	if err != nil {
		t.Fatal(err)
	}
	waitPing(t, e, awsemu.PingOnline, ids...)
	for _, spec := range []agentwait.ListSpec{{}, {Tags: map[string]string{"Fleet": "big"}}, {PingStatuses: []string{"Online"}}} {
		e.ResetCalls()
		attempts.Store(0)
		l, err := agentwait.List(t.Context(), api, spec)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Instances) != 1000 {
			t.Errorf("%+v: listed %d, want 1000", spec, len(l.Instances))
		}
		if l.Calls != 20 {
			t.Errorf("%+v: %d calls, want 20", spec, l.Calls)
		}
		// The emulator counts every HTTP attempt, and the SDK's retryer may
		// repeat one whose keep-alive connection broke (emutest.Config): what
		// it counted must be what the client sent, for the 20 calls above.
		if got, sent := e.CallCount("ssm.DescribeInstanceInformation"), attempts.Load(); got != sent {
			t.Errorf("%+v: emulator counted %d DescribeInstanceInformation calls, the client sent %d", spec, got, sent)
		}
	}
}

// Filters select as documented, SSM-side or client-side; ConnectionLost nodes
// are listed with that status; stopped instances are not managed nodes and are
// not listed, as DescribeInstanceInformation does.
func TestList_filters(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	web := map[string]string{"Role": "web"}
	webIDs, err := e.AddInstances(awsemu.InstanceSpec{Count: 4, Ready: true, Tags: web})
	if err != nil {
		t.Fatal(err)
	}
	winIDs, err := e.AddInstances(awsemu.InstanceSpec{Count: 2, Ready: true, Platform: "Windows", Tags: map[string]string{"Role": "db"}})
	if err != nil {
		t.Fatal(err)
	}
	noAgent, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Tags: web, NoAgent: true})
	if err != nil {
		t.Fatal(err)
	}
	waitPing(t, e, awsemu.PingOnline, append(slices.Clone(webIDs), winIDs...)...)
	lost, stopped := webIDs[0], webIDs[1]
	if err := e.SetAgentStopped(lost, true); err != nil {
		t.Fatal(err)
	}
	if err := e.SetInstanceState(stopped, awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	waitPing(t, e, awsemu.PingConnectionLost, lost)
	waitPing(t, e, "", stopped)

	sorted := func(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }
	cases := []struct {
		name       string
		spec       agentwait.ListSpec
		want       []string
		clientSide []string
	}{
		{"all", agentwait.ListSpec{}, sorted(lost, webIDs[2], webIDs[3], winIDs[0], winIDs[1]), nil},
		{"tags", agentwait.ListSpec{Tags: web}, sorted(lost, webIDs[2], webIDs[3]), nil},
		{"tags and ping", agentwait.ListSpec{Tags: web, PingStatuses: []string{"ConnectionLost"}}, []string{lost}, []string{"ping statuses"}},
		{"tags, ids and platform", agentwait.ListSpec{Tags: web, InstanceIDs: []string{webIDs[2], winIDs[0], stopped}, PlatformTypes: []string{"Linux"}},
			[]string{webIDs[2]}, []string{"instance ids", "platform types"}},
		{"ping", agentwait.ListSpec{PingStatuses: []string{"ConnectionLost"}}, []string{lost}, nil},
		{"platform", agentwait.ListSpec{PlatformTypes: []string{"Windows"}}, sorted(winIDs...), nil},
		{"ids", agentwait.ListSpec{InstanceIDs: []string{lost, stopped, noAgent[0], winIDs[1]}}, sorted(lost, winIDs[1]), nil},
		{"ids and ping", agentwait.ListSpec{InstanceIDs: []string{lost, winIDs[1]}, PingStatuses: []string{"Online"}}, []string{winIDs[1]}, nil},
	}
	for _, tc := range cases {
		l, err := agentwait.List(t.Context(), c.SSM, tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := listedIDs(l); !slices.Equal(got, tc.want) {
			t.Errorf("%s: listed %v, want %v", tc.name, got, tc.want)
		}
		if !slices.Equal(l.ClientSide, tc.clientSide) {
			t.Errorf("%s: client-side filters %v, want %v", tc.name, l.ClientSide, tc.clientSide)
		}
	}

	l, err := agentwait.List(t.Context(), c.SSM, agentwait.ListSpec{InstanceIDs: []string{lost, winIDs[0]}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]agentwait.Agent{}
	for _, a := range l.Instances {
		got[a.InstanceID] = a
	}
	if a := got[lost]; a.PingStatus != "ConnectionLost" || a.PlatformType != "Linux" || a.SourceType != "AWS::EC2::Instance" ||
		a.SourceID != lost || a.ResourceType != "EC2Instance" || a.AgentVersion == "" || a.LastPingAt.IsZero() || a.RegisteredAt.IsZero() {
		t.Errorf("ConnectionLost node listed as %+v", a)
	}
	if a := got[winIDs[0]]; a.PingStatus != "Online" || a.PlatformType != "Windows" || a.ComputerName == "" || a.IPAddress == "" || a.PlatformName == "" {
		t.Errorf("Windows node listed as %+v", a)
	}
}

// A tag filter that matches only the last nodes of the listing gets empty
// pages with a NextToken first; List follows them and still spends one call
// per 50 managed nodes.
func TestList_followsEmptyFilteredPages(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	first, err := e.AddInstances(awsemu.InstanceSpec{Count: 100, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	late, err := e.AddInstances(awsemu.InstanceSpec{Count: 5, Ready: true, Tags: map[string]string{"Batch": "late"}})
	if err != nil {
		t.Fatal(err)
	}
	waitPing(t, e, awsemu.PingOnline, append(first, late...)...)
	e.ResetCalls()
	l, err := agentwait.List(t.Context(), c.SSM, agentwait.ListSpec{Tags: map[string]string{"Batch": "late"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := listedIDs(l); !slices.Equal(got, slices.Sorted(slices.Values(late))) {
		t.Errorf("listed %v, want %v", got, late)
	}
	if l.Calls != 3 || e.CallCount("ssm.DescribeInstanceInformation") != 3 {
		t.Errorf("%d calls (emulator: %d), want 3: two empty pages, then the page with the nodes", l.Calls, e.CallCount("ssm.DescribeInstanceInformation"))
	}
}
