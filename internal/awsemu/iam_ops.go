package awsemu

import "net/url"

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
