package awsemu

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIError is an error in the shape every protocol can render.
type APIError struct {
	Code    string
	Message string
	Status  int // HTTP status; 400 when zero
	// Fields holds extra members for JSON error bodies.
	Fields map[string]any
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, args ...any) *APIError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &APIError{Code: code, Message: msg, Status: status}
}

// protocol is a service's wire protocol.
type protocol int

const (
	protoJSON  protocol = iota // awsJson1.1 (SSM, CloudWatch Logs)
	protoQuery                 // awsQuery (IAM, STS)
	protoEC2                   // ec2Query
	protoREST                  // restXml (S3)
)

// queryHandler serves one awsQuery/ec2Query action. It is called with e.mu held and
// returns a value encoded as the <Action>Result (query) or <Action>Response (ec2)
// element, or nil for an empty result.
type queryHandler func(e *Emulator, p url.Values) (any, *APIError)

// jsonHandler serves one awsJson1.1 operation with e.mu held; the result is
// JSON-encoded (use epochTime for timestamps).
type jsonHandler func(e *Emulator, body []byte) (any, *APIError)

type serviceDef struct {
	name     string
	proto    protocol
	xmlns    string
	query    map[string]queryHandler
	json     map[string]jsonHandler
	throttle *APIError
	fault    *APIError
}

func (e *Emulator) services() map[string]*serviceDef {
	return map[string]*serviceDef{
		"iam": {name: "iam", proto: protoQuery, xmlns: "https://iam.amazonaws.com/doc/2010-05-08/", query: iamOps,
			throttle: apiErr(400, "Throttling", "Rate exceeded"), fault: apiErr(500, "ServiceFailure", "We encountered an internal error. Please try again.")},
		"sts": {name: "sts", proto: protoQuery, xmlns: "https://sts.amazonaws.com/doc/2011-06-15/", query: stsOps,
			throttle: apiErr(400, "Throttling", "Rate exceeded"), fault: apiErr(500, "InternalFailure", "An internal error occurred.")},
		"ec2": {name: "ec2", proto: protoEC2, xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/", query: ec2Ops,
			throttle: apiErr(503, "RequestLimitExceeded", "Request limit exceeded."), fault: apiErr(500, "InternalError", "An internal error has occurred")},
		"ssm": {name: "ssm", proto: protoJSON, json: ssmOps,
			throttle: apiErr(400, "ThrottlingException", "Rate exceeded"), fault: apiErr(500, "InternalServerError", "An internal error occurred.")},
		"logs": {name: "logs", proto: protoJSON, json: logsOps,
			throttle: apiErr(400, "ThrottlingException", "Rate exceeded"), fault: apiErr(500, "ServiceUnavailableException", "The service cannot complete the request.")},
		"s3": {name: "s3", proto: protoREST,
			throttle: apiErr(503, "SlowDown", "Please reduce your request rate."), fault: apiErr(500, "InternalError", "We encountered an internal error. Please try again.")},
	}
}

const (
	maxBodyDefault = 2 << 20  // 2 MiB for API calls
	maxBodyS3      = 64 << 20 // 64 MiB for S3 objects
)

// ServeHTTP routes a request by the SigV4 credential scope's service name.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		e.serveAdmin(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, DataChannelPath) {
		e.serveDataChannel(w, r) // Session Manager stream URLs (ssm_session_channel.go)
		return
	}
	reqID := e.requestID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.Header().Set("x-amz-request-id", reqID)

	limit := int64(maxBodyS3)
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	svcName, authErr := e.authenticate(r, body)
	if svcName == "" {
		svcName = guessService(r, body)
	}
	svcs := e.services()
	svc := svcs[svcName]
	if svc == nil {
		svc = svcs["s3"] // unknown scope: answer in the generic XML shape
	}
	if authErr != nil {
		authErr = protocolAuthError(svc.name, authErr)
		e.count("unknown", "Unauthenticated")
		e.writeError(w, r, svc, authErr)
		return
	}
	if svc.proto != protoREST && int64(len(body)) > maxBodyDefault {
		e.count(svc.name, "Oversized")
		e.writeError(w, r, svc, apiErr(413, "RequestEntityTooLarge", "Request body exceeds %d bytes", maxBodyDefault))
		return
	}
	if int64(len(body)) > limit {
		e.writeError(w, r, svc, apiErr(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"))
		return
	}

	op, params, perr := parseOperation(svc, r, body)
	if perr != nil {
		e.count(svc.name, "Invalid")
		e.writeError(w, r, svc, perr)
		return
	}
	e.count(svc.name, op)
	handled, lose := e.injectFault(w, r, svc, op)
	if handled {
		return
	}
	if lose {
		// The request is handled in full; its response never reaches the client.
		conn := w
		w = &lostResponseWriter{header: http.Header{}}
		defer hangUp(conn)
	}
	if aerr := e.authorize(r, svc, op, params, body); aerr != nil {
		e.count(svc.name, op+"#denied")
		e.writeError(w, r, svc, aerr)
		return
	}

	switch svc.proto {
	case protoREST:
		e.serveS3(w, r, body, op)
	case protoJSON:
		h := svc.json[op]
		if sh, ok := sessionJSONHandler(op, r); ok && svc.name == "ssm" {
			h = sh // session operations need the caller and the endpoint
		}
		if h == nil {
			e.writeError(w, r, svc, apiErr(400, "UnknownOperationException", ""))
			return
		}
		e.mu.Lock()
		res, aerr := safeJSON(h, e, body)
		e.mu.Unlock()
		if aerr != nil {
			e.writeError(w, r, svc, aerr)
			return
		}
		if res == nil {
			res = struct{}{}
		}
		buf, err := json.Marshal(res)
		if err != nil {
			e.writeError(w, r, svc, apiErr(500, "InternalServerError", "%v", err))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
		_, _ = w.Write(buf)
	default:
		h := svc.query[op]
		if h == nil {
			code := "InvalidAction"
			e.writeError(w, r, svc, apiErr(400, code, "The action %s is not valid for this web service.", op))
			return
		}
		// The caller's access key (STS GetCallerIdentity, AssumeRole): set by the
		// server, never taken from the request.
		params.Del(callerKeyParam)
		if sr, _ := parseSigV4(r); sr != nil {
			params.Set(callerKeyParam, sr.accessKey)
		}
		e.mu.Lock()
		res, aerr := safeQuery(h, e, params)
		e.mu.Unlock()
		if aerr != nil {
			e.writeError(w, r, svc, aerr)
			return
		}
		e.writeQueryResult(w, svc, op, reqID, res)
	}
}

// safeJSON and safeQuery turn a handler panic into an InternalError so that bad
// input can never take the server down; state mutations are done before any
// response is written, so a panicking handler leaves no half-written response.
func safeJSON(h jsonHandler, e *Emulator, body []byte) (res any, aerr *APIError) {
	defer func() {
		if p := recover(); p != nil {
			res, aerr = nil, apiErr(500, "InternalServerError", "internal error: %v", p)
		}
	}()
	return h(e, body)
}

func safeQuery(h queryHandler, e *Emulator, p url.Values) (res any, aerr *APIError) {
	defer func() {
		if p := recover(); p != nil {
			res, aerr = nil, apiErr(500, "InternalFailure", "internal error: %v", p)
		}
	}()
	return h(e, p)
}

func (e *Emulator) count(svc, op string) {
	e.mu.Lock()
	e.calls[svc+"."+op]++
	e.mu.Unlock()
}

func (e *Emulator) requestID() string {
	e.mu.Lock()
	n := e.nextSeq()
	e.mu.Unlock()
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(n), n)
}

// parseOperation finds the operation name and, for query protocols, the parameters.
func parseOperation(svc *serviceDef, r *http.Request, body []byte) (string, url.Values, *APIError) {
	switch svc.proto {
	case protoJSON:
		target := r.Header.Get("X-Amz-Target")
		i := strings.LastIndex(target, ".")
		if r.Method != http.MethodPost || i < 0 {
			return "", nil, apiErr(400, "UnknownOperationException", "")
		}
		if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
			return target[i+1:], nil, apiErr(400, "SerializationException", "Start of structure or map found where not expected.")
		}
		return target[i+1:], nil, nil
	case protoREST:
		return s3Operation(r), nil, nil
	default:
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return "", nil, apiErr(400, "MalformedQueryString", "The query string could not be parsed.")
		}
		for k, v := range r.URL.Query() {
			if !strings.HasPrefix(k, "X-Amz-") {
				vals[k] = v
			}
		}
		action := vals.Get("Action")
		if action == "" {
			return "", nil, apiErr(400, "MissingAction", "The request must contain the parameter Action.")
		}
		return action, vals, nil
	}
}

// s3Operation names a path-style S3 request.
func s3Operation(r *http.Request) string {
	bucket, key := s3BucketKey(r)
	q := r.URL.Query()
	switch {
	case bucket == "":
		return "ListBuckets"
	case key == "":
		switch r.Method {
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodGet:
			if _, ok := q["location"]; ok {
				return "GetBucketLocation"
			}
			if q.Get("list-type") == "2" {
				return "ListObjectsV2"
			}
			return "ListObjects"
		case http.MethodPost:
			if _, ok := q["delete"]; ok {
				return "DeleteObjects"
			}
		}
	default:
		// Multipart uploads (S3 API Reference: CreateMultipartUpload, UploadPart,
		// CompleteMultipartUpload, AbortMultipartUpload, ListParts).
		_, uploads := q["uploads"]
		uploadID := q.Get("uploadId")
		switch {
		case r.Method == http.MethodPost && uploads:
			return "CreateMultipartUpload"
		case r.Method == http.MethodPut && uploadID != "" && r.Header.Get("X-Amz-Copy-Source") == "":
			return "UploadPart"
		case r.Method == http.MethodPost && uploadID != "":
			return "CompleteMultipartUpload"
		case r.Method == http.MethodDelete && uploadID != "":
			return "AbortMultipartUpload"
		case r.Method == http.MethodGet && uploadID != "":
			return "ListParts"
		}
		switch r.Method {
		case http.MethodPut:
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				return "CopyObject"
			}
			return "PutObject"
		case http.MethodGet:
			return "GetObject"
		case http.MethodHead:
			return "HeadObject"
		case http.MethodDelete:
			return "DeleteObject"
		}
	}
	return "Unsupported" + r.Method
}

// s3BucketKey splits a path-style request path into bucket and key.
func s3BucketKey(r *http.Request) (string, string) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(p, "/")
	return bucket, key
}

// guessService routes a request that carries no SigV4 scope (only reached when
// verification is off or the request is rejected anyway).
func guessService(r *http.Request, body []byte) string {
	t := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(t, "AmazonSSM."):
		return "ssm"
	case strings.HasPrefix(t, "Logs_"):
		return "logs"
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		vals, _ := url.ParseQuery(string(body))
		switch vals.Get("Version") {
		case "2016-11-15":
			return "ec2"
		case "2011-06-15":
			return "sts"
		}
		return "iam"
	}
	return "s3"
}

// injectFault applies the configured fault for this operation, if it fires.
// handled means the fault answered (or dropped) the request; lose means the
// request is to be handled and its response then lost (see hangUp).
func (e *Emulator) injectFault(w http.ResponseWriter, r *http.Request, svc *serviceDef, op string) (handled, lose bool) {
	e.mu.Lock()
	f, ok := e.faultForLocked(svc.name, op)
	var roll [4]float64
	for i := range roll[:3] {
		roll[i] = e.rng.Float64()
	}
	// Drawn only when the fault is configured, so that seeded sequences of
	// the other fault kinds stay what they were before this kind existed.
	roll[3] = 1
	if ok && f.LostResponseRate > 0 {
		roll[3] = e.rng.Float64()
	}
	e.mu.Unlock()
	if !ok {
		return false, false
	}
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	switch {
	case roll[0] < f.ResetRate:
		e.count(svc.name, op+"#reset")
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
				return true, false
			}
		}
		e.writeError(w, r, svc, svc.fault)
		return true, false
	case roll[1] < f.ThrottleRate:
		e.count(svc.name, op+"#throttled")
		e.writeError(w, r, svc, svc.throttle)
		return true, false
	case roll[2] < f.ServerErrorRate:
		e.count(svc.name, op+"#5xx")
		e.writeError(w, r, svc, svc.fault)
		return true, false
	case roll[3] < f.LostResponseRate:
		if _, ok := w.(http.Hijacker); ok {
			e.count(svc.name, op+"#lost")
			return false, true
		}
	}
	return false, false
}

// lostResponseWriter swallows the response of a request whose response is lost.
type lostResponseWriter struct{ header http.Header }

func (w *lostResponseWriter) Header() http.Header         { return w.header }
func (w *lostResponseWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *lostResponseWriter) WriteHeader(int)             {}

// hangUp closes the client's connection without a byte of response, as when a
// response is lost on the network after the service acted: the client sees the
// connection end (EOF) and cannot tell whether the request was handled.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	if conn, _, err := hj.Hijack(); err == nil {
		_ = conn.Close()
	}
}

// writeError renders err in the service's protocol.
func (e *Emulator) writeError(w http.ResponseWriter, r *http.Request, svc *serviceDef, err *APIError) {
	status := err.Status
	if status == 0 {
		status = 400
	}
	reqID := w.Header().Get("X-Amzn-Requestid")
	var buf []byte
	switch svc.proto {
	case protoJSON:
		m := map[string]any{"__type": err.Code}
		if err.Message != "" {
			m["message"] = err.Message
		}
		for k, v := range err.Fields {
			m[k] = v
		}
		buf, _ = json.Marshal(m)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", err.Code)
	case protoQuery:
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		buf = []byte(fmt.Sprintf(`<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			svc.xmlns, typ, xmlEscape(err.Code), xmlEscape(err.Message), reqID))
		w.Header().Set("Content-Type", "text/xml")
	case protoEC2:
		buf = []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
			xmlEscape(err.Code), xmlEscape(err.Message), reqID))
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	default:
		if r.Method != http.MethodHead {
			buf = []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId><HostId>awsemu</HostId></Error>`,
				xmlEscape(err.Code), xmlEscape(err.Message), reqID))
			w.Header().Set("Content-Type", "application/xml")
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}

func (e *Emulator) writeQueryResult(w http.ResponseWriter, svc *serviceDef, op, reqID string, res any) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	enc := xml.NewEncoder(&b)
	if svc.proto == protoEC2 {
		start := xml.StartElement{Name: xml.Name{Local: op + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: svc.xmlns}}}
		if res == nil {
			res = struct{}{}
		}
		_ = enc.EncodeElement(res, start)
	} else {
		_ = enc.EncodeToken(xml.StartElement{Name: xml.Name{Local: op + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: svc.xmlns}}})
		if res != nil {
			_ = enc.EncodeElement(res, xml.StartElement{Name: xml.Name{Local: op + "Result"}})
		}
		_ = enc.EncodeElement(struct {
			RequestID string `xml:"RequestId"`
		}{reqID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
		_ = enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: op + "Response"}})
	}
	_ = enc.Flush()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	_, _ = w.Write(b.Bytes())
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// epochTime marshals as epoch seconds (a JSON number), as awsJson1.1 requires.
type epochTime time.Time

func (t epochTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("0"), nil
	}
	v := float64(tt.UnixMilli()) / 1000
	return []byte(strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)), nil
}

// isoTime formats a time as ISO 8601 with milliseconds (query protocols, and
// GetCommandInvocation's string timestamps).
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// queryList reads a flat awsQuery/ec2Query list: prefix.1, prefix.2, ...
// (IAM lists use "prefix.member.N": pass "prefix.member").
func queryList(p url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		k := prefix + "." + strconv.Itoa(i)
		if _, ok := p[k]; !ok {
			return out
		}
		out = append(out, p.Get(k))
	}
}

// queryFilters reads EC2 filters: Filter.N.Name / Filter.N.Value.M.
func queryFilters(p url.Values) map[string][]string {
	out := map[string][]string{}
	for i := 1; ; i++ {
		name := p.Get("Filter." + strconv.Itoa(i) + ".Name")
		if name == "" {
			return out
		}
		out[name] = append(out[name], queryList(p, "Filter."+strconv.Itoa(i)+".Value")...)
	}
}

// decodeJSON decodes an awsJson1.1 body, reporting a SerializationException on type
// mismatches (as the real services do).
func decodeJSON(body []byte, v any) *APIError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apiErr(400, "SerializationException", "%v", err)
	}
	return nil
}
