package awsemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// IAM policy documents: parsing, validation and a small evaluator good enough to
// decide what an instance role grants the SSM agent and whom a trust policy lets
// assume the role.

// iamStrList is a policy element that may be a single string or a list of strings.
type iamStrList []string

// iamPolicyError is a policy document error whose text is IAM's
// MalformedPolicyDocument message, verbatim.
type iamPolicyError string

func (e iamPolicyError) Error() string { return string(e) }

const (
	iamPolicySyntaxErrors     iamPolicyError = "Syntax errors in policy."
	iamPolicyMissingStatement iamPolicyError = "Missing required field Statement"
	iamPolicyInvalidPrincipal iamPolicyError = "Invalid principal in policy"
)

func (s *iamStrList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*s = l
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*s = iamStrList{one}
	return nil
}

// iamPrincipal is "*" or a map of iamPrincipal type to one or more values.
type iamPrincipal struct {
	Any    bool
	Values map[string]iamStrList // "AWS", "Service", "Federated", "CanonicalUser"
}

func (p *iamPrincipal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "*" {
			return iamPolicyInvalidPrincipal
		}
		p.Any = true
		return nil
	}
	return json.Unmarshal(b, &p.Values)
}

type iamStatement struct {
	Sid          string          `json:"Sid"`
	Effect       string          `json:"Effect"`
	Principal    *iamPrincipal   `json:"Principal"`
	NotPrincipal *iamPrincipal   `json:"NotPrincipal"`
	Action       iamStrList      `json:"Action"`
	NotAction    iamStrList      `json:"NotAction"`
	Resource     iamStrList      `json:"Resource"`
	NotResource  iamStrList      `json:"NotResource"`
	Condition    json.RawMessage `json:"Condition"`

	hasAction, hasNotAction, hasResource, hasNotResource bool
}

type iamPolicyDoc struct {
	Version   string
	Statement []iamStatement
}

// iamParsePolicy parses a policy document; Statement may be one object or a list.
func iamParsePolicy(doc string) (*iamPolicyDoc, error) {
	var raw struct {
		Version   *string         `json:"Version"`
		ID        json.RawMessage `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&raw); err != nil {
		return nil, iamPolicySyntaxErrors
	}
	if dec.More() {
		return nil, iamPolicySyntaxErrors
	}
	if len(raw.Statement) == 0 || string(raw.Statement) == "null" {
		return nil, iamPolicyMissingStatement
	}
	out := &iamPolicyDoc{}
	if raw.Version != nil {
		out.Version = *raw.Version
	}
	st := bytes.TrimSpace(raw.Statement)
	var rawStmts []json.RawMessage
	if st[0] == '[' {
		if err := json.Unmarshal(st, &rawStmts); err != nil {
			return nil, iamPolicySyntaxErrors
		}
	} else {
		rawStmts = []json.RawMessage{st}
	}
	for _, rs := range rawStmts {
		var s iamStatement
		if err := json.Unmarshal(rs, &s); err != nil {
			return nil, iamPolicySyntaxErrors
		}
		var keys map[string]json.RawMessage
		_ = json.Unmarshal(rs, &keys)
		_, s.hasAction = keys["Action"]
		_, s.hasNotAction = keys["NotAction"]
		_, s.hasResource = keys["Resource"]
		_, s.hasNotResource = keys["NotResource"]
		out.Statement = append(out.Statement, s)
	}
	return out, nil
}

// iamPolicyKind selects the validation rules: identity policies need a resource and
// no principal; trust policies need a principal.
type iamPolicyKind int

const (
	identityPolicy iamPolicyKind = iota
	trustPolicy
)

// iamValidatePolicyDoc applies IAM's document checks and returns the
// MalformedPolicyDocument message, or "" when the document is acceptable.
func iamValidatePolicyDoc(doc string, kind iamPolicyKind) string {
	d, err := iamParsePolicy(doc)
	if err != nil {
		if errors.Is(err, iamPolicyMissingStatement) {
			return err.Error()
		}
		return iamPolicySyntaxErrors.Error()
	}
	if d.Version != "" && d.Version != "2012-10-17" && d.Version != "2008-10-17" {
		return "The policy must contain a valid version string"
	}
	for _, s := range d.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return "Syntax errors in policy."
		}
		if s.hasAction == s.hasNotAction {
			return "Policy statement must contain actions."
		}
		for _, a := range append(append(iamStrList{}, s.Action...), s.NotAction...) {
			if a != "*" && !strings.Contains(a, ":") {
				return "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
			}
		}
		switch kind {
		case identityPolicy:
			if s.Principal != nil || s.NotPrincipal != nil {
				return "Policy document should not specify a principal."
			}
			if s.hasResource == s.hasNotResource {
				return "Policy statement must contain resources."
			}
		case trustPolicy:
			if s.Principal == nil && s.NotPrincipal == nil {
				return "Missing required field Principal"
			}
			if s.hasResource || s.hasNotResource {
				return "Has prohibited field Resource"
			}
			if p := s.Principal; p != nil && !p.Any {
				for typ, vals := range p.Values {
					for _, v := range vals {
						if typ == "AWS" && v != "*" && !strings.HasPrefix(v, "arn:") && !iamIsAccountID(v) {
							return "Invalid principal in policy: \"AWS\":\"" + v + "\""
						}
					}
				}
			}
		}
	}
	return ""
}

func iamIsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// iamWildMatch matches IAM patterns: '*' any run of characters, '?' any one.
func iamWildMatch(pattern, s string) bool {
	// Iterative matcher with single-star backtracking.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// iamActionMatch compares actions without regard to case, as IAM does.
func iamActionMatch(pattern, action string) bool {
	return iamWildMatch(strings.ToLower(pattern), strings.ToLower(action))
}

func iamAnyMatch(patterns []string, s string, match func(string, string) bool) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

// applies reports whether an identity-policy statement covers action on resource.
// GUESS: conditions are assumed to hold (the emulator has no request context).
func (s *iamStatement) applies(action, resource string) bool {
	if s.hasAction {
		if !iamAnyMatch(s.Action, action, iamActionMatch) {
			return false
		}
	} else if s.hasNotAction {
		if iamAnyMatch(s.NotAction, action, iamActionMatch) {
			return false
		}
	} else {
		return false
	}
	if s.hasResource {
		return iamAnyMatch(s.Resource, resource, iamWildMatch)
	}
	if s.hasNotResource {
		return !iamAnyMatch(s.NotResource, resource, iamWildMatch)
	}
	return false
}

// iamEvalAllowed applies IAM's rule across documents: an explicit Deny wins, then any
// Allow, else the implicit deny.
func iamEvalAllowed(docs []*iamPolicyDoc, action, resource string) bool {
	allowed := false
	for _, d := range docs {
		for i := range d.Statement {
			s := &d.Statement[i]
			if !s.applies(action, resource) {
				continue
			}
			switch s.Effect {
			case "Deny":
				return false
			case "Allow":
				allowed = true
			}
		}
	}
	return allowed
}

// iamPrincipalMatches reports whether a statement's Principal names the caller.
// callerType is "Service" or "AWS"; for "AWS" the candidates are the caller's
// ARN forms and account (any of which may be named).
func iamPrincipalMatches(p *iamPrincipal, callerType string, candidates []string) bool {
	if p == nil {
		return false
	}
	if p.Any {
		return true
	}
	for typ, vals := range p.Values {
		if typ != callerType {
			continue
		}
		for _, v := range vals {
			if v == "*" {
				return true
			}
			for _, c := range candidates {
				if strings.EqualFold(v, c) || (strings.Contains(v, "*") && iamWildMatch(v, c)) {
					return true
				}
			}
		}
	}
	return false
}

// iamTrustAllows evaluates a trust policy for sts:AssumeRole by a principal.
// GUESS: conditions (sts:ExternalId, MFA, tags) are assumed to hold.
func iamTrustAllows(doc, callerType string, candidates []string) bool {
	d, err := iamParsePolicy(doc)
	if err != nil {
		return false
	}
	allowed := false
	for _, s := range d.Statement {
		if !s.appliesToAction("sts:AssumeRole") {
			continue
		}
		var named bool
		if s.Principal != nil {
			named = iamPrincipalMatches(s.Principal, callerType, candidates)
		} else if s.NotPrincipal != nil {
			named = !iamPrincipalMatches(s.NotPrincipal, callerType, candidates)
		}
		if !named {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		if s.Effect == "Allow" {
			allowed = true
		}
	}
	return allowed
}

func (s *iamStatement) appliesToAction(action string) bool {
	if s.hasAction {
		return iamAnyMatch(s.Action, action, iamActionMatch)
	}
	if s.hasNotAction {
		return !iamAnyMatch(s.NotAction, action, iamActionMatch)
	}
	return false
}

// iamTrustAllowsService reports whether a trust policy lets a service assume the role.
func iamTrustAllowsService(doc, service string) bool {
	return iamTrustAllows(doc, "Service", []string{service})
}

// iamTrustRolePrincipals lists the same-account role ARNs a trust policy names
// as AWS principals (IAM checks that they exist).
func iamTrustRolePrincipals(doc, partition, account string) []string {
	d, err := iamParsePolicy(doc)
	if err != nil {
		return nil
	}
	prefix := "arn:" + partition + ":iam::" + account + ":role/"
	var out []string
	for _, s := range d.Statement {
		for _, p := range []*iamPrincipal{s.Principal, s.NotPrincipal} {
			if p == nil || p.Any {
				continue
			}
			for _, v := range p.Values["AWS"] {
				if strings.HasPrefix(v, prefix) && !strings.Contains(v, "*") {
					out = append(out, v)
				}
			}
		}
	}
	return out
}
