package awsemu

import (
	"net/url"
	"strings"
	"time"
)

// IAM users and their access keys, as far as request authorization needs them: a
// user's keys sign requests that are evaluated against the user's inline and
// attached policies (authz.go). Shapes per the SDK models (iam CreateUser,
// CreateAccessKey); notes/aws-behaviour.md#emulator-request-authorization.

type iamUser struct {
	Name, Path, ID, Arn string
	Created             time.Time
	Inline              map[string]string
	InlineOrder         []string
	Attached            []string
	Keys                []string // access key ids
}

type ixUser struct {
	Path       string
	UserName   string
	UserId     string
	Arn        string
	CreateDate string
}

type ixAccessKey struct {
	UserName        string
	AccessKeyId     string
	Status          string
	SecretAccessKey string
	CreateDate      string
}

func init() {
	for k, v := range map[string]queryHandler{
		"CreateUser":       iamCreateUser,
		"GetUser":          iamGetUser,
		"DeleteUser":       iamDeleteUser,
		"PutUserPolicy":    iamPutUserPolicy,
		"DeleteUserPolicy": iamDeleteUserPolicy,
		"AttachUserPolicy": iamAttachUserPolicy,
		"DetachUserPolicy": iamDetachUserPolicy,
		"CreateAccessKey":  iamCreateAccessKey,
		"DeleteAccessKey":  iamDeleteAccessKey,
	} {
		iamOps[k] = withEmptyResult(v)
	}
}

func xmlUser(u *iamUser) ixUser {
	return ixUser{Path: u.Path, UserName: u.Name, UserId: u.ID, Arn: u.Arn, CreateDate: isoTime(u.Created)}
}

func (e *Emulator) userParam(p url.Values) (*iamUser, *APIError) {
	name := p.Get("UserName")
	v := &iamValidator{}
	v.str("userName", name, iamRuleRoleName) // same 1..64 [\w+=,.@-] rule as role names
	if err := v.err(); err != nil {
		return nil, err
	}
	u := e.iam.users[strings.ToLower(name)]
	if u == nil {
		return nil, apiErr(404, "NoSuchEntity", "The user with name %s cannot be found.", name)
	}
	return u, nil
}

func iamCreateUser(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("UserName")
	path := "/"
	if _, ok := p["Path"]; ok {
		path = p.Get("Path")
	}
	v := &iamValidator{}
	v.opt(p, "Path", "path", iamRulePath)
	v.str("userName", name, iamRuleRoleName)
	if err := v.err(); err != nil {
		return nil, err
	}
	key := strings.ToLower(name)
	if e.iam.users[key] != nil {
		return nil, apiErr(409, "EntityAlreadyExists", "User with name %s already exists.", name)
	}
	u := &iamUser{Name: name, Path: path, ID: e.iamID("AIDA"), Arn: e.iamArn("user", path, name), Created: e.iamNow(), Inline: map[string]string{}}
	e.iam.users[key] = u
	return struct{ User ixUser }{xmlUser(u)}, nil
}

func iamGetUser(e *Emulator, p url.Values) (any, *APIError) {
	u, err := e.userParam(p)
	if err != nil {
		return nil, err
	}
	return struct{ User ixUser }{xmlUser(u)}, nil
}

func iamDeleteUser(e *Emulator, p url.Values) (any, *APIError) {
	u, err := e.userParam(p)
	if err != nil {
		return nil, err
	}
	switch {
	case len(u.Keys) > 0:
		return nil, apiErr(409, "DeleteConflict", "Cannot delete entity, must delete access keys first.")
	case len(u.Attached) > 0:
		return nil, apiErr(409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	case len(u.Inline) > 0:
		return nil, apiErr(409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	delete(e.iam.users, strings.ToLower(u.Name))
	return nil, nil
}

func iamPutUserPolicy(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("PolicyName")
	v := &iamValidator{}
	v.str("policyName", name, iamRulePolicyName)
	if err := v.err(); err != nil {
		return nil, err
	}
	doc := p.Get("PolicyDocument")
	if err := iamCheckDocument("policyDocument", doc, identityPolicy); err != nil {
		return nil, err
	}
	u, err := e.userParam(p)
	if err != nil {
		return nil, err
	}
	if _, ok := u.Inline[name]; !ok {
		u.InlineOrder = append(u.InlineOrder, name)
	}
	u.Inline[name] = doc
	return nil, nil
}

func iamDeleteUserPolicy(e *Emulator, p url.Values) (any, *APIError) {
	u, err := e.userParam(p)
	if err != nil {
		return nil, err
	}
	name := p.Get("PolicyName")
	if _, ok := u.Inline[name]; !ok {
		return nil, apiErr(404, "NoSuchEntity", "The user policy with name %s cannot be found.", name)
	}
	delete(u.Inline, name)
	u.InlineOrder = iamWithout(u.InlineOrder, name)
	return nil, nil
}

func iamAttachUserPolicy(e *Emulator, p url.Values) (any, *APIError) {
	arn, aerr := policyArnParam(p, "PolicyArn", "policyArn")
	if aerr != nil {
		return nil, aerr
	}
	u, err := e.userParam(p)
	if err != nil {
		return nil, err
	}
	if e.findPolicyLocked(arn) == nil {
		return nil, apiErr(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	if !iamHas(u.Attached, arn) {
		u.Attached = append(u.Attached, arn)
	}
	return nil, nil
}

func iamDetachUserPolicy(e *Emulator, p url.Values) (any, *APIError) {
	arn, aerr := policyArnParam(p, "PolicyArn", "policyArn")
	if aerr != nil {
		return nil, aerr
	}
	u, err := e.userParam(p)
	if err != nil {
		return nil, err
	}
	if !iamHas(u.Attached, arn) {
		return nil, apiErr(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	u.Attached = iamWithout(u.Attached, arn)
	return nil, nil
}

func iamCreateAccessKey(e *Emulator, p url.Values) (any, *APIError) {
	u, err := e.userParam(p)
	if err != nil {
		return nil, err
	}
	if len(u.Keys) >= 2 {
		return nil, apiErr(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	}
	id := e.iamID("AKIA")[:20]
	secret := e.iamID("") + e.iamID("") + "abcdef"
	u.Keys = append(u.Keys, id)
	e.creds[id] = credential{secret: secret, arn: u.Arn}
	return struct{ AccessKey ixAccessKey }{ixAccessKey{UserName: u.Name, AccessKeyId: id, Status: "Active",
		SecretAccessKey: secret, CreateDate: isoTime(e.iamNow())}}, nil
}

func iamDeleteAccessKey(e *Emulator, p url.Values) (any, *APIError) {
	u, err := e.userParam(p)
	if err != nil {
		return nil, err
	}
	id := p.Get("AccessKeyId")
	if !iamHas(u.Keys, id) {
		return nil, apiErr(404, "NoSuchEntity", "The Access Key with id %s cannot be found.", id)
	}
	u.Keys = iamWithout(u.Keys, id)
	delete(e.creds, id)
	return nil, nil
}

// userIdentityDocsLocked parses a user's inline and attached policies.
func (e *Emulator) userIdentityDocsLocked(u *iamUser) []*iamPolicyDoc {
	var docs []*iamPolicyDoc
	for _, name := range u.InlineOrder {
		if d, err := iamParsePolicy(u.Inline[name]); err == nil {
			docs = append(docs, d)
		}
	}
	for _, arn := range u.Attached {
		if p := e.findPolicyLocked(arn); p != nil {
			if d, err := iamParsePolicy(p.defaultDoc()); err == nil {
				docs = append(docs, d)
			}
		}
	}
	return docs
}
