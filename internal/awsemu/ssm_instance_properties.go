package awsemu

import "strings"

// DescribeInstanceProperties (SDK models: ssm api_op_DescribeInstanceProperties.go,
// types.InstancePropertyFilter, types.InstancePropertyStringFilter,
// types.InstanceProperty; API reference
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceProperties.html):
// the managed nodes' properties, up to 1,000 per page (MaxResults 5..1000),
// filtered by InstancePropertyFilterList (enum keys, 1..40 values each) and
// FiltersWithOperator (Equal, NotEqual, BeginWith; LessThan and GreaterThan
// apply to AgentVersion only). See notes/aws-behaviour.md#checking-a-tag-fleet-at-scale.

// instancePropertyOut is InstanceProperty on the wire.
type instancePropertyOut struct {
	InstanceID       string    `json:"InstanceId"`
	Name             string    `json:"Name,omitempty"`
	InstanceType     string    `json:"InstanceType"`
	InstanceState    string    `json:"InstanceState"`
	PingStatus       string    `json:"PingStatus"`
	LastPingDateTime epochTime `json:"LastPingDateTime"`
	AgentVersion     string    `json:"AgentVersion"`
	PlatformType     string    `json:"PlatformType"`
	PlatformName     string    `json:"PlatformName"`
	PlatformVersion  string    `json:"PlatformVersion"`
	ResourceType     string    `json:"ResourceType"`
	IPAddress        string    `json:"IPAddress"`
	ComputerName     string    `json:"ComputerName"`
	RegistrationDate epochTime `json:"RegistrationDate"`
	SourceID         string    `json:"SourceId"`
	SourceType       string    `json:"SourceType"`
}

// instancePropertyFilterKeys is the InstancePropertyFilterKey enum (SDK models:
// types.InstancePropertyFilterKey).
var instancePropertyFilterKeys = map[string]bool{"InstanceIds": true, "AgentVersion": true, "PingStatus": true,
	"PlatformTypes": true, "DocumentName": true, "ActivationIds": true, "IamRole": true, "ResourceType": true, "AssociationStatus": true}

type propFilter struct {
	key, op string
	values  []string
}

func ssmDescribeInstanceProperties(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		InstancePropertyFilterList []struct {
			Key      string   `json:"key"`
			ValueSet []string `json:"valueSet"`
		} `json:"InstancePropertyFilterList"`
		FiltersWithOperator []struct {
			Key      string   `json:"Key"`
			Values   []string `json:"Values"`
			Operator string   `json:"Operator"`
		} `json:"FiltersWithOperator"`
		MaxResults *int   `json:"MaxResults"`
		NextToken  string `json:"NextToken"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	// GUESS: the default page size (the model documents only the range).
	pageSize, start, aerr := ssmPageParams(in.MaxResults, 5, 1000, 50, "dip", in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	if n := len(in.InstancePropertyFilterList); n > 40 {
		return nil, lenErr(in.InstancePropertyFilterList, "instancePropertyFilterList", 1, 40, n)
	}
	if n := len(in.FiltersWithOperator); n > 40 {
		return nil, lenErr(in.FiltersWithOperator, "filtersWithOperator", 1, 40, n)
	}
	var filters []propFilter
	for _, f := range in.InstancePropertyFilterList {
		if !instancePropertyFilterKeys[f.Key] {
			return nil, validationErr(f.Key, "instancePropertyFilterList.member.key", "Member must satisfy enum value set: [InstanceIds, AgentVersion, PingStatus, PlatformTypes, DocumentName, ActivationIds, IamRole, ResourceType, AssociationStatus]")
		}
		if len(f.ValueSet) < 1 || len(f.ValueSet) > 40 {
			return nil, lenErr(f.ValueSet, "instancePropertyFilterList.member.valueSet", 1, 40, len(f.ValueSet))
		}
		filters = append(filters, propFilter{key: f.Key, op: "Equal", values: f.ValueSet})
	}
	for _, f := range in.FiltersWithOperator {
		op := f.Operator
		if op == "" {
			op = "Equal" // GUESS: Operator is optional in the model
		}
		switch op {
		case "Equal", "NotEqual", "BeginWith":
		case "LessThan", "GreaterThan":
			if f.Key != "AgentVersion" {
				// GUESS on the code: the model has no further rule.
				return nil, apiErr(400, "InvalidInstancePropertyFilterValue", "The operator %s is not valid for key %s.", op, f.Key)
			}
		default:
			return nil, validationErr(op, "filtersWithOperator.member.operator", "Member must satisfy enum value set: [Equal, NotEqual, BeginWith, LessThan, GreaterThan]")
		}
		if !instancePropertyFilterKeys[f.Key] {
			// GUESS: the string filter's keys are not documented beyond the
			// enum above; tag keys are not modelled.
			return nil, apiErr(400, "InvalidFilterKey", "The filter key %s is not valid.", f.Key)
		}
		if len(f.Values) < 1 || len(f.Values) > 40 {
			return nil, lenErr(f.Values, "filtersWithOperator.member.values", 1, 40, len(f.Values))
		}
		filters = append(filters, propFilter{key: f.Key, op: op, values: f.Values})
	}
	for _, f := range filters {
		for _, v := range f.values {
			bad := false
			switch f.key {
			case "InstanceIds":
				if f.op == "Equal" && !reInstanceID.MatchString(v) {
					return nil, apiErr(400, "InvalidInstanceId", "Instance Id %s is not valid.", v)
				}
			case "PingStatus":
				bad = v != "Online" && v != "ConnectionLost" && v != "Inactive"
			case "ResourceType":
				bad = v != "EC2Instance" && v != "ManagedInstance"
			}
			if bad {
				return nil, apiErr(400, "InvalidInstancePropertyFilterValue", "The filter value %s is not valid for key %s.", v, f.key)
			}
		}
	}

	// The same nodes as DescribeInstanceInformation (registered, neither
	// stopped nor terminated), in the same order, and pages cut before
	// filtering as there (GUESS for this API: a filtered page may then hold
	// fewer than MaxResults nodes, so callers follow NextToken).
	var base []*Instance
	for _, id := range e.ec2.order {
		if inst := e.ec2.instances[id]; ssmManagedLocked(inst) {
			base = append(base, inst)
		}
	}
	out := map[string]any{"InstanceProperties": []instancePropertyOut{}}
	if start >= len(base) {
		return out, nil
	}
	end := min(start+pageSize, len(base))
	list := []instancePropertyOut{}
	for _, inst := range base[start:end] {
		info := instanceInfo(inst)
		if !matchPropFilters(inst, info, filters) {
			continue
		}
		list = append(list, instancePropertyOut{
			InstanceID: info.InstanceID, Name: inst.Tags["Name"], InstanceType: inst.InstanceType, InstanceState: inst.State,
			PingStatus: info.PingStatus, LastPingDateTime: info.LastPingDateTime, AgentVersion: info.AgentVersion,
			PlatformType: info.PlatformType, PlatformName: info.PlatformName, PlatformVersion: info.PlatformVersion,
			ResourceType: info.ResourceType, IPAddress: info.IPAddress, ComputerName: info.ComputerName,
			RegistrationDate: info.RegistrationDate, SourceID: info.SourceID, SourceType: info.SourceType,
		})
	}
	out["InstanceProperties"] = list
	if end < len(base) {
		out["NextToken"] = pageToken("dip", end)
	}
	return out, nil
}

func matchPropFilters(inst *Instance, info instanceInfoOut, filters []propFilter) bool {
	for _, f := range filters {
		var field string
		switch f.key {
		case "InstanceIds":
			field = inst.ID
		case "AgentVersion":
			field = info.AgentVersion
		case "PingStatus":
			field = info.PingStatus
		case "PlatformTypes":
			field = info.PlatformType
		case "ResourceType":
			field = info.ResourceType
		case "AssociationStatus":
			field = info.AssociationStatus
		default: // DocumentName, ActivationIds, IamRole: EC2 instances have none here
			field = ""
		}
		match := false
		for _, v := range f.values {
			switch f.op {
			case "Equal", "NotEqual":
				match = match || field == v
			case "BeginWith":
				match = match || strings.HasPrefix(field, v)
			case "LessThan":
				match = match || field != "" && compareVersions(field, v) < 0
			case "GreaterThan":
				match = match || field != "" && compareVersions(field, v) > 0
			}
		}
		if f.op == "NotEqual" {
			match = !match
		}
		if !match {
			return false
		}
	}
	return true
}
