package awsemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ssmDocument is an SSM document with its versions. Built-in documents (owner
// Amazon) are shared by every emulator and never change.
type ssmDocument struct {
	Name           string
	Owner          string
	DocumentType   string
	DocumentFormat string
	TargetType     string
	Created        time.Time
	Tags           []ssmTag
	builtin        bool
	versions       []*ssmDocVersion // index = version-1; nil when deleted
	defaultVersion int
}

type ssmTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type ssmDocVersion struct {
	Version     int
	VersionName string
	DisplayName string
	Content     string
	Hash        string
	Created     time.Time
	spec        *docSpec
}

// docSpec is the parsed content of a document.
type docSpec struct {
	SchemaVersion string
	Description   string
	Params        []docParam
	Steps         []docStep
	Platforms     []string
}

type docParam struct {
	Name           string
	Type           string
	Description    string
	Default        any
	HasDefault     bool
	AllowedPattern *regexp.Regexp
	AllowedValues  []string
	MaxChars       int
	MinItems       int
	MaxItems       int
}

type docStep struct {
	Action           string // aws:runShellScript, aws:runPowerShellScript, ...
	Name             string // plugin name reported as PluginName
	ID               string // plugin id (1.2: "0.aws:runShellScript"; 2.x: the step name)
	RunCommand       []string
	WorkingDirectory string
	TimeoutSeconds   string
}

const execTimeoutPattern = `([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800)`

func builtinScriptDoc(action, desc string) string {
	doc := map[string]any{
		"schemaVersion": "1.2",
		"description":   desc,
		"parameters": map[string]any{
			"commands":         map[string]any{"type": "StringList", "description": "(Required) Specify a shell script or a command to run.", "minItems": 1, "displayType": "textarea"},
			"workingDirectory": map[string]any{"type": "String", "default": "", "description": "(Optional) The path to the working directory on your instance.", "maxChars": 4096},
			"executionTimeout": map[string]any{"type": "String", "default": "3600", "description": "(Optional) The time in seconds for a command to complete before it is considered to have failed. Default is 3600 (1 hour). Maximum is 172800 (48 hours).", "allowedPattern": execTimeoutPattern},
		},
		"runtimeConfig": map[string]any{
			action: map[string]any{"properties": []any{map[string]any{
				"id": "0." + action, "runCommand": "{{ commands }}", "workingDirectory": "{{ workingDirectory }}", "timeoutSeconds": "{{ executionTimeout }}",
			}}},
		},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b)
}

var builtinDocs = func() map[string]*ssmDocument {
	created := time.Date(2017, 8, 31, 0, 0, 0, 0, time.UTC)
	out := map[string]*ssmDocument{}
	for _, d := range []struct{ name, action, desc string }{
		{"AWS-RunShellScript", "aws:runShellScript", "Run a shell script or specify the commands to run."},
		{"AWS-RunPowerShellScript", "aws:runPowerShellScript", "Run a PowerShell script or specify the paths to scripts to run."},
	} {
		content := builtinScriptDoc(d.action, d.desc)
		spec, aerr := parseDocContent(content, "Command")
		if aerr != nil {
			panic(aerr)
		}
		out[d.name] = &ssmDocument{
			Name: d.name, Owner: "Amazon", DocumentType: "Command", DocumentFormat: "JSON", Created: created, builtin: true,
			versions:       []*ssmDocVersion{{Version: 1, Content: content, Hash: sha256Hex(content), Created: created, spec: spec}},
			defaultVersion: 1,
		}
	}
	return out
}()

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// parseDocContent validates JSON document content for a document type.
// GUESS/limitation: YAML content is not supported (InvalidDocumentContent), except
// YAML that is also JSON.
func parseDocContent(content, docType string) (*docSpec, *APIError) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(content), &raw); err != nil {
		return nil, apiErr(400, "InvalidDocumentContent", "The content for the document is not valid: %v (the emulator supports JSON documents only)", err)
	}
	spec := &docSpec{}
	if v, ok := raw["schemaVersion"]; !ok || json.Unmarshal(v, &spec.SchemaVersion) != nil || spec.SchemaVersion == "" {
		return nil, apiErr(400, "InvalidDocumentContent", "The content for the document is not valid: schemaVersion is missing")
	}
	if v, ok := raw["description"]; ok {
		_ = json.Unmarshal(v, &spec.Description)
	}
	if v, ok := raw["parameters"]; ok {
		var params map[string]struct {
			Type           string          `json:"type"`
			Description    string          `json:"description"`
			Default        json.RawMessage `json:"default"`
			AllowedPattern string          `json:"allowedPattern"`
			AllowedValues  []string        `json:"allowedValues"`
			MaxChars       int             `json:"maxChars"`
			MinItems       int             `json:"minItems"`
			MaxItems       int             `json:"maxItems"`
		}
		if err := json.Unmarshal(v, &params); err != nil {
			return nil, apiErr(400, "InvalidDocumentContent", "The content for the document is not valid: parameters: %v", err)
		}
		for _, name := range sortedKeys(params) {
			p := params[name]
			dp := docParam{Name: name, Type: p.Type, Description: p.Description, AllowedValues: p.AllowedValues, MaxChars: p.MaxChars, MinItems: p.MinItems, MaxItems: p.MaxItems}
			switch dp.Type {
			case "String", "StringList", "Boolean", "Integer", "StringMap", "MapList":
			default:
				return nil, apiErr(400, "InvalidDocumentContent", "The content for the document is not valid: parameter %s has invalid type %q", name, p.Type)
			}
			if len(p.Default) > 0 {
				dp.HasDefault = true
				_ = json.Unmarshal(p.Default, &dp.Default)
			}
			if p.AllowedPattern != "" {
				re, err := regexp.Compile(`^(?:` + p.AllowedPattern + `)$`)
				if err != nil {
					return nil, apiErr(400, "InvalidDocumentContent", "The content for the document is not valid: parameter %s has an invalid allowedPattern", name)
				}
				dp.AllowedPattern = re
			}
			spec.Params = append(spec.Params, dp)
		}
	}
	switch docType {
	case "Session":
		if spec.SchemaVersion != "1.0" {
			return nil, apiErr(400, "InvalidDocumentSchemaVersion", "Document schema version, %s, is not supported for Session documents", spec.SchemaVersion)
		}
		var st string
		if v, ok := raw["sessionType"]; !ok || json.Unmarshal(v, &st) != nil || st == "" {
			return nil, apiErr(400, "InvalidDocumentContent", "The content for the document is not valid: sessionType is missing")
		}
		// Valid values per the UG "Session document schema" (notes/aws-behaviour.md#session-manager-preferences).
		switch st {
		case "Standard_Stream", "InteractiveCommands", "NonInteractiveCommands", "Port":
		default:
			// GUESS: the error code for an unknown sessionType.
			return nil, apiErr(400, "InvalidDocumentContent", "The content for the document is not valid: sessionType %s is not one of Standard_Stream, InteractiveCommands, NonInteractiveCommands, Port", st)
		}
		spec.Platforms = []string{"Windows", "Linux", "MacOS"}
	case "Command":
		if err := parseCommandSteps(spec, raw); err != nil {
			return nil, err
		}
	default:
		spec.Platforms = []string{"Windows", "Linux", "MacOS"}
	}
	return spec, nil
}

type rawStepInputs struct {
	RunCommand       json.RawMessage `json:"runCommand"`
	WorkingDirectory string          `json:"workingDirectory"`
	TimeoutSeconds   json.RawMessage `json:"timeoutSeconds"`
	ID               string          `json:"id"`
}

func parseCommandSteps(spec *docSpec, raw map[string]json.RawMessage) *APIError {
	bad := func(f string, a ...any) *APIError {
		return apiErr(400, "InvalidDocumentContent", "The content for the document is not valid: "+f, a...)
	}
	addStep := func(action, name, id string, in rawStepInputs) *APIError {
		st := docStep{Action: action, Name: name, ID: id, WorkingDirectory: in.WorkingDirectory}
		if len(in.RunCommand) > 0 {
			var one string
			if json.Unmarshal(in.RunCommand, &one) == nil {
				st.RunCommand = []string{one}
			} else if err := json.Unmarshal(in.RunCommand, &st.RunCommand); err != nil {
				return bad("runCommand of step %s must be a string or a list of strings", name)
			}
		}
		if len(in.TimeoutSeconds) > 0 {
			var s string
			var n json.Number
			if json.Unmarshal(in.TimeoutSeconds, &s) == nil {
				st.TimeoutSeconds = s
			} else if json.Unmarshal(in.TimeoutSeconds, &n) == nil {
				st.TimeoutSeconds = n.String()
			}
		}
		spec.Steps = append(spec.Steps, st)
		return nil
	}
	switch spec.SchemaVersion {
	case "1.2":
		var rc map[string]struct {
			Properties json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(raw["runtimeConfig"], &rc); err != nil || len(rc) == 0 {
			return bad("runtimeConfig is missing or invalid")
		}
		for _, action := range sortedKeys(rc) {
			var props []rawStepInputs
			if err := json.Unmarshal(rc[action].Properties, &props); err != nil {
				var one rawStepInputs
				if err := json.Unmarshal(rc[action].Properties, &one); err != nil {
					return bad("properties of %s are invalid", action)
				}
				props = []rawStepInputs{one}
			}
			for i, p := range props {
				id := p.ID
				if id == "" {
					id = fmt.Sprintf("%d.%s", i, action)
				}
				if err := addStep(action, action, id, p); err != nil {
					return err
				}
			}
		}
	case "2.0", "2.2":
		var steps []struct {
			Action string        `json:"action"`
			Name   string        `json:"name"`
			Inputs rawStepInputs `json:"inputs"`
		}
		if err := json.Unmarshal(raw["mainSteps"], &steps); err != nil || len(steps) == 0 {
			return bad("mainSteps is missing or invalid")
		}
		seen := map[string]bool{}
		for _, st := range steps {
			if st.Action == "" || st.Name == "" {
				return bad("every step needs an action and a name")
			}
			if seen[st.Name] {
				return bad("duplicate step name %s", st.Name)
			}
			seen[st.Name] = true
			if err := addStep(st.Action, st.Name, st.Name, st.Inputs); err != nil {
				return err
			}
		}
	default:
		return apiErr(400, "InvalidDocumentSchemaVersion", "Document schema version, %s, is not supported for Command documents", spec.SchemaVersion)
	}
	plat := map[string]bool{}
	for _, st := range spec.Steps {
		switch st.Action {
		case "aws:runShellScript":
			plat["Linux"], plat["MacOS"] = true, true
		case "aws:runPowerShellScript":
			plat["Windows"], plat["Linux"], plat["MacOS"] = true, true, true
		default:
			plat["Windows"], plat["Linux"], plat["MacOS"] = true, true, true
		}
	}
	for _, p := range []string{"Windows", "Linux", "MacOS"} {
		if plat[p] {
			spec.Platforms = append(spec.Platforms, p)
		}
	}
	return nil
}

// findDocLocked resolves a document by name or ARN.
func (e *Emulator) findDocLocked(nameOrArn string) *ssmDocument {
	name := nameOrArn
	if strings.HasPrefix(name, "arn:") {
		if i := strings.LastIndex(name, ":document/"); i >= 0 {
			name = name[i+len(":document/"):]
		}
	}
	if d, ok := builtinDocs[name]; ok {
		return d
	}
	return e.ssm.docs[name]
}

func (d *ssmDocument) latest() *ssmDocVersion {
	for i := len(d.versions) - 1; i >= 0; i-- {
		if d.versions[i] != nil {
			return d.versions[i]
		}
	}
	return nil
}

// version resolves "", $DEFAULT, $LATEST or a number, and a version name.
func (d *ssmDocument) version(v, versionName string) (*ssmDocVersion, *APIError) {
	var out *ssmDocVersion
	switch v {
	case "", "$DEFAULT":
		if v == "" && versionName != "" {
			for _, dv := range d.versions {
				if dv != nil && dv.VersionName == versionName {
					return dv, nil
				}
			}
			return nil, apiErr(400, "InvalidDocumentVersion", "The document version is not valid or does not exist.")
		}
		out = d.versions[d.defaultVersion-1]
	case "$LATEST":
		out = d.latest()
	default:
		n, err := strconv.Atoi(v)
		if err != nil || !reDocVersionNo.MatchString(v) || n > len(d.versions) || d.versions[n-1] == nil {
			return nil, apiErr(400, "InvalidDocumentVersion", "The document version is not valid or does not exist.")
		}
		out = d.versions[n-1]
	}
	if versionName != "" && out.VersionName != versionName {
		return nil, apiErr(400, "InvalidDocumentVersion", "The document version is not valid or does not exist.")
	}
	return out, nil
}

func (e *Emulator) docNotFound(name string) *APIError {
	return apiErr(400, "InvalidDocument", "Document with name %s does not exist.", name)
}

// ---- wire shapes ----

type docParamOut struct {
	Name         string `json:"Name"`
	Type         string `json:"Type"`
	Description  string `json:"Description,omitempty"`
	DefaultValue string `json:"DefaultValue,omitempty"`
}

type docDescriptionOut struct {
	Hash            string        `json:"Hash"`
	HashType        string        `json:"HashType"`
	Name            string        `json:"Name"`
	DisplayName     string        `json:"DisplayName,omitempty"`
	VersionName     string        `json:"VersionName,omitempty"`
	Owner           string        `json:"Owner"`
	CreatedDate     epochTime     `json:"CreatedDate"`
	Status          string        `json:"Status"`
	DocumentVersion string        `json:"DocumentVersion"`
	Description     string        `json:"Description,omitempty"`
	Parameters      []docParamOut `json:"Parameters,omitempty"`
	PlatformTypes   []string      `json:"PlatformTypes"`
	DocumentType    string        `json:"DocumentType"`
	SchemaVersion   string        `json:"SchemaVersion"`
	LatestVersion   string        `json:"LatestVersion"`
	DefaultVersion  string        `json:"DefaultVersion"`
	DocumentFormat  string        `json:"DocumentFormat"`
	TargetType      string        `json:"TargetType,omitempty"`
	Tags            []ssmTag      `json:"Tags"`
}

func (e *Emulator) describeDoc(d *ssmDocument, v *ssmDocVersion) docDescriptionOut {
	out := docDescriptionOut{
		Hash: v.Hash, HashType: "Sha256", Name: d.Name, DisplayName: v.DisplayName, VersionName: v.VersionName,
		Owner: d.Owner, CreatedDate: epochTime(v.Created), Status: "Active", DocumentVersion: strconv.Itoa(v.Version),
		Description: v.spec.Description, PlatformTypes: v.spec.Platforms, DocumentType: d.DocumentType,
		SchemaVersion: v.spec.SchemaVersion, LatestVersion: strconv.Itoa(d.latest().Version),
		DefaultVersion: strconv.Itoa(d.defaultVersion), DocumentFormat: d.DocumentFormat, TargetType: d.TargetType,
		Tags: d.Tags,
	}
	if out.Tags == nil {
		out.Tags = []ssmTag{}
	}
	for _, p := range v.spec.Params {
		po := docParamOut{Name: p.Name, Type: p.Type, Description: p.Description}
		switch dv := p.Default.(type) {
		case nil:
		case string:
			po.DefaultValue = dv
		default:
			b, _ := json.Marshal(dv)
			po.DefaultValue = string(b)
		}
		out.Parameters = append(out.Parameters, po)
	}
	return out
}

var docTypes = map[string]bool{"Command": true, "Policy": true, "Automation": true, "Session": true, "Package": true, "ApplicationConfiguration": true,
	"ApplicationConfigurationSchema": true, "DeploymentStrategy": true, "ChangeCalendar": true, "Automation.ChangeTemplate": true,
	"ProblemAnalysis": true, "ProblemAnalysisTemplate": true, "CloudFormation": true, "ConformancePackTemplate": true, "QuickSetup": true, "ManualApprovalPolicy": true, "AutoApprovalPolicy": true}

func checkDocFormat(f string) (string, *APIError) {
	switch f {
	case "":
		return "JSON", nil
	case "JSON", "YAML", "TEXT":
		return f, nil
	}
	return "", validationErr(f, "documentFormat", "Member must satisfy enum value set: [YAML, JSON, TEXT]")
}

// ---- operations ----

func ssmCreateDocument(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		Content        string   `json:"Content"`
		Name           string   `json:"Name"`
		DisplayName    string   `json:"DisplayName"`
		VersionName    string   `json:"VersionName"`
		DocumentType   string   `json:"DocumentType"`
		DocumentFormat string   `json:"DocumentFormat"`
		TargetType     string   `json:"TargetType"`
		Tags           []ssmTag `json:"Tags"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !reDocumentName.MatchString(in.Name) {
		return nil, validationErr(in.Name, "name", `Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\-.]{3,128}$`)
	}
	low := strings.ToLower(in.Name)
	for _, p := range []string{"aws", "amazon", "amzn"} {
		if strings.HasPrefix(low, p) {
			// GUESS: the reserved-prefix rule surfaces as a ValidationException.
			return nil, apiErr(400, "ValidationException", "Document name should not start with aws, amazon, or amzn.")
		}
	}
	if in.Content == "" {
		return nil, validationErr("", "content", "Member must have length greater than or equal to 1")
	}
	if len(in.Content) > 64*1024 {
		return nil, apiErr(400, "MaxDocumentSizeExceeded", "The content for the document exceeds 64 KB.")
	}
	if in.DocumentType == "" {
		in.DocumentType = "Command"
	}
	if !docTypes[in.DocumentType] {
		return nil, validationErr(in.DocumentType, "documentType", "Member must satisfy enum value set")
	}
	format, aerr := checkDocFormat(in.DocumentFormat)
	if aerr != nil {
		return nil, aerr
	}
	if e.findDocLocked(in.Name) != nil {
		return nil, apiErr(400, "DocumentAlreadyExists", "Document with same name %s already exists", in.Name)
	}
	spec, aerr := parseDocContent(in.Content, in.DocumentType)
	if aerr != nil {
		return nil, aerr
	}
	now := time.Now()
	d := &ssmDocument{Name: in.Name, Owner: e.opts.AccountID, DocumentType: in.DocumentType, DocumentFormat: format,
		TargetType: in.TargetType, Created: now, Tags: in.Tags, defaultVersion: 1,
		versions: []*ssmDocVersion{{Version: 1, VersionName: in.VersionName, DisplayName: in.DisplayName, Content: in.Content, Hash: sha256Hex(in.Content), Created: now, spec: spec}}}
	e.ssm.docs[in.Name] = d
	return map[string]any{"DocumentDescription": e.describeDoc(d, d.versions[0])}, nil
}

func ssmGetDocument(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		Name            string `json:"Name"`
		VersionName     string `json:"VersionName"`
		DocumentVersion string `json:"DocumentVersion"`
		DocumentFormat  string `json:"DocumentFormat"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	d := e.findDocLocked(in.Name)
	if d == nil {
		return nil, e.docNotFound(in.Name)
	}
	v, aerr := d.version(in.DocumentVersion, in.VersionName)
	if aerr != nil {
		return nil, aerr
	}
	format := d.DocumentFormat
	if in.DocumentFormat != "" {
		if in.DocumentFormat != "JSON" && in.DocumentFormat != d.DocumentFormat {
			// Limitation: the emulator does not convert JSON to YAML.
			return nil, apiErr(400, "InvalidDocumentOperation", "The emulator cannot convert this document to %s.", in.DocumentFormat)
		}
		format = in.DocumentFormat
	}
	return map[string]any{
		"Name": d.Name, "CreatedDate": epochTime(v.Created), "DisplayName": v.DisplayName, "VersionName": v.VersionName,
		"DocumentVersion": strconv.Itoa(v.Version), "Status": "Active", "Content": v.Content,
		"DocumentType": d.DocumentType, "DocumentFormat": format,
	}, nil
}

func ssmDescribeDocument(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		Name            string `json:"Name"`
		DocumentVersion string `json:"DocumentVersion"`
		VersionName     string `json:"VersionName"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	d := e.findDocLocked(in.Name)
	if d == nil {
		return nil, e.docNotFound(in.Name)
	}
	v, aerr := d.version(in.DocumentVersion, in.VersionName)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"Document": e.describeDoc(d, v)}, nil
}

func ssmUpdateDocument(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		Content         string `json:"Content"`
		Name            string `json:"Name"`
		DisplayName     string `json:"DisplayName"`
		VersionName     string `json:"VersionName"`
		DocumentVersion string `json:"DocumentVersion"`
		DocumentFormat  string `json:"DocumentFormat"`
		TargetType      string `json:"TargetType"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	d := e.findDocLocked(in.Name)
	if d == nil {
		return nil, e.docNotFound(in.Name)
	}
	if d.builtin {
		return nil, apiErr(400, "InvalidDocumentOperation", "You can't update documents owned by Amazon.")
	}
	latest := d.latest()
	if in.DocumentVersion != "" && in.DocumentVersion != "$LATEST" && in.DocumentVersion != strconv.Itoa(latest.Version) {
		return nil, apiErr(400, "InvalidDocumentVersion", "The document version is not valid or does not exist. You can only update the latest version.")
	}
	if _, aerr := checkDocFormat(in.DocumentFormat); aerr != nil {
		return nil, aerr
	}
	if in.Content == "" {
		return nil, validationErr("", "content", "Member must have length greater than or equal to 1")
	}
	if len(in.Content) > 64*1024 {
		return nil, apiErr(400, "MaxDocumentSizeExceeded", "The content for the document exceeds 64 KB.")
	}
	hash := sha256Hex(in.Content)
	for _, v := range d.versions {
		if v != nil && v.Hash == hash {
			return nil, apiErr(400, "DuplicateDocumentContent", "The content of the association document matches another document. Change the content of the document and try again.")
		}
	}
	if in.VersionName != "" {
		for _, v := range d.versions {
			if v != nil && v.VersionName == in.VersionName {
				return nil, apiErr(400, "DuplicateDocumentVersionName", "The version name has already been used in this document.")
			}
		}
	}
	spec, aerr := parseDocContent(in.Content, d.DocumentType)
	if aerr != nil {
		return nil, aerr
	}
	if in.TargetType != "" {
		d.TargetType = in.TargetType
	}
	nv := &ssmDocVersion{Version: len(d.versions) + 1, VersionName: in.VersionName, DisplayName: in.DisplayName, Content: in.Content, Hash: hash, Created: time.Now(), spec: spec}
	d.versions = append(d.versions, nv)
	return map[string]any{"DocumentDescription": e.describeDoc(d, nv)}, nil
}

func ssmDeleteDocument(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		Name            string `json:"Name"`
		DocumentVersion string `json:"DocumentVersion"`
		VersionName     string `json:"VersionName"`
		Force           bool   `json:"Force"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	d := e.findDocLocked(in.Name)
	if d == nil {
		return nil, e.docNotFound(in.Name)
	}
	if d.builtin {
		return nil, apiErr(400, "InvalidDocumentOperation", "You can't delete documents owned by Amazon.")
	}
	if in.DocumentVersion == "" && in.VersionName == "" {
		delete(e.ssm.docs, d.Name)
		return struct{}{}, nil
	}
	v, aerr := d.version(in.DocumentVersion, in.VersionName)
	if aerr != nil {
		return nil, aerr
	}
	if v.Version == d.defaultVersion {
		return nil, apiErr(400, "InvalidDocumentOperation", "You can't delete the default version of a document. Change the default version and try again.")
	}
	d.versions[v.Version-1] = nil
	return struct{}{}, nil
}

func ssmUpdateDocumentDefaultVersion(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		Name            string `json:"Name"`
		DocumentVersion string `json:"DocumentVersion"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !reDocVersionNo.MatchString(in.DocumentVersion) {
		return nil, validationErr(in.DocumentVersion, "documentVersion", `Member must satisfy regular expression pattern: (^[1-9][0-9]*$)`)
	}
	d := e.findDocLocked(in.Name)
	if d == nil {
		return nil, e.docNotFound(in.Name)
	}
	if d.builtin {
		return nil, apiErr(400, "InvalidDocumentOperation", "You can't update documents owned by Amazon.")
	}
	v, aerr := d.version(in.DocumentVersion, "")
	if aerr != nil {
		return nil, aerr
	}
	d.defaultVersion = v.Version
	return map[string]any{"Description": map[string]any{"Name": d.Name, "DefaultVersion": strconv.Itoa(v.Version), "DefaultVersionName": v.VersionName}}, nil
}

func ssmListDocuments(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		DocumentFilterList []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"DocumentFilterList"`
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
	pageSize, start, aerr := ssmPageParams(in.MaxResults, 1, 50, 50, "docs", in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	if len(in.DocumentFilterList) > 0 && len(in.Filters) > 0 {
		return nil, apiErr(400, "ValidationException", "DocumentFilterList and Filters can't be used together.")
	}
	type pred func(d *ssmDocument, v *ssmDocVersion) bool
	var preds []pred
	anyOf := func(vals []string, f func(string) bool) bool {
		for _, v := range vals {
			if f(v) {
				return true
			}
		}
		return false
	}
	ownerPred := func(vals []string) pred {
		return func(d *ssmDocument, _ *ssmDocVersion) bool {
			return anyOf(vals, func(o string) bool {
				switch o {
				case "Self", "Private":
					return !d.builtin
				case "Amazon":
					return d.builtin
				case "All":
					return true
				}
				return o == d.Owner
			})
		}
	}
	for _, f := range in.DocumentFilterList {
		switch f.Key {
		case "Name":
			preds = append(preds, func(d *ssmDocument, _ *ssmDocVersion) bool { return d.Name == f.Value })
		case "Owner":
			preds = append(preds, ownerPred([]string{f.Value}))
		case "PlatformTypes":
			preds = append(preds, func(_ *ssmDocument, v *ssmDocVersion) bool { return contains(v.spec.Platforms, f.Value) })
		case "DocumentType":
			preds = append(preds, func(d *ssmDocument, _ *ssmDocVersion) bool { return d.DocumentType == f.Value })
		default:
			return nil, apiErr(400, "InvalidFilterKey", "")
		}
	}
	for _, f := range in.Filters {
		switch {
		case f.Key == "Owner":
			preds = append(preds, ownerPred(f.Values))
		case f.Key == "Name":
			preds = append(preds, func(d *ssmDocument, _ *ssmDocVersion) bool {
				return anyOf(f.Values, func(s string) bool { return strings.HasPrefix(d.Name, s) })
			})
		case f.Key == "DocumentType":
			preds = append(preds, func(d *ssmDocument, _ *ssmDocVersion) bool { return contains(f.Values, d.DocumentType) })
		case f.Key == "PlatformTypes":
			preds = append(preds, func(_ *ssmDocument, v *ssmDocVersion) bool {
				return anyOf(f.Values, func(s string) bool { return contains(v.spec.Platforms, s) })
			})
		case f.Key == "SearchKeyword":
			preds = append(preds, func(d *ssmDocument, _ *ssmDocVersion) bool {
				return anyOf(f.Values, func(s string) bool { return strings.Contains(strings.ToLower(d.Name), strings.ToLower(s)) })
			})
		case strings.HasPrefix(f.Key, "tag:"):
			k := strings.TrimPrefix(f.Key, "tag:")
			preds = append(preds, func(d *ssmDocument, _ *ssmDocVersion) bool {
				for _, t := range d.Tags {
					if t.Key == k && (len(f.Values) == 0 || contains(f.Values, t.Value)) {
						return true
					}
				}
				return false
			})
		default:
			return nil, apiErr(400, "InvalidFilterKey", "")
		}
	}
	var all []*ssmDocument
	for _, n := range sortedKeys(builtinDocs) {
		all = append(all, builtinDocs[n])
	}
	for _, n := range sortedKeys(e.ssm.docs) {
		all = append(all, e.ssm.docs[n])
	}
	var matched []map[string]any
	for _, d := range all {
		v := d.versions[d.defaultVersion-1]
		ok := true
		for _, p := range preds {
			if !p(d, v) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		tags := d.Tags
		if tags == nil {
			tags = []ssmTag{}
		}
		matched = append(matched, map[string]any{
			"Name": d.Name, "CreatedDate": epochTime(d.Created), "Owner": d.Owner, "VersionName": v.VersionName, "DisplayName": v.DisplayName,
			"PlatformTypes": v.spec.Platforms, "DocumentVersion": strconv.Itoa(v.Version), "DocumentType": d.DocumentType,
			"SchemaVersion": v.spec.SchemaVersion, "DocumentFormat": d.DocumentFormat, "TargetType": d.TargetType, "Tags": tags,
		})
	}
	out := map[string]any{"DocumentIdentifiers": []any{}}
	if start < len(matched) {
		end := start + pageSize
		if end > len(matched) {
			end = len(matched)
		}
		out["DocumentIdentifiers"] = matched[start:end]
		if end < len(matched) {
			out["NextToken"] = pageToken("docs", end)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
