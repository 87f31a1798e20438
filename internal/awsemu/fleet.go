package awsemu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// EC2 instance state names and codes.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
)

var stateCodes = map[string]int{StatePending: 0, StateRunning: 16, StateShuttingDown: 32, StateTerminated: 48, StateStopping: 64, StateStopped: 80}

// Agent ping statuses as DescribeInstanceInformation reports them.
const (
	PingOnline         = "Online"
	PingConnectionLost = "ConnectionLost"
)

// transitionDelay is how long pending/stopping/shutting-down last (AWS-side time,
// scaled by TimeScale).
const transitionDelay = 2 * time.Second

// agentVersion is the version every simulated agent reports.
const agentVersion = "3.3.1142.0"

// Instance is one simulated EC2 instance with its SSM agent. Fields are guarded by
// the emulator's mutex.
type Instance struct {
	ID              string
	Tags            map[string]string
	State           string
	Platform        string // "Linux" or "Windows"
	PlatformName    string
	PlatformVersion string
	PrivateIP       string
	ComputerName    string
	ImageID         string
	InstanceType    string
	LaunchedAt      time.Time

	// Association is the current IAM instance profile association, or nil.
	Association *ProfileAssociation

	// AgentInstalled is false for an instance without the SSM agent.
	AgentInstalled bool
	// AgentStopped simulates a stopped or broken agent (no pings).
	AgentStopped bool
	// AgentVersion is the version the agent reports ("" = agentVersion).
	AgentVersion string

	// Agent registration, maintained by the fleet loop.
	qualifiedSince time.Time // when the agent could last start registering
	PingStatus     string    // "", Online or ConnectionLost
	RegisteredAt   time.Time
	LastPing       time.Time

	nextState   string
	nextStateAt time.Time

	// running holds the invocations this instance's agent has received and not
	// finished (see hostDownLocked).
	running map[*ssmInvocation]struct{}
}

// ProfileAssociation is an IAM instance profile association.
type ProfileAssociation struct {
	ID         string
	ProfileArn string
	ProfileID  string
	State      string // associating | associated | disassociating | disassociated
	Timestamp  time.Time
}

// InstanceSpec describes instances to add to the fleet.
type InstanceSpec struct {
	Count    int               `json:"count"`
	Tags     map[string]string `json:"tags"`
	Platform string            `json:"platform"` // Linux (default) or Windows
	// Ready gives the instances a working role and instance profile so their agents
	// come Online by themselves after the registration delay.
	Ready bool `json:"ready"`
	// NoAgent launches instances without the SSM agent.
	NoAgent bool `json:"no_agent"`
	// AgentVersion is the simulated agent's version (default: a current one);
	// Session Manager features depend on it (an agent of 3.0.196.0 or older
	// forwards ports one connection at a time).
	AgentVersion string `json:"agent_version"`
	// State is the initial state: running (default) or stopped.
	State string `json:"state"`
}

// AddInstances adds running instances to the fleet and returns their ids. Without
// Ready they have the agent but no instance profile, like a fresh launch without a
// role: not managed until a profile with a suitable role is attached.
func (e *Emulator) AddInstances(spec InstanceSpec) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addInstancesLocked(spec)
}

func (e *Emulator) addInstancesLocked(spec InstanceSpec) ([]string, error) {
	if spec.Count <= 0 {
		spec.Count = 1
	}
	if spec.Platform == "" {
		spec.Platform = "Linux"
	}
	if spec.Platform != "Linux" && spec.Platform != "Windows" {
		return nil, fmt.Errorf("platform must be Linux or Windows, got %q", spec.Platform)
	}
	state := StateRunning
	if spec.State != "" {
		if _, ok := stateCodes[spec.State]; !ok {
			return nil, fmt.Errorf("unknown instance state %q", spec.State)
		}
		state = spec.State
	}
	var assoc func() *ProfileAssociation
	if spec.Ready {
		p := e.readyProfileLocked()
		assoc = func() *ProfileAssociation {
			return &ProfileAssociation{ID: e.newAssociationID(), ProfileArn: p.Arn, ProfileID: p.ID, State: "associated", Timestamp: time.Now()}
		}
	}
	now := time.Now()
	ids := make([]string, 0, spec.Count)
	for i := 0; i < spec.Count; i++ {
		inst := e.newInstanceLocked(spec.Platform, state, spec.Tags, now)
		inst.AgentInstalled = !spec.NoAgent
		inst.AgentVersion = spec.AgentVersion
		if assoc != nil {
			inst.Association = assoc()
		}
		ids = append(ids, inst.ID)
	}
	e.tickLocked(now)
	return ids, nil
}

// newInstanceLocked creates an instance and its directory on the host.
func (e *Emulator) newInstanceLocked(platform, state string, tags map[string]string, now time.Time) *Instance {
	n := e.nextSeq()
	id := "i-" + randHex(17)
	inst := &Instance{
		ID: id, Tags: map[string]string{}, State: state, Platform: platform,
		PrivateIP:      fmt.Sprintf("10.0.%d.%d", (n/250)%250, n%250+2),
		ImageID:        "ami-0abcdef1234567890",
		InstanceType:   "t3.micro",
		LaunchedAt:     now,
		AgentInstalled: true,
	}
	inst.ComputerName = fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", (n/250)%250, n%250+2)
	if platform == "Windows" {
		inst.PlatformName, inst.PlatformVersion = "Microsoft Windows Server 2022 Datacenter", "10.0.20348"
		inst.ComputerName = fmt.Sprintf("EC2AMAZ-%07d", n)
	} else {
		inst.PlatformName, inst.PlatformVersion = "Amazon Linux", "2023"
	}
	for k, v := range tags {
		inst.Tags[k] = v
	}
	_ = os.MkdirAll(e.instanceDir(id), 0o755)
	e.ec2.instances[id] = inst
	e.ec2.order = append(e.ec2.order, id)
	return inst
}

// Instance returns a copy of an instance's current state.
func (e *Emulator) Instance(id string) (Instance, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, ok := e.ec2.instances[id]
	if !ok {
		return Instance{}, false
	}
	c := *inst
	c.Tags = map[string]string{}
	for k, v := range inst.Tags {
		c.Tags[k] = v
	}
	if inst.Association != nil {
		a := *inst.Association
		c.Association = &a
	}
	return c, true
}

// InstanceIDs lists the fleet's instance ids in launch order.
func (e *Emulator) InstanceIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ec2.order...)
}

// SetAgentStopped stops (true) or restarts (false) an instance's agent. A stopped
// agent stops pinging and becomes ConnectionLost.
func (e *Emulator) SetAgentStopped(id string, stopped bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, ok := e.ec2.instances[id]
	if !ok {
		return fmt.Errorf("no instance %s", id)
	}
	inst.AgentStopped = stopped
	e.tickLocked(time.Now())
	return nil
}

// SetInstanceState moves an instance to a state at once (running, stopped,
// terminated, ...), as if an operator or AWS did it.
func (e *Emulator) SetInstanceState(id, state string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, ok := e.ec2.instances[id]
	if !ok {
		return fmt.Errorf("no instance %s", id)
	}
	if _, ok := stateCodes[state]; !ok {
		return fmt.Errorf("unknown instance state %q", state)
	}
	inst.State, inst.nextState = state, ""
	e.tickLocked(time.Now())
	return nil
}

// setTransitionLocked starts a timed state change (e.g. stopping -> stopped).
func (e *Emulator) setTransitionLocked(inst *Instance, now time.Time, via, to string) {
	inst.State = via
	inst.nextState = to
	inst.nextStateAt = now.Add(e.scaled(transitionDelay))
}

// fleetLoop advances timed transitions and agent registration.
func (e *Emulator) fleetLoop() {
	defer e.wg.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			e.mu.Lock()
			e.tickLocked(now)
			e.mu.Unlock()
		}
	}
}

// tickLocked applies state transitions and agent registration rules at time now.
//
// An agent registers (Online) once the instance runs, the agent runs, and the
// instance's profile's role (or the Default Host Management role) grants what the agent needs, for at least
// RegistrationDelay. A registered agent that loses any of these becomes
// ConnectionLost; stopped and terminated instances are not listed at all.
func (e *Emulator) tickLocked(now time.Time) {
	grants := map[string]bool{} // per profile ARN, evaluated once per tick
	for _, id := range e.ec2.order {
		inst := e.ec2.instances[id]
		if inst.nextState != "" && !now.Before(inst.nextStateAt) {
			inst.State, inst.nextState = inst.nextState, ""
			if inst.State == StateTerminated && inst.Association != nil {
				inst.Association = nil
			}
		}
		if inst.State != StateRunning && len(inst.running) > 0 {
			e.hostDownLocked(inst)
		}
		if inst.State == StateTerminated || inst.State == StateStopped {
			inst.PingStatus, inst.qualifiedSince = "", time.Time{}
			continue
		}
		ok := inst.State == StateRunning && inst.AgentInstalled && !inst.AgentStopped &&
			e.identityGrantsAgentLocked(inst, grants)
		switch {
		case ok:
			if inst.qualifiedSince.IsZero() {
				inst.qualifiedSince = now
			}
			if inst.PingStatus == PingOnline || now.Sub(inst.qualifiedSince) >= e.opts.RegistrationDelay {
				if inst.RegisteredAt.IsZero() {
					inst.RegisteredAt = now
				}
				inst.PingStatus = PingOnline
				inst.LastPing = now
			}
		default:
			inst.qualifiedSince = time.Time{}
			if inst.PingStatus == PingOnline {
				inst.PingStatus = PingConnectionLost
			}
		}
	}
}

// agentOnlineLocked reports whether an instance's agent is registered and online.
func (e *Emulator) agentOnlineLocked(inst *Instance) bool {
	return inst.PingStatus == PingOnline
}

// profileGrantsAgentLocked reports whether the profile exists, has a role, and the
// role both trusts ec2.amazonaws.com and grants what the agent needs.
func (e *Emulator) profileGrantsAgentLocked(profileArn string) bool {
	p, ok := e.lookupProfileLocked(profileArn)
	if !ok || p.RoleName == "" {
		return false
	}
	missing, ok := e.roleAgentGrantsLocked(p.RoleName)
	return ok && len(missing) == 0
}

func (e *Emulator) newAssociationID() string { return "iip-assoc-" + randHex(17) }

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func (inst *Instance) agentVersionOrDefault() string {
	if inst.AgentVersion != "" {
		return inst.AgentVersion
	}
	return agentVersion
}
