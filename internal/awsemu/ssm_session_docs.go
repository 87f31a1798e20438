package awsemu

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Session documents: the AWS-owned ones sessions name (their content as
// `aws ssm get-document` returns it, reduced to what the agent uses) and the
// account's own Session documents, among them the preferences document
// SSM-SessionManagerRunShell (notes/aws-behaviour.md#session-manager-sessions).

const defaultSessionDocument = "SSM-SessionManagerRunShell"

// sessionPrefs are the inputs of the preferences document the agent honours.
type sessionPrefs struct {
	S3Bucket, S3Prefix string
	S3Encryption       bool
	CWGroup            string
	CWEncryption       bool
	CWStreaming        bool
	RunAsEnabled       bool
	RunAsUser          string
	IdleSessionTimeout int // minutes
	MaxSessionDuration int // minutes, 0 = none
	ShellProfileLinux  string
	KMSKeyID           string
}

type sessionDocInputs struct {
	S3BucketName                string `json:"s3BucketName"`
	S3KeyPrefix                 string `json:"s3KeyPrefix"`
	S3EncryptionEnabled         any    `json:"s3EncryptionEnabled"`
	CloudWatchLogGroupName      string `json:"cloudWatchLogGroupName"`
	CloudWatchEncryptionEnabled any    `json:"cloudWatchEncryptionEnabled"`
	CloudWatchStreamingEnabled  any    `json:"cloudWatchStreamingEnabled"`
	KMSKeyID                    string `json:"kmsKeyId"`
	RunAsEnabled                any    `json:"runAsEnabled"`
	RunAsDefaultUser            string `json:"runAsDefaultUser"`
	IdleSessionTimeout          any    `json:"idleSessionTimeout"`
	MaxSessionDuration          any    `json:"maxSessionDuration"`
	ShellProfile                struct {
		Linux string `json:"linux"`
	} `json:"shellProfile"`
}

// flexBool and flexInt read inputs the console writes as strings or natives.
func flexBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	}
	return false
}

func flexInt(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case string:
		n, _ := strconv.Atoi(strings.TrimSpace(x))
		return n
	}
	return 0
}

func (in sessionDocInputs) prefs() sessionPrefs {
	p := sessionPrefs{
		S3Bucket: in.S3BucketName, S3Prefix: in.S3KeyPrefix, S3Encryption: flexBool(in.S3EncryptionEnabled),
		CWGroup: in.CloudWatchLogGroupName, CWEncryption: flexBool(in.CloudWatchEncryptionEnabled),
		CWStreaming: flexBool(in.CloudWatchStreamingEnabled), RunAsEnabled: flexBool(in.RunAsEnabled),
		RunAsUser: in.RunAsDefaultUser, IdleSessionTimeout: flexInt(in.IdleSessionTimeout),
		MaxSessionDuration: flexInt(in.MaxSessionDuration), ShellProfileLinux: in.ShellProfile.Linux, KMSKeyID: in.KMSKeyID,
	}
	if p.IdleSessionTimeout <= 0 {
		p.IdleSessionTimeout = 20 // the Session Manager default
	}
	return p
}

// sessionDoc is a parsed Session document.
type sessionDoc struct {
	sessionType string
	params      map[string]sessionDocParam
	properties  any           // with {{ parameter }} placeholders
	prefs       *sessionPrefs // Standard_Stream documents: their inputs
}

type sessionDocParam struct {
	Type    string `json:"type"`
	Default any    `json:"default"`
}

func parseSessionDoc(content string) (*sessionDoc, bool) {
	var raw struct {
		SessionType string                     `json:"sessionType"`
		Parameters  map[string]sessionDocParam `json:"parameters"`
		Properties  any                        `json:"properties"`
		Inputs      *sessionDocInputs          `json:"inputs"`
	}
	if json.Unmarshal([]byte(content), &raw) != nil || raw.SessionType == "" {
		return nil, false
	}
	d := &sessionDoc{sessionType: raw.SessionType, params: raw.Parameters, properties: raw.Properties}
	if raw.Inputs != nil {
		p := raw.Inputs.prefs()
		d.prefs = &p
	}
	return d, true
}

// builtinSessionDocs are the AWS-owned Session documents the emulator serves.
var builtinSessionDocs = map[string]string{
	"AWS-StartPortForwardingSession": `{"schemaVersion":"1.0","description":"Document to start port forwarding session over Session Manager","sessionType":"Port",
"parameters":{"portNumber":{"type":"String","description":"(Optional) Port number of the server on the instance","allowedPattern":"^([1-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$","default":"80"},
"localPortNumber":{"type":"String","description":"(Optional) Port number on local machine to forward traffic to. An open port is chosen at run-time if not provided","allowedPattern":"^([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$","default":"0"}},
"properties":{"portNumber":"{{ portNumber }}","type":"LocalPortForwarding","localPortNumber":"{{ localPortNumber }}"}}`,
	"AWS-StartPortForwardingSessionToRemoteHost": `{"schemaVersion":"1.0","description":"Document to start port forwarding session over Session Manager to a remote host","sessionType":"Port",
"parameters":{"host":{"type":"String","description":"(Required) The IP address or DNS name of the remote host"},
"portNumber":{"type":"String","description":"(Optional) Port number of the remote host","default":"80"},
"localPortNumber":{"type":"String","description":"(Optional) Port number on local machine to forward traffic to. An open port is chosen at run-time if not provided","default":"0"}},
"properties":{"portNumber":"{{ portNumber }}","type":"LocalPortForwarding","localPortNumber":"{{ localPortNumber }}","host":"{{ host }}"}}`,
	"AWS-StartSSHSession": `{"schemaVersion":"1.0","description":"Document to start SSH session over Session Manager","sessionType":"Port",
"parameters":{"portNumber":{"type":"String","description":"(Optional) Port number of SSH server on the instance","default":"22"}},
"properties":{"portNumber":"{{ portNumber }}"}}`,
	"AWS-StartInteractiveCommand": `{"schemaVersion":"1.0","description":"Document to run single interactive command on an instance","sessionType":"InteractiveCommands",
"parameters":{"command":{"type":"String","description":"The command to run on the instance"}},
"properties":{"linux":{"commands":"{{ command }}","runAsElevated":false},"windows":{"commands":"{{ command }}","runAsElevated":false}}}`,
}

// sessionDocumentLocked finds a Session document by name. The preferences
// document may be absent: Session Manager then uses its defaults.
func (e *Emulator) sessionDocumentLocked(name string, implicit bool) (*sessionDoc, *APIError) {
	if strings.HasPrefix(name, "arn:") {
		if i := strings.LastIndex(name, ":document/"); i >= 0 {
			name = name[i+len(":document/"):]
		}
	}
	if c, ok := builtinSessionDocs[name]; ok {
		d, _ := parseSessionDoc(c)
		return d, nil
	}
	if d := e.ssm.docs[name]; d != nil && d.DocumentType == "Session" {
		if v, aerr := d.version("", ""); aerr == nil && v != nil {
			if sd, ok := parseSessionDoc(v.Content); ok {
				return sd, nil
			}
		}
	}
	if name == defaultSessionDocument {
		p := sessionDocInputs{}.prefs()
		return &sessionDoc{sessionType: "Standard_Stream", prefs: &p}, nil
	}
	_ = implicit
	// GUESS: the error code for a missing document, as SendCommand's.
	return nil, apiErr(400, "InvalidDocument", "Document with name %s does not exist.", name)
}

// sessionPrefsLocked: the account's preferences (SSM-SessionManagerRunShell).
func (e *Emulator) sessionPrefsLocked() sessionPrefs {
	if d, _ := e.sessionDocumentLocked(defaultSessionDocument, true); d != nil && d.prefs != nil {
		return *d.prefs
	}
	return sessionDocInputs{}.prefs()
}

// resolve checks the request's parameters against the document's and returns
// the session properties with the placeholders replaced.
func (d *sessionDoc) resolve(params map[string][]string) (map[string]any, *APIError) {
	vals := map[string]string{}
	for k, v := range params {
		if _, ok := d.params[k]; !ok {
			return nil, apiErr(400, "InvalidParameters", "Parameter %q is not defined in the document.", k)
		}
		vals[k] = strings.Join(v, "\n")
	}
	for k, p := range d.params {
		if _, ok := vals[k]; ok {
			continue
		}
		if p.Default == nil {
			return nil, apiErr(400, "InvalidParameters", "The following parameters are required: %s", k)
		}
		vals[k] = strings.TrimSpace(strings.Trim(string(sessionJSON(p.Default)), `"`))
	}
	var sub func(v any) any
	sub = func(v any) any {
		switch x := v.(type) {
		case string:
			for k, val := range vals {
				x = strings.ReplaceAll(x, "{{ "+k+" }}", val)
				x = strings.ReplaceAll(x, "{{"+k+"}}", val)
			}
			return x
		case map[string]any:
			out := map[string]any{}
			for k, val := range x {
				out[k] = sub(val)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, val := range x {
				out[i] = sub(val)
			}
			return out
		}
		return v
	}
	out, _ := sub(d.properties).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}
