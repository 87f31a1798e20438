package awsemu

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Multipart uploads (used by `aws s3 cp` and the SDK's upload manager for large
// files).

type s3Upload struct {
	id, bucket, key string
	initiated       time.Time
	template        *s3Object // content type and metadata given at creation
	parts           map[int]*s3Part
}

type s3Part struct {
	data         []byte
	etag         string
	lastModified time.Time
}

const s3MinPartSize = 5 << 20

func errNoSuchUpload() *APIError {
	return apiErr(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
}

func (c *s3Ctx) createMultipartUpload() {
	tmpl := newS3Object(c.key, nil)
	if aerr := s3ApplyHeaders(tmpl, c.r.Header); aerr != nil {
		c.fail(aerr)
		return
	}
	c.e.mu.Lock()
	if _, ok := c.e.s3.buckets[c.bucket]; !ok {
		c.e.mu.Unlock()
		c.fail(errNoSuchBucket())
		return
	}
	id := fmt.Sprintf("%s.%d", randHex(24), c.e.nextSeq())
	c.e.s3.uploads[id] = &s3Upload{id: id, bucket: c.bucket, key: c.key, initiated: time.Now().UTC(), template: tmpl, parts: map[int]*s3Part{}}
	c.e.mu.Unlock()
	c.writeXML(struct {
		XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}{Bucket: c.bucket, Key: c.key, UploadID: id})
}

// uploadLocked finds an upload of this request's object. Callers hold e.mu.
func (c *s3Ctx) uploadLocked(id string) (*s3Upload, *APIError) {
	if _, ok := c.e.s3.buckets[c.bucket]; !ok {
		return nil, errNoSuchBucket()
	}
	u := c.e.s3.uploads[id]
	if u == nil || u.bucket != c.bucket || u.key != c.key {
		return nil, errNoSuchUpload()
	}
	return u, nil
}

func (c *s3Ctx) uploadPart(id string) {
	n, err := strconv.Atoi(c.q.Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		c.fail(apiErr(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"))
		return
	}
	data, trailers, aerr := s3DecodeBody(c.r, c.body)
	if aerr == nil {
		_, aerr = s3VerifyChecksums(c.r.Header, trailers, data)
	}
	if aerr != nil {
		c.fail(aerr)
		return
	}
	sum := md5.Sum(data)
	p := &s3Part{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`, lastModified: time.Now().UTC()}
	c.e.mu.Lock()
	u, aerr := c.uploadLocked(id)
	if aerr == nil {
		u.parts[n] = p
	}
	c.e.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.w.Header().Set("ETag", p.etag)
	c.writeEmpty(http.StatusOK)
}

func (c *s3Ctx) completeMultipartUpload(id string) {
	var req struct {
		Parts []struct {
			PartNumber int    `xml:"PartNumber"`
			ETag       string `xml:"ETag"`
		} `xml:"Part"`
	}
	if err := xml.Unmarshal(c.body, &req); err != nil || len(req.Parts) == 0 {
		c.fail(apiErr(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
		return
	}
	c.e.mu.Lock()
	u, aerr := c.uploadLocked(id)
	var obj *s3Object
	if aerr == nil {
		var data bytes.Buffer
		var sums []byte
		for i := 1; i < len(req.Parts); i++ {
			if req.Parts[i].PartNumber <= req.Parts[i-1].PartNumber {
				aerr = apiErr(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
				break
			}
		}
		for i, rp := range req.Parts {
			if aerr != nil {
				break
			}
			p := u.parts[rp.PartNumber]
			if p == nil || strings.Trim(rp.ETag, `"`) != strings.Trim(p.etag, `"`) {
				aerr = apiErr(400, "InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
				break
			}
			if i < len(req.Parts)-1 && len(p.data) < s3MinPartSize {
				aerr = apiErr(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
				break
			}
			data.Write(p.data)
			raw, _ := hex.DecodeString(strings.Trim(p.etag, `"`))
			sums = append(sums, raw...)
		}
		if aerr == nil {
			obj = newS3Object(c.key, data.Bytes())
			obj.contentType, obj.headers, obj.meta = u.template.contentType, u.template.headers, u.template.meta
			sum := md5.Sum(sums)
			obj.etag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(sum[:]), len(req.Parts))
			c.e.s3.buckets[c.bucket].objects[c.key] = obj
			delete(c.e.s3.uploads, id)
		}
	}
	c.e.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.writeXML(struct {
		XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
		Location string   `xml:"Location"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		ETag     string   `xml:"ETag"`
	}{Location: "http://" + c.r.Host + "/" + c.bucket + "/" + c.key, Bucket: c.bucket, Key: c.key, ETag: obj.etag})
}

func (c *s3Ctx) abortMultipartUpload(id string) {
	c.e.mu.Lock()
	_, aerr := c.uploadLocked(id)
	if aerr == nil {
		delete(c.e.s3.uploads, id)
	}
	c.e.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.writeEmpty(http.StatusNoContent)
}

func (c *s3Ctx) listParts(id string) {
	type partXML struct {
		PartNumber   int    `xml:"PartNumber"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int    `xml:"Size"`
	}
	type result struct {
		XMLName     xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
		Bucket      string    `xml:"Bucket"`
		Key         string    `xml:"Key"`
		UploadID    string    `xml:"UploadId"`
		IsTruncated bool      `xml:"IsTruncated"`
		Parts       []partXML `xml:"Part"`
	}
	c.e.mu.Lock()
	u, aerr := c.uploadLocked(id)
	res := result{Bucket: c.bucket, Key: c.key, UploadID: id}
	if aerr == nil {
		nums := make([]int, 0, len(u.parts))
		for n := range u.parts {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		for _, n := range nums {
			p := u.parts[n]
			res.Parts = append(res.Parts, partXML{PartNumber: n, LastModified: isoTime(p.lastModified), ETag: p.etag, Size: len(p.data)})
		}
	}
	c.e.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.writeXML(res)
}
