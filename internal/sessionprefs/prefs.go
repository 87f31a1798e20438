// Package sessionprefs manages the Session Manager preferences document: the
// Session document (SSM-SessionManagerRunShell by default) whose inputs hold the
// account's and region's session logging, encryption, run-as and timeout settings.
// It is free of Terraform; see notes/aws-behaviour.md#session-manager-preferences.
package sessionprefs

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// DefaultDocumentName is the document Session Manager reads its preferences from
// when a session names no document.
const DefaultDocumentName = "SSM-SessionManagerRunShell"

// DefaultIdleSessionTimeout is the idle timeout, in minutes, Session Manager uses
// when the document sets none.
const DefaultIdleSessionTimeout = 20

// Description is the description the console writes into the document.
const Description = "Document to hold regional settings for Session Manager"

// Limits of the timeout inputs, in minutes.
const (
	MinIdleSessionTimeout = 1
	MaxIdleSessionTimeout = 60
	MinMaxSessionDuration = 1
	MaxMaxSessionDuration = 1440
)

// Preferences are the inputs of a Standard_Stream Session document. Empty strings
// and a zero MaxSessionDuration mean "not set".
type Preferences struct {
	S3BucketName                string
	S3KeyPrefix                 string
	S3EncryptionEnabled         bool
	CloudWatchLogGroupName      string
	CloudWatchEncryptionEnabled bool
	CloudWatchStreamingEnabled  bool
	KMSKeyID                    string
	RunAsEnabled                bool
	RunAsDefaultUser            string
	IdleSessionTimeout          int // minutes, 1..60
	MaxSessionDuration          int // minutes, 1..1440; 0 = no limit
	ShellProfileLinux           string
	ShellProfileWindows         string
}

// The wire form, in the order the console writes it. Timeouts are strings.
type document struct {
	SchemaVersion string `json:"schemaVersion"`
	Description   string `json:"description"`
	SessionType   string `json:"sessionType"`
	Inputs        inputs `json:"inputs"`
}

type inputs struct {
	S3BucketName                string       `json:"s3BucketName"`
	S3KeyPrefix                 string       `json:"s3KeyPrefix"`
	S3EncryptionEnabled         bool         `json:"s3EncryptionEnabled"`
	CloudWatchLogGroupName      string       `json:"cloudWatchLogGroupName"`
	CloudWatchEncryptionEnabled bool         `json:"cloudWatchEncryptionEnabled"`
	CloudWatchStreamingEnabled  bool         `json:"cloudWatchStreamingEnabled"`
	KMSKeyID                    string       `json:"kmsKeyId"`
	RunAsEnabled                bool         `json:"runAsEnabled"`
	RunAsDefaultUser            string       `json:"runAsDefaultUser"`
	IdleSessionTimeout          string       `json:"idleSessionTimeout"`
	MaxSessionDuration          string       `json:"maxSessionDuration"`
	ShellProfile                shellProfile `json:"shellProfile"`
}

type shellProfile struct {
	Windows string `json:"windows"`
	Linux   string `json:"linux"`
}

// Content renders the preferences as the JSON content of a Session document
// (schemaVersion 1.0, sessionType Standard_Stream), every input present as the
// console writes it.
func (p Preferences) Content() string {
	idle := p.IdleSessionTimeout
	if idle == 0 {
		idle = DefaultIdleSessionTimeout
	}
	maxDur := ""
	if p.MaxSessionDuration > 0 {
		maxDur = strconv.Itoa(p.MaxSessionDuration)
	}
	d := document{
		SchemaVersion: "1.0", Description: Description, SessionType: "Standard_Stream",
		Inputs: inputs{
			S3BucketName: p.S3BucketName, S3KeyPrefix: p.S3KeyPrefix, S3EncryptionEnabled: p.S3EncryptionEnabled,
			CloudWatchLogGroupName: p.CloudWatchLogGroupName, CloudWatchEncryptionEnabled: p.CloudWatchEncryptionEnabled,
			CloudWatchStreamingEnabled: p.CloudWatchStreamingEnabled, KMSKeyID: p.KMSKeyID,
			RunAsEnabled: p.RunAsEnabled, RunAsDefaultUser: p.RunAsDefaultUser,
			IdleSessionTimeout: strconv.Itoa(idle), MaxSessionDuration: maxDur,
			ShellProfile: shellProfile{Windows: p.ShellProfileWindows, Linux: p.ShellProfileLinux},
		},
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic(err) // plain strings and booleans always marshal
	}
	return string(b)
}

// ContentError says why a document's content is not Session Manager preferences.
type ContentError struct {
	Reason string
}

func (e *ContentError) Error() string {
	return "the document is not a Session Manager preferences document: " + e.Reason
}

// Parse reads preferences from Session document content. It accepts what the
// agent accepts: booleans as JSON booleans or "true"/"false" strings, and timeouts
// as strings or numbers. Missing inputs are unset (false for booleans, the default
// idle timeout).
func Parse(content string) (Preferences, error) {
	var raw struct {
		SchemaVersion string                     `json:"schemaVersion"`
		SessionType   string                     `json:"sessionType"`
		Inputs        map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(content), &raw); err != nil {
		return Preferences{}, &ContentError{Reason: "content is not JSON: " + err.Error()}
	}
	if raw.SessionType != "Standard_Stream" {
		return Preferences{}, &ContentError{Reason: fmt.Sprintf("sessionType is %q, not Standard_Stream", raw.SessionType)}
	}
	var p Preferences
	var errs []string
	str := func(key string, dst *string) {
		v, ok := raw.Inputs[key]
		if !ok || string(v) == "null" {
			return
		}
		if err := json.Unmarshal(v, dst); err != nil {
			errs = append(errs, fmt.Sprintf("%s is not a string", key))
		}
	}
	boolean := func(key string, dst *bool) {
		v, ok := raw.Inputs[key]
		if !ok || string(v) == "null" {
			return
		}
		if json.Unmarshal(v, dst) == nil {
			return
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			if b, err := strconv.ParseBool(s); err == nil || s == "" {
				*dst = b
				return
			}
		}
		errs = append(errs, fmt.Sprintf("%s is not a boolean", key))
	}
	minutes := func(key string, dst *int) {
		v, ok := raw.Inputs[key]
		if !ok || string(v) == "null" {
			return
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			var n json.Number
			if json.Unmarshal(v, &n) != nil {
				errs = append(errs, fmt.Sprintf("%s is not a number of minutes", key))
				return
			}
			s = n.String()
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %q is not a number of minutes", key, s))
			return
		}
		*dst = n
	}
	str("s3BucketName", &p.S3BucketName)
	str("s3KeyPrefix", &p.S3KeyPrefix)
	boolean("s3EncryptionEnabled", &p.S3EncryptionEnabled)
	str("cloudWatchLogGroupName", &p.CloudWatchLogGroupName)
	boolean("cloudWatchEncryptionEnabled", &p.CloudWatchEncryptionEnabled)
	boolean("cloudWatchStreamingEnabled", &p.CloudWatchStreamingEnabled)
	str("kmsKeyId", &p.KMSKeyID)
	boolean("runAsEnabled", &p.RunAsEnabled)
	str("runAsDefaultUser", &p.RunAsDefaultUser)
	p.IdleSessionTimeout = DefaultIdleSessionTimeout
	minutes("idleSessionTimeout", &p.IdleSessionTimeout)
	minutes("maxSessionDuration", &p.MaxSessionDuration)
	if v, ok := raw.Inputs["shellProfile"]; ok && string(v) != "null" {
		var sp shellProfile
		if err := json.Unmarshal(v, &sp); err != nil {
			errs = append(errs, "shellProfile is not an object of linux and windows strings")
		}
		p.ShellProfileLinux, p.ShellProfileWindows = sp.Linux, sp.Windows
	}
	if len(errs) > 0 {
		return Preferences{}, &ContentError{Reason: strings.Join(errs, "; ")}
	}
	return p, nil
}

// SameContent reports whether two JSON documents are equal as JSON values
// (whitespace and key order aside).
func SameContent(a, b string) bool {
	if a == b {
		return true
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
