// Package iamx holds IAM helpers shared by the provider's engines: policy
// documents as Go values, and what the SSM agent needs from an instance role.
package iamx

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// AgentTrustService is the principal an instance role must trust.
const AgentTrustService = "ec2.amazonaws.com"

// AgentActions are the actions an instance role grants the SSM agent (the
// "minimal" policy): ssm:UpdateInstanceInformation to register (missing from the
// often-copied "minimal" policy, which is why such agents never come Online), the
// ssmmessages channels and the ec2messages channel. The agent needs only one of
// the two command channels: see AgentGaps.
var AgentActions = []string{
	"ssm:UpdateInstanceInformation",
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
	"ec2messages:AcknowledgeMessage",
	"ec2messages:DeleteMessage",
	"ec2messages:FailMessage",
	"ec2messages:GetEndpoint",
	"ec2messages:GetMessages",
	"ec2messages:SendReply",
}

// AgentRegisterActions are what the agent needs to register (come Online).
var AgentRegisterActions = []string{"ssm:UpdateInstanceInformation"}

// AgentMGSActions open the ssmmessages control channel, over which the agent
// takes Run Command when it can. The data-channel actions serve Session Manager
// only. See notes/aws-behaviour.md#agent-permissions.
var AgentMGSActions = []string{
	"ssmmessages:CreateControlChannel",
	"ssmmessages:OpenControlChannel",
}

// AgentMDSActions are the ec2messages channel the agent falls back to when the
// ssmmessages control channel is denied.
var AgentMDSActions = []string{
	"ec2messages:AcknowledgeMessage",
	"ec2messages:DeleteMessage",
	"ec2messages:FailMessage",
	"ec2messages:GetEndpoint",
	"ec2messages:GetMessages",
	"ec2messages:SendReply",
}

// AgentGaps says what the policies lack for the SSM agent to register and take
// commands, one phrase per gap ("" list = nothing lacks): the agent registers
// with ssm:UpdateInstanceInformation and takes commands over the ssmmessages
// control channel, or over ec2messages when that channel is denied, so a role
// needs only one of the two channels.
// See notes/aws-behaviour.md#agent-permissions.
func AgentGaps(policies []*PolicyDocument) []string {
	var gaps []string
	if m := MissingActions(policies, AgentRegisterActions); len(m) > 0 {
		gaps = append(gaps, "it does not allow "+strings.Join(m, ", ")+", so the agent cannot register")
	}
	mgs := MissingActions(policies, AgentMGSActions)
	mds := MissingActions(policies, AgentMDSActions)
	if len(mgs) > 0 && len(mds) > 0 {
		gaps = append(gaps, "it allows no channel to receive commands on: neither the ssmmessages control channel (missing "+
			strings.Join(mgs, ", ")+") nor the ec2messages channel (missing "+strings.Join(mds, ", ")+")")
	}
	return gaps
}

// PolicyDocument is an IAM policy document.
type PolicyDocument struct {
	Version   string     `json:"Version,omitempty"`
	ID        string     `json:"Id,omitempty"`
	Statement Statements `json:"Statement"`
}

// Statements is a JSON statement object or list of them.
type Statements []Statement

// UnmarshalJSON accepts one statement object or a list.
func (l *Statements) UnmarshalJSON(b []byte) error {
	var one Statement
	if err := json.Unmarshal(b, &one); err == nil {
		*l = Statements{one}
		return nil
	}
	var many []Statement
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// Statement is one policy statement. Action, NotAction and Resource accept a
// string or a list in JSON and are normalised to lists.
type Statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal any            `json:"Principal,omitempty"`
	Action    StringList     `json:"Action,omitempty"`
	NotAction StringList     `json:"NotAction,omitempty"`
	Resource  StringList     `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// StringList is a JSON string or list of strings.
type StringList []string

// UnmarshalJSON accepts "a" or ["a", "b"].
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("expected a string or a list of strings: %w", err)
	}
	*l = many
	return nil
}

// ParsePolicy parses a policy document, URL-decoding it first when IAM returned it
// encoded (GetRole, GetRolePolicy and GetPolicyVersion do).
func ParsePolicy(doc string) (*PolicyDocument, error) {
	s := strings.TrimSpace(doc)
	if strings.HasPrefix(s, "%7B") || strings.HasPrefix(s, "%7b") {
		if dec, err := url.QueryUnescape(s); err == nil {
			s = dec
		}
	}
	var p PolicyDocument
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("parsing policy document: %w", err)
	}
	return &p, nil
}

// ActionMatches reports whether an IAM action pattern (with * and ? wildcards,
// case-insensitive) matches an action.
func ActionMatches(pattern, action string) bool {
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(action))
	return err == nil && ok
}

func (s Statement) covers(action string) bool {
	if len(s.NotAction) > 0 {
		for _, p := range s.NotAction {
			if ActionMatches(p, action) {
				return false
			}
		}
		return true
	}
	for _, p := range s.Action {
		if ActionMatches(p, action) {
			return true
		}
	}
	return false
}

// MissingActions returns the actions in want that the policies do not allow:
// not covered by an unconditional Allow, or explicitly denied. Conditions are
// treated as satisfied; resources are not evaluated (the agent's actions are
// account-wide).
func MissingActions(policies []*PolicyDocument, want []string) []string {
	var missing []string
	for _, a := range want {
		allowed, denied := false, false
		for _, p := range policies {
			for _, st := range p.Statement {
				if !st.covers(a) {
					continue
				}
				switch strings.ToLower(st.Effect) {
				case "allow":
					allowed = true
				case "deny":
					denied = true
				}
			}
		}
		if !allowed || denied {
			missing = append(missing, a)
		}
	}
	return missing
}

// TrustsService reports whether a trust policy lets a service principal assume the role.
func TrustsService(trust *PolicyDocument, service string) bool {
	for _, st := range trust.Statement {
		if !strings.EqualFold(st.Effect, "allow") || !st.covers("sts:AssumeRole") {
			continue
		}
		if principalHasService(st.Principal, service) {
			return true
		}
	}
	return false
}

func principalHasService(p any, service string) bool {
	m, ok := p.(map[string]any)
	if !ok {
		return false
	}
	switch v := m["Service"].(type) {
	case string:
		return v == service
	case []any:
		for _, s := range v {
			if s == service {
				return true
			}
		}
	}
	return false
}
