package awsacc

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Without the confirmation variable, credentials or a region, Check refuses and
// says what is missing, what a run creates and what it costs at most.
func TestCheckRefuses(t *testing.T) {
	t.Parallel()
	full := map[string]string{EnvConfirm: "1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1"}
	for _, tc := range []struct {
		name string
		drop []string
		set  map[string]string
		want []string
	}{
		{"no confirmation", []string{EnvConfirm}, nil, []string{"SSM_ACC_AWS=1", "What a run creates", "at most about $"}},
		{"confirmation not 1", nil, map[string]string{EnvConfirm: "yes"}, []string{"SSM_ACC_AWS=1"}},
		{"no credentials", []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, nil, []string{"credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"}},
		{"half a key pair", []string{"AWS_SECRET_ACCESS_KEY"}, nil, []string{"credentials"}},
		{"no region", []string{"AWS_REGION"}, nil, []string{"AWS_REGION"}},
		{"too many instances", nil, map[string]string{EnvInstances: "3"}, []string{"must be 1..2"}},
		{"bad arch", nil, map[string]string{EnvArch: "sparc"}, []string{"x86_64 or arm64"}},
		{"bad run id", nil, map[string]string{EnvRunID: "Bad_ID"}, []string{"lower-case"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range full {
				m[k] = v
			}
			for _, k := range tc.drop {
				delete(m, k)
			}
			for k, v := range tc.set {
				m[k] = v
			}
			_, err := Check(env(m))
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("err = %v, want a refusal", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q:\n%s", w, err)
				}
			}
		})
	}
	s, err := Check(env(full))
	if err != nil {
		t.Fatal(err)
	}
	if s.Instances != 1 || s.InstanceType != "t3.nano" || len(s.RunID) != 10 || s.Region != "eu-west-1" {
		t.Fatalf("settings = %+v", s)
	}
	arm := map[string]string{EnvArch: "arm64", EnvInstances: "2", EnvRunID: "abcd1234", "AWS_PROFILE": "lane"}
	for k, v := range full {
		if k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY" {
			arm[k] = v
		}
	}
	if s, err = Check(env(arm)); err != nil || s.InstanceType != "t4g.nano" || s.Instances != 2 || s.RunID != "abcd1234" ||
		s.AMIParameter() != "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64" {
		t.Fatalf("arm64 with a profile: %+v %v", s, err)
	}
	// The cost is stated and bounded: 2 x t3.nano + volume for 30 minutes.
	if p := Plan(s); !strings.Contains(p, "at most about $0.01") {
		t.Errorf("plan:\n%s", p)
	}
}

// laneEmulator is an emulator as the lane sees AWS: agents register a moment
// after launch, instance profiles take a moment to propagate.
func laneEmulator(t *testing.T) (*awsemu.Emulator, Clients, Settings) {
	t.Helper()
	e := emutest.Start(t, awsemu.Options{RegistrationDelay: 300 * time.Millisecond, IAMPropagationDelay: time.Second, TimeScale: 0.05})
	cfg := emutest.Config(e)
	s, err := Check(env(map[string]string{EnvConfirm: "1", "AWS_PROFILE": "x", "AWS_REGION": e.Options().Region,
		EnvInstances: "2", "AWS_ENDPOINT_URL": e.URL()}))
	if err != nil {
		t.Fatal(err)
	}
	return e, NewClients(cfg, true), s
}

// The fixture launches capped, tagged instances of the public AMI whose agents
// come Online; the sweeper removes all of it; Find then finds nothing.
func TestLaunchAndSweep(t *testing.T) {
	t.Parallel()
	e, c, s := laneEmulator(t)
	ctx := t.Context()
	f, err := Launch(ctx, c, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.InstanceIDs) != 2 || f.AMI != awsemu.PublicAMIID(s.Region, s.AMIParameter()) {
		t.Fatalf("fixture = %+v", f)
	}
	for _, id := range f.InstanceIDs {
		inst, _ := e.Instance(id)
		if inst.Tags[TagKey] != s.RunID || inst.State != awsemu.StateRunning || inst.PingStatus != awsemu.PingOnline || inst.InstanceType != "t3.nano" {
			t.Fatalf("instance %s = %+v", id, inst)
		}
	}
	// The cap holds for a second launch of the same run.
	if _, err := Launch(ctx, c, s); err == nil || !strings.Contains(err.Error(), "cap") {
		t.Fatalf("second launch past the cap: %v", err)
	}
	found, err := Find(ctx, c, s.RunID)
	if err != nil || len(found.Instances) != 2 || len(found.Roles) != 1 || len(found.Profiles) != 1 || len(found.Buckets) != 1 {
		t.Fatalf("found %v, %v", found, err)
	}
	if _, err := Sweep(ctx, c, s.RunID); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, c, e, s.RunID)
	if all, err := FindAny(ctx, c); err != nil || !all.Empty() {
		t.Fatalf("the emulator still holds %s (%v)", all, err)
	}
}

// A fault injected mid-run (the SSM service failing while the fixture waits for
// the agents) leaves the run half done; the sweeper, itself under throttling and
// 5xx faults, still removes everything the run created, including a role the
// run's Terraform configuration made.
func TestSweepAfterFaultMidRun(t *testing.T) {
	t.Parallel()
	e, c, s := laneEmulator(t)
	ctx := t.Context()
	e.SetFault("ssm.DescribeInstanceInformation", awsemu.Fault{ServerErrorRate: 1})
	f, err := Launch(ctx, c, s)
	if err == nil {
		t.Fatal("launch succeeded despite the fault")
	}
	if len(f.InstanceIDs) != 2 {
		t.Fatalf("the launch should have failed after RunInstances: %v (%+v)", err, f)
	}
	// What a test of the run created through the provider: a tagged role under
	// the lane's path, in a profile.
	tfRole := Name(s.RunID, "tf")
	if _, err := c.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(tfRole), Path: aws.String(IAMPath),
		AssumeRolePolicyDocument: aws.String(ec2Trust), Tags: []iamtypes.Tag{{Key: aws.String(TagKey), Value: aws.String(s.RunID)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(tfRole), PolicyName: aws.String("inline"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	// Another run's role and a role outside the lane are left alone.
	other := createTaggedRole(t, c, Name("otherrun", "agent"), IAMPath, "otherrun")
	outside := createTaggedRole(t, c, "unrelated", "/", s.RunID)

	e.ClearFaults()
	for _, svc := range []string{"ec2", "iam", "s3", "ssm"} {
		e.SetFault(svc, awsemu.Fault{ThrottleRate: 0.2, ServerErrorRate: 0.1})
	}
	c = NewClients(retryingConfig(e), true)
	for attempt := 0; ; attempt++ {
		_, err := Sweep(ctx, c, s.RunID)
		if err == nil {
			break
		}
		if attempt == 5 {
			t.Fatalf("sweep kept failing: %v", err)
		}
	}
	e.ClearFaults()
	assertNothingLeft(t, c, e, s.RunID)
	for _, r := range []string{other, outside} {
		if _, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r)}); err != nil {
			t.Errorf("role %s outside the run was touched: %v", r, err)
		}
	}
}

func createTaggedRole(t *testing.T, c Clients, name, path, run string) string {
	t.Helper()
	if _, err := c.IAM.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String(path),
		AssumeRolePolicyDocument: aws.String(ec2Trust), Tags: []iamtypes.Tag{{Key: aws.String(TagKey), Value: aws.String(run)}}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// retryingConfig is the emulator's configuration with more attempts, as a sweeper
// on a throttled account would use.
func retryingConfig(e *awsemu.Emulator) aws.Config {
	cfg := emutest.Config(e)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 10; o.MaxBackoff = 50 * time.Millisecond })
	}
	return cfg
}

// assertNothingLeft checks through the API that nothing of the run is left
// and, through the emulator, that every instance it ever had is terminated.
func assertNothingLeft(t *testing.T, c Clients, e *awsemu.Emulator, runID string) {
	t.Helper()
	left, err := Find(t.Context(), c, runID)
	if err != nil {
		t.Fatal(err)
	}
	if !left.Empty() {
		t.Fatalf("left after the sweep: %s", left)
	}
	for _, id := range e.InstanceIDs() {
		inst, _ := e.Instance(id)
		if inst.Tags[TagKey] == runID && inst.State != awsemu.StateShuttingDown && inst.State != awsemu.StateTerminated {
			t.Fatalf("instance %s is %s after the sweep", id, inst.State)
		}
	}
}

// The fidelity group runs on the emulator: every measurement works there and
// finds the emulator answering as the notes assume (Emulator), so a report from
// AWS differs exactly where AWS does.
func TestFidelityOnEmulator(t *testing.T) {
	t.Parallel()
	e, c, s := laneEmulator(t)
	s.Instances = 1
	ctx := t.Context()
	f, err := Launch(ctx, c, s)
	if err != nil {
		t.Fatal(err)
	}
	r := RunFidelity(ctx, &Probe{C: c, S: s, F: f, Cfg: emutest.Config(e)})
	measured := 0
	for _, fd := range r.Findings {
		if fd.Test == "" {
			if fd.WhyNone == "" {
				t.Errorf("%s: neither a test nor a reason", fd.ID)
			}
			continue
		}
		measured++
		if fd.Error != "" || fd.Differs {
			t.Errorf("%s: emulator answered %q (error %q), the catalogue says %q", fd.ID, fd.Observed, fd.Error, fd.Emulator)
		}
	}
	if measured < 10 {
		t.Errorf("only %d guesses measured", measured)
	}
	if _, err := Sweep(ctx, c, s.RunID); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, c, e, s.RunID)
	t.Log(r.JSON())
}

// Every GUESS of notes/aws-behaviour.md has a catalogue entry (a test that
// measures it, or why none can), and every entry names a GUESS still there.
func TestGuessesCoverTheNotes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../notes/aws-behaviour.md")
	if err != nil {
		t.Fatal(err)
	}
	regions := guessRegions(string(b))
	if len(regions) < 17 {
		t.Fatalf("found only %d GUESS marks in the notes", len(regions))
	}
	used := map[string]bool{}
	for _, r := range regions {
		covered := false
		for _, g := range Guesses {
			if strings.Contains(r, fold(g.Notes)) {
				covered, used[g.ID] = true, true
			}
		}
		if !covered {
			t.Errorf("no fidelity entry for the GUESS in: %q", r)
		}
	}
	ids := map[string]bool{}
	for _, g := range Guesses {
		if !used[g.ID] {
			t.Errorf("entry %s names no GUESS of the notes (%q)", g.ID, g.Notes)
		}
		if ids[g.ID] {
			t.Errorf("duplicate id %s", g.ID)
		}
		ids[g.ID] = true
		if (g.Measure == nil) == (g.WhyNone == "") {
			t.Errorf("%s: needs exactly one of a measurement and a reason", g.ID)
		}
	}
}

// guessRegions returns, for each GUESS mark of the notes (but the two lines
// that describe the convention), its line and the rest of its bullet, with
// white space folded.
func guessRegions(notes string) []string {
	var out []string
	lines := strings.Split(notes, "\n")
	for i, l := range lines {
		if !strings.Contains(l, "GUESS") || strings.HasPrefix(l, "Where no primary source") || strings.HasPrefix(l, "Every `GUESS` comment") {
			continue
		}
		region := []string{l}
		for j := i + 1; j < len(lines); j++ {
			n := lines[j]
			if strings.TrimSpace(n) == "" || strings.HasPrefix(n, "- ") || strings.HasPrefix(n, "#") {
				break
			}
			region = append(region, n)
		}
		for k := 0; k < strings.Count(l, "GUESS"); k++ {
			out = append(out, fold(strings.Join(region, " ")))
		}
	}
	return out
}

func fold(s string) string { return strings.Join(strings.Fields(s), " ") }
