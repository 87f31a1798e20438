package awsemu

import "time"

// STUB — replaced by the IAM implementation.

type iamState struct{}

func newIAMState() *iamState { return &iamState{} }

var iamOps = map[string]queryHandler{}

// profileRef is what EC2 and the fleet need to know of an instance profile.
type profileRef struct {
	Name, Arn, ID string
	Created       time.Time
	RoleName      string // "" when the profile has no role
}

// lookupProfileLocked finds an instance profile by name or ARN.
func (e *Emulator) lookupProfileLocked(nameOrArn string) (profileRef, bool) {
	return profileRef{}, false
}

// roleAgentGrantsLocked reports whether the role exists (ok) and lists what it
// lacks for the SSM agent to register: the ec2.amazonaws.com trust and each missing
// action (ssm:UpdateInstanceInformation, ssmmessages:*, ec2messages:*).
func (e *Emulator) roleAgentGrantsLocked(roleName string) (missing []string, ok bool) {
	return nil, false
}

// readyProfileLocked creates (once) a role with AmazonSSMManagedInstanceCore and an
// instance profile holding it, old enough to be past IAM propagation.
func (e *Emulator) readyProfileLocked() profileRef { return profileRef{} }
