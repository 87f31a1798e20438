package awsemu

import (
	"strings"
	"time"
)

// Fault is an injected misbehaviour for a service or an operation. Rates are
// probabilities in [0, 1], drawn from the emulator's seeded generator.
type Fault struct {
	// ThrottleRate answers with the protocol's real throttling error.
	ThrottleRate float64 `json:"throttle_rate"`
	// ServerErrorRate answers with the service's 5xx error.
	ServerErrorRate float64 `json:"server_error_rate"`
	// ResetRate closes the connection without a response, before the request
	// is handled (counted as "service.Operation#reset").
	ResetRate float64 `json:"reset_rate"`
	// LostResponseRate handles the request in full, then closes the connection
	// without a response: the service acted, the client cannot know it
	// (counted as "service.Operation#lost").
	LostResponseRate float64 `json:"lost_response_rate"`
	// Latency is added before every matching request is handled.
	Latency time.Duration `json:"latency"`
	// ListLag makes a list operation lag behind the writes: what was created
	// less than ListLag ago is not listed yet, as an eventually consistent read
	// may miss it (the SDK's GetCommandInvocation doc: "The Run Command API
	// follows an eventual consistency model"). Implemented by ssm.ListCommands
	// (commands requested less than ListLag ago are left out); other
	// operations ignore it.
	ListLag time.Duration `json:"list_lag"`
}

// SetFault installs f for key: "*" (every request), a service ("ssm") or an
// operation ("ssm.SendCommand"). The most specific key wins.
func (e *Emulator) SetFault(key string, f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[strings.TrimSpace(key)] = f
}

// faultForLocked returns the fault for svc.op, the most specific key first.
// The caller holds e.mu.
func (e *Emulator) faultForLocked(svc, op string) (Fault, bool) {
	for _, k := range []string{svc + "." + op, svc, "*"} {
		if f, ok := e.faults[k]; ok {
			return f, true
		}
	}
	return Fault{}, false
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = map[string]Fault{}
}

// SetDelays changes the realism knobs at run time. A negative value leaves that
// knob unchanged.
func (e *Emulator) SetDelays(registration, iamPropagation, invocationVisibility time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if registration >= 0 {
		e.opts.RegistrationDelay = registration
	}
	if iamPropagation >= 0 {
		e.opts.IAMPropagationDelay = iamPropagation
	}
	if invocationVisibility >= 0 {
		e.opts.InvocationVisibilityDelay = invocationVisibility
	}
}
