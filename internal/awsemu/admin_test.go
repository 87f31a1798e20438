package awsemu

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// adminDo sends a request to the admin API and decodes the JSON answer into out
// (when non-nil). It returns the status code and the raw body.
func adminDo(t *testing.T, e *Emulator, method, path, body string, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if !json.Valid(raw) {
		t.Fatalf("%s %s: invalid JSON %q", method, path, raw)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, string(raw)
}

func TestAdminHealthAndInstances(t *testing.T) {
	t.Parallel()
	e, _ := newTestEmulator(t, Options{})
	var health map[string]string
	if code, body := adminDo(t, e, "GET", "/_awsemu/health", "", &health); code != 200 || health["status"] != "ok" {
		t.Fatalf("health: %d %s", code, body)
	}

	var added struct {
		IDs []string `json:"instance_ids"`
	}
	if code, body := adminDo(t, e, "POST", "/_awsemu/instances", `{"count":2,"tags":{"Env":"dev"},"platform":"Windows","ready":true}`, &added); code != 200 || len(added.IDs) != 2 {
		t.Fatalf("add: %d %s", code, body)
	}
	var list []adminInstance
	adminDo(t, e, "GET", "/_awsemu/instances", "", &list)
	if len(list) != 2 || list[0].ID != added.IDs[0] || list[0].Platform != "Windows" || list[0].Tags["Env"] != "dev" ||
		list[0].State != StateRunning || list[0].ProfileArn == "" || !list[0].AgentInstalled {
		t.Fatalf("list: %+v", list)
	}
	ec2WaitFor(t, "agent online", func() bool {
		adminDo(t, e, "GET", "/_awsemu/instances", "", &list)
		return list[0].PingStatus == PingOnline
	})

	id := added.IDs[0]
	var one adminInstance
	if code, body := adminDo(t, e, "POST", "/_awsemu/instances/"+id+"/agent", `{"stopped":true}`, &one); code != 200 || !one.AgentStopped {
		t.Fatalf("agent: %d %s", code, body)
	}
	if inst, _ := e.Instance(id); !inst.AgentStopped || inst.PingStatus != PingConnectionLost {
		t.Errorf("agent not stopped: %+v", inst)
	}
	if code, body := adminDo(t, e, "POST", "/_awsemu/instances/"+id+"/state", `{"state":"stopped"}`, &one); code != 200 || one.State != StateStopped {
		t.Fatalf("state: %d %s", code, body)
	}
	if inst, _ := e.Instance(id); inst.State != StateStopped {
		t.Errorf("state %s", inst.State)
	}

	for _, tc := range []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/_awsemu/instances", `{"count":`, 400, "invalid JSON"},
		{"POST", "/_awsemu/instances", `{"cuont":1}`, 400, "unknown field"},
		{"POST", "/_awsemu/instances", `[]`, 400, "invalid JSON"},
		{"POST", "/_awsemu/instances", ``, 400, "missing JSON body"},
		{"POST", "/_awsemu/instances", `{"platform":"BeOS"}`, 400, "platform"},
		{"POST", "/_awsemu/instances", `{"count":-1}`, 400, "count"},
		{"POST", "/_awsemu/instances", `{"count":1} {}`, 400, "trailing"},
		{"POST", "/_awsemu/instances/i-0123456789abcdef0/agent", `{"stopped":true}`, 404, "no instance"},
		{"POST", "/_awsemu/instances/" + id + "/agent", `{}`, 400, "stopped"},
		{"POST", "/_awsemu/instances/" + id + "/agent", `{"stopped":"yes"}`, 400, "invalid JSON"},
		{"POST", "/_awsemu/instances/" + id + "/state", `{"state":"melting"}`, 400, "unknown instance state"},
		{"GET", "/_awsemu/instances/" + id + "/state", ``, 405, "not allowed"},
		{"DELETE", "/_awsemu/instances", ``, 405, "not allowed"},
		{"POST", "/_awsemu/health", ``, 405, "not allowed"},
		{"GET", "/_awsemu/nothing", ``, 404, "no admin endpoint"},
	} {
		code, body := adminDo(t, e, tc.method, tc.path, tc.body, nil)
		var errBody map[string]string
		_ = json.Unmarshal([]byte(body), &errBody)
		if code != tc.status || !strings.Contains(errBody["error"], tc.msg) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, code, body, tc.status, tc.msg)
		}
	}
}

func TestAdminFaultsDelaysCallsReset(t *testing.T) {
	t.Parallel()
	e, _ := newTestEmulator(t, Options{})
	if code, body := adminDo(t, e, "PUT", "/_awsemu/faults/ssm.SendCommand", `{"throttle_rate":0.5,"latency":"200ms"}`, nil); code != 200 {
		t.Fatalf("put fault: %d %s", code, body)
	}
	e.mu.Lock()
	f := e.faults["ssm.SendCommand"]
	e.mu.Unlock()
	if f.ThrottleRate != 0.5 || f.Latency != 200*time.Millisecond {
		t.Errorf("fault %+v", f)
	}
	var faults map[string]adminFault
	adminDo(t, e, "GET", "/_awsemu/faults", "", &faults)
	if faults["ssm.SendCommand"].Latency != "200ms" {
		t.Errorf("faults %+v", faults)
	}
	for _, body := range []string{`{"throttle_rate":2}`, `{"latency":"soon"}`, `{"latency":200}`, `{"reset_rate":-0.1}`, `nope`} {
		if code, raw := adminDo(t, e, "PUT", "/_awsemu/faults/ec2", body, nil); code != 400 {
			t.Errorf("fault %s: %d %s", body, code, raw)
		}
	}
	if code, _ := adminDo(t, e, "DELETE", "/_awsemu/faults", "", nil); code != 200 {
		t.Error("delete faults failed")
	}
	e.mu.Lock()
	n := len(e.faults)
	e.mu.Unlock()
	if n != 0 {
		t.Errorf("%d faults left", n)
	}

	var delays map[string]string
	if code, body := adminDo(t, e, "PUT", "/_awsemu/delays", `{"registration":"2s","iam_propagation":"10s"}`, &delays); code != 200 {
		t.Fatalf("delays: %d %s", code, body)
	}
	o := e.currentOptions()
	if o.RegistrationDelay != 2*time.Second || o.IAMPropagationDelay != 10*time.Second || o.InvocationVisibilityDelay != 0 || delays["iam_propagation"] != "10s" {
		t.Errorf("options %+v, answer %v", o, delays)
	}
	adminDo(t, e, "PUT", "/_awsemu/delays", `{"invocation_visibility":"1s"}`, nil)
	if o := e.currentOptions(); o.RegistrationDelay != 2*time.Second || o.InvocationVisibilityDelay != time.Second {
		t.Errorf("absent delays changed: %+v", o)
	}
	for _, body := range []string{`{"registration":"-1s"}`, `{"registration":5}`, `{"other":"1s"}`} {
		if code, raw := adminDo(t, e, "PUT", "/_awsemu/delays", body, nil); code != 400 {
			t.Errorf("delays %s: %d %s", body, code, raw)
		}
	}

	e.count("ec2", "DescribeInstances")
	var calls map[string]int64
	adminDo(t, e, "GET", "/_awsemu/calls", "", &calls)
	if calls["ec2.DescribeInstances"] != 1 {
		t.Errorf("calls %v", calls)
	}
	adminDo(t, e, "DELETE", "/_awsemu/calls", "", nil)
	if len(e.Calls()) != 0 {
		t.Errorf("calls after delete: %v", e.Calls())
	}

	if _, err := e.AddInstances(InstanceSpec{Count: 3}); err != nil {
		t.Fatal(err)
	}
	e.SetFault("*", Fault{ThrottleRate: 1})
	if code, _ := adminDo(t, e, "POST", "/_awsemu/reset", "", nil); code != 200 {
		t.Fatal("reset failed")
	}
	if len(e.InstanceIDs()) != 0 {
		t.Errorf("instances survive reset: %v", e.InstanceIDs())
	}
	if code, _ := adminDo(t, e, "GET", "/_awsemu/reset", "", nil); code != 405 {
		t.Errorf("GET reset: %d", code)
	}
}

func TestAdminAuthorization(t *testing.T) {
	t.Parallel()
	e, _ := newTestEmulator(t, Options{})
	var st struct {
		Enabled bool `json:"enabled"`
	}
	if code, body := adminDo(t, e, "GET", "/_awsemu/authorization", "", &st); code != 200 || st.Enabled {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code, body := adminDo(t, e, "PUT", "/_awsemu/authorization", `{"enabled":true}`, &st); code != 200 || !st.Enabled || !e.currentOptions().EnforceIAM {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, _ := adminDo(t, e, "PUT", "/_awsemu/authorization", `{"enable":true}`, nil); code != 400 {
		t.Fatalf("typo accepted: %d", code)
	}
}
