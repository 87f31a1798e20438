package awsemu

import "time"

func ssmCancelCommand(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		CommandID   string   `json:"CommandId"`
		InstanceIDs []string `json:"InstanceIds"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := checkCommandID(in.CommandID); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) > 50 {
		return nil, validationErr(len(in.InstanceIDs), "instanceIds", "Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for _, id := range in.InstanceIDs {
		if !reInstanceID.MatchString(id) {
			return nil, apiErr(400, "InvalidInstanceId", "Instance Id %s is not valid.", id)
		}
		if seen[id] {
			return nil, apiErr(400, "DuplicateInstanceId", "")
		}
		seen[id] = true
	}
	c := e.ssm.commands[in.CommandID]
	if c == nil {
		return nil, apiErr(400, "InvalidCommandId", "")
	}
	if c.done {
		return struct{}{}, nil // nothing left to cancel
	}
	var targets []*ssmInvocation
	if len(in.InstanceIDs) == 0 {
		c.cancelRequested = true
		targets = c.invs
	} else {
		for _, id := range in.InstanceIDs {
			// GUESS: ids that are not part of the command are ignored.
			if inv := c.byInst[id]; inv != nil {
				targets = append(targets, inv)
			}
		}
	}
	now := time.Now()
	for _, inv := range targets {
		if inv.terminal() {
			continue
		}
		if !inv.dispatched {
			e.finishInvocationLocked(inv, "Cancelled", detCancelled, -1, now)
			continue
		}
		inv.Status, inv.Details = "Cancelling", detCancelling
		inv.killLocked("cancel")
	}
	c.poke()
	return struct{}{}, nil
}
