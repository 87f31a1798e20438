package awsemu

import (
	"net/url"
	"strings"
)

// IAM instance profiles and the role in each. Their tags are in iam_tags.go.

func iamCreateInstanceProfile(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("InstanceProfileName")
	path := "/"
	if _, ok := p["Path"]; ok {
		path = p.Get("Path")
	}
	v := &iamValidator{}
	v.str("instanceProfileName", name, iamRuleProfileName)
	v.opt(p, "Path", "path", iamRulePath)
	tags := iamQueryTags(p)
	if err := iamValidateTags(v, tags); err != nil {
		return nil, err
	}
	key := strings.ToLower(name)
	if e.iam.profiles[key] != nil {
		return nil, apiErr(409, "EntityAlreadyExists", "Instance Profile %s already exists.", name)
	}
	ip := &iamProfile{Name: name, Path: path, ID: e.iamID("AIPA"), Arn: e.iamArn("instance-profile", path, name), Created: e.iamNow(), Tags: tags}
	e.iam.profiles[key] = ip
	return struct{ InstanceProfile ixProfile }{e.xmlProfile(ip, true)}, nil
}

func iamGetInstanceProfile(e *Emulator, p url.Values) (any, *APIError) {
	ip, err := e.profileParam(p)
	if err != nil {
		return nil, err
	}
	return struct{ InstanceProfile ixProfile }{e.xmlProfile(ip, true)}, nil
}

func iamDeleteInstanceProfile(e *Emulator, p url.Values) (any, *APIError) {
	ip, err := e.profileParam(p)
	if err != nil {
		return nil, err
	}
	if ip.Role != "" {
		return nil, apiErr(409, "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")
	}
	delete(e.iam.profiles, strings.ToLower(ip.Name))
	return nil, nil
}

func (e *Emulator) profilePage(p url.Values, list []*iamProfile) (any, *APIError) {
	keys := make([]string, len(list))
	for i, ip := range list {
		keys[i] = strings.ToLower(ip.Name)
	}
	from, to, next, trunc, err := iamPage(p, keys)
	if err != nil {
		return nil, err
	}
	out := struct {
		InstanceProfiles []ixProfile `xml:"InstanceProfiles>member"`
		ixPage
	}{InstanceProfiles: []ixProfile{}, ixPage: ixPage{trunc, next}}
	for _, ip := range list[from:to] {
		out.InstanceProfiles = append(out.InstanceProfiles, e.xmlProfile(ip, false))
	}
	return out, nil
}

func iamListInstanceProfiles(e *Emulator, p url.Values) (any, *APIError) {
	if _, err := iamPathPrefix(p, "/"); err != nil {
		return nil, err
	}
	var list []*iamProfile
	for _, ip := range e.iam.sortedProfiles() {
		if ok, _ := iamPathPrefix(p, ip.Path); ok {
			list = append(list, ip)
		}
	}
	return e.profilePage(p, list)
}

func iamListInstanceProfilesForRole(e *Emulator, p url.Values) (any, *APIError) {
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	var list []*iamProfile
	for _, ip := range e.iam.sortedProfiles() {
		if ip.Role == strings.ToLower(r.Name) {
			list = append(list, ip)
		}
	}
	return e.profilePage(p, list)
}

func profileRoleParams(p url.Values) *APIError {
	v := &iamValidator{}
	v.str("instanceProfileName", p.Get("InstanceProfileName"), iamRuleProfileName)
	v.str("roleName", p.Get("RoleName"), iamRuleRoleName)
	return v.err()
}

func iamAddRoleToInstanceProfile(e *Emulator, p url.Values) (any, *APIError) {
	if err := profileRoleParams(p); err != nil {
		return nil, err
	}
	ip, err := e.profileParam(p)
	if err != nil {
		return nil, err
	}
	r, err := e.roleParam(p)
	if err != nil {
		return nil, err
	}
	if ip.Role != "" {
		// Also for the role already in the profile: the quota is one session.
		return nil, apiErr(409, "LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
	}
	ip.Role = strings.ToLower(r.Name)
	return nil, nil
}

func iamRemoveRoleFromInstanceProfile(e *Emulator, p url.Values) (any, *APIError) {
	if err := profileRoleParams(p); err != nil {
		return nil, err
	}
	ip, err := e.profileParam(p)
	if err != nil {
		return nil, err
	}
	name := p.Get("RoleName")
	if ip.Role != strings.ToLower(name) {
		// GUESS: the message for a role that is not in the profile.
		return nil, iamNoSuchRole(name)
	}
	ip.Role = ""
	return nil, nil
}
