package agentwait

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	pollpkg "github.com/terraform-ssm/terraform-provider-ssm/internal/poll" // agentwait has its own poll function
)

// Readiness sorts the selected instances of a ReadySpec by whether a command
// sent now can reach them.
type Readiness struct {
	// Ready lists the instances whose agent is Online, sorted.
	Ready []string
	// Unreachable lists the instances that cannot receive a command now
	// (stopped or stopping, agent ConnectionLost or Inactive, agent never
	// registered), sorted by instance id, each with its reason.
	Unreachable []Diagnosis
	// Gone lists the selected instances that are terminated, shutting down or
	// do not exist: nothing can run on them, ever.
	Gone []Diagnosis
	// Waited is how long Classify waited for agents (0: checked once).
	Waited time.Duration
	// Registered lists the unreachable instances whose agents
	// DescribeInstanceInformation lists (ConnectionLost, Inactive): Run
	// Command's tag targets include them, unlike stopped instances, which it
	// does not list.
	Registered []string
}

// Total is how many selected instances are not gone.
func (r *Readiness) Total() int { return len(r.Ready) + len(r.Unreachable) }

// Classify checks every selected instance once and, with spec.Wait, waits for
// the agents that can still come online (running or pending instances; never
// stopped, stopping, shutting-down or terminated ones) until they all are or
// the wait is over. It never fails because of an instance: the caller decides
// what is acceptable. Errors are API errors and ctx ending.
//
// Selection: spec.InstanceIDs (one DescribeInstanceInformation per 50 ids,
// EC2 DescribeInstances only for instances that are not Online). A tag
// selection with an EC2 client: the tagged EC2 instances that are pending,
// running, stopping or stopped (one DescribeInstances per 1,000) joined with
// the account's agents that are ConnectionLost or Inactive (one
// DescribeInstanceInformation per 50 of them), see tagFleetByEC2; Ready then
// also holds running tagged instances whose agents never registered (SSM does
// not target them, so they get no invocation). Otherwise (no EC2 client,
// hybrid nodes, wildcard values) the tag selection's registered agents (one
// DescribeInstanceInformation per page of 50) plus, with EC2, the tagged
// instances that are stopped, stopping or pending.
func Classify(ctx context.Context, c Clients, spec ReadySpec) (*Readiness, error) {
	ids := Distinct(spec.InstanceIDs)
	if len(ids) == 0 && len(spec.TagValues) == 0 {
		return &Readiness{}, nil
	}
	var (
		agents   map[string]Agent
		notReady []string
		online   = map[string]bool{}
		// EC2 states of the instances that are not Online (nil without EC2).
		states = map[string]ec2types.InstanceStateName{}
		exists = map[string]bool{}
		fleet  *ec2Fleet
	)
	if len(ids) == 0 && c.EC2 != nil {
		var err error
		if fleet, err = tagFleetByEC2(ctx, c, spec.TagValues); err != nil {
			return nil, err
		}
	}
	if fleet != nil {
		agents, notReady, online = fleet.lost, fleet.notReady, fleet.online
		for _, id := range notReady {
			states[id], exists[id] = fleet.states[id], true
		}
	} else {
		var err error
		agents, err = readyPoll(ctx, c.SSM, ids, spec.TagValues)
		if err != nil {
			return nil, fmt.Errorf("checking the SSM agents of the targets (DescribeInstanceInformation): %w", err)
		}
		if len(ids) > 0 {
			notReady = missingIDs(ids, agents)
		} else {
			notReady, _ = notOnline(nil, agents)
			if c.EC2 != nil {
				extra, err := tagInstancesNotRunning(ctx, c.EC2, spec.TagValues)
				if err != nil {
					return nil, fmt.Errorf("listing the tagged instances that are not running (ec2:DescribeInstances): %w", err)
				}
				for _, id := range extra {
					if _, ok := agents[id]; !ok {
						notReady = append(notReady, id)
					}
				}
				sort.Strings(notReady)
			}
		}
		for id, a := range agents {
			if a.PingStatus == string(ssmtypes.PingStatusOnline) {
				online[id] = true
			}
		}
	}
	if fleet == nil && len(notReady) > 0 && c.EC2 != nil {
		var ec2IDs []string
		for _, id := range notReady {
			if strings.HasPrefix(id, "i-") {
				ec2IDs = append(ec2IDs, id)
			}
		}
		insts, err := describe(ctx, c.EC2, ec2IDs)
		if err != nil {
			return nil, fmt.Errorf("checking the state of the instances whose agents are not Online (ec2:DescribeInstances): %w", err)
		}
		for id, inst := range insts {
			exists[id] = true
			if inst.State != nil {
				states[id] = inst.State.Name
			}
		}
		for _, id := range ec2IDs {
			if !exists[id] {
				states[id] = "" // no such instance
			}
		}
	}
	r := &Readiness{}
	var waitable []string
	for _, id := range notReady {
		st, known := states[id]
		switch {
		case known && !exists[id]:
			r.Gone = append(r.Gone, Diagnosis{InstanceID: id, Check: "exists", Reason: "EC2 has no such instance in this account and region (terminated long ago, or a wrong id)"})
		case st == ec2types.InstanceStateNameTerminated || st == ec2types.InstanceStateNameShuttingDown:
			r.Gone = append(r.Gone, Diagnosis{InstanceID: id, Check: "running", Reason: fmt.Sprintf("instance is %s: there is nothing to run on it", st)})
		case st == ec2types.InstanceStateNameStopped || st == ec2types.InstanceStateNameStopping:
			r.Unreachable = append(r.Unreachable, Diagnosis{InstanceID: id, Check: "running", Reason: fmt.Sprintf("instance is %s: its agent comes online only after the instance is started", st)})
		default:
			waitable = append(waitable, id)
		}
	}
	if len(waitable) > 0 && spec.Wait > 0 {
		start := time.Now()
		still, last, err := waitOnline(ctx, c, waitable, spec)
		if err != nil {
			return nil, err
		}
		r.Waited = time.Since(start).Round(time.Second)
		for id, a := range last {
			agents[id] = a
		}
		for _, id := range waitable {
			if !contains(still, id) {
				online[id] = true
			}
		}
		waitable = still
	}
	if len(waitable) > 0 {
		// Explain (bounded) why each is not online; the rest get the agent's
		// own status.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), diagnoseBudget)
		ds := Diagnose(dctx, c, waitable, agents)
		cancel()
		why := map[string]Diagnosis{}
		for _, d := range ds {
			why[d.InstanceID] = d
		}
		for _, id := range waitable {
			d, ok := why[id]
			if !ok {
				d = agentDiagnosis(id, agents)
			}
			r.Unreachable = append(r.Unreachable, d)
		}
	}
	for id := range online {
		r.Ready = append(r.Ready, id)
	}
	for _, d := range r.Unreachable {
		if _, listed := agents[d.InstanceID]; listed {
			r.Registered = append(r.Registered, d.InstanceID)
		}
	}
	sort.Strings(r.Registered)
	sort.Strings(r.Ready)
	sort.Slice(r.Unreachable, func(i, j int) bool { return r.Unreachable[i].InstanceID < r.Unreachable[j].InstanceID })
	sort.Slice(r.Gone, func(i, j int) bool { return r.Gone[i].InstanceID < r.Gone[j].InstanceID })
	return r, nil
}

// waitOnline polls ids (by id) until every one is Online or spec.Wait is over,
// and returns those still not Online with the last agents seen. An instance
// that stops or terminates meanwhile ends its wait at once (it is returned).
func waitOnline(ctx context.Context, c Clients, ids []string, spec ReadySpec) ([]string, map[string]Agent, error) {
	intervals := spec.intervals()
	deadline := time.Now().Add(spec.Wait)
	pending := ids
	last := map[string]Agent{}
	var dead []string
	for polls := 1; ; polls++ {
		if err := pollpkg.Sleep(ctx, min(intervals.Next(), max(time.Until(deadline), 0))); err != nil {
			return nil, nil, err
		}
		agents, _, err := poll(ctx, c.SSM, pending, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, fmt.Errorf("waiting for the SSM agents of the targets (DescribeInstanceInformation): %w", err)
		}
		for id, a := range agents {
			last[id] = a
		}
		pending = missingIDs(pending, agents)
		if len(pending) > 0 && c.EC2 != nil && polls%failFastEvery(spec.FailFastEvery) == 0 {
			// Stop waiting for instances that stopped or terminated meanwhile.
			gone := map[string]bool{}
			for _, d := range deadInstances(ctx, c.EC2, pending, true) {
				gone[d.InstanceID] = true
				dead = append(dead, d.InstanceID)
			}
			var rest []string
			for _, id := range pending {
				if !gone[id] {
					rest = append(rest, id)
				}
			}
			pending = rest
		}
		if len(pending) == 0 || !time.Now().Before(deadline) {
			return append(pending, dead...), last, nil
		}
	}
}

// tagInstancesNotRunning lists the EC2 instances carrying the tags (values
// ORed per key, keys ANDed, as Run Command's tag targets) that are pending,
// stopping or stopped: selected, but their agents cannot receive a command
// now. One call per 1,000 instances in those states.
func tagInstancesNotRunning(ctx context.Context, api EC2API, tags map[string][]string) ([]string, error) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	filters := []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"pending", "stopping", "stopped"}}}
	for _, k := range keys {
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + k), Values: tags[k]})
	}
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{Filters: filters, MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, res := range page.Reservations {
			for _, inst := range res.Instances {
				ids = append(ids, aws.ToString(inst.InstanceId))
			}
		}
	}
	return ids, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
