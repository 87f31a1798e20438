package agentwait_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// providerClients are the clients the provider builds (its retryer: 26
// attempts, no retry quota, retries stop before the deadline).
func providerClients(t *testing.T, e *awsemu.Emulator, secret string) agentwait.Clients {
	t.Helper()
	o := e.Options()
	eps := map[string]string{}
	for _, s := range awsclient.Services {
		eps[s] = e.URL()
	}
	if secret == "" {
		secret = o.SecretKey
	}
	c, err := awsclient.New(t.Context(), awsclient.Settings{
		Region: o.Region, AccessKey: o.AccessKey, SecretKey: secret, Endpoints: eps,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return agentwait.Clients{SSM: c.SSM, EC2: c.EC2, IAM: c.IAM}
}

// An endpoint that answers 500 forever: the wait ends at its timeout (wall
// time, SDK retries included) and names the operation and the 500.
func TestWait_500ForeverEndsAtTheTimeoutNamingTheCause(t *testing.T) {
	t.Parallel()
	e, _ := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 2, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	e.SetFault("ssm.DescribeInstanceInformation", awsemu.Fault{ServerErrorRate: 1})
	c := providerClients(t, e, "")
	start := time.Now()
	_, err = agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: 5 * time.Second})
	took := time.Since(start)
	var te *agentwait.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TimeoutError", err)
	}
	if took > 8*time.Second {
		t.Errorf("wait with a 5s timeout took %s", took)
	}
	for _, want := range []string{"DescribeInstanceInformation", "HTTP 500", "InternalServerError"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%s", want, err)
		}
	}
	if awsclient.HTTPStatus(err) != 500 {
		t.Errorf("the TimeoutError does not wrap the 500: %v", te.LastErr)
	}
}

// Transient errors that persist for PersistentErrorLimit end the wait before
// its timeout, naming the error and how long it lasted.
func TestWait_persistentServerErrorsEndTheWait(t *testing.T) {
	t.Parallel()
	e, _ := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	e.SetFault("ssm.DescribeInstanceInformation", awsemu.Fault{ServerErrorRate: 1})
	c := providerClients(t, e, "")
	start := time.Now()
	_, err = agentwait.Wait(t.Context(), c, agentwait.Spec{
		InstanceIDs: ids, Timeout: time.Minute, PersistentErrorLimit: 2 * time.Second,
	})
	var pe *poll.CallError
	if !errors.As(err, &pe) || pe.For < 2*time.Second {
		t.Fatalf("err = %v, want a CallError after 2s of failures", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("persistent 500s ended the wait only after %s", took)
	}
	if !strings.Contains(err.Error(), "HTTP 500") || !strings.Contains(err.Error(), "DescribeInstanceInformation") {
		t.Errorf("error does not name the operation and the 500: %v", err)
	}
}

// An error polling again cannot cure (a rejected signature) ends the wait at
// once with that error.
func TestWait_nonTransientErrorEndsTheWaitAtOnce(t *testing.T) {
	t.Parallel()
	e, _ := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	c := providerClients(t, e, "wrong-secret")
	start := time.Now()
	res, err := agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Minute})
	var pe *poll.CallError
	if !errors.As(err, &pe) || pe.For != 0 {
		t.Fatalf("err = %v, want an immediate CallError", err)
	}
	if res.Polls != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("%d polls in %s, want one at once", res.Polls, time.Since(start))
	}
	if !strings.Contains(err.Error(), "DescribeInstanceInformation") {
		t.Errorf("error does not name the operation: %v", err)
	}
}

// Identical reasons are grouped, instances beyond the diagnosis bound are
// counted, a tag selection that matches nothing says so, and listed instances
// that are Online but lack the tags are told apart from unregistered agents.
func TestWait_timeoutDiagnosisGroupsAndTags(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	noProfile, err := e.AddInstances(awsemu.InstanceSpec{Count: 25})
	if err != nil {
		t.Fatal(err)
	}
	_, err = agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: noProfile, Timeout: time.Second})
	var te *agentwait.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TimeoutError", err)
	}
	msg := err.Error()
	if n := strings.Count(msg, "has no IAM instance profile"); n != 1 {
		t.Errorf("the same reason is printed %d times, want once:\n%s", n, msg)
	}
	if !strings.Contains(msg, "and 17 more: instance has no IAM instance profile") || !strings.Contains(msg, "and 5 more instances, not diagnosed") {
		t.Errorf("error does not count the grouped and the undiagnosed instances:\n%s", msg)
	}

	_, err = agentwait.Wait(t.Context(), c, agentwait.Spec{Tags: map[string]string{"Role": "nomatch"}, Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "No instance carries the tags Role=nomatch") {
		t.Errorf("tags matching nothing: err = %v", err)
	}

	online, err := e.AddInstances(awsemu.InstanceSpec{Count: 2, Ready: true, Tags: map[string]string{"Role": "db"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: online, Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	_, err = agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: online, Tags: map[string]string{"Role": "web"}, Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), online[0]+" and "+online[1]+": agent is Online but the instance does not carry the tags Role=web") {
		t.Errorf("listed Online instances without the tags: err = %v", err)
	}
	if strings.Contains(err.Error(), "has not registered") {
		t.Errorf("Online instances diagnosed as unregistered:\n%s", err)
	}
}
