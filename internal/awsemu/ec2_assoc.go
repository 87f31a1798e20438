package awsemu

import (
	"net/url"
	"time"
)

type ec2Association struct {
	AssociationID string        `xml:"associationId"`
	InstanceID    string        `xml:"instanceId"`
	Profile       ec2ProfileRef `xml:"iamInstanceProfile"`
	State         string        `xml:"state"`
	Timestamp     string        `xml:"timestamp"`
}

type ec2AssociationResult struct {
	Association ec2Association `xml:"iamInstanceProfileAssociation"`
}

func wireAssociation(instID string, a *ProfileAssociation, state string) ec2Association {
	if state == "" {
		state = a.State
	}
	return ec2Association{AssociationID: a.ID, InstanceID: instID, Profile: ec2ProfileRef{Arn: a.ProfileArn, ID: a.ProfileID},
		State: state, Timestamp: isoTime(a.Timestamp)}
}

// settleAssociationLocked moves an association from associating to associated
// once associationSettle (scaled) has passed since it was made.
func (e *Emulator) settleAssociationLocked(a *ProfileAssociation, now time.Time) {
	if a != nil && a.State == "associating" && now.Sub(a.Timestamp) >= e.scaled(associationSettle) {
		a.State = "associated"
	}
}

// findAssociationLocked finds the instance holding an association id.
func (e *Emulator) findAssociationLocked(id string) (*Instance, *APIError) {
	if id == "" {
		return nil, missingParam("AssociationId")
	}
	for _, iid := range e.ec2.order {
		inst := e.ec2.instances[iid]
		if inst.Association != nil && inst.Association.ID == id {
			return inst, nil
		}
	}
	// GUESS: code and wording (notes/aws-behaviour.md#emulator-guesses).
	return nil, apiErr(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
}

func ec2AssociateIamInstanceProfile(e *Emulator, p url.Values) (any, *APIError) {
	now := time.Now()
	id := p.Get("InstanceId")
	if id == "" {
		return nil, missingParam("InstanceId")
	}
	if p.Get("IamInstanceProfile.Arn") == "" && p.Get("IamInstanceProfile.Name") == "" {
		return nil, missingParam("IamInstanceProfile")
	}
	insts, aerr := e.lookupInstancesLocked([]string{id})
	if aerr != nil {
		return nil, aerr
	}
	inst := insts[0]
	if inst.State != StateRunning && inst.State != StateStopped {
		// GUESS: code and wording for pending/stopping/terminated instances.
		return nil, apiErr(400, "IncorrectInstanceState", "The instance '%s' is not in the 'running' or 'stopped' state.", inst.ID)
	}
	if inst.Association != nil {
		return nil, apiErr(400, "IncorrectState", "There is an existing association for instance %s", inst.ID)
	}
	ref, _, aerr := e.resolveProfileLocked(p, now)
	if aerr != nil {
		return nil, aerr
	}
	inst.Association = &ProfileAssociation{ID: e.newAssociationID(), ProfileArn: ref.Arn, ProfileID: ref.ID, State: "associating", Timestamp: now}
	return ec2AssociationResult{wireAssociation(inst.ID, inst.Association, "")}, nil
}

func ec2ReplaceIamInstanceProfileAssociation(e *Emulator, p url.Values) (any, *APIError) {
	now := time.Now()
	assocID := p.Get("AssociationId")
	inst, aerr := e.findAssociationLocked(assocID)
	if aerr != nil {
		return nil, aerr
	}
	if p.Get("IamInstanceProfile.Arn") == "" && p.Get("IamInstanceProfile.Name") == "" {
		return nil, missingParam("IamInstanceProfile")
	}
	if inst.State != StateRunning {
		// aws/aws-cli#5251: Replace on a stopped instance.
		return nil, apiErr(400, "IncorrectState", "The association %s is not the active association", assocID)
	}
	ref, _, aerr := e.resolveProfileLocked(p, now)
	if aerr != nil {
		return nil, aerr
	}
	inst.Association = &ProfileAssociation{ID: e.newAssociationID(), ProfileArn: ref.Arn, ProfileID: ref.ID, State: "associating", Timestamp: now}
	return ec2AssociationResult{wireAssociation(inst.ID, inst.Association, "")}, nil
}

// ec2DisassociateIamInstanceProfile removes the association at once: it answers
// "disassociating" and the association is gone from Describe afterwards.
func ec2DisassociateIamInstanceProfile(e *Emulator, p url.Values) (any, *APIError) {
	inst, aerr := e.findAssociationLocked(p.Get("AssociationId"))
	if aerr != nil {
		return nil, aerr
	}
	a := inst.Association
	inst.Association = nil
	e.tickLocked(time.Now())
	return ec2AssociationResult{wireAssociation(inst.ID, a, "disassociating")}, nil
}

func ec2DescribeIamInstanceProfileAssociations(e *Emulator, p url.Values) (any, *APIError) {
	now := time.Now()
	pageSize, start, aerr := pageParams(p)
	if aerr != nil {
		return nil, aerr
	}
	filters := queryFilters(p)
	for name := range filters {
		if name != "instance-id" && name != "state" {
			return nil, apiErr(400, "InvalidParameterValue", "The filter '%s' is invalid", name)
		}
	}
	want := map[string]bool{}
	ids := queryList(p, "AssociationId")
	for _, id := range ids {
		if _, aerr := e.findAssociationLocked(id); aerr != nil {
			return nil, aerr
		}
		want[id] = true
	}
	var all []ec2Association
	for _, iid := range e.ec2.order {
		inst := e.ec2.instances[iid]
		a := inst.Association
		if a == nil || (len(ids) > 0 && !want[a.ID]) {
			continue
		}
		e.settleAssociationLocked(a, now)
		if vals, ok := filters["instance-id"]; ok && !anyGlob(vals, inst.ID) {
			continue
		}
		if vals, ok := filters["state"]; ok && !anyGlob(vals, a.State) {
			continue
		}
		all = append(all, wireAssociation(inst.ID, a, ""))
	}
	lo, hi, next := page(len(all), pageSize, start)
	return struct {
		Associations []ec2Association `xml:"iamInstanceProfileAssociationSet>item"`
		NextToken    string           `xml:"nextToken,omitempty"`
	}{all[lo:hi], next}, nil
}
