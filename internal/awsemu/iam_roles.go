package awsemu

import (
	"net/url"
	"strings"
)

// IAM roles: CreateRole, GetRole, UpdateRole, UpdateRoleDescription,
// UpdateAssumeRolePolicy, DeleteRole, ListRoles. Their tags are in iam_tags.go,
// their policies in iam_role_policies.go.

func iamCreateRole(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("RoleName")
	path := "/"
	if _, ok := p["Path"]; ok {
		path = p.Get("Path")
	}
	v := &iamValidator{}
	v.opt(p, "Path", "path", iamRulePath)
	v.str("roleName", name, iamRuleRoleName)
	v.opt(p, "Description", "description", iamRuleDescription)
	maxDur, hasMax := v.intParam(p, "MaxSessionDuration", "maxSessionDuration", 3600, 43200)
	if _, ok := p["PermissionsBoundary"]; ok {
		v.str("permissionsBoundary", p.Get("PermissionsBoundary"), iamRuleArn)
	}
	tags := iamQueryTags(p)
	if err := iamValidateTags(v, tags); err != nil {
		return nil, err
	}
	if !hasMax {
		maxDur = 3600
	}
	doc := p.Get("AssumeRolePolicyDocument")
	if err := iamCheckDocument("assumeRolePolicyDocument", doc, trustPolicy); err != nil {
		return nil, err
	}
	if err := checkTrustSize(doc); err != nil {
		return nil, err
	}
	if err := e.checkTrustPrincipals(doc); err != nil {
		return nil, err
	}
	key := strings.ToLower(name)
	if e.iam.roles[key] != nil {
		return nil, apiErr(409, "EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	boundary := ""
	if _, ok := p["PermissionsBoundary"]; ok {
		arn, err := policyArnParam(p, "PermissionsBoundary", "permissionsBoundary")
		if err != nil {
			return nil, err
		}
		if e.findPolicyLocked(arn) == nil {
			return nil, apiErr(404, "NoSuchEntity", "Scope ARN: %s does not exist or is not attachable.", arn)
		}
		boundary = arn
	}
	r := &iamRole{
		Name: name, Path: path, ID: e.iamID("AROA"), Arn: e.iamArn("role", path, name), Created: e.iamNow(),
		AssumeRolePolicy: doc, Description: p.Get("Description"), MaxSessionDuration: int32(maxDur),
		Boundary: boundary, Tags: tags, Inline: map[string]string{},
	}
	e.iam.roles[key] = r
	return struct{ Role ixRole }{xmlRole(r, roleCreate)}, nil
}

func iamGetRole(e *Emulator, p url.Values) (any, *APIError) {
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	return struct{ Role ixRole }{xmlRole(r, roleGet)}, nil
}

func iamUpdateRole(e *Emulator, p url.Values) (any, *APIError) {
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	v.opt(p, "Description", "description", iamRuleDescription)
	maxDur, hasMax := v.intParam(p, "MaxSessionDuration", "maxSessionDuration", 3600, 43200)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	if _, ok := p["Description"]; ok {
		r.Description = p.Get("Description")
	}
	if hasMax {
		r.MaxSessionDuration = int32(maxDur)
	}
	return nil, nil
}

func iamUpdateRoleDescription(e *Emulator, p url.Values) (any, *APIError) {
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	v.str("description", p.Get("Description"), iamRuleDescription)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	r.Description = p.Get("Description")
	return struct{ Role ixRole }{xmlRole(r, roleCreate)}, nil
}

func iamUpdateAssumeRolePolicy(e *Emulator, p url.Values) (any, *APIError) {
	v := &iamValidator{}
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	if err := v.err(); err != nil {
		return nil, err
	}
	doc := p.Get("PolicyDocument")
	if err := iamCheckDocument("policyDocument", doc, trustPolicy); err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	if err := checkTrustSize(doc); err != nil {
		return nil, err
	}
	if err := e.checkTrustPrincipals(doc); err != nil {
		return nil, err
	}
	r.AssumeRolePolicy = doc
	return nil, nil
}

func iamDeleteRole(e *Emulator, p url.Values) (any, *APIError) {
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	// GUESS: the order in which IAM reports the conflicts.
	if len(r.Attached) > 0 {
		return nil, apiErr(409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	if len(r.Inline) > 0 {
		return nil, apiErr(409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	key := strings.ToLower(r.Name)
	for _, ip := range e.iam.profiles {
		if ip.Role == key {
			return nil, apiErr(409, "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")
		}
	}
	delete(e.iam.roles, key)
	return nil, nil
}

func iamListRoles(e *Emulator, p url.Values) (any, *APIError) {
	if _, err := iamPathPrefix(p, "/"); err != nil {
		return nil, err
	}
	var roles []*iamRole
	var keys []string
	for _, r := range e.iam.sortedRoles() {
		if ok, _ := iamPathPrefix(p, r.Path); ok {
			roles = append(roles, r)
			keys = append(keys, strings.ToLower(r.Name))
		}
	}
	from, to, next, trunc, err := iamPage(p, keys)
	if err != nil {
		return nil, err
	}
	out := struct {
		Roles []ixRole `xml:"Roles>member"`
		ixPage
	}{Roles: []ixRole{}, ixPage: ixPage{trunc, next}}
	for _, r := range roles[from:to] {
		out.Roles = append(out.Roles, xmlRole(r, roleList))
	}
	return out, nil
}
