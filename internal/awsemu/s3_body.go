package awsemu

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strconv"
	"strings"
)

// crc64NVME is the reflected NVME polynomial (as the SDK's checksum package uses).
const crc64NVME = 0x9a6c9329ac4bc9b5

var crc64NVMETable = crc64.MakeTable(crc64NVME)

// s3ChecksumAlgorithms are the flexible checksums S3 accepts, by header suffix.
var s3ChecksumAlgorithms = map[string]string{
	"crc32": "CRC32", "crc32c": "CRC32C", "crc64nvme": "CRC64NVME", "sha1": "SHA1", "sha256": "SHA256",
}

func s3Checksum(algo string, data []byte) string {
	var h hash.Hash
	switch algo {
	case "CRC32":
		h = crc32.NewIEEE()
	case "CRC32C":
		h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "CRC64NVME":
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], crc64.Checksum(data, crc64NVMETable))
		return base64.StdEncoding.EncodeToString(b[:])
	case "SHA1":
		h = sha1.New()
	case "SHA256":
		h = sha256.New()
	default:
		return ""
	}
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// s3DecodeBody returns an upload's payload, decoding the aws-chunked content
// encoding (used by SDKs for streaming and trailing checksums) and its trailers.
// GUESS: chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are not verified.
func s3DecodeBody(r *http.Request, body []byte) ([]byte, map[string]string, *APIError) {
	chunked := false
	for _, p := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if strings.TrimSpace(p) == "aws-chunked" {
			chunked = true
		}
	}
	if sha := r.Header.Get("X-Amz-Content-Sha256"); strings.HasPrefix(sha, "STREAMING-") {
		chunked = true
	}
	if !chunked {
		return body, nil, nil
	}
	data, trailers, ok := decodeAWSChunked(body)
	if !ok {
		return nil, nil, apiErr(400, "IncompleteBody", "The request body terminated unexpectedly")
	}
	if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n != len(data) {
			return nil, nil, apiErr(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
		}
	}
	return data, trailers, nil
}

func decodeAWSChunked(body []byte) ([]byte, map[string]string, bool) {
	var out bytes.Buffer
	rest := body
	for {
		line, after, found := bytes.Cut(rest, []byte("\r\n"))
		if !found {
			return nil, nil, false
		}
		sizeHex, _, _ := bytes.Cut(line, []byte(";"))
		size, err := strconv.ParseInt(strings.TrimSpace(string(sizeHex)), 16, 64)
		if err != nil || size < 0 || size > int64(len(after)) {
			return nil, nil, false
		}
		rest = after
		if size == 0 {
			break
		}
		out.Write(rest[:size])
		rest = rest[size:]
		if !bytes.HasPrefix(rest, []byte("\r\n")) {
			return nil, nil, false
		}
		rest = rest[2:]
	}
	// Trailers: "name:value\r\n" lines up to an empty line (or the end).
	trailers := map[string]string{}
	for len(rest) > 0 {
		line, after, _ := bytes.Cut(rest, []byte("\r\n"))
		rest = after
		if len(line) == 0 {
			break
		}
		k, v, ok := strings.Cut(string(line), ":")
		if !ok {
			return nil, nil, false
		}
		trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return out.Bytes(), trailers, true
}

// s3VerifyChecksums checks the x-amz-checksum-* headers and trailers against
// data and returns them by algorithm.
func s3VerifyChecksums(h http.Header, trailers map[string]string, data []byte) (map[string]string, *APIError) {
	sums := map[string]string{}
	check := func(name, value string) *APIError {
		suffix := strings.TrimPrefix(strings.ToLower(name), "x-amz-checksum-")
		algo, ok := s3ChecksumAlgorithms[suffix]
		if !ok {
			return nil // x-amz-checksum-type, -mode, ...
		}
		want := s3Checksum(algo, data)
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil || len(raw) != len(mustB64(want)) {
			return apiErr(400, "InvalidRequest", "Value for x-amz-checksum-%s header is invalid.", suffix)
		}
		if value != want {
			return apiErr(400, "BadDigest", "The %s you specified did not match the calculated checksum.", algo)
		}
		sums[algo] = value
		return nil
	}
	for k, vs := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") && len(vs) > 0 {
			if aerr := check(k, vs[0]); aerr != nil {
				return nil, aerr
			}
		}
	}
	for k, v := range trailers {
		if strings.HasPrefix(k, "x-amz-checksum-") {
			if aerr := check(k, v); aerr != nil {
				return nil, aerr
			}
		}
	}
	if len(sums) > 1 {
		return nil, apiErr(400, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	return sums, nil
}

func mustB64(s string) []byte {
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}
