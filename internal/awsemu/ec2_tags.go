package awsemu

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxTags is the per-resource tag quota.
const maxTags = 50

type tagParam struct {
	Key, Value string
	HasValue   bool
}

// queryTags reads prefix.N.Key / prefix.N.Value. With validate, keys and values
// are checked against EC2's limits (key 1..128, value 0..256, no "aws:" prefix).
func queryTags(p url.Values, prefix string, validate bool) ([]tagParam, *APIError) {
	var out []tagParam
	for i := 1; ; i++ {
		pre := prefix + "." + strconv.Itoa(i)
		k, hasKey := p[pre+".Key"]
		v, hasVal := p[pre+".Value"]
		if !hasKey && !hasVal {
			return out, nil
		}
		t := tagParam{HasValue: hasVal}
		if hasKey {
			t.Key = k[0]
		}
		if hasVal {
			t.Value = v[0]
		}
		if validate {
			switch {
			case t.Key == "":
				// GUESS: wording.
				return nil, apiErr(400, "InvalidParameterValue", "Tag key cannot be empty")
			case utf8.RuneCountInString(t.Key) > 128:
				return nil, apiErr(400, "InvalidParameterValue", "Tag key exceeds the maximum length of 128 characters")
			case utf8.RuneCountInString(t.Value) > 256:
				return nil, apiErr(400, "InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
			case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
				return nil, apiErr(400, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
			}
		}
		out = append(out, t)
	}
}

// tagResourcesLocked resolves ResourceId.N to instances (the only taggable
// resource modelled).
func (e *Emulator) tagResourcesLocked(p url.Values) ([]*Instance, *APIError) {
	ids := queryList(p, "ResourceId")
	if len(ids) == 0 {
		// GUESS: the parameter name reported.
		return nil, missingParam("resourceIdSet")
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") {
			// GUESS: code and wording for resources that are not modelled.
			return nil, apiErr(400, "InvalidID", "The ID '%s' is not valid", id)
		}
	}
	return e.lookupInstancesLocked(ids)
}

func ec2CreateTags(e *Emulator, p url.Values) (any, *APIError) {
	insts, aerr := e.tagResourcesLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	tags, aerr := queryTags(p, "Tag", true)
	if aerr != nil {
		return nil, aerr
	}
	if len(tags) == 0 {
		return nil, missingParam("tagSet")
	}
	for _, inst := range insts {
		n := len(inst.Tags)
		for _, t := range tags {
			if _, ok := inst.Tags[t.Key]; !ok {
				n++
			}
		}
		if n > maxTags {
			// GUESS: wording.
			return nil, apiErr(400, "TagLimitExceeded", "The maximum number of tags per resource (%d) has been exceeded for resource '%s'", maxTags, inst.ID)
		}
	}
	for _, inst := range insts {
		for _, t := range tags {
			inst.Tags[t.Key] = t.Value
		}
	}
	return ec2Return{Return: true}, nil
}

// ec2DeleteTags deletes the given keys; a tag given with a value is deleted only
// when its value matches. Without Tag.N every tag (except aws:*) is deleted.
func ec2DeleteTags(e *Emulator, p url.Values) (any, *APIError) {
	insts, aerr := e.tagResourcesLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	tags, aerr := queryTags(p, "Tag", false)
	if aerr != nil {
		return nil, aerr
	}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, apiErr(400, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	for _, inst := range insts {
		if len(tags) == 0 {
			inst.Tags = map[string]string{}
			continue
		}
		for _, t := range tags {
			if v, ok := inst.Tags[t.Key]; ok && (!t.HasValue || v == t.Value) {
				delete(inst.Tags, t.Key)
			}
		}
	}
	return ec2Return{Return: true}, nil
}

type ec2TagDescription struct {
	Key          string `xml:"key"`
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Value        string `xml:"value"`
}

func ec2DescribeTags(e *Emulator, p url.Values) (any, *APIError) {
	pageSize, start, aerr := pageParams(p)
	if aerr != nil {
		return nil, aerr
	}
	filters := queryFilters(p)
	if aerr := checkFilters(filters, "key", "value", "resource-id", "resource-type"); aerr != nil {
		return nil, aerr
	}
	var all []ec2TagDescription
	for _, id := range e.ec2.order {
		inst := e.ec2.instances[id]
		if !tagResourceMatches(inst, filters) {
			continue
		}
		for _, k := range sortedKeys(inst.Tags) {
			v := inst.Tags[k]
			if vals, ok := filters["key"]; ok && !anyGlob(vals, k) {
				continue
			}
			if vals, ok := filters["value"]; ok && !anyGlob(vals, v) {
				continue
			}
			all = append(all, ec2TagDescription{Key: k, ResourceID: id, ResourceType: "instance", Value: v})
		}
	}
	lo, hi, next := page(len(all), pageSize, start)
	return struct {
		Tags      []ec2TagDescription `xml:"tagSet>item"`
		NextToken string              `xml:"nextToken,omitempty"`
	}{all[lo:hi], next}, nil
}

func tagResourceMatches(inst *Instance, filters map[string][]string) bool {
	for name, vals := range filters {
		switch {
		case name == "resource-id":
			if !anyGlob(vals, inst.ID) {
				return false
			}
		case name == "resource-type":
			if !anyGlob(vals, "instance") {
				return false
			}
		case strings.HasPrefix(name, "tag:"):
			if _, ok := tagFilterMatch(inst.Tags, name, vals); !ok {
				return false
			}
		}
	}
	return true
}
