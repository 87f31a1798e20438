package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Request authorization (off by default; Options.EnforceIAM, SetAuthorization, the
// admin API and the -enforce-iam flag switch it on). Each request's caller (from
// its access key) is evaluated against its identity policies: the account's own
// key pair is the root user and may do anything; an IAM user's key has the user's
// inline and attached policies (iam_users.go); an assumed-role session has its
// role's inline and attached policies (and permissions boundary). Explicit Deny
// wins, then any Allow, else the implicit deny. Conditions use the request's
// context: aws:RequestedRegion, ssm:resourceTag/<key> (tags of the resource being
// authorized), ssm:SessionDocumentAccessCheck.
//
// GUESS: a command sent by tag Targets is authorized against each instance the
// targets resolve to, as one sent by InstanceIds is.

// SetAuthorization switches request authorization on or off.
func (e *Emulator) SetAuthorization(on bool) {
	e.mu.Lock()
	e.opts.EnforceIAM = on
	e.mu.Unlock()
}

// authzResource is one resource a request acts on, with its tags.
type authzResource struct {
	arn  string
	tags map[string]string
	ctx  map[string]string // request context keys this resource adds (s3:prefix)
}

// authorizeLocked returns nil when the caller may make the request: every
// action of the operation (authzActions) on every resource it acts on.
func (e *Emulator) authorizeLocked(svc *serviceDef, op, accessKey string, rq authzRequest) *APIError {
	if !e.opts.EnforceIAM || accessKey == "" {
		return nil
	}
	checks, known := e.requestChecksLocked(svc, op, rq)
	if !known || len(checks) == 0 {
		return nil // unknown operations are rejected by their handler; some need no permission
	}
	cred, ok := e.creds[accessKey]
	caller := ""
	if ok {
		caller = cred.arn
	}
	if caller == "" || strings.HasSuffix(caller, ":root") || accessKey == e.opts.AccessKey {
		return nil // the account's root user
	}
	docs, boundary := e.callerPoliciesLocked(caller)
	principal := e.principalKeysLocked(accessKey, caller)
	for _, c := range checks {
		ctx := map[string]string{"aws:requestedregion": e.opts.Region}
		for k, v := range principal {
			ctx[k] = v
		}
		for k, v := range c.res.tags {
			ctx["ssm:resourcetag/"+strings.ToLower(k)] = v
		}
		for k, v := range c.ctx {
			ctx[strings.ToLower(k)] = v
		}
		verdict := iamEvalIn(docs, c.action, c.res.arn, ctx)
		if verdict == "allow" && boundary != nil && iamEvalIn(boundary, c.action, c.res.arn, ctx) != "allow" {
			verdict = "boundary"
		}
		if verdict != "allow" {
			return accessDenied(svc, caller, c.action, c.res.arn, verdict)
		}
	}
	return nil
}

// callerPoliciesLocked finds the identity policies of an assumed-role session.
// Unknown principals have none (everything is denied).
func (e *Emulator) callerPoliciesLocked(caller string) (docs, boundary []*iamPolicyDoc) {
	if j := strings.Index(caller, ":user/"); j >= 0 {
		for _, u := range e.iam.users {
			if u.Arn == caller {
				return e.userIdentityDocsLocked(u), nil
			}
		}
		return nil, nil
	}
	i := strings.Index(caller, ":assumed-role/")
	if i < 0 {
		return nil, nil
	}
	name := strings.SplitN(caller[i+len(":assumed-role/"):], "/", 2)[0]
	r := e.iam.roles[strings.ToLower(name)]
	if r == nil {
		return nil, nil
	}
	docs = e.roleIdentityDocsLocked(r)
	if r.Boundary != "" {
		boundary = []*iamPolicyDoc{}
		if p := e.findPolicyLocked(r.Boundary); p != nil {
			if d, err := iamParsePolicy(p.defaultDoc()); err == nil {
				boundary = []*iamPolicyDoc{d}
			}
		}
	}
	return docs, boundary
}

func ssmTagMap(tags []ssmTag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// accessDenied is each protocol's AccessDenied error naming the action and resource.
func accessDenied(svc *serviceDef, caller, action, resource, verdict string) *APIError {
	why := "because no identity-based policy allows the " + action + " action"
	switch verdict {
	case "deny":
		why = "with an explicit deny in an identity-based policy"
	case "boundary":
		why = "because no permissions boundary allows the " + action + " action"
	}
	on := ""
	if resource != "*" {
		on = " on resource: " + resource
	}
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s%s %s", caller, action, on, why)
	switch svc.proto {
	case protoJSON:
		return apiErr(400, "AccessDeniedException", "%s", msg)
	case protoEC2:
		return apiErr(403, "UnauthorizedOperation", "You are not authorized to perform this operation. %s", msg)
	default:
		return apiErr(403, "AccessDenied", "%s", msg)
	}
}

// iamEvalIn evaluates identity policies in a request context: "deny" (explicit),
// "allow", or "" (implicit deny).
func iamEvalIn(docs []*iamPolicyDoc, action, resource string, ctx map[string]string) string {
	allowed := false
	for _, d := range docs {
		for i := range d.Statement {
			s := &d.Statement[i]
			if !s.appliesToAction(action) || !s.appliesToResource(resource, ctx) || !conditionsHold(s.Condition, ctx) {
				continue
			}
			if s.Effect == "Deny" {
				return "deny"
			}
			if s.Effect == "Allow" {
				allowed = true
			}
		}
	}
	if allowed {
		return "allow"
	}
	return ""
}

// appliesToResource matches Resource/NotResource patterns, with policy variables
// (${aws:username}, ${aws:userid}) replaced from the request context. A request
// resource "*" (operations without resource-level permissions) matches only "*"
// patterns.
func (s *iamStatement) appliesToResource(resource string, ctx map[string]string) bool {
	match := func(pattern, res string) bool {
		if res == "*" {
			return pattern == "*"
		}
		pattern, ok := substituteVariables(pattern, ctx)
		return ok && iamWildMatch(pattern, res)
	}
	if s.hasResource {
		return iamAnyMatch(s.Resource, resource, match)
	}
	if s.hasNotResource {
		return !iamAnyMatch(s.NotResource, resource, match)
	}
	return false
}

// conditionsHold evaluates a Condition block: every operator and every key must
// hold; a key holds when the context value matches any listed value.
func conditionsHold(raw json.RawMessage, ctx map[string]string) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var cond map[string]map[string]iamStrList
	if err := json.Unmarshal(raw, &cond); err != nil {
		return false
	}
	for op, keys := range cond {
		ifExists := strings.HasSuffix(op, "IfExists")
		base := strings.TrimSuffix(op, "IfExists")
		for key, values := range keys {
			v, present := ctx[strings.ToLower(key)]
			if base == "Null" {
				want := len(values) > 0 && strings.EqualFold(values[0], "true")
				if present == want {
					return false
				}
				continue
			}
			negated := strings.Contains(base, "Not")
			if !present {
				if ifExists || negated {
					continue
				}
				return false
			}
			if !conditionMatches(base, v, values) {
				return false
			}
		}
	}
	return true
}

func conditionMatches(op, v string, values []string) bool {
	anyOf := func(f func(string) bool) bool {
		for _, x := range values {
			if f(x) {
				return true
			}
		}
		return false
	}
	switch op {
	case "StringEquals":
		return anyOf(func(x string) bool { return x == v })
	case "StringNotEquals":
		return !anyOf(func(x string) bool { return x == v })
	case "StringEqualsIgnoreCase":
		return anyOf(func(x string) bool { return strings.EqualFold(x, v) })
	case "StringNotEqualsIgnoreCase":
		return !anyOf(func(x string) bool { return strings.EqualFold(x, v) })
	case "StringLike":
		return anyOf(func(x string) bool { return iamWildMatch(x, v) })
	case "StringNotLike":
		return !anyOf(func(x string) bool { return iamWildMatch(x, v) })
	case "Bool":
		return anyOf(func(x string) bool { return strings.EqualFold(x, v) })
	}
	return false // operators the emulator does not know never hold (GUESS: fail closed)
}

// authorize evaluates a parsed request (see authorizeLocked).
func (e *Emulator) authorize(r *http.Request, svc *serviceDef, op string, params url.Values, body []byte) *APIError {
	sr, _ := parseSigV4(r)
	if sr == nil {
		return nil
	}
	rq := authzRequest{params: params, body: body, query: r.URL.Query(), header: r.Header}
	if svc.proto == protoREST {
		rq.bucket, rq.key = s3BucketKey(r)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.authorizeLocked(svc, op, sr.accessKey, rq)
}

func pathOr(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// principalKeysLocked are the request-context keys that describe the caller
// (IAM User Guide, "IAM policy elements: Variables and tags", principal key
// values): aws:username for IAM users, aws:userid for users (AIDA...) and role
// sessions (AROA...:session name).
func (e *Emulator) principalKeysLocked(accessKey, caller string) map[string]string {
	out := map[string]string{}
	if s, ok := e.iam.sessions[accessKey]; ok {
		out["aws:userid"] = s.userID
		return out
	}
	for _, u := range e.iam.users {
		if u.Arn == caller {
			out["aws:username"], out["aws:userid"] = u.Name, u.ID
		}
	}
	return out
}

// substituteVariables replaces ${key} in a policy pattern. A variable whose key
// is absent from the request makes the pattern match nothing (ok false).
// Limitation: the ${*}, ${?} and ${$} escapes and default values are not modelled.
func substituteVariables(pattern string, ctx map[string]string) (string, bool) {
	for {
		i := strings.Index(pattern, "${")
		if i < 0 {
			return pattern, true
		}
		j := strings.Index(pattern[i:], "}")
		if j < 0 {
			return pattern, true
		}
		v, ok := ctx[strings.ToLower(pattern[i+2:i+j])]
		if !ok {
			return "", false
		}
		pattern = pattern[:i] + v + pattern[i+j+1:]
	}
}
