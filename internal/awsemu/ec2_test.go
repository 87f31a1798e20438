package awsemu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

var ec2Ctx = context.Background()

// wantEC2Err asserts an EC2 error's code and that its message contains msg.
func wantEC2Err(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s error, got %v", code, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("got %s: %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// ec2WaitFor polls cond until it holds or fails the test after 5 s.
func ec2WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventually(t, 5*time.Second, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}

// ec2MakeProfile creates a role trusted by EC2 and an instance profile holding it
// (no role when withRole is false) through the IAM API, and returns its ARN.
func ec2MakeProfile(t *testing.T, cfg aws.Config, name string, withRole bool) string {
	t.Helper()
	c := iam.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	out, err := c.CreateInstanceProfile(ec2Ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateInstanceProfile: %v", err)
	}
	if withRole {
		if _, err := c.CreateRole(ec2Ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatalf("CreateRole: %v", err)
		}
		if _, err := c.AddRoleToInstanceProfile(ec2Ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(name + "-role")}); err != nil {
			t.Fatalf("AddRoleToInstanceProfile: %v", err)
		}
	}
	return aws.ToString(out.InstanceProfile.Arn)
}

// ec2RetryPropagation retries call, as Terraform does, while EC2 rejects a fresh
// instance profile; it fails if the call succeeds before delay has passed since
// created or still fails after 5 s.
func ec2RetryPropagation(t *testing.T, created time.Time, delay time.Duration, call func() error) {
	t.Helper()
	eventually(t, 5*time.Second, func() error {
		err := call()
		if err == nil {
			if since := time.Since(created); since < delay {
				t.Fatalf("accepted after %v, before the %v propagation delay", since, delay)
			}
			return nil
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" || !strings.Contains(ae.ErrorMessage(), "Invalid IAM Instance Profile") {
			t.Fatalf("unexpected error while waiting for propagation: %v", err)
		}
		return fmt.Errorf("still rejected: %w", err)
	})
}

func ec2DescribeOne(t *testing.T, c *ec2.Client, id string) ec2types.Instance {
	t.Helper()
	out, err := c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("want one instance, got %+v", out.Reservations)
	}
	return out.Reservations[0].Instances[0]
}

func ec2StateName(t *testing.T, c *ec2.Client, id string) ec2types.InstanceStateName {
	return ec2DescribeOne(t, c, id).State.Name
}

func ec2TagMap(tags []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// The wire value is lowercase "windows" (EC2 docs), not the SDK enum "Windows".
func TestEC2DescribeInstancesFields(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	c := ec2.NewFromConfig(cfg)
	lin, err := e.AddInstances(InstanceSpec{Tags: map[string]string{"Env": "dev", "Name": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	win, _ := e.AddInstances(InstanceSpec{Platform: "Windows"})

	out, err := c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{lin[0], win[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 2 {
		t.Fatalf("want 2 reservations, got %d", len(out.Reservations))
	}
	r := out.Reservations[0]
	if !strings.HasPrefix(aws.ToString(r.ReservationId), "r-") || aws.ToString(r.OwnerId) != "123456789012" {
		t.Errorf("reservation %q owner %q", aws.ToString(r.ReservationId), aws.ToString(r.OwnerId))
	}
	li := r.Instances[0]
	if aws.ToString(li.InstanceId) != lin[0] || li.State.Name != ec2types.InstanceStateNameRunning || aws.ToInt32(li.State.Code) != 16 {
		t.Errorf("linux instance %s state %+v", aws.ToString(li.InstanceId), li.State)
	}
	if li.Platform != "" || aws.ToString(li.PlatformDetails) != "Linux/UNIX" {
		t.Errorf("linux platform %q details %q", li.Platform, aws.ToString(li.PlatformDetails))
	}
	if got := ec2TagMap(li.Tags); got["Env"] != "dev" || got["Name"] != "web" || len(got) != 2 {
		t.Errorf("tags %v", got)
	}
	if !strings.HasPrefix(aws.ToString(li.PrivateIpAddress), "10.0.") || li.LaunchTime == nil || time.Since(*li.LaunchTime) > time.Minute {
		t.Errorf("ip %q launch %v", aws.ToString(li.PrivateIpAddress), li.LaunchTime)
	}
	if aws.ToString(li.ImageId) == "" || li.InstanceType == "" || li.IamInstanceProfile != nil {
		t.Errorf("image %q type %q profile %+v", aws.ToString(li.ImageId), li.InstanceType, li.IamInstanceProfile)
	}
	wi := out.Reservations[1].Instances[0]
	if wi.Platform != "windows" || aws.ToString(wi.PlatformDetails) != "Windows" {
		t.Errorf("windows platform %q details %q", wi.Platform, aws.ToString(wi.PlatformDetails))
	}

	// Without ids: every instance.
	all, err := c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{})
	if err != nil || len(all.Reservations) != 2 || all.NextToken != nil {
		t.Fatalf("describe all: %v %+v", err, all)
	}
}

func TestEC2DescribeInstancesErrors(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	c := ec2.NewFromConfig(cfg)
	ids, _ := e.AddInstances(InstanceSpec{})
	for _, tc := range []struct {
		name      string
		in        ec2.DescribeInstancesInput
		code, msg string
	}{
		{"unknown id", ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}}, "InvalidInstanceID.NotFound", "The instance ID 'i-0123456789abcdef0' does not exist"},
		{"unknown ids", ec2.DescribeInstancesInput{InstanceIds: []string{ids[0], "i-0123456789abcdef0", "i-01234567"}}, "InvalidInstanceID.NotFound", "The instance IDs 'i-0123456789abcdef0, i-01234567' do not exist"},
		{"malformed", ec2.DescribeInstancesInput{InstanceIds: []string{"i-x"}}, "InvalidInstanceID.Malformed", `Invalid id: "i-x"`},
		{"malformed no prefix", ec2.DescribeInstancesInput{InstanceIds: []string{"web1"}}, "InvalidInstanceID.Malformed", `Invalid id: "web1"`},
		{"ids with MaxResults", ec2.DescribeInstancesInput{InstanceIds: ids, MaxResults: aws.Int32(5)}, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults"},
		{"MaxResults too small", ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)}, "InvalidParameterValue", "maxResults"},
		{"MaxResults 1", ec2.DescribeInstancesInput{MaxResults: aws.Int32(1)}, "InvalidParameterValue", "Value ( 1 ) for parameter maxResults is invalid. Expecting a value greater than 5."},
		{"MaxResults too big", ec2.DescribeInstancesInput{MaxResults: aws.Int32(1001)}, "InvalidParameterValue", "maxResults"},
		{"bad token", ec2.DescribeInstancesInput{NextToken: aws.String("garbage")}, "InvalidParameterValue", "nextToken"},
		{"unknown filter", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}}, "InvalidParameterValue", "The filter 'colour' is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.DescribeInstances(ec2Ctx, &tc.in)
			wantEC2Err(t, err, tc.code, tc.msg)
		})
	}
}

func TestEC2DescribeInstancesFilters(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	c := ec2.NewFromConfig(cfg)
	dev, _ := e.AddInstances(InstanceSpec{Count: 2, Tags: map[string]string{"Env": "dev", "Role": "web"}})
	prod, _ := e.AddInstances(InstanceSpec{Count: 1, Tags: map[string]string{"Env": "prod"}})
	stopped, _ := e.AddInstances(InstanceSpec{State: StateStopped, Tags: map[string]string{"Env": "dev"}})
	f := func(name string, vals ...string) ec2types.Filter {
		return ec2types.Filter{Name: aws.String(name), Values: vals}
	}
	for _, tc := range []struct {
		name    string
		filters []ec2types.Filter
		want    []string
	}{
		{"tag", []ec2types.Filter{f("tag:Env", "dev")}, append(append([]string{}, dev...), stopped...)},
		{"tag values are ORed", []ec2types.Filter{f("tag:Env", "dev", "prod")}, append(append(append([]string{}, dev...), prod...), stopped...)},
		{"filters are ANDed", []ec2types.Filter{f("tag:Env", "dev"), f("instance-state-name", "running")}, dev},
		{"tag-key", []ec2types.Filter{f("tag-key", "Role")}, dev},
		{"wildcard", []ec2types.Filter{f("tag:Env", "pr*")}, prod},
		{"instance-id", []ec2types.Filter{f("instance-id", prod[0])}, prod},
		{"state", []ec2types.Filter{f("instance-state-name", "stopped")}, stopped},
		{"no match", []ec2types.Filter{f("tag:Env", "qa")}, nil},
		{"profile arn", []ec2types.Filter{f("iam-instance-profile.arn", "*")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range out.Reservations {
				for _, i := range r.Instances {
					got = append(got, aws.ToString(i.InstanceId))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEC2DescribeInstancesPagination(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	c := ec2.NewFromConfig(cfg)
	ids, _ := e.AddInstances(InstanceSpec{Count: 12})
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	var sizes []int
	var got []string
	for p.HasMorePages() {
		out, err := p.NextPage(ec2Ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				got = append(got, aws.ToString(i.InstanceId))
				n++
			}
		}
		sizes = append(sizes, n)
	}
	if fmt.Sprint(sizes) != "[5 5 2]" || fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("pages %v, ids %v, want %v", sizes, got, ids)
	}
}

func TestEC2RunInstances(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{TimeScale: 0.01})
	c := ec2.NewFromConfig(cfg)
	out, err := c.RunInstances(ec2Ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(2),
		InstanceType: ec2types.InstanceTypeT3Small,
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("Env"), Value: aws.String("dev")}}},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: []ec2types.Tag{{Key: aws.String("Vol"), Value: aws.String("x")}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 2 || !strings.HasPrefix(aws.ToString(out.ReservationId), "r-") {
		t.Fatalf("got %d instances, reservation %q", len(out.Instances), aws.ToString(out.ReservationId))
	}
	for _, inst := range out.Instances {
		if inst.State.Name != ec2types.InstanceStateNamePending || aws.ToInt32(inst.State.Code) != 0 {
			t.Errorf("state %+v, want pending", inst.State)
		}
		if got := ec2TagMap(inst.Tags); len(got) != 1 || got["Env"] != "dev" || inst.InstanceType != ec2types.InstanceTypeT3Small {
			t.Errorf("tags %v type %s", got, inst.InstanceType)
		}
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	ec2WaitFor(t, "running", func() bool { return ec2StateName(t, c, id) == ec2types.InstanceStateNameRunning })
	// Both instances share the reservation.
	d, _ := c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{})
	if len(d.Reservations) != 1 || len(d.Reservations[0].Instances) != 2 {
		t.Errorf("want one reservation with 2 instances, got %+v", d.Reservations)
	}

	win, err := c.RunInstances(ec2Ctx, &ec2.RunInstancesInput{ImageId: aws.String(WindowsAMI), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if win.Instances[0].Platform != "windows" {
		t.Errorf("platform %q, want windows", win.Instances[0].Platform)
	}

	for _, tc := range []struct {
		name      string
		in        ec2.RunInstancesInput
		code, msg string
	}{
		{"malformed ami", ec2.RunInstancesInput{ImageId: aws.String("ubuntu"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}, "InvalidAMIID.Malformed", `Invalid id: "ubuntu"`},
		{"missing ami", ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}, "MissingParameter", "ImageId"},
		{"min > max", ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(3), MaxCount: aws.Int32(2)}, "InvalidParameterValue", "MinCount"},
		{"zero", ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(0), MaxCount: aws.Int32(2)}, "InvalidParameterValue", "minCount"},
		{"unknown profile name", ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("nope")}},
			"InvalidParameterValue", "Value (nope) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"},
		{"unknown profile arn", ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String("arn:aws:iam::123456789012:instance-profile/nope")}},
			"InvalidParameterValue", "Value (arn:aws:iam::123456789012:instance-profile/nope) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"},
		{"aws tag", ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}}}},
			"InvalidParameterValue", "reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.InstanceIDs())
			_, err := c.RunInstances(ec2Ctx, &tc.in)
			wantEC2Err(t, err, tc.code, tc.msg)
			if n := len(e.InstanceIDs()); n != before {
				t.Errorf("a failed RunInstances launched %d instances", n-before)
			}
		})
	}
}

func TestEC2RunInstancesProfilePropagation(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{IAMPropagationDelay: 300 * time.Millisecond, TimeScale: 0.01})
	c := ec2.NewFromConfig(cfg)
	created := time.Now()
	arn := ec2MakeProfile(t, cfg, "web", true)
	run := func(spec *ec2types.IamInstanceProfileSpecification) (*ec2.RunInstancesOutput, error) {
		return c.RunInstances(ec2Ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), IamInstanceProfile: spec})
	}
	_, err := run(&ec2types.IamInstanceProfileSpecification{Name: aws.String("web")})
	wantEC2Err(t, err, "InvalidParameterValue", "Value (web) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name")
	_, err = run(&ec2types.IamInstanceProfileSpecification{Arn: aws.String(arn)})
	wantEC2Err(t, err, "InvalidParameterValue", "Invalid IAM Instance Profile ARN")

	var out *ec2.RunInstancesOutput
	ec2RetryPropagation(t, created, 300*time.Millisecond, func() (err error) {
		out, err = run(&ec2types.IamInstanceProfileSpecification{Name: aws.String("web")})
		return err
	})
	inst := out.Instances[0]
	if inst.IamInstanceProfile == nil || aws.ToString(inst.IamInstanceProfile.Arn) != arn || !strings.HasPrefix(aws.ToString(inst.IamInstanceProfile.Id), "AIPA") {
		t.Errorf("profile %+v, want %s", inst.IamInstanceProfile, arn)
	}
	d, err := c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("iam-instance-profile.arn"), Values: []string{arn}}}})
	if err != nil || len(d.Reservations) != 1 {
		t.Fatalf("filter by profile arn: %v %+v", err, d)
	}

	// A profile without a role is refused even once propagated.
	ec2MakeProfile(t, cfg, "empty", false)
	e.SetDelays(-1, 0, -1)
	_, err = run(&ec2types.IamInstanceProfileSpecification{Name: aws.String("empty")})
	wantEC2Err(t, err, "InvalidParameterValue", "has no associated IAM Roles")
}

func TestEC2StartStopTerminate(t *testing.T) {
	t.Parallel()
	// Transitions last 2 s x 0.25: long enough that a loaded machine still sees
	// the pending state right after StartInstances.
	e, cfg := newTestEmulator(t, Options{TimeScale: 0.25})
	c := ec2.NewFromConfig(cfg)
	ids, _ := e.AddInstances(InstanceSpec{Count: 2})
	id := ids[0]
	change := func(t *testing.T, changes []ec2types.InstanceStateChange, prev, cur ec2types.InstanceStateName) {
		t.Helper()
		if len(changes) != 1 || changes[0].PreviousState.Name != prev || changes[0].CurrentState.Name != cur || aws.ToString(changes[0].InstanceId) != id {
			t.Fatalf("got %+v, want %s -> %s", changes, prev, cur)
		}
	}

	stop, err := c.StopInstances(ec2Ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	change(t, stop.StoppingInstances, "running", "stopping")
	if code := aws.ToInt32(stop.StoppingInstances[0].CurrentState.Code); code != 64 {
		t.Errorf("stopping code %d", code)
	}
	ec2WaitFor(t, "stopped", func() bool { return ec2StateName(t, c, id) == ec2types.InstanceStateNameStopped })
	stop, err = c.StopInstances(ec2Ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	change(t, stop.StoppingInstances, "stopped", "stopped")

	start, err := c.StartInstances(ec2Ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	change(t, start.StartingInstances, "stopped", "pending")
	// A pending instance cannot be stopped.
	_, err = c.StopInstances(ec2Ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	wantEC2Err(t, err, "IncorrectInstanceState", fmt.Sprintf("This instance '%s' is not in a state from which it can be stopped.", id))
	ec2WaitFor(t, "running", func() bool { return ec2StateName(t, c, id) == ec2types.InstanceStateNameRunning })

	// The waiter works against the emulator.
	if _, err := c.StopInstances(ec2Ctx, &ec2.StopInstancesInput{InstanceIds: []string{ids[1]}}); err != nil {
		t.Fatal(err)
	}
	w := ec2.NewInstanceStoppedWaiter(c, func(o *ec2.InstanceStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	})
	if err := w.Wait(ec2Ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ids[1]}}, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	term, err := c.TerminateInstances(ec2Ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	change(t, term.TerminatingInstances, "running", "shutting-down")
	ec2WaitFor(t, "terminated", func() bool { return ec2StateName(t, c, id) == ec2types.InstanceStateNameTerminated })
	if code := aws.ToInt32(ec2DescribeOne(t, c, id).State.Code); code != 48 {
		t.Errorf("terminated code %d", code)
	}
	term, err = c.TerminateInstances(ec2Ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	change(t, term.TerminatingInstances, "terminated", "terminated")
	_, err = c.StartInstances(ec2Ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	wantEC2Err(t, err, "IncorrectInstanceState", fmt.Sprintf("The instance '%s' is not in a state from which it can be started.", id))
	// One bad instance fails the whole call and changes nothing.
	_, err = c.StopInstances(ec2Ctx, &ec2.StopInstancesInput{InstanceIds: []string{ids[1], id}})
	wantEC2Err(t, err, "IncorrectInstanceState", id)

	_, err = c.StartInstances(ec2Ctx, &ec2.StartInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantEC2Err(t, err, "InvalidInstanceID.NotFound", "The instance ID 'i-0123456789abcdef0' does not exist")
	_, err = c.TerminateInstances(ec2Ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"bogus"}})
	wantEC2Err(t, err, "InvalidInstanceID.Malformed", `Invalid id: "bogus"`)
}

func TestEC2Tags(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	c := ec2.NewFromConfig(cfg)
	ids, _ := e.AddInstances(InstanceSpec{Count: 2, Tags: map[string]string{"Env": "dev"}})
	tag := func(k, v string) ec2types.Tag { return ec2types.Tag{Key: aws.String(k), Value: aws.String(v)} }

	if _, err := c.CreateTags(ec2Ctx, &ec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{tag("Team", "a"), tag("Env", "qa"), tag("Empty", "")}}); err != nil {
		t.Fatal(err)
	}
	if got := ec2TagMap(ec2DescribeOne(t, c, ids[1]).Tags); fmt.Sprint(got) != "map[Empty: Env:qa Team:a]" {
		t.Errorf("tags after CreateTags: %v", got)
	}
	dt, err := c.DescribeTags(ec2Ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{
		{Name: aws.String("resource-id"), Values: []string{ids[0]}}, {Name: aws.String("key"), Values: []string{"Team", "Env"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dt.Tags) != 2 || aws.ToString(dt.Tags[0].Key) != "Env" || aws.ToString(dt.Tags[0].ResourceId) != ids[0] || dt.Tags[0].ResourceType != ec2types.ResourceTypeInstance {
		t.Errorf("DescribeTags: %+v", dt.Tags)
	}
	p := ec2.NewDescribeTagsPaginator(c, &ec2.DescribeTagsInput{MaxResults: aws.Int32(5)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ec2Ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Tags)
	}
	if n != 6 {
		t.Errorf("paged DescribeTags found %d tags, want 6", n)
	}

	// DeleteTags: a value must match; no value deletes the key.
	if _, err := c.DeleteTags(ec2Ctx, &ec2.DeleteTagsInput{Resources: ids[:1], Tags: []ec2types.Tag{tag("Env", "prod"), {Key: aws.String("Team")}}}); err != nil {
		t.Fatal(err)
	}
	if got := ec2TagMap(ec2DescribeOne(t, c, ids[0]).Tags); fmt.Sprint(got) != "map[Empty: Env:qa]" {
		t.Errorf("tags after DeleteTags: %v", got)
	}
	if _, err := c.DeleteTags(ec2Ctx, &ec2.DeleteTagsInput{Resources: ids[:1], Tags: []ec2types.Tag{tag("Env", "qa")}}); err != nil {
		t.Fatal(err)
	}
	if got := ec2TagMap(ec2DescribeOne(t, c, ids[0]).Tags); fmt.Sprint(got) != "map[Empty:]" {
		t.Errorf("tags after DeleteTags with value: %v", got)
	}

	long := strings.Repeat("k", 129)
	for _, tc := range []struct {
		name      string
		in        ec2.CreateTagsInput
		code, msg string
	}{
		{"unknown instance", ec2.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidInstanceID.NotFound", "i-0123456789abcdef0"},
		{"other resource", ec2.CreateTagsInput{Resources: []string{"vol-123"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidID", "vol-123"},
		{"aws prefix", ec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{tag("aws:foo", "b")}}, "InvalidParameterValue", "reserved"},
		{"long key", ec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{tag(long, "b")}}, "InvalidParameterValue", "128"},
		{"long value", ec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{tag("k", strings.Repeat("v", 257))}}, "InvalidParameterValue", "256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateTags(ec2Ctx, &tc.in)
			wantEC2Err(t, err, tc.code, tc.msg)
		})
	}
	many := make([]ec2types.Tag, 50)
	for i := range many {
		many[i] = tag(fmt.Sprintf("k%d", i), "v")
	}
	_, err = c.CreateTags(ec2Ctx, &ec2.CreateTagsInput{Resources: ids[:1], Tags: many})
	wantEC2Err(t, err, "TagLimitExceeded", ids[0])
}

func TestEC2Associations(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{TimeScale: 0.01})
	c := ec2.NewFromConfig(cfg)
	arnA := ec2MakeProfile(t, cfg, "prof-a", true)
	arnB := ec2MakeProfile(t, cfg, "prof-b", true)
	ids, _ := e.AddInstances(InstanceSpec{Count: 2})
	id := ids[0]

	as, err := c.AssociateIamInstanceProfile(ec2Ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(id),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("prof-a")}})
	if err != nil {
		t.Fatal(err)
	}
	a := as.IamInstanceProfileAssociation
	assocID := aws.ToString(a.AssociationId)
	if !strings.HasPrefix(assocID, "iip-assoc-") || a.State != ec2types.IamInstanceProfileAssociationStateAssociating ||
		aws.ToString(a.InstanceId) != id || aws.ToString(a.IamInstanceProfile.Arn) != arnA || a.Timestamp == nil {
		t.Fatalf("associate returned %+v", a)
	}
	if p := ec2DescribeOne(t, c, id).IamInstanceProfile; p == nil || aws.ToString(p.Arn) != arnA {
		t.Errorf("DescribeInstances profile %+v", p)
	}

	_, err = c.AssociateIamInstanceProfile(ec2Ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(id),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(arnB)}})
	wantEC2Err(t, err, "IncorrectState", "There is an existing association for instance "+id)

	describe := func(in *ec2.DescribeIamInstanceProfileAssociationsInput) []ec2types.IamInstanceProfileAssociation {
		t.Helper()
		out, err := c.DescribeIamInstanceProfileAssociations(ec2Ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.IamInstanceProfileAssociations
	}
	ec2WaitFor(t, "associated", func() bool {
		got := describe(&ec2.DescribeIamInstanceProfileAssociationsInput{AssociationIds: []string{assocID}})
		return len(got) == 1 && got[0].State == ec2types.IamInstanceProfileAssociationStateAssociated
	})
	if got := describe(&ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{
		{Name: aws.String("instance-id"), Values: []string{id}}, {Name: aws.String("state"), Values: []string{"associated"}}}}); len(got) != 1 {
		t.Errorf("filtered describe: %+v", got)
	}
	if got := describe(&ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{
		{Name: aws.String("instance-id"), Values: []string{ids[1]}}}}); len(got) != 0 {
		t.Errorf("other instance has associations: %+v", got)
	}

	rep, err := c.ReplaceIamInstanceProfileAssociation(ec2Ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{AssociationId: aws.String(assocID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(arnB)}})
	if err != nil {
		t.Fatal(err)
	}
	newID := aws.ToString(rep.IamInstanceProfileAssociation.AssociationId)
	if newID == assocID || aws.ToString(rep.IamInstanceProfileAssociation.IamInstanceProfile.Arn) != arnB ||
		rep.IamInstanceProfileAssociation.State != ec2types.IamInstanceProfileAssociationStateAssociating {
		t.Errorf("replace returned %+v", rep.IamInstanceProfileAssociation)
	}
	_, err = c.DescribeIamInstanceProfileAssociations(ec2Ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{AssociationIds: []string{assocID}})
	wantEC2Err(t, err, "InvalidAssociationID.NotFound", assocID)

	// Replace on a stopped instance is refused.
	if err := e.SetInstanceState(id, StateStopped); err != nil {
		t.Fatal(err)
	}
	_, err = c.ReplaceIamInstanceProfileAssociation(ec2Ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{AssociationId: aws.String(newID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("prof-a")}})
	wantEC2Err(t, err, "IncorrectState", "The association "+newID+" is not the active association")

	dis, err := c.DisassociateIamInstanceProfile(ec2Ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String(newID)})
	if err != nil {
		t.Fatal(err)
	}
	if dis.IamInstanceProfileAssociation.State != ec2types.IamInstanceProfileAssociationStateDisassociating {
		t.Errorf("disassociate state %s", dis.IamInstanceProfileAssociation.State)
	}
	if got := describe(&ec2.DescribeIamInstanceProfileAssociationsInput{}); len(got) != 0 {
		t.Errorf("associations after disassociate: %+v", got)
	}
	if p := ec2DescribeOne(t, c, id).IamInstanceProfile; p != nil {
		t.Errorf("profile still shown: %+v", p)
	}

	// A stopped instance can be associated.
	as, err = c.AssociateIamInstanceProfile(ec2Ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(id),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("prof-a")}})
	if err != nil {
		t.Fatal(err)
	}
	if as.IamInstanceProfileAssociation.State != ec2types.IamInstanceProfileAssociationStateAssociating {
		t.Errorf("associate on a stopped instance: state %s", as.IamInstanceProfileAssociation.State)
	}
	// Terminating clears the association.
	if _, err := c.TerminateInstances(ec2Ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	ec2WaitFor(t, "terminated", func() bool { return ec2StateName(t, c, id) == ec2types.InstanceStateNameTerminated })
	if got := describe(&ec2.DescribeIamInstanceProfileAssociationsInput{}); len(got) != 0 {
		t.Errorf("associations after terminate: %+v", got)
	}
	_, err = c.AssociateIamInstanceProfile(ec2Ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(id),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("prof-a")}})
	wantEC2Err(t, err, "IncorrectInstanceState", id)

	for _, tc := range []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"disassociate unknown", func() error {
			_, err := c.DisassociateIamInstanceProfile(ec2Ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String("iip-assoc-0123456789abcdef0")})
			return err
		}, "InvalidAssociationID.NotFound", "The association ID 'iip-assoc-0123456789abcdef0' does not exist"},
		{"replace unknown", func() error {
			_, err := c.ReplaceIamInstanceProfileAssociation(ec2Ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{AssociationId: aws.String("iip-assoc-x"),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("prof-a")}})
			return err
		}, "InvalidAssociationID.NotFound", "iip-assoc-x"},
		{"associate unknown instance", func() error {
			_, err := c.AssociateIamInstanceProfile(ec2Ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String("i-0123456789abcdef0"),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("prof-a")}})
			return err
		}, "InvalidInstanceID.NotFound", "i-0123456789abcdef0"},
		{"associate unknown profile", func() error {
			_, err := c.AssociateIamInstanceProfile(ec2Ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(ids[1]),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("nope")}})
			return err
		}, "InvalidParameterValue", "Value (nope) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"},
		{"describe MaxResults", func() error {
			_, err := c.DescribeIamInstanceProfileAssociations(ec2Ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{MaxResults: aws.Int32(2)})
			return err
		}, "InvalidParameterValue", "maxResults"},
		{"describe bad filter", func() error {
			_, err := c.DescribeIamInstanceProfileAssociations(ec2Ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{{Name: aws.String("x"), Values: []string{"y"}}}})
			return err
		}, "InvalidParameterValue", "The filter 'x' is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantEC2Err(t, tc.call(), tc.code, tc.msg) })
	}
}

func TestEC2AssociationPropagationAndPaging(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{IAMPropagationDelay: 300 * time.Millisecond})
	c := ec2.NewFromConfig(cfg)
	created := time.Now()
	arn := ec2MakeProfile(t, cfg, "fresh", true)
	ids, _ := e.AddInstances(InstanceSpec{Count: 12})
	assoc := func(id string, spec ec2types.IamInstanceProfileSpecification) error {
		_, err := c.AssociateIamInstanceProfile(ec2Ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(id), IamInstanceProfile: &spec})
		return err
	}
	wantEC2Err(t, assoc(ids[0], ec2types.IamInstanceProfileSpecification{Name: aws.String("fresh")}),
		"InvalidParameterValue", "Value (fresh) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name")
	wantEC2Err(t, assoc(ids[0], ec2types.IamInstanceProfileSpecification{Arn: aws.String(arn)}),
		"InvalidParameterValue", "Invalid IAM Instance Profile ARN")
	ec2RetryPropagation(t, created, 300*time.Millisecond, func() error {
		return assoc(ids[0], ec2types.IamInstanceProfileSpecification{Arn: aws.String(arn)})
	})
	for _, id := range ids[1:] {
		if err := assoc(id, ec2types.IamInstanceProfileSpecification{Arn: aws.String(arn)}); err != nil {
			t.Fatalf("after propagation: %v", err)
		}
	}
	p := ec2.NewDescribeIamInstanceProfileAssociationsPaginator(c, &ec2.DescribeIamInstanceProfileAssociationsInput{MaxResults: aws.Int32(5)})
	var sizes []int
	seen := map[string]bool{}
	for p.HasMorePages() {
		out, err := p.NextPage(ec2Ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(out.IamInstanceProfileAssociations))
		for _, a := range out.IamInstanceProfileAssociations {
			seen[aws.ToString(a.InstanceId)] = true
		}
	}
	if fmt.Sprint(sizes) != "[5 5 2]" || len(seen) != 12 {
		t.Errorf("pages %v, %d instances", sizes, len(seen))
	}

	// Replace is subject to propagation too: a new profile is refused at first.
	ec2MakeProfile(t, cfg, "newer", true)
	out, err := c.DescribeIamInstanceProfileAssociations(ec2Ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{ids[0]}}}})
	if err != nil || len(out.IamInstanceProfileAssociations) != 1 {
		t.Fatalf("describe: %v %+v", err, out)
	}
	_, err = c.ReplaceIamInstanceProfileAssociation(ec2Ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{AssociationId: out.IamInstanceProfileAssociations[0].AssociationId,
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("newer")}})
	wantEC2Err(t, err, "InvalidParameterValue", "Invalid IAM Instance Profile name")
}

func TestEC2InjectedFaults(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	c := ec2.NewFromConfig(cfg)
	e.SetFault("ec2.DescribeInstances", Fault{ThrottleRate: 1})
	_, err := c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{})
	wantEC2Err(t, err, "RequestLimitExceeded", "Request limit exceeded")
	e.SetFault("ec2.DescribeInstances", Fault{ServerErrorRate: 1})
	_, err = c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{})
	wantEC2Err(t, err, "InternalError", "")
	e.ClearFaults()
	if _, err := c.DescribeInstances(ec2Ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	if n := e.CallCount("ec2.DescribeInstances"); n != 3 {
		t.Errorf("call count %d, want 3", n)
	}
}
