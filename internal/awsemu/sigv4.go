package awsemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const sigv4Algorithm = "AWS4-HMAC-SHA256"

// sigv4Request is what a SigV4 signature covers, from a header or a presigned URL.
type sigv4Request struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
	amzDate                          string
	token                            string
	presigned                        bool
	expires                          time.Duration
}

// authenticate verifies the request's SigV4 signature and returns the credential
// scope's service name. The service is returned even when verification fails, so the
// error can be rendered in the right protocol.
func (e *Emulator) authenticate(r *http.Request, body []byte) (string, *APIError) {
	if isS3SigV2Query(r) { // presigned by AWS CLI v1 (s3_sigv2.go)
		if e.opts.DisableSigV4 {
			return "s3", nil
		}
		return "s3", e.verifyS3SigV2Query(r)
	}
	sr, perr := parseSigV4(r)
	if sr == nil {
		if e.opts.DisableSigV4 {
			return "", nil
		}
		if perr != nil {
			return "", perr
		}
		if guessService(r, body) == "s3" {
			// S3 treats an unsigned request as anonymous: private buckets deny it.
			return "", apiErr(403, "AccessDenied", "Access Denied")
		}
		return "", apiErr(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	if perr != nil {
		if e.opts.DisableSigV4 {
			return sr.service, nil
		}
		return sr.service, perr
	}
	if e.opts.DisableSigV4 {
		return sr.service, nil
	}
	e.mu.Lock()
	cred, ok := e.creds[sr.accessKey]
	e.mu.Unlock()
	if !ok {
		return sr.service, invalidKeyError(sr.service)
	}
	if cred.token != "" && cred.token != sr.token {
		return sr.service, invalidKeyError(sr.service)
	}
	if !cred.expires.IsZero() && time.Now().After(cred.expires) {
		return sr.service, apiErr(403, "ExpiredToken", "The security token included in the request is expired")
	}
	t, err := time.Parse("20060102T150405Z", sr.amzDate)
	if err != nil {
		return sr.service, apiErr(403, "IncompleteSignature", "Date must be in ISO-8601 'basic format'. Got '%s'.", sr.amzDate)
	}
	if sr.presigned {
		if time.Now().After(t.Add(sr.expires)) {
			return sr.service, apiErr(403, "AccessDenied", "Request has expired")
		}
	} else if d := time.Since(t); d > 15*time.Minute || d < -15*time.Minute {
		return sr.service, apiErr(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	}
	want := signature(cred.secret, sr, canonicalRequest(r, sr, body))
	if !hmac.Equal([]byte(want), []byte(sr.signature)) {
		return sr.service, signatureMismatch(sr.service)
	}
	// The signature covers the x-amz-content-sha256 header, not the body: check that
	// the body is what the header claims (S3 sends the header; STREAMING-* and
	// UNSIGNED-PAYLOAD values are not hashes).
	if h := r.Header.Get("X-Amz-Content-Sha256"); len(h) == 64 && !sr.presigned {
		sum := sha256.Sum256(body)
		if !strings.EqualFold(h, hex.EncodeToString(sum[:])) {
			return sr.service, apiErr(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	return sr.service, nil
}

// protocolAuthError renames the generic (query-protocol) authentication errors to
// what each protocol's services answer: awsJson services use the *Exception
// forms (InvalidSignatureException, MissingAuthenticationTokenException, ...),
// EC2 answers bad keys and signatures with 401 AuthFailure. (GUESS: see
// notes/aws-behaviour.md#emulator-guesses.)
func protocolAuthError(service string, err *APIError) *APIError {
	switch service {
	case "ssm", "logs":
		switch err.Code {
		case "MissingAuthenticationToken", "IncompleteSignature", "ExpiredToken":
			return &APIError{Code: err.Code + "Exception", Message: err.Message, Status: 400}
		case "SignatureDoesNotMatch":
			return &APIError{Code: "InvalidSignatureException", Message: err.Message, Status: 400}
		}
	case "ec2":
		switch err.Code {
		case "SignatureDoesNotMatch", "InvalidClientTokenId":
			return &APIError{Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials", Status: 401}
		}
	}
	return err
}

func invalidKeyError(service string) *APIError {
	switch service {
	case "s3":
		return apiErr(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	case "ssm", "logs":
		return apiErr(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	return apiErr(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
}

func signatureMismatch(service string) *APIError {
	msg := "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	if service == "s3" {
		msg = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	}
	return &APIError{Code: "SignatureDoesNotMatch", Message: msg, Status: 403}
}

// parseSigV4 extracts the signature from the Authorization header or the
// presigned query. It returns nil when the request carries neither.
func parseSigV4(r *http.Request) (*sigv4Request, *APIError) {
	q := r.URL.Query()
	if auth := r.Header.Get("Authorization"); auth != "" {
		if !strings.HasPrefix(auth, sigv4Algorithm+" ") {
			return nil, apiErr(400, "IncompleteSignature", "Unsupported authorization type")
		}
		sr := &sigv4Request{amzDate: r.Header.Get("X-Amz-Date"), token: r.Header.Get("X-Amz-Security-Token")}
		for _, part := range strings.Split(strings.TrimPrefix(auth, sigv4Algorithm+" "), ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				if !sr.setScope(v) {
					return nil, apiErr(400, "IncompleteSignature", "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", v)
				}
			case "SignedHeaders":
				sr.signedHeaders = strings.Split(v, ";")
			case "Signature":
				sr.signature = v
			}
		}
		if sr.accessKey == "" || sr.signature == "" || len(sr.signedHeaders) == 0 {
			return sr, apiErr(400, "IncompleteSignature", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
		}
		return sr, nil
	}
	if q.Get("X-Amz-Algorithm") == "" {
		return nil, nil
	}
	sr := &sigv4Request{presigned: true, amzDate: q.Get("X-Amz-Date"), token: q.Get("X-Amz-Security-Token"), signature: q.Get("X-Amz-Signature")}
	if q.Get("X-Amz-Algorithm") != sigv4Algorithm || !sr.setScope(q.Get("X-Amz-Credential")) {
		return sr, apiErr(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\" and X-Amz-Credential must be well formed")
	}
	sr.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || secs > 604800 {
		return sr, apiErr(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be between 1 and 604800 seconds")
	}
	sr.expires = time.Duration(secs) * time.Second
	return sr, nil
}

func (sr *sigv4Request) setScope(v string) bool {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return false
	}
	sr.accessKey, sr.date, sr.region, sr.service = parts[0], parts[1], parts[2], parts[3]
	return true
}

func canonicalRequest(r *http.Request, sr *sigv4Request, body []byte) string {
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if sr.service != "s3" {
		// Every service but S3 escapes the (already escaped) path once more.
		path = uriEncode(path, false)
	}
	// Canonical query string: all parameters but the signature, sorted.
	q := r.URL.Query()
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range q {
		if sr.presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, kv{uriEncode(k, true), uriEncode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	qs := make([]string, len(pairs))
	for i, p := range pairs {
		qs[i] = p.k + "=" + p.v
	}
	var hb strings.Builder
	for _, h := range sr.signedHeaders {
		var val string
		switch h {
		case "host":
			val = r.Host
		case "content-length":
			val = r.Header.Get("Content-Length")
			if val == "" {
				val = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			vals := r.Header.Values(http.CanonicalHeaderKey(h))
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			val = strings.Join(vals, ",")
		}
		hb.WriteString(h + ":" + val + "\n")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if sr.presigned {
		if payload == "" {
			payload = "UNSIGNED-PAYLOAD"
		}
	} else if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	return strings.Join([]string{r.Method, path, strings.Join(qs, "&"), hb.String(), strings.Join(sr.signedHeaders, ";"), payload}, "\n")
}

func signature(secret string, sr *sigv4Request, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	scope := sr.date + "/" + sr.region + "/" + sr.service + "/aws4_request"
	toSign := sigv4Algorithm + "\n" + sr.amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+secret), sr.date)
	k = hmacSHA256(k, sr.region)
	k = hmacSHA256(k, sr.service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// uriEncode is SigV4's URI encoding: unreserved characters stay, everything else is
// %XX; "/" stays unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}
