package awsemu

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3 still accepts SigV2 query-string authentication (AWSAccessKeyId, Signature,
// Expires), which `aws s3 presign` of AWS CLI v1 produces by default. Only the
// presigned-URL form is supported, not the "Authorization: AWS key:sig" header.

// s3SigV2Subresources are the query parameters the SigV2 canonical resource covers.
var s3SigV2Subresources = map[string]bool{}

func init() {
	for _, k := range []string{"accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber", "policy",
		"requestPayment", "torrent", "versioning", "versionId", "versions", "website", "uploads", "uploadId",
		"response-content-type", "response-content-language", "response-expires", "response-cache-control",
		"response-content-disposition", "response-content-encoding", "delete", "lifecycle", "tagging", "restore",
		"storageClass", "notification", "replication", "analytics", "metrics", "inventory", "select", "select-type",
		"object-lock"} {
		s3SigV2Subresources[k] = true
	}
}

// isS3SigV2Query reports whether r carries a SigV2 presigned query.
func isS3SigV2Query(r *http.Request) bool {
	q := r.URL.Query()
	return r.Header.Get("Authorization") == "" && q.Get("AWSAccessKeyId") != "" && q.Get("Signature") != "" && q.Get("X-Amz-Algorithm") == ""
}

// verifyS3SigV2Query checks a SigV2 presigned URL.
func (e *Emulator) verifyS3SigV2Query(r *http.Request) *APIError {
	q := r.URL.Query()
	expires, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil {
		return apiErr(403, "AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	}
	e.mu.Lock()
	cred, ok := e.creds[q.Get("AWSAccessKeyId")]
	e.mu.Unlock()
	if !ok {
		return invalidKeyError("s3")
	}
	if time.Now().Unix() > expires {
		return apiErr(403, "AccessDenied", "Request has expired")
	}
	if !hmac.Equal([]byte(s3SigV2Signature(cred.secret, r)), []byte(q.Get("Signature"))) {
		return signatureMismatch("s3")
	}
	return nil
}

// s3SigV2Signature computes the SigV2 query signature of r.
func s3SigV2Signature(secret string, r *http.Request) string {
	q := r.URL.Query()
	// Headers may have been moved into the query string by the signer.
	get := func(name string) string {
		if v := r.Header.Values(name); len(v) > 0 {
			return strings.Join(v, ",")
		}
		return q.Get(strings.ToLower(name))
	}
	amz := map[string]string{}
	for k, vs := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amz[lk] = strings.Join(vs, ",")
		}
	}
	for k, vs := range q {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			if _, dup := amz[lk]; !dup {
				amz[lk] = strings.Join(vs, ",")
			}
		}
	}
	var b strings.Builder
	b.WriteString(r.Method + "\n" + get("Content-Md5") + "\n" + get("Content-Type") + "\n" + q.Get("Expires") + "\n")
	for _, k := range sortedKeys(amz) {
		b.WriteString(k + ":" + strings.TrimSpace(amz[k]) + "\n")
	}
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if path == "" || strings.Contains(path, "://") {
		path = r.URL.EscapedPath()
	}
	b.WriteString(path)
	var sub []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		k, v, hasV := strings.Cut(part, "=")
		if !s3SigV2Subresources[k] {
			continue
		}
		if hasV {
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			}
			sub = append(sub, k+"="+v)
		} else {
			sub = append(sub, k)
		}
	}
	if len(sub) > 0 {
		sort.Strings(sub)
		b.WriteString("?" + strings.Join(sub, "&"))
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
