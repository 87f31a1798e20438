package awsemu

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// IAM operations (awsQuery). Handlers run with e.mu held.

func init() {
	for k, v := range map[string]queryHandler{
		"CreateRole":                    iamCreateRole,
		"GetRole":                       iamGetRole,
		"UpdateRole":                    iamUpdateRole,
		"UpdateRoleDescription":         iamUpdateRoleDescription,
		"UpdateAssumeRolePolicy":        iamUpdateAssumeRolePolicy,
		"DeleteRole":                    iamDeleteRole,
		"ListRoles":                     iamListRoles,
		"TagRole":                       iamRoleTags.tag,
		"UntagRole":                     iamRoleTags.untag,
		"ListRoleTags":                  iamRoleTags.list,
		"PutRolePermissionsBoundary":    iamPutRolePermissionsBoundary,
		"DeleteRolePermissionsBoundary": iamDeleteRolePermissionsBoundary,
		"AttachRolePolicy":              iamAttachRolePolicy,
		"DetachRolePolicy":              iamDetachRolePolicy,
		"ListAttachedRolePolicies":      iamListAttachedRolePolicies,
		"PutRolePolicy":                 iamPutRolePolicy,
		"GetRolePolicy":                 iamGetRolePolicy,
		"DeleteRolePolicy":              iamDeleteRolePolicy,
		"ListRolePolicies":              iamListRolePolicies,
		"CreateInstanceProfile":         iamCreateInstanceProfile,
		"GetInstanceProfile":            iamGetInstanceProfile,
		"DeleteInstanceProfile":         iamDeleteInstanceProfile,
		"ListInstanceProfiles":          iamListInstanceProfiles,
		"AddRoleToInstanceProfile":      iamAddRoleToInstanceProfile,
		"RemoveRoleFromInstanceProfile": iamRemoveRoleFromInstanceProfile,
		"ListInstanceProfilesForRole":   iamListInstanceProfilesForRole,
		"TagInstanceProfile":            iamProfileTags.tag,
		"UntagInstanceProfile":          iamProfileTags.untag,
		"ListInstanceProfileTags":       iamProfileTags.list,
		"CreatePolicy":                  iamCreatePolicy,
		"GetPolicy":                     iamGetPolicy,
		"GetPolicyVersion":              iamGetPolicyVersion,
		"DeletePolicy":                  iamDeletePolicy,
		"ListPolicies":                  iamListPolicies,
		"ListEntitiesForPolicy":         iamListEntitiesForPolicy,
	} {
		iamOps[k] = withEmptyResult(v)
	}
}

// withEmptyResult makes operations without output members answer with an empty
// <OpResult/> element: some SDK deserializers (UpdateRole) require it.
func withEmptyResult(h queryHandler) queryHandler {
	return func(e *Emulator, p url.Values) (any, *APIError) {
		res, err := h(e, p)
		if res == nil && err == nil {
			res = struct{}{}
		}
		return res, err
	}
}

// ---- wire shapes ----

type ixTag struct{ Key, Value string }

type ixBoundary struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

type ixRole struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string      `xml:",omitempty"`
	Description              string      `xml:",omitempty"`
	MaxSessionDuration       int32       `xml:",omitempty"`
	PermissionsBoundary      *ixBoundary `xml:",omitempty"`
	Tags                     *ixTagList  `xml:",omitempty"`
	RoleLastUsed             *struct{}   `xml:",omitempty"`
}

type ixProfile struct {
	Path                string
	InstanceProfileName string
	InstanceProfileId   string
	Arn                 string
	CreateDate          string
	Roles               []ixRole   `xml:"Roles>member"`
	Tags                *ixTagList `xml:",omitempty"`
}

type ixPolicy struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    string
	UpdateDate                    string
	Tags                          *ixTagList `xml:",omitempty"`
}

type ixAttached struct{ PolicyName, PolicyArn string }

type ixPage struct {
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ixTagList is an entity's optional Tags member, omitted when there are none.
type ixTagList struct {
	Member []ixTag `xml:"member"`
}

func ixTagListOf(tags []iamTag) *ixTagList {
	if len(tags) == 0 {
		return nil
	}
	return &ixTagList{ixTagsOf(tags)}
}

func ixTagsOf(tags []iamTag) []ixTag {
	out := make([]ixTag, len(tags))
	for i, t := range tags {
		out[i] = ixTag{t.Key, t.Value}
	}
	return out
}

// roleView selects the members an operation returns.
type roleView int

const (
	roleList   roleView = iota // ListRoles, profiles' Roles: no tags, boundary or last use
	roleCreate                 // CreateRole: + tags, boundary
	roleGet                    // GetRole: everything
)

func xmlRole(r *iamRole, view roleView) ixRole {
	x := ixRole{
		Path: r.Path, RoleName: r.Name, RoleId: r.ID, Arn: r.Arn, CreateDate: isoTime(r.Created),
		AssumeRolePolicyDocument: iamEscape(r.AssumeRolePolicy), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration,
	}
	if view >= roleCreate {
		x.Tags = ixTagListOf(r.Tags)
		if r.Boundary != "" {
			x.PermissionsBoundary = &ixBoundary{"PermissionsBoundaryPolicy", r.Boundary}
		}
	}
	if view == roleGet {
		x.RoleLastUsed = &struct{}{}
	}
	return x
}

func (e *Emulator) xmlProfile(p *iamProfile, withTags bool) ixProfile {
	x := ixProfile{Path: p.Path, InstanceProfileName: p.Name, InstanceProfileId: p.ID, Arn: p.Arn, CreateDate: isoTime(p.Created)}
	if r := e.iam.roles[p.Role]; r != nil {
		x.Roles = []ixRole{xmlRole(r, roleList)}
	}
	if withTags {
		x.Tags = ixTagListOf(p.Tags)
	}
	return x
}

func (e *Emulator) xmlPolicy(p *iamPolicy, withTags bool) ixPolicy {
	attached, boundary := e.policyUsageLocked(p.Arn)
	x := ixPolicy{
		PolicyName: p.Name, PolicyId: p.ID, Arn: p.Arn, Path: p.Path, DefaultVersionId: p.Default,
		AttachmentCount: attached, PermissionsBoundaryUsageCount: boundary, IsAttachable: true,
		Description: p.Description, CreateDate: isoTime(p.Created), UpdateDate: isoTime(p.Updated),
	}
	if withTags {
		x.Tags = ixTagListOf(p.Tags)
	}
	return x
}

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

// ---- lookups and errors ----

func iamNoSuchRole(name string) *APIError {
	return apiErr(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

func iamNoSuchProfile(name string) *APIError {
	return apiErr(404, "NoSuchEntity", "Instance Profile %s cannot be found.", name)
}

// roleParam validates RoleName and finds the role.
func (e *Emulator) roleParam(p url.Values) (*iamRole, *APIError) {
	name := p.Get("RoleName")
	v := &iamValidator{}
	v.str("roleName", name, iamRuleRoleName)
	if err := v.err(); err != nil {
		return nil, err
	}
	r := e.iam.roles[strings.ToLower(name)]
	if r == nil {
		return nil, iamNoSuchRole(name)
	}
	return r, nil
}

func (e *Emulator) profileParam(p url.Values) (*iamProfile, *APIError) {
	name := p.Get("InstanceProfileName")
	v := &iamValidator{}
	v.str("instanceProfileName", name, iamRuleProfileName)
	if err := v.err(); err != nil {
		return nil, err
	}
	ip := e.iam.profiles[strings.ToLower(name)]
	if ip == nil {
		return nil, iamNoSuchProfile(name)
	}
	return ip, nil
}

// policyArnParam validates PolicyArn (or another ARN parameter) and checks its form.
func policyArnParam(p url.Values, name, field string) (string, *APIError) {
	arn := p.Get(name)
	v := &iamValidator{}
	v.str(field, arn, iamRuleArn)
	if err := v.err(); err != nil {
		return "", err
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "policy/") {
		return "", apiErr(400, "InvalidInput", "ARN %s is not valid.", arn)
	}
	return arn, nil
}

// checkDocument validates a policy document parameter: length and characters
// (ValidationError), then JSON grammar (MalformedPolicyDocument).
func iamCheckDocument(field, doc string, kind iamPolicyKind) *APIError {
	v := &iamValidator{}
	v.str(field, doc, iamRuleDocument)
	if err := v.err(); err != nil {
		return err
	}
	if msg := iamValidatePolicyDoc(doc, kind); msg != "" {
		return apiErr(400, "MalformedPolicyDocument", "%s", msg)
	}
	return nil
}

// checkTrustPrincipals rejects a trust policy naming a role of this account that
// does not exist, as IAM does (Terraform retries this error while a new role
// propagates).
func (e *Emulator) checkTrustPrincipals(doc string) *APIError {
	for _, arn := range iamTrustRolePrincipals(doc, e.partition(), e.opts.AccountID) {
		name := arn[strings.LastIndex(arn, "/")+1:]
		if r := e.iam.roles[strings.ToLower(name)]; r == nil || !strings.EqualFold(r.Arn, arn) {
			return apiErr(400, "MalformedPolicyDocument", "Invalid principal in policy: \"AWS\":\"%s\"", arn)
		}
	}
	return nil
}

// checkTrustSize enforces the trust policy quota (ACLSizePerRole, whitespace excluded).
func checkTrustSize(doc string) *APIError {
	if iamPolicyChars(doc) > 2048 {
		return apiErr(409, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
	}
	return nil
}

func (e *Emulator) iamNow() time.Time { return time.Now().UTC().Truncate(time.Second) }

// ---- roles ----

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
	tags := iamQueryTags(p, "Tags.member")
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

func iamPathPrefix(p url.Values, path string) (bool, *APIError) {
	if _, ok := p["PathPrefix"]; !ok {
		return true, nil
	}
	v := &iamValidator{}
	v.str("pathPrefix", p.Get("PathPrefix"), iamRulePathPrefix)
	if err := v.err(); err != nil {
		return false, err
	}
	return strings.HasPrefix(path, p.Get("PathPrefix")), nil
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

// ---- instance profiles ----

func iamCreateInstanceProfile(e *Emulator, p url.Values) (any, *APIError) {
	name := p.Get("InstanceProfileName")
	path := "/"
	if _, ok := p["Path"]; ok {
		path = p.Get("Path")
	}
	v := &iamValidator{}
	v.str("instanceProfileName", name, iamRuleProfileName)
	v.opt(p, "Path", "path", iamRulePath)
	tags := iamQueryTags(p, "Tags.member")
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

// ---- managed policies ----

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
	tags := iamQueryTags(p, "Tags.member")
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
