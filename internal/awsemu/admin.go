package awsemu

// The admin JSON API under /_awsemu/ controls a standalone emulator the way the Go
// API (fleet.go, faults.go, emulator.go) controls an in-process one. It is not
// signed: the standalone server listens on loopback unless told otherwise.
//
//	GET    /_awsemu/health                  {"status":"ok"}
//	GET    /_awsemu/instances               [{id, state, platform, tags, ping_status, profile_arn, ...}]
//	POST   /_awsemu/instances               InstanceSpec -> {"instance_ids":[...]}
//	POST   /_awsemu/instances/{id}/agent    {"stopped":true|false}
//	POST   /_awsemu/instances/{id}/state    {"state":"stopped"}
//	GET    /_awsemu/faults                  {"key": Fault, ...}
//	PUT    /_awsemu/faults/{key}            Fault: {throttle_rate, server_error_rate, reset_rate,
//	                                        lost_response_rate, latency, list_lag (Go duration strings)}
//	DELETE /_awsemu/faults                  clear every fault
//	PUT    /_awsemu/delays                  {"registration":"2s","iam_propagation":"10s","invocation_visibility":"1s"}
//	GET    /_awsemu/calls                   {"ssm.SendCommand": 3, ...}
//	DELETE /_awsemu/calls                   zero the counters
//	POST   /_awsemu/reset                   drop every resource, fault and counter
//	GET    /_awsemu/authorization           {"enabled":false}
//	PUT    /_awsemu/authorization           {"enabled":true} evaluate requests against the caller's policies (authz.go)

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const maxAdminBody = 1 << 20

type adminError struct {
	status int
	msg    string
}

func (e *adminError) Error() string { return e.msg }

func adminErrf(status int, format string, args ...any) *adminError {
	return &adminError{status: status, msg: fmt.Sprintf(format, args...)}
}

// adminPrefix is where the admin API lives; ServeHTTP hands it every path under it.
const adminPrefix = "/_awsemu/"

// adminRoute is one admin endpoint: a method pattern of net/http.ServeMux and the
// handler answering it with a value to encode as JSON, or an error (an
// *adminError carries its status; any other error is a 400).
type adminRoute struct {
	pattern string
	handle  func(e *Emulator, r *http.Request) (any, error)
}

// adminRoutes is the admin API, one route per method and path.
var adminRoutes = []adminRoute{
	{"GET /_awsemu/health", (*Emulator).adminHealth},
	{"GET /_awsemu/instances", (*Emulator).adminListInstances},
	{"POST /_awsemu/instances", (*Emulator).adminAddInstances},
	{"POST /_awsemu/instances/{id}/agent", (*Emulator).adminSetAgent},
	{"POST /_awsemu/instances/{id}/state", (*Emulator).adminSetState},
	{"GET /_awsemu/faults", (*Emulator).adminListFaults},
	{"DELETE /_awsemu/faults", (*Emulator).adminClearFaults},
	{"PUT /_awsemu/faults/{key}", (*Emulator).adminPutFault},
	{"PUT /_awsemu/delays", (*Emulator).adminSetDelays},
	{"GET /_awsemu/calls", (*Emulator).adminCalls},
	{"DELETE /_awsemu/calls", (*Emulator).adminResetCalls},
	{"POST /_awsemu/reset", (*Emulator).adminReset},
	{"GET /_awsemu/authorization", (*Emulator).adminAuthorization},
	{"PUT /_awsemu/authorization", (*Emulator).adminSetAuthorization},
}

// adminMethods are the methods the admin API routes, in the order an Allow
// header lists them.
var adminMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}

// newAdminMux builds the admin API's router for e.
func (e *Emulator) newAdminMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range adminRoutes {
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			res, err := rt.handle(e, r)
			if err != nil {
				var ae *adminError
				if !errors.As(err, &ae) {
					ae = &adminError{status: http.StatusBadRequest, msg: err.Error()}
				}
				writeAdminJSON(w, ae.status, map[string]string{"error": ae.msg})
				return
			}
			writeAdminJSON(w, http.StatusOK, res)
		})
	}
	return mux
}

// serveAdmin answers a request under adminPrefix. Unknown paths are a JSON 404, a
// known path with another method a JSON 405 with an Allow header. HEAD is not
// routed (ServeMux would hand it to the GET routes).
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			writeAdminJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprint("internal error: ", p)})
		}
	}()
	req, routable := adminRequest(r)
	if routable && r.Method != http.MethodHead {
		if _, pattern := e.admin.Handler(req); pattern != "" {
			e.admin.ServeHTTP(w, req)
			return
		}
	}
	if allow := e.adminAllowed(req); routable && allow != "" {
		w.Header().Set("Allow", allow)
		writeAdminJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path)})
		return
	}
	writeAdminJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no admin endpoint %s %s", r.Method, r.URL.Path)})
}

// adminRequest is r as the router sees it: the path after adminPrefix without
// leading or trailing slashes, each segment escaped so that an encoded slash or a
// dot segment stays one literal segment (ServeMux would otherwise clean it
// away). A path with an empty inner segment names no endpoint: routable is false.
func adminRequest(r *http.Request) (req *http.Request, routable bool) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, adminPrefix), "/")
	segs := strings.Split(rest, "/")
	routable = true
	for i, s := range segs {
		switch s {
		case "":
			routable = rest == ""
		case ".", "..":
			segs[i] = strings.Repeat("%2E", len(s))
		default:
			segs[i] = url.PathEscape(s)
		}
	}
	u := *r.URL
	u.Path, u.RawPath = adminPrefix+rest, adminPrefix+strings.Join(segs, "/")
	req = r.WithContext(r.Context())
	req.URL = &u
	return req, routable
}

// adminAllowed lists the methods routed for req's path, as an Allow header.
func (e *Emulator) adminAllowed(req *http.Request) string {
	var allowed []string
	for _, m := range adminMethods {
		probe := req.WithContext(req.Context())
		probe.Method = m
		if _, pattern := e.admin.Handler(probe); pattern != "" {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, buf = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	buf = append(buf, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}

// decodeAdmin decodes a JSON body strictly (unknown fields are errors, so typos
// do not pass silently).
func decodeAdmin(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
	if err != nil {
		return adminErrf(http.StatusBadRequest, "reading body: %v", err)
	}
	if len(body) > maxAdminBody {
		return adminErrf(http.StatusRequestEntityTooLarge, "body exceeds %d bytes", maxAdminBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return adminErrf(http.StatusBadRequest, "missing JSON body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return adminErrf(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return adminErrf(http.StatusBadRequest, "invalid JSON body: trailing data")
	}
	return nil
}

// adminInstance is one fleet instance as the admin API lists it.
type adminInstance struct {
	ID               string            `json:"id"`
	State            string            `json:"state"`
	Platform         string            `json:"platform"`
	Tags             map[string]string `json:"tags"`
	PingStatus       string            `json:"ping_status"`
	ProfileArn       string            `json:"profile_arn,omitempty"`
	AssociationID    string            `json:"association_id,omitempty"`
	AssociationState string            `json:"association_state,omitempty"`
	AgentInstalled   bool              `json:"agent_installed"`
	AgentStopped     bool              `json:"agent_stopped"`
	PrivateIP        string            `json:"private_ip"`
	ComputerName     string            `json:"computer_name"`
}

// adminFault is Fault with the latency as a duration string.
type adminFault struct {
	ThrottleRate     float64 `json:"throttle_rate"`
	ServerErrorRate  float64 `json:"server_error_rate"`
	ResetRate        float64 `json:"reset_rate"`
	LostResponseRate float64 `json:"lost_response_rate"`
	Latency          string  `json:"latency,omitempty"`
	ListLag          string  `json:"list_lag,omitempty"`
}

func (e *Emulator) adminHealth(*http.Request) (any, error) {
	return map[string]string{"status": "ok"}, nil
}

func (e *Emulator) adminListInstances(*http.Request) (any, error) {
	return e.adminInstances(), nil
}

func (e *Emulator) adminAddInstances(r *http.Request) (any, error) {
	var spec InstanceSpec
	if err := decodeAdmin(r, &spec); err != nil {
		return nil, err
	}
	if spec.Count < 0 || spec.Count > 10000 {
		return nil, adminErrf(http.StatusBadRequest, "count must be between 1 and 10000")
	}
	ids, err := e.AddInstances(spec)
	if err != nil {
		return nil, adminErrf(http.StatusBadRequest, "%v", err)
	}
	return map[string][]string{"instance_ids": ids}, nil
}

// adminInstanceParam is the {id} of an instance route, which must name an
// instance of the fleet.
func (e *Emulator) adminInstanceParam(r *http.Request) (string, error) {
	id, err := url.PathUnescape(r.PathValue("id"))
	if err != nil {
		return "", adminErrf(http.StatusBadRequest, "bad instance id")
	}
	if _, ok := e.Instance(id); !ok {
		return "", adminErrf(http.StatusNotFound, "no instance %s", id)
	}
	return id, nil
}

// adminInstanceNow answers an instance route with the instance as it is now.
func (e *Emulator) adminInstanceNow(id string) adminInstance {
	inst, _ := e.Instance(id)
	return toAdminInstance(inst)
}

func (e *Emulator) adminSetAgent(r *http.Request) (any, error) {
	id, err := e.adminInstanceParam(r)
	if err != nil {
		return nil, err
	}
	var body struct {
		Stopped *bool `json:"stopped"`
	}
	if err := decodeAdmin(r, &body); err != nil {
		return nil, err
	}
	if body.Stopped == nil {
		return nil, adminErrf(http.StatusBadRequest, `"stopped" is required`)
	}
	if err := e.SetAgentStopped(id, *body.Stopped); err != nil {
		return nil, adminErrf(http.StatusNotFound, "%v", err)
	}
	return e.adminInstanceNow(id), nil
}

func (e *Emulator) adminSetState(r *http.Request) (any, error) {
	id, err := e.adminInstanceParam(r)
	if err != nil {
		return nil, err
	}
	var body struct {
		State string `json:"state"`
	}
	if err := decodeAdmin(r, &body); err != nil {
		return nil, err
	}
	if err := e.SetInstanceState(id, body.State); err != nil {
		return nil, adminErrf(http.StatusBadRequest, "%v", err)
	}
	return e.adminInstanceNow(id), nil
}

func (e *Emulator) adminListFaults(*http.Request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]adminFault, len(e.faults))
	for k, f := range e.faults {
		af := adminFault{ThrottleRate: f.ThrottleRate, ServerErrorRate: f.ServerErrorRate, ResetRate: f.ResetRate, LostResponseRate: f.LostResponseRate}
		if f.Latency > 0 {
			af.Latency = f.Latency.String()
		}
		if f.ListLag > 0 {
			af.ListLag = f.ListLag.String()
		}
		out[k] = af
	}
	return out, nil
}

func (e *Emulator) adminClearFaults(*http.Request) (any, error) {
	e.ClearFaults()
	return map[string]string{"status": "ok"}, nil
}

func (e *Emulator) adminPutFault(r *http.Request) (any, error) {
	key, err := url.PathUnescape(r.PathValue("key"))
	if err != nil || strings.TrimSpace(key) == "" {
		return nil, adminErrf(http.StatusBadRequest, "bad fault key")
	}
	var af adminFault
	if err := decodeAdmin(r, &af); err != nil {
		return nil, err
	}
	f := Fault{ThrottleRate: af.ThrottleRate, ServerErrorRate: af.ServerErrorRate, ResetRate: af.ResetRate, LostResponseRate: af.LostResponseRate}
	for name, v := range map[string]float64{"throttle_rate": f.ThrottleRate, "server_error_rate": f.ServerErrorRate,
		"reset_rate": f.ResetRate, "lost_response_rate": f.LostResponseRate} {
		if v < 0 || v > 1 {
			return nil, adminErrf(http.StatusBadRequest, "%s must be between 0 and 1", name)
		}
	}
	if af.Latency != "" {
		d, err := time.ParseDuration(af.Latency)
		if err != nil || d < 0 {
			return nil, adminErrf(http.StatusBadRequest, "latency must be a non-negative duration like \"200ms\"")
		}
		f.Latency = d
	}
	if af.ListLag != "" {
		d, err := time.ParseDuration(af.ListLag)
		if err != nil || d < 0 {
			return nil, adminErrf(http.StatusBadRequest, "list_lag must be a non-negative duration like \"5s\"")
		}
		f.ListLag = d
	}
	e.SetFault(key, f)
	return map[string]string{"status": "ok"}, nil
}

func (e *Emulator) adminSetDelays(r *http.Request) (any, error) {
	var body struct {
		Registration         *string `json:"registration"`
		IAMPropagation       *string `json:"iam_propagation"`
		InvocationVisibility *string `json:"invocation_visibility"`
	}
	if err := decodeAdmin(r, &body); err != nil {
		return nil, err
	}
	ds := [3]time.Duration{-1, -1, -1}
	for i, s := range []*string{body.Registration, body.IAMPropagation, body.InvocationVisibility} {
		if s == nil {
			continue
		}
		d, err := time.ParseDuration(*s)
		if err != nil || d < 0 {
			return nil, adminErrf(http.StatusBadRequest, "delays must be non-negative durations like \"2s\", got %q", *s)
		}
		ds[i] = d
	}
	e.SetDelays(ds[0], ds[1], ds[2])
	o := e.currentOptions()
	return map[string]string{
		"registration":          o.RegistrationDelay.String(),
		"iam_propagation":       o.IAMPropagationDelay.String(),
		"invocation_visibility": o.InvocationVisibilityDelay.String(),
	}, nil
}

func (e *Emulator) adminCalls(*http.Request) (any, error) {
	return e.Calls(), nil
}

func (e *Emulator) adminResetCalls(*http.Request) (any, error) {
	e.ResetCalls()
	return map[string]string{"status": "ok"}, nil
}

func (e *Emulator) adminReset(*http.Request) (any, error) {
	e.Reset()
	return map[string]string{"status": "ok"}, nil
}

func (e *Emulator) adminAuthorization(*http.Request) (any, error) {
	return map[string]bool{"enabled": e.currentOptions().EnforceIAM}, nil
}

func (e *Emulator) adminSetAuthorization(r *http.Request) (any, error) {
	var in struct {
		Enabled bool `json:"enabled"`
	}
	if err := decodeAdmin(r, &in); err != nil {
		return nil, err
	}
	e.SetAuthorization(in.Enabled)
	return map[string]bool{"enabled": in.Enabled}, nil
}

// currentOptions reads the options under the lock (SetDelays changes them).
func (e *Emulator) currentOptions() Options {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts
}

func (e *Emulator) adminInstances() []adminInstance {
	out := []adminInstance{}
	for _, id := range e.InstanceIDs() {
		if inst, ok := e.Instance(id); ok {
			out = append(out, toAdminInstance(inst))
		}
	}
	return out
}

func toAdminInstance(inst Instance) adminInstance {
	a := adminInstance{ID: inst.ID, State: inst.State, Platform: inst.Platform, Tags: inst.Tags, PingStatus: inst.PingStatus,
		AgentInstalled: inst.AgentInstalled, AgentStopped: inst.AgentStopped, PrivateIP: inst.PrivateIP, ComputerName: inst.ComputerName}
	if as := inst.Association; as != nil {
		a.ProfileArn, a.AssociationID, a.AssociationState = as.ProfileArn, as.ID, as.State
	}
	return a
}
