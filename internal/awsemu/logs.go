package awsemu

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CloudWatch Logs (awsJson1.1, X-Amz-Target Logs_20140328.<Op>): the part the
// command output needs. Timestamps are epoch milliseconds (JSON integers).

type logsState struct {
	groups map[string]*logGroup
	seq    int64 // event ids
}

type logGroup struct {
	name      string
	created   int64
	retention *int32
	kmsKeyID  string // the KMS key the group is encrypted with, if any
	streams   map[string]*logStream
}

type logStream struct {
	name    string
	created int64
	events  []logEvent // sorted by timestamp (stable)
	lastIng int64
}

type logEvent struct {
	ts, ingestion int64
	msg           string
	id            int64
}

func newLogsState() *logsState { return &logsState{groups: map[string]*logGroup{}} }

var logsOps = map[string]jsonHandler{}

func init() {
	logsOps["CreateLogGroup"] = logsCreateLogGroup
	logsOps["DeleteLogGroup"] = logsDeleteLogGroup
	logsOps["DescribeLogGroups"] = logsDescribeLogGroups
	logsOps["CreateLogStream"] = logsCreateLogStream
	logsOps["DeleteLogStream"] = logsDeleteLogStream
	logsOps["DescribeLogStreams"] = logsDescribeLogStreams
	logsOps["PutLogEvents"] = logsPutLogEvents
	logsOps["GetLogEvents"] = logsGetLogEvents
	logsOps["FilterLogEvents"] = logsFilterLogEvents
	logsOps["PutRetentionPolicy"] = logsPutRetentionPolicy
}

// logsPutLocked appends a message to a log stream, creating group and stream as the
// agent does.
func (e *Emulator) logsPutLocked(group, stream, message string) {
	now := time.Now().UnixMilli()
	g := e.logs.groups[group]
	if g == nil {
		g = &logGroup{name: group, created: now, streams: map[string]*logStream{}}
		e.logs.groups[group] = g
	}
	s := g.streams[stream]
	if s == nil {
		s = &logStream{name: stream, created: now}
		g.streams[stream] = s
	}
	e.logs.seq++
	s.append(logEvent{ts: now, ingestion: now, msg: message, id: e.logs.seq})
}

func (s *logStream) append(ev logEvent) {
	i := sort.Search(len(s.events), func(i int) bool { return s.events[i].ts > ev.ts })
	s.events = append(s.events, logEvent{})
	copy(s.events[i+1:], s.events[i:])
	s.events[i] = ev
	s.lastIng = ev.ingestion
}

var (
	logGroupNameRE  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)
	logStreamNameRE = regexp.MustCompile(`^[^:*]{1,512}$`)
)

func logsInvalid(format string, args ...any) *APIError {
	return apiErr(400, "InvalidParameterException", format, args...)
}

func errNoLogGroup() *APIError {
	return apiErr(400, "ResourceNotFoundException", "The specified log group does not exist.")
}

func errNoLogStream() *APIError {
	return apiErr(400, "ResourceNotFoundException", "The specified log stream does not exist.")
}

func (e *Emulator) logGroupARN(name string) string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", e.partition(), e.opts.Region, e.opts.AccountID, name)
}

// logsGroupLocked resolves logGroupName or logGroupIdentifier (a name or an ARN).
func (e *Emulator) logsGroupLocked(name, ident string) (*logGroup, *APIError) {
	if name == "" && ident != "" {
		name = strings.TrimSuffix(ident, ":*")
		if i := strings.Index(name, ":log-group:"); i >= 0 {
			name = name[i+len(":log-group:"):]
		}
	}
	if name == "" {
		return nil, logsInvalid("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null")
	}
	g := e.logs.groups[name]
	if g == nil {
		return nil, errNoLogGroup()
	}
	return g, nil
}

func checkGroupName(name string) *APIError {
	if !logGroupNameRE.MatchString(name) {
		return logsInvalid("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
	}
	return nil
}

func checkStreamName(name string) *APIError {
	if !logStreamNameRE.MatchString(name) {
		return logsInvalid("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	return nil
}

func logsCreateLogGroup(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
		KmsKeyID     string `json:"kmsKeyId"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkGroupName(in.LogGroupName); aerr != nil {
		return nil, aerr
	}
	if e.logs.groups[in.LogGroupName] != nil {
		return nil, apiErr(400, "ResourceAlreadyExistsException", "The specified log group already exists")
	}
	e.logs.groups[in.LogGroupName] = &logGroup{name: in.LogGroupName, created: time.Now().UnixMilli(), streams: map[string]*logStream{}, kmsKeyID: in.KmsKeyID}
	return nil, nil
}

func logsDeleteLogGroup(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if _, aerr := e.logsGroupLocked(in.LogGroupName, ""); aerr != nil {
		return nil, aerr
	}
	delete(e.logs.groups, in.LogGroupName)
	return nil, nil
}

func logsPutRetentionPolicy(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays int32  `json:"retentionInDays"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	g, aerr := e.logsGroupLocked(in.LogGroupName, "")
	if aerr != nil {
		return nil, aerr
	}
	switch in.RetentionInDays {
	case 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653:
	default:
		return nil, logsInvalid("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set", in.RetentionInDays)
	}
	r := in.RetentionInDays
	g.retention = &r
	return nil, nil
}

// logsPageToken encodes an opaque offset for nextToken.
func logsPageToken(kind string, off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.Itoa(off)))
}

func parseLogsPageToken(kind, tok string) (int, *APIError) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	k, v, _ := strings.Cut(string(raw), ":")
	n, err2 := strconv.Atoi(v)
	if err != nil || err2 != nil || k != kind || n < 0 {
		return 0, logsInvalid("The specified nextToken is invalid.")
	}
	return n, nil
}

func checkLimit(limit *int32, upper int32) (int, *APIError) {
	if limit == nil {
		return int(upper), nil
	}
	if *limit < 1 || *limit > upper {
		return 0, logsInvalid("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to %d", *limit, upper)
	}
	return int(*limit), nil
}

func logsDescribeLogGroups(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupNamePrefix  string `json:"logGroupNamePrefix"`
		LogGroupNamePattern string `json:"logGroupNamePattern"`
		NextToken           string `json:"nextToken"`
		Limit               *int32 `json:"limit"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if in.LogGroupNamePrefix != "" && in.LogGroupNamePattern != "" {
		return nil, logsInvalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	limit, aerr := checkLimit(in.Limit, 50)
	if aerr != nil {
		return nil, aerr
	}
	off, aerr := parseLogsPageToken("groups", in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	var names []string
	for _, n := range sortedKeys(e.logs.groups) {
		if strings.HasPrefix(n, in.LogGroupNamePrefix) && strings.Contains(strings.ToLower(n), strings.ToLower(in.LogGroupNamePattern)) {
			names = append(names, n)
		}
	}
	type group struct {
		LogGroupName      string `json:"logGroupName"`
		CreationTime      int64  `json:"creationTime"`
		RetentionInDays   *int32 `json:"retentionInDays,omitempty"`
		MetricFilterCount int    `json:"metricFilterCount"`
		Arn               string `json:"arn"`
		LogGroupArn       string `json:"logGroupArn"`
		StoredBytes       int64  `json:"storedBytes"`
		LogGroupClass     string `json:"logGroupClass"`
		KmsKeyID          string `json:"kmsKeyId,omitempty"`
	}
	out := struct {
		LogGroups []group `json:"logGroups"`
		NextToken string  `json:"nextToken,omitempty"`
	}{LogGroups: []group{}}
	for i := off; i < len(names); i++ {
		if len(out.LogGroups) == limit {
			out.NextToken = logsPageToken("groups", i)
			break
		}
		g := e.logs.groups[names[i]]
		var stored int64
		for _, s := range g.streams {
			for _, ev := range s.events {
				stored += int64(len(ev.msg))
			}
		}
		arn := e.logGroupARN(g.name)
		out.LogGroups = append(out.LogGroups, group{LogGroupName: g.name, CreationTime: g.created, RetentionInDays: g.retention,
			Arn: arn + ":*", LogGroupArn: arn, StoredBytes: stored, LogGroupClass: "STANDARD", KmsKeyID: g.kmsKeyID})
	}
	return out, nil
}

func logsCreateLogStream(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkStreamName(in.LogStreamName); aerr != nil {
		return nil, aerr
	}
	g, aerr := e.logsGroupLocked(in.LogGroupName, "")
	if aerr != nil {
		return nil, aerr
	}
	if g.streams[in.LogStreamName] != nil {
		return nil, apiErr(400, "ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	g.streams[in.LogStreamName] = &logStream{name: in.LogStreamName, created: time.Now().UnixMilli()}
	return nil, nil
}

func logsDeleteLogStream(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	g, aerr := e.logsGroupLocked(in.LogGroupName, "")
	if aerr != nil {
		return nil, aerr
	}
	if g.streams[in.LogStreamName] == nil {
		return nil, errNoLogStream()
	}
	delete(g.streams, in.LogStreamName)
	return nil, nil
}

func logsDescribeLogStreams(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogGroupIdentifier  string `json:"logGroupIdentifier"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		OrderBy             string `json:"orderBy"`
		Descending          bool   `json:"descending"`
		NextToken           string `json:"nextToken"`
		Limit               *int32 `json:"limit"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if in.LogGroupName != "" && in.LogGroupIdentifier != "" {
		return nil, logsInvalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	}
	switch in.OrderBy {
	case "", "LogStreamName", "LastEventTime":
	default:
		return nil, logsInvalid("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]", in.OrderBy)
	}
	if in.OrderBy == "LastEventTime" && in.LogStreamNamePrefix != "" {
		return nil, logsInvalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	limit, aerr := checkLimit(in.Limit, 50)
	if aerr != nil {
		return nil, aerr
	}
	off, aerr := parseLogsPageToken("streams", in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	g, aerr := e.logsGroupLocked(in.LogGroupName, in.LogGroupIdentifier)
	if aerr != nil {
		return nil, aerr
	}
	var streams []*logStream
	for _, n := range sortedKeys(g.streams) {
		if strings.HasPrefix(n, in.LogStreamNamePrefix) {
			streams = append(streams, g.streams[n])
		}
	}
	lastTS := func(s *logStream) int64 {
		if len(s.events) == 0 {
			return 0
		}
		return s.events[len(s.events)-1].ts
	}
	if in.OrderBy == "LastEventTime" {
		sort.SliceStable(streams, func(i, j int) bool { return lastTS(streams[i]) < lastTS(streams[j]) })
	}
	if in.Descending {
		for i, j := 0, len(streams)-1; i < j; i, j = i+1, j-1 {
			streams[i], streams[j] = streams[j], streams[i]
		}
	}
	type stream struct {
		LogStreamName       string `json:"logStreamName"`
		CreationTime        int64  `json:"creationTime"`
		FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
		LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
		LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
		UploadSequenceToken string `json:"uploadSequenceToken"`
		Arn                 string `json:"arn"`
		StoredBytes         int64  `json:"storedBytes"`
	}
	out := struct {
		LogStreams []stream `json:"logStreams"`
		NextToken  string   `json:"nextToken,omitempty"`
	}{LogStreams: []stream{}}
	for i := off; i < len(streams); i++ {
		if len(out.LogStreams) == limit {
			out.NextToken = logsPageToken("streams", i)
			break
		}
		s := streams[i]
		st := stream{LogStreamName: s.name, CreationTime: s.created, UploadSequenceToken: strconv.Itoa(len(s.events) + 1),
			Arn: e.logGroupARN(g.name) + ":log-stream:" + s.name}
		if n := len(s.events); n > 0 {
			first, last, ing := s.events[0].ts, s.events[n-1].ts, s.lastIng
			st.FirstEventTimestamp, st.LastEventTimestamp, st.LastIngestionTime = &first, &last, &ing
		}
		out.LogStreams = append(out.LogStreams, st)
	}
	return out, nil
}

func logsPutLogEvents(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
		LogEvents     []struct {
			Timestamp *int64  `json:"timestamp"`
			Message   *string `json:"message"`
		} `json:"logEvents"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if len(in.LogEvents) == 0 || len(in.LogEvents) > 10000 {
		return nil, logsInvalid("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and 10000")
	}
	g, aerr := e.logsGroupLocked(in.LogGroupName, "")
	if aerr != nil {
		return nil, aerr
	}
	s := g.streams[in.LogStreamName]
	if s == nil {
		return nil, errNoLogStream()
	}
	size := 0
	for i, ev := range in.LogEvents {
		if ev.Timestamp == nil || ev.Message == nil {
			return nil, logsInvalid("1 validation error detected: Value null at 'logEvents.%d.member.timestamp' failed to satisfy constraint: Member must not be null", i+1)
		}
		if *ev.Message == "" {
			return nil, logsInvalid("1 validation error detected: Value '' at 'logEvents.%d.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1", i+1)
		}
		if i > 0 && *ev.Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, logsInvalid("Log events in a single PutLogEvents request must be in chronological order.")
		}
		size += len(*ev.Message) + 26
	}
	if size > 1048576 {
		return nil, logsInvalid("Upload too large: %d bytes exceeds limit of 1048576", size)
	}
	first, last := *in.LogEvents[0].Timestamp, *in.LogEvents[len(in.LogEvents)-1].Timestamp
	if last-first > 24*time.Hour.Milliseconds() {
		return nil, logsInvalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	now := time.Now()
	tooOld := now.Add(-14 * 24 * time.Hour).UnixMilli()
	if g.retention != nil {
		tooOld = now.Add(-time.Duration(*g.retention) * 24 * time.Hour).UnixMilli()
	}
	tooNew := now.Add(2 * time.Hour).UnixMilli()
	type rejected struct {
		TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
		TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	}
	var rej rejected
	for i, ev := range in.LogEvents {
		switch {
		case *ev.Timestamp < tooOld:
			i := i
			rej.TooOldLogEventEndIndex = &i
			continue
		case *ev.Timestamp > tooNew:
			if rej.TooNewLogEventStartIndex == nil {
				i := i
				rej.TooNewLogEventStartIndex = &i
			}
			continue
		}
		e.logs.seq++
		s.append(logEvent{ts: *ev.Timestamp, ingestion: now.UnixMilli(), msg: *ev.Message, id: e.logs.seq})
	}
	out := struct {
		NextSequenceToken     string    `json:"nextSequenceToken"`
		RejectedLogEventsInfo *rejected `json:"rejectedLogEventsInfo,omitempty"`
	}{NextSequenceToken: strconv.Itoa(len(s.events) + 1)}
	if rej.TooOldLogEventEndIndex != nil || rej.TooNewLogEventStartIndex != nil {
		out.RejectedLogEventsInfo = &rej
	}
	return out, nil
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// inTimeRange applies startTime (inclusive) and endTime (exclusive).
func inTimeRange(ts int64, start, end *int64) bool {
	return (start == nil || ts >= *start) && (end == nil || ts < *end)
}

// GetLogEvents tokens are "f/<pos>" and "b/<pos>" (56 digits, like AWS's), a
// position in the stream's time-filtered event list. At the end of the stream the
// forward token given is returned unchanged, which is how callers detect the end.
func logsGetLogEvents(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		StartTime          *int64 `json:"startTime"`
		EndTime            *int64 `json:"endTime"`
		NextToken          string `json:"nextToken"`
		Limit              *int32 `json:"limit"`
		StartFromHead      bool   `json:"startFromHead"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	limit, aerr := checkLimit(in.Limit, 10000)
	if aerr != nil {
		return nil, aerr
	}
	g, aerr := e.logsGroupLocked(in.LogGroupName, in.LogGroupIdentifier)
	if aerr != nil {
		return nil, aerr
	}
	s := g.streams[in.LogStreamName]
	if s == nil {
		return nil, errNoLogStream()
	}
	var evs []logEvent
	for _, ev := range s.events {
		if inTimeRange(ev.ts, in.StartTime, in.EndTime) {
			evs = append(evs, ev)
		}
	}
	forward := in.StartFromHead
	var start int
	switch {
	case in.NextToken != "":
		dir, pos, ok := strings.Cut(in.NextToken, "/")
		n, err := strconv.Atoi(pos)
		if !ok || err != nil || n < 0 || (dir != "f" && dir != "b") {
			return nil, logsInvalid("The specified nextToken is invalid.")
		}
		if n > len(evs) {
			n = len(evs)
		}
		forward = dir == "f"
		start = n
	case forward:
		start = 0
	default:
		start = len(evs)
	}
	var from, to int
	if forward {
		from, to = start, min(start+limit, len(evs))
	} else {
		from, to = max(start-limit, 0), start
	}
	// Like AWS, a page also stops at 1 MB of messages.
	bytes := 0
	for i := from; i < to; i++ {
		bytes += len(evs[i].msg) + 26
		if bytes > 1048576 {
			if forward {
				to = i
			} else {
				from = i + 1
			}
			break
		}
	}
	out := struct {
		Events            []outputLogEvent `json:"events"`
		NextForwardToken  string           `json:"nextForwardToken"`
		NextBackwardToken string           `json:"nextBackwardToken"`
	}{Events: []outputLogEvent{}, NextForwardToken: fmt.Sprintf("f/%056d", to), NextBackwardToken: fmt.Sprintf("b/%056d", from)}
	for _, ev := range evs[from:to] {
		out.Events = append(out.Events, outputLogEvent{Timestamp: ev.ts, Message: ev.msg, IngestionTime: ev.ingestion})
	}
	return out, nil
}

// logsMatchPattern implements the simple term syntax of filter patterns: every
// space-separated term (or "quoted phrase") must occur, "-term" must not.
// GUESS: JSON and space-delimited patterns ({ $.x = ... }, [a, b]) are not supported
// and match everything.
func logsMatchPattern(pattern, msg string) bool {
	pattern = strings.TrimSpace(pattern)
	if pattern == "" || strings.HasPrefix(pattern, "{") || strings.HasPrefix(pattern, "[") {
		return true
	}
	var terms []string
	for pattern != "" {
		if pattern[0] == '"' {
			end := strings.IndexByte(pattern[1:], '"')
			if end < 0 {
				terms = append(terms, pattern[1:])
				break
			}
			terms = append(terms, pattern[1:end+1])
			pattern = strings.TrimSpace(pattern[end+2:])
			continue
		}
		t, rest, _ := strings.Cut(pattern, " ")
		terms = append(terms, t)
		pattern = strings.TrimSpace(rest)
	}
	for _, t := range terms {
		if neg, ok := strings.CutPrefix(t, "-"); ok && neg != "" {
			if strings.Contains(msg, neg) {
				return false
			}
		} else if !strings.Contains(msg, t) {
			return false
		}
	}
	return true
}

func logsFilterLogEvents(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		LogGroupName        string   `json:"logGroupName"`
		LogGroupIdentifier  string   `json:"logGroupIdentifier"`
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		FilterPattern       string   `json:"filterPattern"`
		NextToken           string   `json:"nextToken"`
		Limit               *int32   `json:"limit"`
	}
	if aerr := decodeJSON(body, &in); aerr != nil {
		return nil, aerr
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, logsInvalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	limit, aerr := checkLimit(in.Limit, 10000)
	if aerr != nil {
		return nil, aerr
	}
	off, aerr := parseLogsPageToken("filter", in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	g, aerr := e.logsGroupLocked(in.LogGroupName, in.LogGroupIdentifier)
	if aerr != nil {
		return nil, aerr
	}
	type filtered struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventID       string `json:"eventId"`
	}
	var all []filtered
	want := map[string]bool{}
	for _, n := range in.LogStreamNames {
		want[n] = true
	}
	for _, n := range sortedKeys(g.streams) {
		if (len(want) > 0 && !want[n]) || !strings.HasPrefix(n, in.LogStreamNamePrefix) {
			continue
		}
		for _, ev := range g.streams[n].events {
			if inTimeRange(ev.ts, in.StartTime, in.EndTime) && logsMatchPattern(in.FilterPattern, ev.msg) {
				all = append(all, filtered{LogStreamName: n, Timestamp: ev.ts, Message: ev.msg, IngestionTime: ev.ingestion,
					EventID: fmt.Sprintf("%056d", ev.id)})
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Timestamp < all[j].Timestamp })
	out := struct {
		Events    []filtered `json:"events"`
		NextToken string     `json:"nextToken,omitempty"`
	}{Events: []filtered{}}
	for i := off; i < len(all); i++ {
		if len(out.Events) == limit {
			out.NextToken = logsPageToken("filter", i)
			break
		}
		out.Events = append(out.Events, all[i])
	}
	return out, nil
}
