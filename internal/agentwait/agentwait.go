// Package agentwait waits until SSM agents report Online, following every page and
// backing off between polls, fails fast on instances that can never come online,
// and explains each instance that did not make it (the migration guide's
// checklist). List lists managed nodes once, without waiting. It has no
// Terraform types.
package agentwait

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	pollpkg "github.com/terraform-ssm/terraform-provider-ssm/internal/poll" // agentwait has its own poll function
)

// SSMAPI is the part of the SSM client the waiter uses.
type SSMAPI interface {
	DescribeInstanceInformation(ctx context.Context, in *ssm.DescribeInstanceInformationInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
}

// EC2API is the part of the EC2 client used for fail-fast checks and diagnosis.
type EC2API interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// IAMAPI is the part of the IAM client used to diagnose instance roles.
type IAMAPI interface {
	GetInstanceProfile(ctx context.Context, in *iam.GetInstanceProfileInput, optFns ...func(*iam.Options)) (*iam.GetInstanceProfileOutput, error)
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
}

// Clients are the SDK clients the waiter needs.
type Clients struct {
	SSM SSMAPI
	EC2 EC2API
	IAM IAMAPI
}

// Spec selects the instances and says how long to wait.
type Spec struct {
	// InstanceIDs lists instances to wait for.
	InstanceIDs []string
	// Tags selects instances carrying all of these tags. With InstanceIDs too, only
	// listed instances that also carry the tags count.
	Tags map[string]string
	// MinCount is how many selected instances must be Online. 0 means all listed
	// ids, or 1 when only Tags select.
	MinCount int
	// Timeout bounds the wait (0: DefaultTimeout).
	Timeout time.Duration
	// Poll schedule: the first interval, growth factor and cap (zero: defaults).
	MinInterval, MaxInterval time.Duration
	Backoff                  float64
	// FailFastEvery is how many polls pass between checks for instances that can
	// never come online (0: DefaultFailFastEvery).
	FailFastEvery int
	// PersistentErrorLimit ends the wait when every DescribeInstanceInformation
	// call failed with a transient error (throttling, 5xx, connection) for this
	// long (0: DefaultPersistentErrorLimit). Other errors end it at once.
	PersistentErrorLimit time.Duration
	// Progress, when set, is told after each poll how many are online.
	Progress func(online, want int)
}

// Defaults.
const (
	DefaultTimeout     = 10 * time.Minute
	DefaultMinInterval = 250 * time.Millisecond
	DefaultMaxInterval = 5 * time.Second
	DefaultBackoff     = 1.5
	// DefaultPersistentErrorLimit: how long transient errors may last before the
	// wait gives up on them.
	DefaultPersistentErrorLimit = 2 * time.Minute
	// DefaultFailFastEvery: polls between checks for instances that can never
	// come online, in Wait, Ready and Classify alike.
	DefaultFailFastEvery = 4
	// diagnoseBudget bounds the diagnosis made once a wait (Wait, Ready,
	// Classify) timed out.
	diagnoseBudget = 10 * time.Second
	// ids per DescribeInstanceInformation call: the page size cap (notes/aws-behaviour.md#agent-availability-before-sending).
	idsPerCall = 50
)

// Agent is what DescribeInstanceInformation reports of a managed node's agent.
type Agent struct {
	InstanceID      string
	PingStatus      string
	AgentVersion    string
	IsLatestVersion bool
	PlatformType    string
	PlatformName    string
	PlatformVersion string
	ComputerName    string
	IPAddress       string
	ResourceType    string
	LastPingAt      time.Time
	// AssociationStatus is the node's State Manager association status
	// (Success, Pending, Failed; empty without associations).
	AssociationStatus string
	// SourceID and SourceType name the node's origin, such as the instance id
	// and AWS::EC2::Instance.
	SourceID, SourceType string
	RegisteredAt         time.Time
}

// Result lists the online agents, sorted by instance id.
type Result struct {
	Online []Agent
	// Polls is how many poll cycles ran; Calls how many DescribeInstanceInformation
	// calls they made.
	Polls, Calls int
	// LastInterval is the pause before the last poll (0 when the first poll
	// succeeded): how late, at most, the wait noticed the agents.
	LastInterval time.Duration
}

// MinCountError: Spec.MinCount asks for more online agents than Spec.InstanceIDs
// lists instances, so the wait could never succeed. Nothing is polled.
type MinCountError struct {
	MinCount, Listed int
}

func (e *MinCountError) Error() string {
	return fmt.Sprintf("%d agents must be online, but only %d instances are listed", e.MinCount, e.Listed)
}

// TimeoutError is returned when not enough agents came online in time; it
// carries one diagnosis per missing instance.
type TimeoutError struct {
	Online, Want int
	Timeout      time.Duration
	Missing      []Diagnosis
	// NotDiagnosed is how many more instances were not online than Missing
	// explains (the diagnosis is bounded).
	NotDiagnosed int
	// Tags is the tag selection; NoTagMatch is set when no instance carries
	// those tags at all.
	Tags       map[string]string
	NoTagMatch bool
	// LastErr is the last error DescribeInstanceInformation answered during the
	// wait, if any (the polls that failed did not count).
	LastErr error
}

func (e *TimeoutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of the required %d SSM agents are Online after %s.", e.Online, e.Want, e.Timeout)
	if e.NoTagMatch {
		fmt.Fprintf(&b, " No instance carries the tags %s: check the tag keys and values (they are case-sensitive).", tagText(e.Tags))
	}
	if e.LastErr != nil {
		fmt.Fprintf(&b, " The last poll error was from DescribeInstanceInformation: %s.", awsclient.Cause(e.LastErr))
	}
	if len(e.Missing) > 0 {
		b.WriteString(" Instances not online:")
		for _, g := range groupDiagnoses(e.Missing) {
			b.WriteString("\n  - " + g)
		}
		if e.NotDiagnosed > 0 {
			fmt.Fprintf(&b, "\n  - and %d more instances, not diagnosed", e.NotDiagnosed)
		}
	}
	return b.String()
}

// groupDiagnoses joins the instances with the same reason, in order of first
// appearance: "i-a, i-b, i-c and 17 more: agent registered but is ...".
func groupDiagnoses(ds []Diagnosis) []string {
	var order []string
	ids := map[string][]string{}
	for _, d := range ds {
		if len(ids[d.Reason]) == 0 {
			order = append(order, d.Reason)
		}
		ids[d.Reason] = append(ids[d.Reason], d.InstanceID)
	}
	out := make([]string, 0, len(order))
	for _, r := range order {
		out = append(out, idList(ids[r], 3)+": "+r)
	}
	return out
}

// idList is "i-a", "i-a and i-b", "i-a, i-b and i-c" or "i-a, i-b, i-c and 58 more".
func idList(ids []string, show int) string {
	switch {
	case len(ids) == 1:
		return ids[0]
	case len(ids) <= show+1:
		return strings.Join(ids[:len(ids)-1], ", ") + " and " + ids[len(ids)-1]
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:show], ", "), len(ids)-show)
}

func tagText(tags map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(tags) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ", ")
}

// Unwrap returns the last poll error.
func (e *TimeoutError) Unwrap() error { return e.LastErr }

// NeverOnlineError is returned as soon as too many selected instances are in a
// state they cannot come online from while the wait runs (terminated,
// shutting-down, stopped, stopping).
type NeverOnlineError struct {
	Want, Possible int
	Dead           []Diagnosis
}

func (e *NeverOnlineError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "only %d of the selected instances can still come online, but %d must:", e.Possible, e.Want)
	for _, d := range e.Dead {
		b.WriteString("\n  - " + d.String())
	}
	return b.String()
}

// Wait polls until spec.MinCount selected agents are Online.
func Wait(ctx context.Context, c Clients, spec Spec) (*Result, error) {
	if len(spec.InstanceIDs) == 0 && len(spec.Tags) == 0 {
		return nil, errors.New("select instances with instance ids or tags")
	}
	ids := Distinct(spec.InstanceIDs)
	want := spec.MinCount
	if want <= 0 {
		want = len(ids)
		if want == 0 {
			want = 1
		}
	}
	if len(ids) > 0 && want > len(ids) {
		return nil, &MinCountError{MinCount: want, Listed: len(ids)}
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	interval, maxInterval, factor := spec.MinInterval, spec.MaxInterval, spec.Backoff
	if interval <= 0 {
		interval = DefaultMinInterval
	}
	if maxInterval <= 0 {
		maxInterval = DefaultMaxInterval
	}
	if factor < 1 {
		factor = DefaultBackoff
	}
	intervals := pollpkg.Backoff{Interval: interval, Max: maxInterval, Factor: factor}
	every := failFastEvery(spec.FailFastEvery)

	persist := spec.PersistentErrorLimit
	if persist <= 0 {
		persist = DefaultPersistentErrorLimit
	}
	track := &pollpkg.Tracker{Limit: persist, Transient: awsclient.Transient, ContextOnly: awsclient.ContextOnly, Describe: awsclient.Cause}

	// Every call gets the time left as its deadline (the SDK stops retrying
	// before it), so the timeout is wall time.
	deadline := time.Now().Add(timeout)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	res := &Result{}
	var last map[string]Agent
	// pollOnce polls and sorts the outcome: stop is non-nil when the wait ends
	// with that error.
	pollOnce := func() (agents map[string]Agent, stop error) {
		// A call's SDK retries also count towards the persistence limit.
		pctx, finish := track.Begin(wctx, "DescribeInstanceInformation")
		agents, calls, err := poll(pctx, c.SSM, ids, spec.Tags)
		failed := finish(err)
		res.Polls++
		res.Calls += calls
		switch {
		case err == nil:
			return agents, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case failed != nil:
			return nil, fmt.Errorf("listing SSM agents: %w", failed)
		}
		return nil, nil // transient, or the deadline: the caller polls again or times out
	}
	timedOut := func() (*Result, error) {
		online := onlineOf(last)
		res.Online = online
		terr := &TimeoutError{Online: len(online), Want: want, Timeout: timeout, Tags: spec.Tags}
		if e := track.Last(); e != nil {
			terr.LastErr = e.Err
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), diagnoseBudget)
		defer cancel()
		candidates := ids
		if len(candidates) == 0 && c.EC2 != nil {
			candidates = tagCandidates(dctx, c.EC2, spec.Tags)
			terr.NoTagMatch = len(candidates) == 0 && len(last) == 0 && terr.LastErr == nil && dctx.Err() == nil
		}
		missing := missingIDs(candidates, last)
		// Listed instances whose agent is Online but that lack the tags.
		var untagged []Diagnosis
		if len(ids) > 0 && len(spec.Tags) > 0 && len(missing) > 0 {
			if byID, _, err := poll(dctx, c.SSM, missing, nil); err == nil {
				var rest []string
				for _, id := range missing {
					if a, ok := byID[id]; ok && a.PingStatus == string(ssmtypes.PingStatusOnline) {
						untagged = append(untagged, Diagnosis{InstanceID: id, Check: "tags",
							Reason: fmt.Sprintf("agent is Online but the instance does not carry the tags %s", tagText(spec.Tags))})
						continue
					}
					rest = append(rest, id)
				}
				missing = rest
			}
		}
		terr.Missing = append(untagged, Diagnose(dctx, c, missing, last)...)
		if n := len(missing) + len(untagged) - len(terr.Missing); n > 0 {
			terr.NotDiagnosed = n
		}
		return res, terr
	}
	for {
		agents, stop := pollOnce()
		if stop != nil {
			return res, stop
		}
		if agents != nil {
			last = agents
			online := onlineOf(agents)
			if spec.Progress != nil {
				spec.Progress(len(online), want)
			}
			if len(online) >= want {
				res.Online = online
				return res, nil
			}
			// Fail fast: instances that can never come online.
			if len(ids) > 0 && c.EC2 != nil && (res.Polls == 1 || res.Polls%every == 0) {
				if dead := deadInstances(wctx, c.EC2, missingIDs(ids, agents), true); len(ids)-len(dead) < want {
					return res, &NeverOnlineError{Want: want, Possible: len(ids) - len(dead), Dead: dead}
				}
			}
		}
		if wctx.Err() != nil {
			return timedOut()
		}
		if !time.Now().Add(intervals.Interval).Before(deadline) {
			// One last poll just before the deadline.
			if wait := time.Until(deadline) - min(time.Second, timeout/10); wait > 0 {
				if err := pollpkg.Sleep(ctx, wait); err != nil {
					return res, err
				}
			}
			agents, stop := pollOnce()
			if stop != nil {
				return res, stop
			}
			if agents != nil {
				last = agents
				if online := onlineOf(agents); len(online) >= want {
					res.Online = online
					return res, nil
				}
			}
			return timedOut()
		}
		wait := intervals.Next()
		if err := pollpkg.Sleep(ctx, wait); err != nil {
			return res, err
		}
		res.LastInterval = wait
	}
}

// poll lists the selected agents: ids in chunks of 50 (one call each, plus any
// further pages), or the tag filter's pages. Empty pages with a NextToken are
// followed (notes/aws-behaviour.md#agent-availability-before-sending).
func poll(ctx context.Context, api SSMAPI, ids []string, tags map[string]string) (map[string]Agent, int, error) {
	out := map[string]Agent{}
	calls := 0
	list := func(filters []ssmtypes.InstanceInformationStringFilter) error {
		p := ssm.NewDescribeInstanceInformationPaginator(api, &ssm.DescribeInstanceInformationInput{
			Filters:    filters,
			MaxResults: aws.Int32(idsPerCall),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			calls++
			if err != nil {
				return err
			}
			for _, ii := range page.InstanceInformationList {
				a := agentOf(ii)
				out[a.InstanceID] = a
			}
		}
		return nil
	}
	if len(tags) > 0 {
		var filters []ssmtypes.InstanceInformationStringFilter
		for _, k := range sortedKeys(tags) {
			filters = append(filters, ssmtypes.InstanceInformationStringFilter{Key: aws.String("tag:" + k), Values: []string{tags[k]}})
		}
		if err := list(filters); err != nil {
			return nil, calls, err
		}
		if len(ids) > 0 {
			keep := map[string]bool{}
			for _, id := range ids {
				keep[id] = true
			}
			for id := range out {
				if !keep[id] {
					delete(out, id)
				}
			}
		}
		return out, calls, nil
	}
	for start := 0; start < len(ids); start += idsPerCall {
		end := min(start+idsPerCall, len(ids))
		err := list([]ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: ids[start:end]}})
		if err != nil {
			return nil, calls, err
		}
	}
	return out, calls, nil
}

func agentOf(ii ssmtypes.InstanceInformation) Agent {
	return Agent{
		InstanceID:      aws.ToString(ii.InstanceId),
		PingStatus:      string(ii.PingStatus),
		AgentVersion:    aws.ToString(ii.AgentVersion),
		IsLatestVersion: aws.ToBool(ii.IsLatestVersion),
		PlatformType:    string(ii.PlatformType),
		PlatformName:    aws.ToString(ii.PlatformName),
		PlatformVersion: aws.ToString(ii.PlatformVersion),
		ComputerName:    aws.ToString(ii.ComputerName),
		IPAddress:       aws.ToString(ii.IPAddress),
		ResourceType:    string(ii.ResourceType),
		LastPingAt:      aws.ToTime(ii.LastPingDateTime),

		AssociationStatus: aws.ToString(ii.AssociationStatus),
		SourceID:          aws.ToString(ii.SourceId),
		SourceType:        string(ii.SourceType),
		RegisteredAt:      aws.ToTime(ii.RegistrationDate),
	}
}

func onlineOf(agents map[string]Agent) []Agent {
	var out []Agent
	for _, a := range agents {
		if a.PingStatus == string(ssmtypes.PingStatusOnline) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	return out
}

func missingIDs(ids []string, agents map[string]Agent) []string {
	var out []string
	for _, id := range ids {
		if a, ok := agents[id]; !ok || a.PingStatus != string(ssmtypes.PingStatusOnline) {
			out = append(out, id)
		}
	}
	return out
}

// Distinct returns ss without repeats, each in the place it first appears:
// instance ids keep the order they were listed in, which diagnoses and errors
// follow. runcommand uses it too.
func Distinct(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
