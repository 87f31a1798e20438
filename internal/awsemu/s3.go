package awsemu

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3 (restXml, path-style). Objects live in memory; each one is immutable once
// stored (a put replaces the object), so a response can be written from it after
// e.mu is released.

type s3State struct {
	buckets map[string]*s3Bucket
	uploads map[string]*s3Upload // multipart uploads by upload id
}

type s3Bucket struct {
	name    string
	region  string
	created time.Time
	objects map[string]*s3Object
}

type s3Object struct {
	key          string
	data         []byte
	etag         string // quoted
	lastModified time.Time
	contentType  string
	headers      map[string]string // Content-Encoding, Cache-Control, ... as sent
	meta         map[string]string // x-amz-meta-* (lower-case names, without prefix)
	checksums    map[string]string // algorithm (CRC32, CRC64NVME, ...) -> base64 value
	acl          string            // canned ACL the uploader set, "" when none
}

func newS3State() *s3State {
	return &s3State{buckets: map[string]*s3Bucket{}, uploads: map[string]*s3Upload{}}
}

// s3Ctx is one request being served.
type s3Ctx struct {
	e      *Emulator
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	op     string
	bucket string
	key    string
	q      url.Values
}

func (c *s3Ctx) fail(err *APIError) {
	c.e.writeError(c.w, c.r, &serviceDef{name: "s3", proto: protoREST}, err)
}

// writeXML writes a 200 response with an XML document.
func (c *s3Ctx) writeXML(v any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		c.fail(apiErr(500, "InternalError", "%v", err))
		return
	}
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b.Bytes())
}

func (c *s3Ctx) writeEmpty(status int) {
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(status)
}

func errNoSuchBucket() *APIError {
	return apiErr(404, "NoSuchBucket", "The specified bucket does not exist")
}

func errNoSuchKey() *APIError {
	return apiErr(404, "NoSuchKey", "The specified key does not exist.")
}

// s3BucketSubresources are bucket sub-resources the emulator does not implement;
// they are answered with NotImplemented rather than mistaken for ListObjects.
var s3Subresources = []string{"acl", "policy", "policyStatus", "versioning", "tagging", "cors", "lifecycle",
	"website", "logging", "encryption", "replication", "notification", "accelerate", "requestPayment",
	"object-lock", "ownershipControls", "publicAccessBlock", "analytics", "inventory", "metrics",
	"intelligent-tiering", "versions", "retention", "legal-hold", "attributes", "torrent", "restore",
	"select", "uploads", "session"}

// serveS3 serves a path-style S3 request; it takes e.mu itself.
func (e *Emulator) serveS3(w http.ResponseWriter, r *http.Request, body []byte, op string) {
	bucket, key := s3BucketKey(r)
	c := &s3Ctx{e: e, w: w, r: r, body: body, op: op, bucket: bucket, key: key, q: r.URL.Query()}
	defer func() {
		if p := recover(); p != nil {
			c.fail(apiErr(500, "InternalError", "internal error: %v", p))
		}
	}()

	// Multipart uploads (named by s3Operation too).
	if key != "" {
		_, uploads := c.q["uploads"]
		uploadID := c.q.Get("uploadId")
		switch {
		case r.Method == http.MethodPost && uploads:
			c.op = "CreateMultipartUpload"
			c.createMultipartUpload()
			return
		case r.Method == http.MethodPut && uploadID != "" && r.Header.Get("X-Amz-Copy-Source") == "":
			c.op = "UploadPart"
			c.uploadPart(uploadID)
			return
		case r.Method == http.MethodPost && uploadID != "":
			c.op = "CompleteMultipartUpload"
			c.completeMultipartUpload(uploadID)
			return
		case r.Method == http.MethodDelete && uploadID != "":
			c.op = "AbortMultipartUpload"
			c.abortMultipartUpload(uploadID)
			return
		case r.Method == http.MethodGet && uploadID != "":
			c.op = "ListParts"
			c.listParts(uploadID)
			return
		}
	}
	if bucket != "" && op != "GetBucketLocation" && op != "DeleteObjects" {
		for _, s := range s3Subresources {
			if _, ok := c.q[s]; ok {
				c.fail(apiErr(501, "NotImplemented", "A header you provided implies functionality that is not implemented"))
				return
			}
		}
	}

	switch op {
	case "ListBuckets":
		c.listBuckets()
	case "CreateBucket":
		c.createBucket()
	case "HeadBucket":
		c.headBucket()
	case "DeleteBucket":
		c.deleteBucket()
	case "GetBucketLocation":
		c.getBucketLocation()
	case "ListObjectsV2":
		c.listObjects(true)
	case "ListObjects":
		c.listObjects(false)
	case "DeleteObjects":
		c.deleteObjects()
	case "PutObject":
		c.putObject()
	case "CopyObject":
		c.copyObject()
	case "GetObject", "HeadObject":
		c.getObject(op == "HeadObject")
	case "DeleteObject":
		c.deleteObject()
	default:
		c.fail(apiErr(405, "MethodNotAllowed", "The specified method is not allowed against this resource."))
	}
}

// s3BucketExistsLocked reports whether a bucket exists.
func (e *Emulator) s3BucketExistsLocked(bucket string) bool {
	_, ok := e.s3.buckets[bucket]
	return ok
}

// s3PutObjectLocked stores an object (command output upload).
func (e *Emulator) s3PutObjectLocked(bucket, key string, data []byte) error {
	b, ok := e.s3.buckets[bucket]
	if !ok {
		return fmt.Errorf("NoSuchBucket: the specified bucket %q does not exist", bucket)
	}
	if key == "" {
		return fmt.Errorf("empty object key")
	}
	obj := newS3Object(key, append([]byte(nil), data...))
	// The agent uploads output as text/plain with the canned ACL
	// bucket-owner-full-control (notes/aws-behaviour.md#s3-output-keys).
	obj.contentType = "text/plain"
	obj.acl = "bucket-owner-full-control"
	b.objects[key] = obj
	return nil
}

func newS3Object(key string, data []byte) *s3Object {
	sum := md5.Sum(data)
	return &s3Object{
		key:          key,
		data:         data,
		etag:         `"` + hex.EncodeToString(sum[:]) + `"`,
		lastModified: time.Now().UTC().Truncate(time.Second),
		contentType:  "binary/octet-stream",
		headers:      map[string]string{},
		meta:         map[string]string{},
		// S3 computes a full-object CRC64NVME when the client sends no checksum.
		checksums: map[string]string{"CRC64NVME": s3Checksum("CRC64NVME", data)},
	}
}

// validBucketName applies the general-purpose bucket naming rules.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '.' {
			return false
		}
	}
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return false
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	if net.ParseIP(name) != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

// --- buckets ---

type s3Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

func (e *Emulator) s3Owner() s3Owner {
	sum := md5.Sum([]byte("awsemu-owner-" + e.opts.AccountID))
	id := hex.EncodeToString(sum[:])
	return s3Owner{ID: id + id, DisplayName: "awsemu"}
}

func (c *s3Ctx) listBuckets() {
	type bucketXML struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion"`
	}
	type result struct {
		XMLName           xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
		Owner             s3Owner     `xml:"Owner"`
		Buckets           []bucketXML `xml:"Buckets>Bucket"`
		ContinuationToken string      `xml:"ContinuationToken,omitempty"`
		Prefix            string      `xml:"Prefix,omitempty"`
	}
	prefix := c.q.Get("prefix")
	maxBuckets := 10000
	if v := c.q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			c.fail(apiErr(400, "InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000."))
			return
		}
		maxBuckets = n
	}
	after := ""
	if tok := c.q.Get("continuation-token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			c.fail(apiErr(400, "InvalidArgument", "The continuation token provided is incorrect"))
			return
		}
		after = string(raw)
	}
	res := result{Owner: c.e.s3Owner(), Prefix: prefix}
	c.e.mu.Lock()
	names := sortedKeys(c.e.s3.buckets)
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || n <= after {
			continue
		}
		if len(res.Buckets) == maxBuckets {
			res.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Buckets[len(res.Buckets)-1].Name))
			break
		}
		b := c.e.s3.buckets[n]
		res.Buckets = append(res.Buckets, bucketXML{Name: n, CreationDate: isoTime(b.created), BucketRegion: b.region})
	}
	c.e.mu.Unlock()
	c.writeXML(res)
}

func (c *s3Ctx) createBucket() {
	if !validBucketName(c.bucket) {
		c.fail(apiErr(400, "InvalidBucketName", "The specified bucket is not valid."))
		return
	}
	region := c.e.opts.Region
	constraint := ""
	if len(bytes.TrimSpace(c.body)) > 0 {
		var conf struct {
			LocationConstraint string `xml:"LocationConstraint"`
		}
		if err := xml.Unmarshal(c.body, &conf); err != nil {
			c.fail(apiErr(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
			return
		}
		constraint = conf.LocationConstraint
	}
	// A regional endpoint takes only its own region as constraint; us-east-1 takes
	// none (notes/aws-behaviour.md#emulator-guesses). GUESS: the
	// InvalidLocationConstraint reply to an explicit "us-east-1".
	switch {
	case constraint == "" && region != "us-east-1":
		c.fail(apiErr(400, "IllegalLocationConstraintException", "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."))
		return
	case constraint == "us-east-1" && region == "us-east-1":
		c.fail(apiErr(400, "InvalidLocationConstraint", "The specified location-constraint is not valid"))
		return
	case constraint != "" && constraint != region:
		c.fail(apiErr(400, "IllegalLocationConstraintException", "The %s location constraint is incompatible for the region specific endpoint this request was sent to.", constraint))
		return
	}
	c.e.mu.Lock()
	if _, ok := c.e.s3.buckets[c.bucket]; ok {
		c.e.mu.Unlock()
		if region == "us-east-1" {
			// Legacy behaviour of North Virginia: 200 for a bucket you own
			// (notes/aws-behaviour.md#emulator-guesses, S3 CreateBucket).
			c.w.Header().Set("Location", "/"+c.bucket)
			c.writeEmpty(http.StatusOK)
			return
		}
		c.fail(apiErr(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it."))
		return
	}
	c.e.s3.buckets[c.bucket] = &s3Bucket{name: c.bucket, region: region, created: time.Now().UTC(), objects: map[string]*s3Object{}}
	c.e.mu.Unlock()
	c.w.Header().Set("Location", "/"+c.bucket)
	c.writeEmpty(http.StatusOK)
}

func (c *s3Ctx) headBucket() {
	c.e.mu.Lock()
	b, ok := c.e.s3.buckets[c.bucket]
	c.e.mu.Unlock()
	if !ok {
		c.fail(apiErr(404, "NotFound", "Not Found"))
		return
	}
	c.w.Header().Set("x-amz-bucket-region", b.region)
	c.w.Header().Set("x-amz-access-point-alias", "false")
	c.writeEmpty(http.StatusOK)
}

func (c *s3Ctx) deleteBucket() {
	c.e.mu.Lock()
	b, ok := c.e.s3.buckets[c.bucket]
	var aerr *APIError
	switch {
	case !ok:
		aerr = errNoSuchBucket()
	case len(b.objects) > 0:
		aerr = apiErr(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	default:
		delete(c.e.s3.buckets, c.bucket)
		for id, u := range c.e.s3.uploads {
			if u.bucket == c.bucket {
				delete(c.e.s3.uploads, id)
			}
		}
	}
	c.e.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.writeEmpty(http.StatusNoContent)
}

func (c *s3Ctx) getBucketLocation() {
	c.e.mu.Lock()
	b, ok := c.e.s3.buckets[c.bucket]
	c.e.mu.Unlock()
	if !ok {
		c.fail(errNoSuchBucket())
		return
	}
	loc := b.region
	if loc == "us-east-1" {
		loc = "" // the real API reports us-east-1 as an empty constraint
	}
	c.writeXML(struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
		Value   string   `xml:",chardata"`
	}{Value: loc})
}

// --- listing ---

type s3ContentsXML struct {
	Key               string   `xml:"Key"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag"`
	ChecksumAlgorithm []string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	Size              int64    `xml:"Size"`
	Owner             *s3Owner `xml:"Owner,omitempty"`
	StorageClass      string   `xml:"StorageClass"`
}

type s3PrefixXML struct {
	Prefix string `xml:"Prefix"`
}

func (c *s3Ctx) listObjects(v2 bool) {
	prefix, delim := c.q.Get("prefix"), c.q.Get("delimiter")
	encoding := c.q.Get("encoding-type")
	if encoding != "" && encoding != "url" {
		c.fail(apiErr(400, "InvalidArgument", "Invalid Encoding Method specified in Request"))
		return
	}
	enc := func(s string) string {
		if encoding == "url" && s != "" {
			return url.QueryEscape(s)
		}
		return s
	}
	maxKeys := 1000
	if v := c.q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(apiErr(400, "InvalidArgument", "Provided max-keys not an integer or within integer range"))
			return
		}
		if n < maxKeys {
			maxKeys = n
		}
	}
	// marker: entries (keys or common prefixes) <= marker are skipped.
	var marker, startAfter, contToken string
	if v2 {
		startAfter = c.q.Get("start-after")
		marker = startAfter
		if _, ok := c.q["continuation-token"]; ok {
			contToken = c.q.Get("continuation-token")
			raw, err := base64.RawURLEncoding.DecodeString(contToken)
			if err != nil || contToken == "" {
				c.fail(apiErr(400, "InvalidArgument", "The continuation token provided is incorrect"))
				return
			}
			marker = string(raw)
		}
	} else {
		marker = c.q.Get("marker")
	}

	c.e.mu.Lock()
	b, ok := c.e.s3.buckets[c.bucket]
	if !ok {
		c.e.mu.Unlock()
		c.fail(errNoSuchBucket())
		return
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var contents []s3ContentsXML
	var prefixes []s3PrefixXML
	truncated := false
	last := ""
	owner := c.e.s3Owner()
	for _, k := range keys {
		entry, isPrefix := k, false
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				entry, isPrefix = k[:len(prefix)+i+len(delim)], true
			}
		}
		if entry <= marker || (isPrefix && entry == last) {
			continue
		}
		if len(contents)+len(prefixes) >= maxKeys {
			truncated = true
			break
		}
		last = entry
		if isPrefix {
			prefixes = append(prefixes, s3PrefixXML{Prefix: enc(entry)})
			continue
		}
		o := b.objects[k]
		ce := s3ContentsXML{Key: enc(k), LastModified: isoTime(o.lastModified), ETag: o.etag, Size: int64(len(o.data)), StorageClass: "STANDARD"}
		for algo := range o.checksums {
			ce.ChecksumAlgorithm = append(ce.ChecksumAlgorithm, algo)
			ce.ChecksumType = "FULL_OBJECT"
		}
		sort.Strings(ce.ChecksumAlgorithm)
		if !v2 || c.q.Get("fetch-owner") == "true" {
			ow := owner
			ce.Owner = &ow
		}
		contents = append(contents, ce)
	}
	c.e.mu.Unlock()

	if v2 {
		type result struct {
			XMLName               xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
			Name                  string          `xml:"Name"`
			Prefix                string          `xml:"Prefix"`
			Delimiter             string          `xml:"Delimiter,omitempty"`
			MaxKeys               int             `xml:"MaxKeys"`
			EncodingType          string          `xml:"EncodingType,omitempty"`
			KeyCount              int             `xml:"KeyCount"`
			IsTruncated           bool            `xml:"IsTruncated"`
			ContinuationToken     string          `xml:"ContinuationToken,omitempty"`
			NextContinuationToken string          `xml:"NextContinuationToken,omitempty"`
			StartAfter            string          `xml:"StartAfter,omitempty"`
			Contents              []s3ContentsXML `xml:"Contents"`
			CommonPrefixes        []s3PrefixXML   `xml:"CommonPrefixes"`
		}
		res := result{Name: c.bucket, Prefix: enc(prefix), Delimiter: enc(delim), MaxKeys: maxKeys, EncodingType: encoding,
			KeyCount: len(contents) + len(prefixes), IsTruncated: truncated, ContinuationToken: contToken,
			StartAfter: enc(startAfter), Contents: contents, CommonPrefixes: prefixes}
		if truncated {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
		}
		c.writeXML(res)
		return
	}
	type result struct {
		XMLName        xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name           string          `xml:"Name"`
		Prefix         string          `xml:"Prefix"`
		Marker         string          `xml:"Marker"`
		NextMarker     string          `xml:"NextMarker,omitempty"`
		MaxKeys        int             `xml:"MaxKeys"`
		Delimiter      string          `xml:"Delimiter,omitempty"`
		EncodingType   string          `xml:"EncodingType,omitempty"`
		IsTruncated    bool            `xml:"IsTruncated"`
		Contents       []s3ContentsXML `xml:"Contents"`
		CommonPrefixes []s3PrefixXML   `xml:"CommonPrefixes"`
	}
	res := result{Name: c.bucket, Prefix: enc(prefix), Marker: enc(marker), MaxKeys: maxKeys, Delimiter: enc(delim),
		EncodingType: encoding, IsTruncated: truncated, Contents: contents, CommonPrefixes: prefixes}
	if truncated && delim != "" {
		// Like S3, NextMarker is only returned when a delimiter was given.
		res.NextMarker = enc(last)
	}
	c.writeXML(res)
}

// --- objects ---

// s3StoredHeaders are the standard headers kept with an object and returned on GET.
var s3StoredHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires", "Content-Type"}

func (c *s3Ctx) putObject() {
	data, trailers, aerr := s3DecodeBody(c.r, c.body)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	obj := newS3Object(c.key, data)
	if aerr := s3ApplyHeaders(obj, c.r.Header); aerr != nil {
		c.fail(aerr)
		return
	}
	sums, aerr := s3VerifyChecksums(c.r.Header, trailers, data)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	if len(sums) > 0 {
		obj.checksums = sums
	}
	if len(c.key) > 1024 {
		c.fail(apiErr(400, "KeyTooLongError", "Your key is too long"))
		return
	}

	c.e.mu.Lock()
	b, ok := c.e.s3.buckets[c.bucket]
	if !ok {
		c.e.mu.Unlock()
		c.fail(errNoSuchBucket())
		return
	}
	if aerr := s3WritePrecondition(c.r, b.objects[c.key]); aerr != nil {
		c.e.mu.Unlock()
		c.fail(aerr)
		return
	}
	b.objects[c.key] = obj
	c.e.mu.Unlock()

	c.w.Header().Set("ETag", obj.etag)
	s3SetChecksumHeaders(c.w.Header(), obj)
	c.writeEmpty(http.StatusOK)
}

// s3WritePrecondition applies conditional writes (If-None-Match: *, If-Match).
func s3WritePrecondition(r *http.Request, existing *s3Object) *APIError {
	if v := r.Header.Get("If-None-Match"); v != "" {
		if v != "*" {
			return apiErr(501, "NotImplemented", "A header you provided implies functionality that is not implemented")
		}
		if existing != nil {
			return apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
	}
	if v := r.Header.Get("If-Match"); v != "" {
		if existing == nil {
			return errNoSuchKey()
		}
		if !etagMatch(v, existing.etag) {
			return apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
	}
	return nil
}

// s3ApplyHeaders copies the stored standard headers and user metadata from h.
func s3ApplyHeaders(obj *s3Object, h http.Header) *APIError {
	for _, name := range s3StoredHeaders {
		v := h.Get(name)
		if name == "Content-Encoding" {
			var kept []string
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" && p != "aws-chunked" {
					kept = append(kept, p)
				}
			}
			v = strings.Join(kept, ",")
		}
		if v == "" {
			continue
		}
		if name == "Content-Type" {
			obj.contentType = v
		} else {
			obj.headers[name] = v
		}
	}
	size := 0
	for k, vs := range h {
		if len(k) > len("X-Amz-Meta-") && strings.EqualFold(k[:len("X-Amz-Meta-")], "X-Amz-Meta-") {
			name := strings.ToLower(k[len("X-Amz-Meta-"):])
			obj.meta[name] = strings.Join(vs, ",")
			size += len(name) + len(obj.meta[name])
		}
	}
	if size > 2048 {
		return apiErr(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
	}
	if v := h.Get("Content-Md5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return apiErr(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		sum := md5.Sum(obj.data)
		if !bytes.Equal(want, sum[:]) {
			return apiErr(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	return nil
}

// s3SetObjectHeaders writes an object's stored headers and metadata.
func s3SetObjectHeaders(h http.Header, obj *s3Object) {
	h.Set("ETag", obj.etag)
	h.Set("Last-Modified", obj.lastModified.Format(http.TimeFormat))
	h.Set("Content-Type", obj.contentType)
	h.Set("Accept-Ranges", "bytes")
	for k, v := range obj.headers {
		h.Set(k, v)
	}
	for _, k := range sortedKeys(obj.meta) {
		// Lower-case names as S3 sends them (bypass canonicalisation).
		h["x-amz-meta-"+k] = []string{obj.meta[k]}
	}
}

func s3SetChecksumHeaders(h http.Header, obj *s3Object) {
	for algo, v := range obj.checksums {
		h.Set("x-amz-checksum-"+strings.ToLower(algo), v)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
}

func etagMatch(header, etag string) bool {
	for _, p := range strings.Split(header, ",") {
		p = strings.TrimSpace(p)
		if p == "*" || p == etag || `"`+p+`"` == etag {
			return true
		}
	}
	return false
}

func (c *s3Ctx) getObject(head bool) {
	c.e.mu.Lock()
	b, ok := c.e.s3.buckets[c.bucket]
	var obj *s3Object
	if ok {
		obj = b.objects[c.key]
	}
	c.e.mu.Unlock()
	switch {
	case !ok && head:
		c.fail(apiErr(404, "NotFound", "Not Found"))
		return
	case !ok:
		c.fail(errNoSuchBucket())
		return
	case obj == nil && head:
		c.fail(apiErr(404, "NotFound", "Not Found"))
		return
	case obj == nil:
		c.fail(errNoSuchKey())
		return
	}
	h := c.w.Header()
	// Conditional requests (RFC 7232 precedence as S3 applies it).
	if v := c.r.Header.Get("If-Match"); v != "" && !etagMatch(v, obj.etag) {
		c.fail(apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
		return
	}
	if v := c.r.Header.Get("If-Unmodified-Since"); v != "" && c.r.Header.Get("If-Match") == "" {
		if t, err := http.ParseTime(v); err == nil && obj.lastModified.After(t) {
			c.fail(apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
			return
		}
	}
	notModified := false
	if v := c.r.Header.Get("If-None-Match"); v != "" {
		notModified = etagMatch(v, obj.etag)
	} else if v := c.r.Header.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !obj.lastModified.After(t) {
			notModified = true
		}
	}
	if notModified {
		h.Set("ETag", obj.etag)
		h.Set("Last-Modified", obj.lastModified.Format(http.TimeFormat))
		c.w.WriteHeader(http.StatusNotModified)
		return
	}

	data := obj.data
	status := http.StatusOK
	size := int64(len(obj.data))
	if rng := c.r.Header.Get("Range"); rng != "" {
		start, end, ok, satisfiable := parseRange(rng, size)
		if ok && !satisfiable {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			c.fail(apiErr(416, "InvalidRange", "The requested range is not satisfiable"))
			return
		}
		if ok {
			data = obj.data[start : end+1]
			status = http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
		}
	}
	s3SetObjectHeaders(h, obj)
	if status == http.StatusOK && strings.EqualFold(c.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		s3SetChecksumHeaders(h, obj)
	}
	if !head {
		for param, header := range map[string]string{"response-content-type": "Content-Type", "response-content-language": "Content-Language",
			"response-expires": "Expires", "response-cache-control": "Cache-Control", "response-content-disposition": "Content-Disposition",
			"response-content-encoding": "Content-Encoding"} {
			if v := c.q.Get(param); v != "" {
				h.Set(header, v)
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	c.w.WriteHeader(status)
	if !head {
		_, _ = c.w.Write(data)
	}
}

// parseRange parses a single "bytes=" range. ok is false when the header is to be
// ignored (malformed or several ranges: S3 then returns the whole object).
func parseRange(h string, size int64) (start, end int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	switch {
	case a == "" && b == "":
		return 0, 0, false, false
	case a == "": // suffix: last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		if n > size {
			n = size
		}
		return size - n, size - 1, true, true
	default:
		s, err := strconv.ParseInt(a, 10, 64)
		if err != nil || s < 0 {
			return 0, 0, false, false
		}
		e := size - 1
		if b != "" {
			e, err = strconv.ParseInt(b, 10, 64)
			if err != nil || e < s {
				return 0, 0, false, false
			}
			if e > size-1 {
				e = size - 1
			}
		}
		if s >= size {
			return 0, 0, true, false
		}
		return s, e, true, true
	}
}

func (c *s3Ctx) deleteObject() {
	c.e.mu.Lock()
	b, ok := c.e.s3.buckets[c.bucket]
	if ok {
		delete(b.objects, c.key)
	}
	c.e.mu.Unlock()
	if !ok {
		c.fail(errNoSuchBucket())
		return
	}
	c.writeEmpty(http.StatusNoContent)
}

func (c *s3Ctx) deleteObjects() {
	var req struct {
		Quiet   bool `xml:"Quiet"`
		Objects []struct {
			Key string `xml:"Key"`
		} `xml:"Object"`
	}
	if err := xml.Unmarshal(c.body, &req); err != nil {
		c.fail(apiErr(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
		return
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		c.fail(apiErr(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
		return
	}
	type deleted struct {
		Key string `xml:"Key"`
	}
	type delErr struct {
		Key     string `xml:"Key"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type result struct {
		XMLName xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
		Deleted []deleted `xml:"Deleted"`
		Errors  []delErr  `xml:"Error"`
	}
	var res result
	c.e.mu.Lock()
	b, ok := c.e.s3.buckets[c.bucket]
	if ok {
		for _, o := range req.Objects {
			if o.Key == "" {
				res.Errors = append(res.Errors, delErr{Key: o.Key, Code: "InvalidArgument", Message: "Invalid key"})
				continue
			}
			delete(b.objects, o.Key)
			if !req.Quiet {
				res.Deleted = append(res.Deleted, deleted{Key: o.Key})
			}
		}
	}
	c.e.mu.Unlock()
	if !ok {
		c.fail(errNoSuchBucket())
		return
	}
	c.writeXML(res)
}

func (c *s3Ctx) copyObject() {
	src := c.r.Header.Get("X-Amz-Copy-Source")
	src, _, _ = strings.Cut(src, "?") // versionId is ignored: no versioning
	if u, err := url.PathUnescape(src); err == nil {
		src = u
	}
	src = strings.TrimPrefix(src, "/")
	srcBucket, srcKey, _ := strings.Cut(src, "/")
	if srcBucket == "" || srcKey == "" {
		c.fail(apiErr(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"))
		return
	}
	directive := c.r.Header.Get("X-Amz-Metadata-Directive")
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		c.fail(apiErr(400, "InvalidArgument", "Unknown metadata directive."))
		return
	}
	c.e.mu.Lock()
	sb, ok := c.e.s3.buckets[srcBucket]
	db, dok := c.e.s3.buckets[c.bucket]
	var aerr *APIError
	var obj *s3Object
	switch {
	case !ok || !dok:
		aerr = errNoSuchBucket()
	case sb.objects[srcKey] == nil:
		aerr = errNoSuchKey()
	case srcBucket == c.bucket && srcKey == c.key && directive != "REPLACE":
		aerr = apiErr(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	if aerr == nil {
		so := sb.objects[srcKey]
		if v := c.r.Header.Get("X-Amz-Copy-Source-If-Match"); v != "" && !etagMatch(v, so.etag) {
			aerr = apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		} else if v := c.r.Header.Get("X-Amz-Copy-Source-If-None-Match"); v != "" && etagMatch(v, so.etag) {
			aerr = apiErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
	}
	if aerr == nil {
		so := sb.objects[srcKey]
		obj = newS3Object(c.key, so.data) // data is immutable: share it
		obj.checksums = so.checksums
		if directive == "REPLACE" {
			aerr = s3ApplyHeaders(obj, c.r.Header)
		} else {
			obj.contentType = so.contentType
			obj.headers, obj.meta = so.headers, so.meta
		}
		if aerr == nil {
			db.objects[c.key] = obj
		}
	}
	c.e.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.writeXML(struct {
		XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
		ETag         string   `xml:"ETag"`
		LastModified string   `xml:"LastModified"`
	}{ETag: obj.etag, LastModified: isoTime(obj.lastModified)})
}
