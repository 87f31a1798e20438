package awsemu

import (
	"strings"
	"time"
)

// SSM service settings (GetServiceSetting, UpdateServiceSetting,
// ResetServiceSetting) and Default Host Management Configuration, which agents on
// instances without a usable instance profile register through.
// See notes/aws-behaviour.md#default-host-management.

// DHMCSettingID is the Default Host Management Configuration setting.
const DHMCSettingID = "/ssm/managed-instance/default-ec2-instance-management-role"

// ssmSettingDefaults are the settings the emulator knows with their AWS-provided
// defaults ("$None" for the DHMC role: observed in listings of real accounts).
// GUESS: defaults of the other settings follow the SDK's documented values.
var ssmSettingDefaults = map[string]string{
	DHMCSettingID:                                      "$None",
	"/ssm/managed-instance/activation-tier":            "standard",
	"/ssm/parameter-store/default-parameter-tier":      "Standard",
	"/ssm/parameter-store/high-throughput-enabled":     "false",
	"/ssm/opsinsights/opscenter":                       "Disabled",
	"/ssm/documents/console/public-sharing-permission": "Enable",
}

// ssmSetting is a customised setting value.
type ssmSetting struct {
	Value    string
	Modified time.Time
	User     string
}

type ssmServiceSettingOut struct {
	SettingId        string
	SettingValue     string
	LastModifiedDate *epochTime `json:",omitempty"`
	LastModifiedUser string
	ARN              string
	Status           string
}

// settingIDLocked accepts a setting id or its ARN and returns the id, or
// ServiceSettingNotFound.
func (e *Emulator) settingIDLocked(raw string) (string, *APIError) {
	if len(raw) < 1 || len(raw) > 1000 {
		return "", lenErr(raw, "settingId", 1, 1000, len(raw))
	}
	id := raw
	if strings.HasPrefix(raw, "arn:") {
		prefix := "arn:" + e.partition() + ":ssm:" + e.opts.Region + ":" + e.opts.AccountID + ":servicesetting"
		rest, ok := strings.CutPrefix(raw, prefix)
		if !ok {
			return "", apiErr(400, "ServiceSettingNotFound", "No setting found for %s", raw)
		}
		id = rest
	}
	if _, ok := ssmSettingDefaults[id]; !ok {
		// GUESS: message wording.
		return "", apiErr(400, "ServiceSettingNotFound", "No setting found for %s", raw)
	}
	return id, nil
}

func (e *Emulator) settingOutLocked(id string) ssmServiceSettingOut {
	out := ssmServiceSettingOut{
		SettingId: id,
		ARN:       "arn:" + e.partition() + ":ssm:" + e.opts.Region + ":" + e.opts.AccountID + ":servicesetting" + id,
	}
	if s, ok := e.ssm.settings[id]; ok {
		t := epochTime(s.Modified)
		out.SettingValue, out.LastModifiedDate, out.LastModifiedUser, out.Status = s.Value, &t, s.User, "Customized"
		return out
	}
	// GUESS: the user AWS reports for a never-changed default (no date given).
	out.SettingValue, out.LastModifiedUser, out.Status = ssmSettingDefaults[id], "System", "Default"
	return out
}

func ssmGetServiceSetting(e *Emulator, body []byte) (any, *APIError) {
	var in struct{ SettingId string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	id, aerr := e.settingIDLocked(in.SettingId)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"ServiceSetting": e.settingOutLocked(id)}, nil
}

func ssmUpdateServiceSetting(e *Emulator, body []byte) (any, *APIError) {
	var in struct{ SettingId, SettingValue string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	id, aerr := e.settingIDLocked(in.SettingId)
	if aerr != nil {
		return nil, aerr
	}
	if n := len(in.SettingValue); n < 1 || n > 4096 {
		return nil, lenErr(in.SettingValue, "settingValue", 1, 4096, n)
	}
	// GUESS: AWS does not check here that the DHMC role exists (the agents simply
	// fail to get credentials); no source found either way.
	e.ssm.settings[id] = &ssmSetting{Value: in.SettingValue, Modified: time.Now(), User: e.rootArn()}
	e.tickLocked(time.Now())
	return map[string]any{}, nil
}

func ssmResetServiceSetting(e *Emulator, body []byte) (any, *APIError) {
	var in struct{ SettingId string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	id, aerr := e.settingIDLocked(in.SettingId)
	if aerr != nil {
		return nil, aerr
	}
	delete(e.ssm.settings, id)
	e.tickLocked(time.Now())
	return map[string]any{"ServiceSetting": e.settingOutLocked(id)}, nil
}

// dhmcGrantsAgentLocked reports whether Default Host Management is on and its
// role lets the agent of an instance without a usable profile register: the
// setting names a role ("name" or "path/name") that trusts ssm.amazonaws.com and
// grants the agent's actions.
func (e *Emulator) dhmcGrantsAgentLocked() bool {
	s, ok := e.ssm.settings[DHMCSettingID]
	if !ok || s.Value == "$None" {
		return false
	}
	name := s.Value[strings.LastIndex(s.Value, "/")+1:]
	r := e.iam.roles[strings.ToLower(name)]
	if r == nil {
		return false
	}
	// GUESS: SSM assumes the role by the ARN it builds from the value, so a role
	// under a path is found only when the value carries that path.
	if "/"+s.Value[:strings.LastIndex(s.Value, "/")+1] != r.Path {
		return false
	}
	missing, ok := e.roleAgentGrantsTrustLocked(name, "ssm.amazonaws.com")
	return ok && len(missing) == 0
}

// identityGrantsAgentLocked reports whether the agent of a running instance has
// credentials that let it register: its instance profile's role (evaluated once
// per profile per tick, in grants), or, when there is no profile or its role is
// refused, the Default Host Management role.
func (e *Emulator) identityGrantsAgentLocked(inst *Instance, grants map[string]bool) bool {
	if inst.Association != nil {
		arn := inst.Association.ProfileArn
		g, seen := grants[arn]
		if !seen {
			g = e.profileGrantsAgentLocked(arn)
			grants[arn] = g
		}
		if g {
			return true
		}
	}
	const key = "\x00dhmc"
	g, seen := grants[key]
	if !seen {
		g = e.dhmcGrantsAgentLocked()
		grants[key] = g
	}
	return g
}
