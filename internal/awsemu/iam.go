package awsemu

import (
	"sort"
	"strings"
	"time"
)

// IAM state: roles, instance profiles and customer managed policies. AWS managed
// policies are a fixed catalogue (iam_managed.go). Names are unique without
// regard to case, as in IAM ("you cannot create roles named both PRODROLE and
// prodrole"), so the maps are keyed by the lower-cased name.

type iamTag struct{ Key, Value string }

type iamRole struct {
	Name, Path, ID, Arn string
	Created             time.Time
	AssumeRolePolicy    string // raw JSON as given
	Description         string
	MaxSessionDuration  int32
	Boundary            string // permissions boundary policy ARN, or ""
	Tags                []iamTag
	Inline              map[string]string // policy name -> raw JSON
	InlineOrder         []string          // inline policy names as given (for stable listing)
	Attached            []string          // managed policy ARNs in attach order
}

type iamProfile struct {
	Name, Path, ID, Arn string
	Created             time.Time
	Role                string // lower-cased role name, or ""
	Tags                []iamTag
}

type iamPolicyVersion struct {
	ID       string // "v1", "v2", ...
	Document string
	Created  time.Time
}

type iamPolicy struct {
	Name, Path, ID, Arn string
	Description         string
	Created, Updated    time.Time
	Versions            []iamPolicyVersion
	Default             string // default version ID
	AWSManaged          bool
	Tags                []iamTag
}

func (p *iamPolicy) defaultDoc() string {
	for _, v := range p.Versions {
		if v.ID == p.Default {
			return v.Document
		}
	}
	return ""
}

type iamState struct {
	roles    map[string]*iamRole    // key: lower-cased name
	profiles map[string]*iamProfile // key: lower-cased name
	policies map[string]*iamPolicy  // customer managed, key: ARN
	managed  map[string]*iamPolicy  // AWS managed, key: ARN (built lazily per partition)
	sessions map[string]stsSession  // STS temporary credentials by access key
	users    map[string]*iamUser    // key: lower-cased name (iam_users.go)
}

func newIAMState() *iamState {
	return &iamState{
		roles:    map[string]*iamRole{},
		profiles: map[string]*iamProfile{},
		policies: map[string]*iamPolicy{},
		users:    map[string]*iamUser{},
	}
}

// profileRef is what EC2 and the fleet need to know of an instance profile.
type profileRef struct {
	Name, Arn, ID string
	Created       time.Time
	RoleName      string // "" when the profile has no role
}

func (e *Emulator) iamArn(kind, path, name string) string {
	return "arn:" + e.partition() + ":iam::" + e.opts.AccountID + ":" + kind + path + name
}

const iamIDChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// iamID returns prefix + 17 uppercase alphanumerics (AROA…, AIPA…, ANPA…).
func (e *Emulator) iamID(prefix string) string {
	b := make([]byte, 17)
	for i := range b {
		b[i] = iamIDChars[e.rng.Intn(len(iamIDChars))]
	}
	return prefix + string(b)
}

func (e *Emulator) profileRefLocked(p *iamProfile) profileRef {
	ref := profileRef{Name: p.Name, Arn: p.Arn, ID: p.ID, Created: p.Created}
	if r := e.iam.roles[p.Role]; r != nil {
		ref.RoleName = r.Name
	}
	return ref
}

// lookupProfileLocked finds an instance profile by name or ARN.
func (e *Emulator) lookupProfileLocked(nameOrArn string) (profileRef, bool) {
	if strings.HasPrefix(nameOrArn, "arn:") {
		for _, p := range e.iam.profiles {
			if p.Arn == nameOrArn {
				return e.profileRefLocked(p), true
			}
		}
		return profileRef{}, false
	}
	p := e.iam.profiles[strings.ToLower(nameOrArn)]
	if p == nil {
		return profileRef{}, false
	}
	return e.profileRefLocked(p), true
}

// agentActions are what the SSM agent may call to register and receive
// commands: ssm:UpdateInstanceInformation, then the ssmmessages control channel
// (agentMGSActions) or, when that is denied, the ec2messages channel
// (agentMDSActions). See notes/aws-behaviour.md#agent-permissions.
var agentActions = []string{
	"ssm:UpdateInstanceInformation",
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
	"ec2messages:AcknowledgeMessage",
	"ec2messages:DeleteMessage",
	"ec2messages:FailMessage",
	"ec2messages:GetEndpoint",
	"ec2messages:GetMessages",
	"ec2messages:SendReply",
}

// agentMGSActions open the ssmmessages control channel the agent takes commands
// on (the data channel serves Session Manager only).
var agentMGSActions = []string{"ssmmessages:CreateControlChannel", "ssmmessages:OpenControlChannel"}

// agentMDSActions are the ec2messages channel the agent falls back to.
var agentMDSActions = agentActions[5:]

// agentTrustMissing is how a missing ec2.amazonaws.com trust is reported.
const agentTrustMissing = "trust: ec2.amazonaws.com"

// roleAgentGrantsLocked reports whether the role exists (ok) and lists what it
// lacks for the SSM agent of an instance with this role in its instance profile:
// the ec2.amazonaws.com trust, ssm:UpdateInstanceInformation, and a command
// channel (when neither is allowed, the missing actions of both).
func (e *Emulator) roleAgentGrantsLocked(roleName string) (missing []string, ok bool) {
	return e.roleAgentGrantsTrustLocked(roleName, "ec2.amazonaws.com")
}

// roleAgentGrantsTrustLocked is roleAgentGrantsLocked for a role that service
// assumes (ssm.amazonaws.com for Default Host Management).
func (e *Emulator) roleAgentGrantsTrustLocked(roleName, service string) (missing []string, ok bool) {
	r := e.iam.roles[strings.ToLower(roleName)]
	if r == nil {
		return nil, false
	}
	if !iamTrustAllowsService(r.AssumeRolePolicy, service) {
		missing = append(missing, "trust: "+service)
	}
	docs := e.roleIdentityDocsLocked(r)
	var boundary []*iamPolicyDoc
	if r.Boundary != "" {
		if p := e.findPolicyLocked(r.Boundary); p != nil {
			if d, err := iamParsePolicy(p.defaultDoc()); err == nil {
				boundary = []*iamPolicyDoc{d}
			}
		} else {
			boundary = []*iamPolicyDoc{} // a vanished boundary allows nothing
		}
	}
	lacks := func(actions []string) []string {
		var out []string
		for _, a := range actions {
			res := e.agentResource(a)
			if !iamEvalAllowed(docs, a, res) || (boundary != nil && !iamEvalAllowed(boundary, a, res)) {
				out = append(out, a)
			}
		}
		return out
	}
	missing = append(missing, lacks(agentActions[:1])...)
	if mgs := lacks(agentMGSActions); len(mgs) > 0 {
		if mds := lacks(agentMDSActions); len(mds) > 0 {
			missing = append(append(missing, mgs...), mds...)
		}
	}
	return missing, true
}

// agentResource is the resource the agent's call is authorised against: its own
// instance for ssm:UpdateInstanceInformation, "*" for the message services.
func (e *Emulator) agentResource(action string) string {
	if strings.HasPrefix(action, "ssm:") {
		return "arn:" + e.partition() + ":ec2:" + e.opts.Region + ":" + e.opts.AccountID + ":instance/i-0123456789abcdef0"
	}
	return "*"
}

// roleIdentityDocsLocked parses the role's inline and attached managed policies.
// Unparseable documents (which validation should have rejected) are skipped.
func (e *Emulator) roleIdentityDocsLocked(r *iamRole) []*iamPolicyDoc {
	var docs []*iamPolicyDoc
	for _, name := range r.InlineOrder {
		if d, err := iamParsePolicy(r.Inline[name]); err == nil {
			docs = append(docs, d)
		}
	}
	for _, arn := range r.Attached {
		if p := e.findPolicyLocked(arn); p != nil {
			if d, err := iamParsePolicy(p.defaultDoc()); err == nil {
				docs = append(docs, d)
			}
		}
	}
	return docs
}

// findPolicyLocked finds a customer or AWS managed policy by ARN.
func (e *Emulator) findPolicyLocked(arn string) *iamPolicy {
	if p := e.iam.policies[arn]; p != nil {
		return p
	}
	return e.awsManagedLocked()[arn]
}

const (
	readyRoleName    = "AWSEmuSSMInstanceRole"
	readyProfileName = "AWSEmuSSMInstanceProfile"
	ec2TrustPolicy   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

// readyProfileLocked creates (once) a role with AmazonSSMManagedInstanceCore and an
// instance profile holding it, old enough to be past IAM propagation.
func (e *Emulator) readyProfileLocked() profileRef {
	// Back-dated by a day: well past any IAM propagation delay.
	created := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	core := "arn:" + e.partition() + ":iam::aws:policy/AmazonSSMManagedInstanceCore"
	rk := strings.ToLower(readyRoleName)
	r := e.iam.roles[rk]
	if r == nil {
		r = &iamRole{
			Name: readyRoleName, Path: "/", ID: e.iamID("AROA"), Arn: e.iamArn("role", "/", readyRoleName),
			Created: created, AssumeRolePolicy: ec2TrustPolicy, MaxSessionDuration: 3600,
			Description: "Instance role created by the AWS emulator for ready instances",
			Inline:      map[string]string{},
		}
		e.iam.roles[rk] = r
	}
	if !iamHas(r.Attached, core) {
		r.Attached = append(r.Attached, core)
	}
	pk := strings.ToLower(readyProfileName)
	p := e.iam.profiles[pk]
	if p == nil {
		p = &iamProfile{Name: readyProfileName, Path: "/", ID: e.iamID("AIPA"), Arn: e.iamArn("instance-profile", "/", readyProfileName), Created: created}
		e.iam.profiles[pk] = p
	}
	if p.Role == "" {
		p.Role = rk
	}
	return e.profileRefLocked(p)
}

func iamHas(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func iamWithout(list []string, s string) []string {
	out := list[:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// sortedRoles returns the roles ordered by name (IAM lists alphabetically).
func (s *iamState) sortedRoles() []*iamRole {
	out := make([]*iamRole, 0, len(s.roles))
	for _, k := range sortedKeys(s.roles) {
		out = append(out, s.roles[k])
	}
	return out
}

func (s *iamState) sortedProfiles() []*iamProfile {
	out := make([]*iamProfile, 0, len(s.profiles))
	for _, k := range sortedKeys(s.profiles) {
		out = append(out, s.profiles[k])
	}
	return out
}

func iamSortPolicies(ps []*iamPolicy) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		return ps[i].Arn < ps[j].Arn
	})
}

// iamOps is filled in init() (iam_ops.go) to avoid an initialisation cycle.
var iamOps = map[string]queryHandler{}
