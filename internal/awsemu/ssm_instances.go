package awsemu

import (
	"strings"
)

// instanceInfoOut is InstanceInformation on the wire.
type instanceInfoOut struct {
	InstanceID        string    `json:"InstanceId"`
	PingStatus        string    `json:"PingStatus"`
	LastPingDateTime  epochTime `json:"LastPingDateTime"`
	AgentVersion      string    `json:"AgentVersion"`
	IsLatestVersion   bool      `json:"IsLatestVersion"`
	PlatformType      string    `json:"PlatformType"`
	PlatformName      string    `json:"PlatformName"`
	PlatformVersion   string    `json:"PlatformVersion"`
	ResourceType      string    `json:"ResourceType"`
	IPAddress         string    `json:"IPAddress"`
	ComputerName      string    `json:"ComputerName"`
	AssociationStatus string    `json:"AssociationStatus,omitempty"`
	RegistrationDate  epochTime `json:"RegistrationDate"`
	SourceID          string    `json:"SourceId"`
	SourceType        string    `json:"SourceType"`
}

// ssmManagedLocked reports whether an instance is listed by
// DescribeInstanceInformation: its agent registered and the instance neither
// stopped nor terminated (the fleet clears PingStatus then).
func ssmManagedLocked(inst *Instance) bool {
	return inst.PingStatus != "" && !inst.RegisteredAt.IsZero()
}

func instanceInfo(inst *Instance) instanceInfoOut {
	return instanceInfoOut{
		InstanceID: inst.ID, PingStatus: inst.PingStatus, LastPingDateTime: epochTime(inst.LastPing),
		AgentVersion: inst.agentVersionOrDefault(), IsLatestVersion: true, PlatformType: inst.Platform,
		PlatformName: inst.PlatformName, PlatformVersion: inst.PlatformVersion, ResourceType: "EC2Instance",
		IPAddress: inst.PrivateIP, ComputerName: inst.ComputerName, RegistrationDate: epochTime(inst.RegisteredAt),
		SourceID: inst.ID, SourceType: "AWS::EC2::Instance",
	}
}

type instFilter struct {
	key    string
	values []string
}

var legacyInstanceFilterKeys = map[string]bool{"InstanceIds": true, "AgentVersion": true, "PingStatus": true, "PlatformTypes": true,
	"ActivationIds": true, "IamRole": true, "ResourceType": true, "AssociationStatus": true}

var instanceFilterKeys = map[string]bool{"ActivationIds": true, "AgentVersion": true, "AssociationStatus": true, "IamRole": true,
	"InstanceIds": true, "PingStatus": true, "PlatformTypes": true, "ResourceType": true, "SourceIds": true, "SourceTypes": true}

func ssmDescribeInstanceInformation(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		InstanceInformationFilterList []struct {
			Key      string   `json:"key"`
			ValueSet []string `json:"valueSet"`
		} `json:"InstanceInformationFilterList"`
		Filters []struct {
			Key    string   `json:"Key"`
			Values []string `json:"Values"`
		} `json:"Filters"`
		MaxResults *int   `json:"MaxResults"`
		NextToken  string `json:"NextToken"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	pageSize, start, aerr := ssmPageParams(in.MaxResults, 5, 50, 10, "iii", in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	if len(in.InstanceInformationFilterList) > 0 && len(in.Filters) > 0 {
		// GUESS on the code: the doc only says "leads to an exception error".
		return nil, apiErr(400, "InvalidInstanceInformationFilterValue", "InstanceInformationFilterList and Filters cannot be used together.")
	}
	var filters []instFilter
	for _, f := range in.InstanceInformationFilterList {
		if !legacyInstanceFilterKeys[f.Key] {
			return nil, validationErr(f.Key, "instanceInformationFilterList.member.key", "Member must satisfy enum value set: [InstanceIds, AgentVersion, PingStatus, PlatformTypes, ActivationIds, IamRole, ResourceType, AssociationStatus]")
		}
		if len(f.ValueSet) < 1 || len(f.ValueSet) > 100 {
			return nil, lenErr(f.ValueSet, "instanceInformationFilterList.member.valueSet", 1, 100, len(f.ValueSet))
		}
		filters = append(filters, instFilter{f.Key, f.ValueSet})
	}
	tagFilters, otherFilters := 0, 0
	for _, f := range in.Filters {
		switch {
		case f.Key == "tag-key" || (strings.HasPrefix(f.Key, "tag:") && len(f.Key) > 4):
			tagFilters++
		case instanceFilterKeys[f.Key]:
			otherFilters++
		default:
			return nil, apiErr(400, "InvalidFilterKey", "The filter key %s is not valid.", f.Key)
		}
		if len(f.Values) < 1 || len(f.Values) > 100 {
			return nil, lenErr(f.Values, "filters.member.values", 1, 100, len(f.Values))
		}
		filters = append(filters, instFilter{f.Key, f.Values})
	}
	if tagFilters > 0 && otherFilters > 0 {
		// GUESS on the code: the doc says tag filters can't be combined with other
		// filter types; InvalidInstanceInformationFilterValue is the modeled error
		// closest to it.
		return nil, apiErr(400, "InvalidInstanceInformationFilterValue", "Tag filters cannot be combined with other filter types.")
	}
	for _, f := range filters {
		for _, v := range f.values {
			bad := false
			switch f.key {
			case "InstanceIds":
				if !reInstanceID.MatchString(v) {
					return nil, apiErr(400, "InvalidInstanceId", "Instance Id %s is not valid.", v)
				}
			case "PingStatus":
				bad = v != "Online" && v != "ConnectionLost" && v != "Inactive"
			case "PlatformTypes":
				bad = v != "Windows" && v != "Linux" && v != "MacOS"
			case "ResourceType":
				bad = v != "EC2Instance" && v != "ManagedInstance"
			case "AssociationStatus":
				bad = v != "Success" && v != "Pending" && v != "Failed"
			}
			if bad {
				return nil, apiErr(400, "InvalidInstanceInformationFilterValue", "The filter value %s is not valid for key %s.", v, f.key)
			}
		}
	}

	// Pages are cut from the list of managed instances BEFORE filtering, as AWS
	// does: a filtered page can be empty while NextToken is still set
	// (aws/aws-cli#2626). An InstanceIds filter is a lookup by key, so its pages
	// are cut from the listed ids instead (GUESS: consistent with the docs' advice
	// to pass up to 50 ids per call; the empty-page reports concern tag filters).
	var base []*Instance
	if ids := instanceIDFilter(filters); ids != nil {
		seen := map[string]bool{}
		for _, id := range ids {
			if inst, ok := e.ec2.instances[id]; ok && !seen[id] && ssmManagedLocked(inst) {
				seen[id] = true
				base = append(base, inst)
			}
		}
	} else {
		for _, id := range e.ec2.order {
			if inst := e.ec2.instances[id]; ssmManagedLocked(inst) {
				base = append(base, inst)
			}
		}
	}
	out := map[string]any{"InstanceInformationList": []instanceInfoOut{}}
	if start >= len(base) {
		return out, nil
	}
	end := start + pageSize
	if end > len(base) {
		end = len(base)
	}
	list := []instanceInfoOut{}
	for _, inst := range base[start:end] {
		info := instanceInfo(inst)
		if matchInstanceFilters(inst, info, filters) {
			list = append(list, info)
		}
	}
	out["InstanceInformationList"] = list
	if end < len(base) {
		out["NextToken"] = pageToken("iii", end)
	}
	return out, nil
}

func matchInstanceFilters(inst *Instance, info instanceInfoOut, filters []instFilter) bool {
	for _, f := range filters {
		var field string
		switch {
		case f.key == "InstanceIds" || f.key == "SourceIds":
			field = inst.ID
		case f.key == "AgentVersion":
			field = info.AgentVersion
		case f.key == "PingStatus":
			field = info.PingStatus
		case f.key == "PlatformTypes":
			field = info.PlatformType
		case f.key == "ResourceType":
			field = info.ResourceType
		case f.key == "SourceTypes":
			field = info.SourceType
		case f.key == "AssociationStatus":
			field = info.AssociationStatus
		case f.key == "ActivationIds" || f.key == "IamRole":
			return false // EC2 instances have neither (hybrid activations only)
		case f.key == "tag-key":
			ok := false
			for _, k := range f.values {
				if _, has := inst.Tags[k]; has {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
			continue
		case strings.HasPrefix(f.key, "tag:"):
			v, has := inst.Tags[strings.TrimPrefix(f.key, "tag:")]
			if !has || !contains(f.values, v) {
				return false
			}
			continue
		}
		if !contains(f.values, field) {
			return false
		}
	}
	return true
}

// instanceIDFilter returns the ids every InstanceIds filter admits (nil when
// there is no such filter).
func instanceIDFilter(filters []instFilter) []string {
	var ids []string
	found := false
	for _, f := range filters {
		if f.key != "InstanceIds" {
			continue
		}
		if !found {
			ids, found = append([]string{}, f.values...), true
			continue
		}
		keep := map[string]bool{}
		for _, v := range f.values {
			keep[v] = true
		}
		var both []string
		for _, id := range ids {
			if keep[id] {
				both = append(both, id)
			}
		}
		ids = both
	}
	if found && ids == nil {
		ids = []string{}
	}
	return ids
}
