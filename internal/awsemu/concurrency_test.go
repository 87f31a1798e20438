package awsemu

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// opCounter counts the requests a test makes, per "service.Operation".
type opCounter struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *opCounter) add(key string) {
	c.mu.Lock()
	c.n[key]++
	c.mu.Unlock()
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestConcurrentClients: a dozen clients race on shared IAM roles and profiles,
// EC2 associations, SSM commands and S3 objects for two seconds. Every request
// is counted once by Calls(), and afterwards the state is whole: no profile
// with two roles, no instance with two associations, every command finished
// with counts that match its invocations, every object as last written.
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{TimeScale: 0.01})
	ctx := t.Context()
	iamc, ec2c, ssmc, s3c := iam.NewFromConfig(cfg), ec2.NewFromConfig(cfg), ssm.NewFromConfig(cfg), newS3Client(cfg)

	ready := onlineInstances(t, e, InstanceSpec{Count: 3})
	plain, err := e.AddInstances(InstanceSpec{Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	mustCreateBucket(t, s3c, "shared")
	ec2MakeProfile(t, cfg, "shared-prof", false)               // IAM workers race its role
	assocProfile := ec2MakeProfile(t, cfg, "assoc-prof", true) // EC2 workers race its associations
	for _, r := range []string{"shared-r1", "shared-r2"} {
		if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r), AssumeRolePolicyDocument: aws.String(testTrust)}); err != nil {
			t.Fatal(err)
		}
	}
	e.ResetCalls()

	cnt := &opCounter{n: map[string]int64{}}
	var (
		mu       sync.Mutex
		commands []string
		objects  = map[string][]byte{} // final content of private objects
	)
	deadline := time.Now().Add(2 * time.Second)
	const workers = 12
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			// call performs one SDK request, counts it and fails the test on an
			// error not listed in ok.
			call := func(op string, f func() error, ok ...string) error {
				cnt.add(op)
				err := f()
				if err == nil {
					return nil
				}
				code := errCode(err)
				for _, c := range ok {
					if c == code {
						return err
					}
				}
				t.Errorf("worker %d %s: %v", w, op, err)
				return err
			}
			sent := 0
			for i := 0; time.Now().Before(deadline); i++ {
				switch w % 4 {
				case 0: // IAM: private role and profile lifecycle, shared profile role races
					role, prof := fmt.Sprintf("r-%d-%d", w, i), fmt.Sprintf("p-%d-%d", w, i)
					_ = call("iam.CreateRole", func() error {
						_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(testTrust)})
						return err
					})
					_ = call("iam.CreateInstanceProfile", func() error {
						_, err := iamc.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(prof)})
						return err
					})
					_ = call("iam.AddRoleToInstanceProfile", func() error {
						_, err := iamc.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(prof), RoleName: aws.String(role)})
						return err
					})
					shared := fmt.Sprintf("shared-r%d", 1+rng.Intn(2))
					_ = call("iam.AddRoleToInstanceProfile", func() error {
						_, err := iamc.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("shared-prof"), RoleName: aws.String(shared)})
						return err
					}, "LimitExceeded", "EntityAlreadyExists")
					_ = call("iam.RemoveRoleFromInstanceProfile", func() error {
						_, err := iamc.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("shared-prof"), RoleName: aws.String(shared)})
						return err
					}, "NoSuchEntity")
					if i%2 == 0 { // leave every other pair in place
						_ = call("iam.RemoveRoleFromInstanceProfile", func() error {
							_, err := iamc.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(prof), RoleName: aws.String(role)})
							return err
						})
						_ = call("iam.DeleteInstanceProfile", func() error {
							_, err := iamc.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(prof)})
							return err
						})
						_ = call("iam.DeleteRole", func() error {
							_, err := iamc.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(role)})
							return err
						})
					}
				case 1: // EC2: association races on shared instances
					inst := plain[rng.Intn(len(plain))]
					var assocID string
					if call("ec2.AssociateIamInstanceProfile", func() error {
						out, err := ec2c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(inst),
							IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(assocProfile)}})
						if err == nil {
							assocID = aws.ToString(out.IamInstanceProfileAssociation.AssociationId)
						}
						return err
					}, "IncorrectState") != nil {
						_ = call("ec2.DescribeIamInstanceProfileAssociations", func() error {
							out, err := ec2c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
								Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{inst}}}})
							if err == nil && len(out.IamInstanceProfileAssociations) > 0 {
								assocID = aws.ToString(out.IamInstanceProfileAssociations[0].AssociationId)
							}
							return err
						})
					}
					if assocID != "" {
						_ = call("ec2.DisassociateIamInstanceProfile", func() error {
							_, err := ec2c.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String(assocID)})
							return err
						}, "InvalidAssociationID.NotFound")
					}
				case 2: // SSM: commands to Ready instances and reads
					if sent < 6 {
						sent++
						targets := []string{ready[rng.Intn(len(ready))], ready[rng.Intn(len(ready))]}
						if targets[0] == targets[1] {
							targets = targets[:1]
						}
						_ = call("ssm.SendCommand", func() error {
							out, err := ssmc.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
								InstanceIds: targets, Parameters: shell("echo x")})
							if err == nil {
								mu.Lock()
								commands = append(commands, aws.ToString(out.Command.CommandId))
								mu.Unlock()
							}
							return err
						})
					}
					mu.Lock()
					var cmd string
					if len(commands) > 0 {
						cmd = commands[rng.Intn(len(commands))]
					}
					mu.Unlock()
					if cmd != "" {
						var invs []ssmtypes.CommandInvocation
						_ = call("ssm.ListCommandInvocations", func() error {
							out, err := ssmc.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(cmd)})
							if err == nil {
								invs = out.CommandInvocations
							}
							return err
						})
						if len(invs) > 0 {
							_ = call("ssm.GetCommandInvocation", func() error {
								_, err := ssmc.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(cmd), InstanceId: invs[0].InstanceId})
								return err
							})
						}
					}
					_ = call("ssm.DescribeInstanceInformation", func() error {
						_, err := ssmc.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{})
						return err
					})
				case 3: // S3: private objects and a shared, overwritten one
					key := fmt.Sprintf("w%d/%d", w, rng.Intn(5))
					data := make([]byte, 1+rng.Intn(64<<10))
					rng.Read(data)
					if call("s3.PutObject", func() error {
						_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String(key), Body: bytes.NewReader(data)})
						return err
					}) == nil {
						mu.Lock()
						objects[key] = data
						mu.Unlock()
					}
					_ = call("s3.GetObject", func() error {
						out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("shared"), Key: aws.String(key)})
						if err != nil {
							return err
						}
						defer out.Body.Close()
						got, err := io.ReadAll(out.Body)
						if err == nil && !bytes.Equal(got, data) {
							t.Errorf("worker %d: %s read back %d bytes, not what it wrote (%d)", w, key, len(got), len(data))
						}
						return err
					})
					// The shared object is always one writer's whole content.
					shared := bytes.Repeat([]byte{byte('a' + w)}, 1000+w)
					_ = call("s3.PutObject", func() error {
						_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String("common"), Body: bytes.NewReader(shared)})
						return err
					})
					_ = call("s3.GetObject", func() error {
						out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("shared"), Key: aws.String("common")})
						if err != nil {
							return err
						}
						defer out.Body.Close()
						got, err := io.ReadAll(out.Body)
						if err == nil && (len(got) < 1000 || !bytes.Equal(got, bytes.Repeat(got[:1], len(got))) || len(got) != 1000+int(got[0]-'a')) {
							t.Errorf("worker %d: torn shared object (%d bytes)", w, len(got))
						}
						return err
					})
				}
			}
		}(w)
	}
	wg.Wait()
	calls := e.Calls()
	t.Logf("requests per operation: %v; %d commands", cnt.n, len(commands))
	for key, n := range cnt.n {
		if calls[key] != n {
			t.Errorf("Calls()[%s] = %d, the clients made %d", key, calls[key], n)
		}
	}
	for key, n := range calls {
		if _, ok := cnt.n[key]; !ok {
			t.Errorf("Calls() has %s = %d, the clients made none", key, n)
		}
	}
	if t.Failed() {
		return
	}

	// Invariants.
	profiles, err := iamc.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles.InstanceProfiles) < 2 {
		t.Errorf("only %d profiles survived", len(profiles.InstanceProfiles))
	}
	for _, p := range profiles.InstanceProfiles {
		if len(p.Roles) > 1 {
			t.Errorf("profile %s has %d roles", aws.ToString(p.InstanceProfileName), len(p.Roles))
		}
	}
	assocs, err := ec2c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, a := range assocs.IamInstanceProfileAssociations {
		per[aws.ToString(a.InstanceId)]++
	}
	for id, n := range per {
		if n > 1 {
			t.Errorf("instance %s has %d associations", id, n)
		}
	}
	if len(commands) == 0 {
		t.Fatal("no command was sent")
	}
	for _, id := range commands {
		c := waitCommand(t, ssmc, id, 10*time.Second)
		out, err := ssmc.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		terminal := 0
		for _, inv := range out.CommandInvocations {
			switch inv.Status {
			case ssmtypes.CommandInvocationStatusPending, ssmtypes.CommandInvocationStatusInProgress, ssmtypes.CommandInvocationStatusDelayed, ssmtypes.CommandInvocationStatusCancelling:
			default:
				terminal++
			}
			if inv.Status != ssmtypes.CommandInvocationStatusSuccess {
				t.Errorf("command %s on %s: %s", id, aws.ToString(inv.InstanceId), inv.Status)
			}
		}
		if int(c.CompletedCount) != terminal || int(c.TargetCount) != len(out.CommandInvocations) || c.Status != ssmtypes.CommandStatusSuccess {
			t.Errorf("command %s: %s CompletedCount %d TargetCount %d, %d invocations of which %d terminal",
				id, c.Status, c.CompletedCount, c.TargetCount, len(out.CommandInvocations), terminal)
		}
		inv := invocation(t, ssmc, id, aws.ToString(out.CommandInvocations[0].InstanceId))
		if aws.ToString(inv.StandardOutputContent) != "x\n" {
			t.Errorf("command %s output %q", id, aws.ToString(inv.StandardOutputContent))
		}
	}
	for key, data := range objects {
		if got := mustGet(t, s3c, "shared", key); !bytes.Equal(got, data) {
			t.Errorf("%s: read back %d bytes, last write was %d", key, len(got), len(data))
		}
	}
}
