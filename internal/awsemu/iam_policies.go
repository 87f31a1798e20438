package awsemu

import (
	"net/url"
	"strings"
)

// Managed policy operations, for customer managed policies and the AWS managed
// ones (iam_managed.go). The policy language is in iam_policy.go.

// policyUsageLocked counts the roles a policy is attached to and bounds.
func (e *Emulator) policyUsageLocked(arn string) (attached, boundary int) {
	for _, r := range e.iam.roles {
		if iamHas(r.Attached, arn) {
			attached++
		}
		if r.Boundary == arn {
			boundary++
		}
	}
	return
}

func iamCreatePolicy(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("PolicyName")
	path := "/"
	if _, ok := p["Path"]; ok {
		path = p.Get("Path")
	}
	v := &iamValidator{}
	v.str("policyName", name, iamRulePolicyName)
	v.opt(p, "Path", "path", iamRulePath)
	v.opt(p, "Description", "description", iamRuleDescription)
	tags := iamQueryTags(p)
	if err := iamValidateTags(v, tags); err != nil {
		return nil, err
	}
	doc := p.Get("PolicyDocument")
	if err := iamCheckDocument("policyDocument", doc, identityPolicy); err != nil {
		return nil, err
	}
	if iamPolicyChars(doc) > 6144 {
		return nil, apiErr(409, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
	}
	for _, pol := range e.iam.policies {
		if strings.EqualFold(pol.Name, name) {
			return nil, apiErr(409, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	now := e.iamNow()
	pol := &iamPolicy{
		Name: name, Path: path, ID: e.iamID("ANPA"), Arn: e.iamArn("policy", path, name),
		Description: p.Get("Description"), Created: now, Updated: now, Default: "v1", Tags: tags,
		Versions: []iamPolicyVersion{{ID: "v1", Document: doc, Created: now}},
	}
	e.iam.policies[pol.Arn] = pol
	return struct{ Policy ixPolicy }{e.xmlPolicy(pol, true)}, nil
}

func iamNoSuchPolicy(arn string) *APIError {
	return apiErr(404, "NoSuchEntity", "Policy %s was not found.", arn)
}

func (e *Emulator) policyParam(p url.Values) (*iamPolicy, *APIError) {
	arn, err := policyArnParam(p, "PolicyArn", "policyArn")
	if err != nil {
		return nil, err
	}
	pol := e.findPolicyLocked(arn)
	if pol == nil {
		return nil, iamNoSuchPolicy(arn)
	}
	return pol, nil
}

func iamGetPolicy(e *Emulator, p url.Values) (any, *APIError) {
	pol, err := e.policyParam(p)
	if err != nil {
		return nil, err
	}
	return struct{ Policy ixPolicy }{e.xmlPolicy(pol, true)}, nil
}

func iamGetPolicyVersion(e *Emulator, p url.Values) (any, *APIError) {
	vid := p.Get("VersionId")
	v := &iamValidator{}
	v.str("versionId", vid, iamRuleVersionID)
	if err := v.err(); err != nil {
		return nil, err
	}
	pol, err := e.policyParam(p)
	if err != nil {
		return nil, err
	}
	for _, ver := range pol.Versions {
		if ver.ID == vid {
			return struct {
				PolicyVersion struct {
					Document         string
					VersionId        string
					IsDefaultVersion bool
					CreateDate       string
				}
			}{struct {
				Document         string
				VersionId        string
				IsDefaultVersion bool
				CreateDate       string
			}{iamEscape(ver.Document), ver.ID, ver.ID == pol.Default, isoTime(ver.Created)}}, nil
		}
	}
	return nil, apiErr(404, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", pol.Arn, vid)
}

func iamDeletePolicy(e *Emulator, p url.Values) (any, *APIError) {
	pol, err := e.policyParam(p)
	if err != nil {
		return nil, err
	}
	if pol.AWSManaged {
		return nil, apiErr(400, "InvalidInput", "ARN %s is not valid.", pol.Arn)
	}
	if a, b := e.policyUsageLocked(pol.Arn); a+b > 0 {
		return nil, apiErr(409, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	delete(e.iam.policies, pol.Arn)
	return nil, nil
}

func iamListPolicies(e *Emulator, p url.Values) (any, *APIError) {
	scope := p.Get("Scope")
	if scope == "" {
		scope = "All"
	}
	if scope != "All" && scope != "AWS" && scope != "Local" {
		v := &iamValidator{}
		v.add(scope, "scope", "satisfy enum value set: [All, AWS, Local]")
		return nil, v.err()
	}
	if _, err := iamPathPrefix(p, "/"); err != nil {
		return nil, err
	}
	onlyAttached := p.Get("OnlyAttached") == "true"
	var list []*iamPolicy
	if scope != "Local" {
		for _, pol := range e.awsManagedLocked() {
			list = append(list, pol)
		}
	}
	if scope != "AWS" {
		for _, pol := range e.iam.policies {
			list = append(list, pol)
		}
	}
	iamSortPolicies(list)
	var kept []*iamPolicy
	var keys []string
	for _, pol := range list {
		if ok, _ := iamPathPrefix(p, pol.Path); !ok {
			continue
		}
		if a, _ := e.policyUsageLocked(pol.Arn); onlyAttached && a == 0 {
			continue
		}
		kept = append(kept, pol)
		keys = append(keys, pol.Name+"\x00"+pol.Arn)
	}
	from, to, next, trunc, err := iamPage(p, keys)
	if err != nil {
		return nil, err
	}
	out := struct {
		Policies []ixPolicy `xml:"Policies>member"`
		ixPage
	}{Policies: []ixPolicy{}, ixPage: ixPage{trunc, next}}
	for _, pol := range kept[from:to] {
		x := e.xmlPolicy(pol, false)
		x.Description = "" // ListPolicies does not return descriptions
		out.Policies = append(out.Policies, x)
	}
	return out, nil
}

func iamListEntitiesForPolicy(e *Emulator, p url.Values) (any, *APIError) {
	pol, err := e.policyParam(p)
	if err != nil {
		return nil, err
	}
	filter := p.Get("EntityFilter")
	type ixPolicyRole struct{ RoleName, RoleId string }
	var roles []ixPolicyRole
	var keys []string
	if filter == "" || filter == "Role" {
		for _, r := range e.iam.sortedRoles() {
			if iamHas(r.Attached, pol.Arn) {
				roles = append(roles, ixPolicyRole{r.Name, r.ID})
				keys = append(keys, strings.ToLower(r.Name))
			}
		}
	}
	from, to, next, trunc, err := iamPage(p, keys)
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyRoles  []ixPolicyRole `xml:"PolicyRoles>member"`
		PolicyGroups struct{}
		PolicyUsers  struct{}
		ixPage
	}{PolicyRoles: roles[from:to], ixPage: ixPage{trunc, next}}, nil
}
