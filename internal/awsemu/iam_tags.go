package awsemu

import (
	"net/url"
	"strconv"
)

// iamTagged is a kind of IAM entity with tags of its own, managed by the
// Tag<Kind>, Untag<Kind> and List<Kind>Tags operations (roles, instance
// profiles). The operations are alike but for the parameter naming the entity.
type iamTagged struct {
	param string  // query parameter naming the entity: RoleName, InstanceProfileName
	field string  // its member name in validation errors: roleName, instanceProfileName
	rule  iamRule // its constraints
	// find validates the name and finds the entity (NoSuchEntity when absent),
	// returning its tags.
	find func(e *Emulator, p url.Values) (*[]iamTag, *APIError)
}

var (
	iamRoleTags = iamTagged{
		param: "RoleName", field: "roleName", rule: iamRuleRoleName,
		find: func(e *Emulator, p url.Values) (*[]iamTag, *APIError) {
			r, err := e.roleParam(p)
			if err != nil {
				return nil, err
			}
			return &r.Tags, nil
		},
	}
	iamProfileTags = iamTagged{
		param: "InstanceProfileName", field: "instanceProfileName", rule: iamRuleProfileName,
		find: func(e *Emulator, p url.Values) (*[]iamTag, *APIError) {
			ip, err := e.profileParam(p)
			if err != nil {
				return nil, err
			}
			return &ip.Tags, nil
		},
	}
)

// tag is Tag<Kind>: the name and the tags are validated together, then the
// entity is looked up and the tags merged into its own (a key already there
// takes the new value).
func (k iamTagged) tag(e *Emulator, p url.Values) (any, *APIError) {
	v := &iamValidator{}
	v.str(k.field, p.Get(k.param), k.rule)
	tags := iamQueryTags(p)
	if err := iamValidateTags(v, tags); err != nil {
		return nil, err
	}
	have, err := k.find(e, p)
	if err != nil {
		return nil, err
	}
	merged, err := iamMergeTags(*have, tags)
	if err != nil {
		return nil, err
	}
	*have = merged
	return nil, nil
}

// untag is Untag<Kind>: keys the entity does not have are ignored.
func (k iamTagged) untag(e *Emulator, p url.Values) (any, *APIError) {
	have, err := k.find(e, p)
	if err != nil {
		return nil, err
	}
	*have = iamRemoveTags(*have, queryList(p, "TagKeys.member"))
	return nil, nil
}

// list is List<Kind>Tags: the tags in the order they were added, paginated.
func (k iamTagged) list(e *Emulator, p url.Values) (any, *APIError) {
	have, err := k.find(e, p)
	if err != nil {
		return nil, err
	}
	return iamTagPage(p, *have)
}

func iamTagPage(p url.Values, tags []iamTag) (any, *APIError) {
	keys := make([]string, len(tags))
	for i := range tags {
		keys[i] = strconv.Itoa(1000 + i) // insertion order, sortable
	}
	from, to, next, trunc, err := iamPage(p, keys)
	if err != nil {
		return nil, err
	}
	return struct {
		Tags []ixTag `xml:"Tags>member"`
		ixPage
	}{ixTagsOf(tags[from:to]), ixPage{trunc, next}}, nil
}
