package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Session Manager: StartSession, ResumeSession, TerminateSession,
// DescribeSessions and GetConnectionStatus, with the stream URL and token the
// client (session-manager-plugin) opens the data channel with. The emulator
// plays both the Message Gateway Service and the instance's agent: the data
// channel (ssm_session_channel.go) ends at the emulator, which runs the port
// (ssm_session_port.go) or shell (ssm_session_shell.go) plugin on the host as
// the agent would on the instance. notes/aws-behaviour.md#session-manager-sessions.

// Session statuses (SSM API reference, Session.Status).
const (
	sessConnecting  = "Connecting"
	sessConnected   = "Connected"
	sessDisconnect  = "Disconnected"
	sessTerminated  = "Terminated"
	sessTerminating = "Terminating"
	sessFailed      = "Failed"
)

// DataChannelPath is the emulator path of session stream URLs:
// <endpoint>/v1/data-channel/<session id>, as on ssmmessages.
const DataChannelPath = "/v1/data-channel/"

type ssmSession struct {
	ID           string
	Target       string
	DocumentName string
	Owner        string // caller ARN
	Reason       string
	Status       string
	Start, End   time.Time
	Parameters   map[string][]string
	MaxDuration  string // minutes, from the preferences ("" = none)
	S3URL, CWURL string

	token    string
	endpoint string // scheme://host the client called StartSession on
	sessType string // Port, Standard_Stream, InteractiveCommands
	props    map[string]any
	prefs    sessionPrefs
	ch       *dataChannel
}

func (s *ssmSession) active() bool { return s.Status != sessTerminated && s.Status != sessFailed }

// sessionCaller is what the session operations know of the request beyond its
// body: the caller (session id prefix and Owner) and the endpoint it reached.
type sessionCaller struct {
	accessKey string
	endpoint  string
}

type sessionHandler func(e *Emulator, c sessionCaller, body []byte) (any, *APIError)

var ssmSessionOps = map[string]sessionHandler{
	"StartSession":        ssmStartSession,
	"ResumeSession":       ssmResumeSession,
	"TerminateSession":    ssmTerminateSession,
	"DescribeSessions":    ssmDescribeSessions,
	"GetConnectionStatus": ssmGetConnectionStatus,
}

func init() {
	for op := range ssmSessionOps {
		// Routed through sessionJSONHandler (protocol.go) with the caller.
		ssmOps[op] = func(*Emulator, []byte) (any, *APIError) {
			return nil, apiErr(500, "InternalServerError", "session operation called without its caller")
		}
	}
}

// sessionJSONHandler wraps a session operation for one request.
func sessionJSONHandler(op string, r *http.Request) (jsonHandler, bool) {
	h, ok := ssmSessionOps[op]
	if !ok {
		return nil, false
	}
	c := sessionCaller{endpoint: "ws://" + r.Host}
	if sr, _ := parseSigV4(r); sr != nil {
		c.accessKey = sr.accessKey
	}
	return func(e *Emulator, body []byte) (any, *APIError) { return h(e, c, body) }, true
}

// sessionOwnerLocked: the caller's ARN and the name session ids begin with (the
// IAM user name, the role session name, or "root").
func (e *Emulator) sessionOwnerLocked(accessKey string) (arn, name string) {
	arn = e.rootArn()
	if cred, ok := e.creds[accessKey]; ok && cred.arn != "" {
		arn = cred.arn
	}
	switch {
	case strings.Contains(arn, ":user/"):
		name = arn[strings.LastIndex(arn, "/")+1:]
	case strings.Contains(arn, ":assumed-role/"):
		name = arn[strings.LastIndex(arn, "/")+1:]
	default:
		name = "root"
	}
	return arn, name
}

type startSessionIn struct {
	Target       string              `json:"Target"`
	DocumentName string              `json:"DocumentName"`
	Reason       string              `json:"Reason"`
	Parameters   map[string][]string `json:"Parameters"`
}

type sessionStartOut struct {
	SessionID  string `json:"SessionId"`
	TokenValue string `json:"TokenValue"`
	StreamURL  string `json:"StreamUrl"`
}

func ssmStartSession(e *Emulator, c sessionCaller, body []byte) (any, *APIError) {
	var in startSessionIn
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if in.Target == "" {
		return nil, validationErr("null", "target", "Member must not be null")
	}
	if len(in.Target) > 400 {
		return nil, lenErr(in.Target, "target", 1, 400, len(in.Target))
	}
	if len(in.Reason) > 256 {
		return nil, lenErr(in.Reason, "reason", 1, 256, len(in.Reason))
	}
	inst := e.ec2.instances[in.Target]
	// The agent reaches sessions over its ssmmessages control channel: a role
	// without ssmmessages:CreateControlChannel/OpenControlChannel leaves the
	// agent Online (ec2messages) but not connected to Session Manager.
	if inst == nil || inst.State != "running" || !e.agentOnlineLocked(inst) ||
		!e.agentMayLocked(in.Target, "ssmmessages:CreateControlChannel", "*") || !e.agentMayLocked(in.Target, "ssmmessages:OpenControlChannel", "*") {
		return nil, apiErr(400, "TargetNotConnected", "%s is not connected.", in.Target)
	}
	docName := in.DocumentName
	if docName == "" {
		docName = defaultSessionDocument
	}
	sd, aerr := e.sessionDocumentLocked(docName, in.DocumentName == "")
	if aerr != nil {
		return nil, aerr
	}
	props, aerr := sd.resolve(in.Parameters)
	if aerr != nil {
		return nil, aerr
	}
	prefs := e.sessionPrefsLocked()
	if sd.sessionType == "Standard_Stream" && sd.prefs != nil {
		prefs = *sd.prefs
	}
	owner, name := e.sessionOwnerLocked(c.accessKey)
	s := &ssmSession{
		ID: name + "-" + randHex(17), Target: in.Target, DocumentName: in.DocumentName, Owner: owner,
		Reason: in.Reason, Status: sessConnecting, Start: time.Now().UTC(), Parameters: in.Parameters,
		token: randToken(), endpoint: c.endpoint, sessType: sd.sessionType, props: props, prefs: prefs,
	}
	if prefs.MaxSessionDuration > 0 {
		s.MaxDuration = fmt.Sprint(prefs.MaxSessionDuration)
	}
	s.ch = newDataChannel(e, s, inst.agentVersionOrDefault())
	e.ssm.sessions[s.ID] = s
	e.ssm.sessionOrder = append(e.ssm.sessionOrder, s)
	go s.ch.run()
	return sessionStartOut{SessionID: s.ID, TokenValue: s.token, StreamURL: s.streamURL()}, nil
}

func (s *ssmSession) streamURL() string {
	return s.endpoint + DataChannelPath + s.ID + "?role=publish_subscribe&cell-number=1"
}

func randToken() string { return randHex(64) }

type sessionIDIn struct {
	SessionID string `json:"SessionId"`
}

func (e *Emulator) sessionArgLocked(body []byte) (*ssmSession, string, *APIError) {
	var in sessionIDIn
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, "", aerr
	}
	if in.SessionID == "" {
		return nil, "", validationErr("null", "sessionId", "Member must not be null")
	}
	if len(in.SessionID) > 96 {
		return nil, "", lenErr(in.SessionID, "sessionId", 1, 96, len(in.SessionID))
	}
	return e.ssm.sessions[in.SessionID], in.SessionID, nil
}

func ssmResumeSession(e *Emulator, _ sessionCaller, body []byte) (any, *APIError) {
	s, id, aerr := e.sessionArgLocked(body)
	if aerr != nil {
		return nil, aerr
	}
	if s == nil {
		return nil, apiErr(400, "DoesNotExistException", "Session with id %s does not exist.", id)
	}
	if !s.active() {
		// The plugin treats an empty token as "the session timed out"
		// (sessionhandler.go ResumeSessionHandler).
		return sessionStartOut{SessionID: s.ID}, nil
	}
	s.token = randToken()
	return sessionStartOut{SessionID: s.ID, TokenValue: s.token, StreamURL: s.streamURL()}, nil
}

func ssmTerminateSession(e *Emulator, _ sessionCaller, body []byte) (any, *APIError) {
	s, id, aerr := e.sessionArgLocked(body)
	if aerr != nil {
		return nil, aerr
	}
	if s != nil {
		e.endSessionLocked(s, sessTerminated, "")
	}
	// GUESS: an unknown or ended session id is not an error (the call is idempotent).
	return sessionIDIn{SessionID: id}, nil
}

// endSessionLocked records the end of a session and closes its data channel.
func (e *Emulator) endSessionLocked(s *ssmSession, status, output string) {
	if !s.active() {
		return
	}
	s.Status, s.End = status, time.Now().UTC()
	s.token = ""
	s.ch.close(output)
}

type sessionOut struct {
	SessionID          string            `json:"SessionId"`
	Target             string            `json:"Target"`
	Status             string            `json:"Status"`
	StartDate          epochTime         `json:"StartDate"`
	EndDate            *epochTime        `json:"EndDate,omitempty"`
	DocumentName       string            `json:"DocumentName,omitempty"`
	Owner              string            `json:"Owner"`
	Reason             string            `json:"Reason,omitempty"`
	OutputURL          map[string]string `json:"OutputUrl,omitempty"`
	MaxSessionDuration string            `json:"MaxSessionDuration,omitempty"`
}

type sessionFilter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func ssmDescribeSessions(e *Emulator, _ sessionCaller, body []byte) (any, *APIError) {
	var in struct {
		State      string          `json:"State"`
		MaxResults *int            `json:"MaxResults"`
		NextToken  string          `json:"NextToken"`
		Filters    []sessionFilter `json:"Filters"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if in.State != "Active" && in.State != "History" {
		return nil, validationErr(in.State, "state", "Member must satisfy enum value set: [Active, History]")
	}
	if len(in.Filters) > 6 {
		return nil, validationErr(len(in.Filters), "filters", "Member must have length less than or equal to 6")
	}
	size, start, aerr := ssmPageParams(in.MaxResults, 1, 200, 200, "sessions", in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	var out []sessionOut
	for i := len(e.ssm.sessionOrder) - 1; i >= 0; i-- { // newest first
		s := e.ssm.sessionOrder[i]
		if (in.State == "Active") != s.active() {
			continue
		}
		ok, aerr := sessionMatches(s, in.Filters)
		if aerr != nil {
			return nil, aerr
		}
		if ok {
			out = append(out, s.describe())
		}
	}
	res := map[string]any{}
	if start > len(out) {
		start = len(out)
	}
	end := start + size
	if end < len(out) {
		res["NextToken"] = pageToken("sessions", end)
	} else {
		end = len(out)
	}
	page := out[start:end]
	if page == nil {
		page = []sessionOut{}
	}
	res["Sessions"] = page
	return res, nil
}

func sessionMatches(s *ssmSession, filters []sessionFilter) (bool, *APIError) {
	for _, f := range filters {
		switch f.Key {
		case "InvokedAfter", "InvokedBefore":
			t, err := time.Parse(time.RFC3339, f.Value)
			if err != nil {
				return false, apiErr(400, "InvalidFilterValue", "The filter value %s is not valid.", f.Value)
			}
			if (f.Key == "InvokedAfter" && s.Start.Before(t)) || (f.Key == "InvokedBefore" && s.Start.After(t)) {
				return false, nil
			}
		case "Target":
			if s.Target != f.Value {
				return false, nil
			}
		case "Owner":
			if s.Owner != f.Value {
				return false, nil
			}
		case "Status":
			if s.Status != f.Value {
				return false, nil
			}
		case "SessionId":
			if s.ID != f.Value {
				return false, nil
			}
		case "AccessType":
			if f.Value != "Standard" {
				return false, nil
			}
		default:
			return false, validationErr(f.Key, "filters.member.key", "Member must satisfy enum value set: [Status, Owner, InvokedBefore, InvokedAfter, SessionId, Target, AccessType]")
		}
	}
	return true, nil
}

func (s *ssmSession) describe() sessionOut {
	o := sessionOut{SessionID: s.ID, Target: s.Target, Status: s.Status, StartDate: epochTime(s.Start),
		DocumentName: s.DocumentName, Owner: s.Owner, Reason: s.Reason, MaxSessionDuration: s.MaxDuration}
	if o.DocumentName == "" {
		o.DocumentName = defaultSessionDocument
	}
	if !s.End.IsZero() {
		t := epochTime(s.End)
		o.EndDate = &t
	}
	if s.S3URL != "" || s.CWURL != "" {
		o.OutputURL = map[string]string{}
		if s.S3URL != "" {
			o.OutputURL["S3OutputUrl"] = s.S3URL
		}
		if s.CWURL != "" {
			o.OutputURL["CloudWatchOutputUrl"] = s.CWURL
		}
	}
	return o
}

func ssmGetConnectionStatus(e *Emulator, _ sessionCaller, body []byte) (any, *APIError) {
	var in struct {
		Target string `json:"Target"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if in.Target == "" {
		return nil, validationErr("null", "target", "Member must not be null")
	}
	status := "notconnected"
	if inst := e.ec2.instances[in.Target]; inst != nil && inst.State == "running" && e.agentOnlineLocked(inst) {
		status = "connected"
	}
	return map[string]string{"Target": in.Target, "Status": status}, nil
}

// sessionsOfLocked lists the sessions in start order (tests, admin).
func (e *Emulator) sessionsLocked() []*ssmSession {
	out := append([]*ssmSession(nil), e.ssm.sessionOrder...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// SessionInfo is a session as tests see it.
type SessionInfo struct {
	ID, Target, Status, DocumentName, Owner string
}

// Sessions lists every session of the emulator, oldest first.
func (e *Emulator) Sessions() []SessionInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []SessionInfo
	for _, s := range e.sessionsLocked() {
		out = append(out, SessionInfo{ID: s.ID, Target: s.Target, Status: s.Status, DocumentName: s.DocumentName, Owner: s.Owner})
	}
	return out
}

// sessionJSON is a small helper for JSON payloads the channel sends.
func sessionJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
