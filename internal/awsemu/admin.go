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
//	                                        lost_response_rate, latency (a Go duration string)}
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

func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			writeAdminJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprint("internal error: ", p)})
		}
	}()
	res, err := e.routeAdmin(r)
	if err != nil {
		var ae *adminError
		if !errors.As(err, &ae) {
			ae = &adminError{status: http.StatusBadRequest, msg: err.Error()}
		}
		if ae.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", allowedFor(r.URL.Path))
		}
		writeAdminJSON(w, ae.status, map[string]string{"error": ae.msg})
		return
	}
	writeAdminJSON(w, http.StatusOK, res)
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

func allowedFor(path string) string {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, "/_awsemu/"), "/"), "/")
	switch {
	case parts[0] == "instances" && len(parts) == 1:
		return "GET, POST"
	case parts[0] == "faults" && len(parts) == 1:
		return "GET, DELETE"
	case parts[0] == "faults" || parts[0] == "delays":
		return "PUT"
	case parts[0] == "calls":
		return "GET, DELETE"
	case parts[0] == "health":
		return "GET"
	case parts[0] == "authorization":
		return "GET, PUT"
	}
	return "POST"
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
}

func (e *Emulator) routeAdmin(r *http.Request) (any, error) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_awsemu/"), "/")
	parts := strings.Split(rest, "/")
	method := r.Method
	notAllowed := adminErrf(http.StatusMethodNotAllowed, "method %s not allowed on %s", method, r.URL.Path)
	switch {
	case rest == "health":
		if method != http.MethodGet {
			return nil, notAllowed
		}
		return map[string]string{"status": "ok"}, nil

	case rest == "instances":
		switch method {
		case http.MethodGet:
			return e.adminInstances(), nil
		case http.MethodPost:
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
		return nil, notAllowed

	case len(parts) == 3 && parts[0] == "instances" && (parts[2] == "agent" || parts[2] == "state"):
		if method != http.MethodPost {
			return nil, notAllowed
		}
		id, err := url.PathUnescape(parts[1])
		if err != nil {
			return nil, adminErrf(http.StatusBadRequest, "bad instance id")
		}
		if _, ok := e.Instance(id); !ok {
			return nil, adminErrf(http.StatusNotFound, "no instance %s", id)
		}
		if parts[2] == "agent" {
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
		} else {
			var body struct {
				State string `json:"state"`
			}
			if err := decodeAdmin(r, &body); err != nil {
				return nil, err
			}
			if err := e.SetInstanceState(id, body.State); err != nil {
				return nil, adminErrf(http.StatusBadRequest, "%v", err)
			}
		}
		inst, _ := e.Instance(id)
		return toAdminInstance(inst), nil

	case rest == "faults":
		switch method {
		case http.MethodGet:
			e.mu.Lock()
			out := make(map[string]adminFault, len(e.faults))
			for k, f := range e.faults {
				af := adminFault{ThrottleRate: f.ThrottleRate, ServerErrorRate: f.ServerErrorRate, ResetRate: f.ResetRate, LostResponseRate: f.LostResponseRate}
				if f.Latency > 0 {
					af.Latency = f.Latency.String()
				}
				out[k] = af
			}
			e.mu.Unlock()
			return out, nil
		case http.MethodDelete:
			e.ClearFaults()
			return map[string]string{"status": "ok"}, nil
		}
		return nil, notAllowed

	case len(parts) == 2 && parts[0] == "faults":
		if method != http.MethodPut {
			return nil, notAllowed
		}
		key, err := url.PathUnescape(parts[1])
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
		e.SetFault(key, f)
		return map[string]string{"status": "ok"}, nil

	case rest == "delays":
		if method != http.MethodPut {
			return nil, notAllowed
		}
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

	case rest == "calls":
		switch method {
		case http.MethodGet:
			return e.Calls(), nil
		case http.MethodDelete:
			e.ResetCalls()
			return map[string]string{"status": "ok"}, nil
		}
		return nil, notAllowed

	case rest == "authorization":
		switch method {
		case http.MethodGet:
			return map[string]bool{"enabled": e.currentOptions().EnforceIAM}, nil
		case http.MethodPut:
			var in struct {
				Enabled bool `json:"enabled"`
			}
			if err := decodeAdmin(r, &in); err != nil {
				return nil, err
			}
			e.SetAuthorization(in.Enabled)
			return map[string]bool{"enabled": in.Enabled}, nil
		}
		return nil, notAllowed

	case rest == "reset":
		if method != http.MethodPost {
			return nil, notAllowed
		}
		e.Reset()
		return map[string]string{"status": "ok"}, nil
	}
	return nil, adminErrf(http.StatusNotFound, "no admin endpoint %s %s", method, r.URL.Path)
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
