package awsemu

import (
	"net/url"
	"strconv"
)

// A role's policies: its permissions boundary, the managed policies attached to
// it and its inline policies.

func iamPutRolePermissionsBoundary(e *Emulator, p url.Values) (any, *APIError) {
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	if err := v.err(); err != nil {
		return nil, err
	}
	arn, err := policyArnParam(p, "PermissionsBoundary", "permissionsBoundary")
	if err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	if e.findPolicyLocked(arn) == nil {
		return nil, apiErr(404, "NoSuchEntity", "Scope ARN: %s does not exist or is not attachable.", arn)
	}
	r.Boundary = arn
	return nil, nil
}

func iamDeleteRolePermissionsBoundary(e *Emulator, p url.Values) (any, *APIError) {
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	// GUESS: deleting an absent boundary succeeds silently.
	r.Boundary = ""
	return nil, nil
}

func iamAttachRolePolicy(e *Emulator, p url.Values) (any, *APIError) {
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	if err := v.err(); err != nil {
		return nil, err
	}
	arn, err := policyArnParam(p, "PolicyArn", "policyArn")
	if err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	if e.findPolicyLocked(arn) == nil {
		return nil, apiErr(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	if iamHas(r.Attached, arn) {
		return nil, nil
	}
	if len(r.Attached) >= 10 {
		return nil, apiErr(409, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10")
	}
	r.Attached = append(r.Attached, arn)
	return nil, nil
}

func iamDetachRolePolicy(e *Emulator, p url.Values) (any, *APIError) {
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	if err := v.err(); err != nil {
		return nil, err
	}
	arn, err := policyArnParam(p, "PolicyArn", "policyArn")
	if err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	if !iamHas(r.Attached, arn) {
		return nil, apiErr(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	r.Attached = iamWithout(r.Attached, arn)
	return nil, nil
}

func iamListAttachedRolePolicies(e *Emulator, p url.Values) (any, *APIError) {
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	if _, err := iamPathPrefix(p, "/"); err != nil {
		return nil, err
	}
	var list []ixAttached
	var keys []string
	for i, arn := range r.Attached {
		pol := e.findPolicyLocked(arn)
		if pol == nil {
			continue
		}
		if ok, _ := iamPathPrefix(p, pol.Path); !ok {
			continue
		}
		list = append(list, ixAttached{pol.Name, arn})
		keys = append(keys, strconv.Itoa(1000+i))
	}
	from, to, next, trunc, err := iamPage(p, keys)
	if err != nil {
		return nil, err
	}
	return struct {
		AttachedPolicies []ixAttached `xml:"AttachedPolicies>member"`
		ixPage
	}{list[from:to], ixPage{trunc, next}}, nil
}

func iamPutRolePolicy(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("PolicyName")
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	v.str("policyName", name, iamRulePolicyName)
	if err := v.err(); err != nil {
		return nil, err
	}
	doc := p.Get("PolicyDocument")
	if err := iamCheckDocument("policyDocument", doc, identityPolicy); err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	// Putting an existing name replaces that policy.
	total := iamPolicyChars(doc)
	for n, d := range r.Inline {
		if n != name {
			total += iamPolicyChars(d)
		}
	}
	if total > 10240 {
		return nil, apiErr(409, "LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role %s", r.Name)
	}
	if _, ok := r.Inline[name]; !ok {
		r.InlineOrder = append(r.InlineOrder, name)
	}
	r.Inline[name] = doc
	return nil, nil
}

func iamNoSuchRolePolicy(name string) *APIError {
	return apiErr(404, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
}

func iamGetRolePolicy(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("PolicyName")
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	v.str("policyName", name, iamRulePolicyName)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	doc, ok := r.Inline[name]
	if !ok {
		return nil, iamNoSuchRolePolicy(name)
	}
	return struct{ RoleName, PolicyName, PolicyDocument string }{r.Name, name, iamEscape(doc)}, nil
}

func iamDeleteRolePolicy(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("PolicyName")
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	v.str("policyName", name, iamRulePolicyName)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	if _, ok := r.Inline[name]; !ok {
		return nil, iamNoSuchRolePolicy(name)
	}
	delete(r.Inline, name)
	r.InlineOrder = iamWithout(r.InlineOrder, name)
	return nil, nil
}

func iamListRolePolicies(e *Emulator, p url.Values) (any, *APIError) {
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	names := sortedKeys(r.Inline)
	from, to, next, trunc, err := iamPage(p, names)
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		ixPage
	}{names[from:to], ixPage{trunc, next}}, nil
}
