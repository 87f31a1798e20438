package awsemu

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func newS3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func newS3Test(t *testing.T, opts Options) (*Emulator, *s3.Client) {
	t.Helper()
	e, cfg := newTestEmulator(t, opts)
	return e, newS3Client(cfg)
}

func mustCreateBucket(t *testing.T, c *s3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func mustPut(t *testing.T, c *s3.Client, bucket, key string, data []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

func mustGet(t *testing.T, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want error code %s, got %s (%v)", code, ae.ErrorCode(), err)
	}
}

func TestS3BucketLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "bucket-one")

	// us-east-1 answers 200 to a bucket you already own (legacy behaviour).
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket-one")}); err != nil {
		t.Fatalf("second CreateBucket in us-east-1: want 200, got %v", err)
	}
	// Every other region answers 409 BucketAlreadyOwnedByYou.
	_, cw := newS3Test(t, Options{Region: "eu-west-1"})
	in := &s3.CreateBucketInput{Bucket: aws.String("bucket-one"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}
	if _, err := cw.CreateBucket(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, err := cw.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	if !errors.As(err, &owned) {
		t.Fatalf("second CreateBucket in eu-west-1: want BucketAlreadyOwnedByYou, got %v", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 409 {
		t.Fatalf("want status 409, got %v", err)
	}

	hb, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bucket-one")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(hb.BucketRegion) != "us-east-1" {
		t.Errorf("BucketRegion = %q", aws.ToString(hb.BucketRegion))
	}
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("HeadBucket missing: want NotFound, got %v", err)
	}

	mustCreateBucket(t, c, "bucket-two")
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
		if b.CreationDate == nil || time.Since(*b.CreationDate) > time.Minute {
			t.Errorf("bad CreationDate %v", b.CreationDate)
		}
	}
	if strings.Join(names, ",") != "bucket-one,bucket-two" {
		t.Errorf("ListBuckets = %v", names)
	}
	if lb.Owner == nil || aws.ToString(lb.Owner.ID) == "" {
		t.Errorf("ListBuckets without owner")
	}
	page, err := c.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Buckets) != 1 || page.ContinuationToken == nil {
		t.Fatalf("paged ListBuckets = %+v", page)
	}
	page, err = c.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1), ContinuationToken: page.ContinuationToken})
	if err != nil || len(page.Buckets) != 1 || aws.ToString(page.Buckets[0].Name) != "bucket-two" || page.ContinuationToken != nil {
		t.Fatalf("second ListBuckets page = %+v, %v", page, err)
	}

	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("bucket-one")})
	if err != nil {
		t.Fatal(err)
	}
	if loc.LocationConstraint != "" {
		t.Errorf("us-east-1 LocationConstraint = %q, want empty", loc.LocationConstraint)
	}
	_, err = c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("no-such-bucket")})
	wantCode(t, err, "NoSuchBucket")

	mustPut(t, c, "bucket-one", "k", []byte("x"))
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bucket-one")})
	wantCode(t, err, "BucketNotEmpty")
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bucket-one"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bucket-one")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bucket-one")})
	wantCode(t, err, "NoSuchBucket")
	if errors.As(err, &re) && re.HTTPStatusCode() != 404 {
		t.Errorf("NoSuchBucket status %d", re.HTTPStatusCode())
	}
}

func TestS3BucketNames(t *testing.T) {
	t.Parallel()
	_, c := newS3Test(t, Options{})
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"abc", true},
		{"my.bucket-1", true},
		{strings.Repeat("a", 63), true},
		{"ab", false},
		{strings.Repeat("a", 64), false},
		{"Upper", false},
		{"under_score", false},
		{"-start", false},
		{"end-", false},
		{"two..dots", false},
		{"192.168.1.1", false},
		{"xn--punycode", false},
		{"name-s3alias", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(tc.name)})
			if tc.ok {
				if err != nil {
					t.Fatalf("want ok, got %v", err)
				}
				return
			}
			wantCode(t, err, "InvalidBucketName")
		})
	}
}

func TestS3CreateBucketLocationConstraint(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, euc := newS3Test(t, Options{Region: "eu-west-1"})
	_, usc := newS3Test(t, Options{})
	for _, tc := range []struct {
		name       string
		c          *s3.Client
		bucket     string
		constraint s3types.BucketLocationConstraint
		code       string
	}{
		{"eu with own region", euc, "eu-own", "eu-west-1", ""},
		{"eu without constraint", euc, "eu-none", "", "IllegalLocationConstraintException"},
		{"eu with other region", euc, "eu-other", "us-west-2", "IllegalLocationConstraintException"},
		{"us-east-1 without constraint", usc, "us-none", "", ""},
		{"us-east-1 with us-east-1", usc, "us-explicit", "us-east-1", "InvalidLocationConstraint"},
		{"us-east-1 with other region", usc, "us-other", "eu-west-1", "IllegalLocationConstraintException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &s3.CreateBucketInput{Bucket: aws.String(tc.bucket)}
			if tc.constraint != "" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: tc.constraint}
			}
			_, err := tc.c.CreateBucket(ctx, in)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			loc, err := tc.c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(tc.bucket)})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.constraint
			if want == "us-east-1" {
				want = ""
			}
			if loc.LocationConstraint != want {
				t.Errorf("LocationConstraint = %q, want %q", loc.LocationConstraint, want)
			}
		})
	}
}

func TestS3ObjectRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "objs")
	data := []byte("hello, world\n")
	sum := md5.Sum(data)
	wantETag := `"` + hex.EncodeToString(sum[:]) + `"`
	put, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt"), Body: bytes.NewReader(data),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"Owner": "me", "x": "y"},
		CacheControl: aws.String("no-cache"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.ETag) != wantETag {
		t.Errorf("PutObject ETag = %s, want %s", aws.ToString(put.ETag), wantETag)
	}
	before := time.Now().Add(-2 * time.Second)

	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(body, data) {
		t.Errorf("body = %q", body)
	}
	if aws.ToString(get.ETag) != wantETag || aws.ToString(get.ContentType) != "text/plain" ||
		aws.ToInt64(get.ContentLength) != int64(len(data)) || aws.ToString(get.CacheControl) != "no-cache" {
		t.Errorf("GetObject headers: etag %s type %s len %d cache %s", aws.ToString(get.ETag), aws.ToString(get.ContentType),
			aws.ToInt64(get.ContentLength), aws.ToString(get.CacheControl))
	}
	if get.Metadata["owner"] != "me" || get.Metadata["x"] != "y" {
		t.Errorf("Metadata = %v", get.Metadata)
	}
	if get.LastModified == nil || get.LastModified.Before(before) || get.LastModified.After(time.Now().Add(time.Second)) {
		t.Errorf("LastModified = %v", get.LastModified)
	}

	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(data)) || aws.ToString(head.ETag) != wantETag || head.Metadata["owner"] != "me" {
		t.Errorf("HeadObject = len %d etag %s meta %v", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), head.Metadata)
	}

	// Overwrite, then delete (idempotent).
	mustPut(t, c, "objs", "dir/hello.txt", []byte("v2"))
	if got := mustGet(t, c, "objs", "dir/hello.txt"); string(got) != "v2" {
		t.Errorf("after overwrite: %q", got)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")}); err != nil {
			t.Fatalf("DeleteObject #%d: %v", i, err)
		}
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Fatalf("want NoSuchKey, got %v", err)
	}
	if nsk.ErrorMessage() != "The specified key does not exist." {
		t.Errorf("NoSuchKey message %q", nsk.ErrorMessage())
	}
}

func TestS3ObjectErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "errs")
	cases := []struct {
		name  string
		call  func() error
		check func(t *testing.T, err error)
	}{
		{"GetObject missing key", func() error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("errs"), Key: aws.String("nope")})
			return err
		}, func(t *testing.T, err error) {
			var e *s3types.NoSuchKey
			if !errors.As(err, &e) {
				t.Fatalf("want NoSuchKey, got %v", err)
			}
		}},
		{"HeadObject missing key", func() error {
			_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("errs"), Key: aws.String("nope")})
			return err
		}, func(t *testing.T, err error) {
			var e *s3types.NotFound
			if !errors.As(err, &e) {
				t.Fatalf("want NotFound, got %v", err)
			}
		}},
		{"GetObject missing bucket", func() error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
			return err
		}, func(t *testing.T, err error) { wantCode(t, err, "NoSuchBucket") }},
		{"PutObject missing bucket", func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		}, func(t *testing.T, err error) { wantCode(t, err, "NoSuchBucket") }},
		{"ListObjectsV2 missing bucket", func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nobucket")})
			return err
		}, func(t *testing.T, err error) {
			var e *s3types.NoSuchBucket
			if !errors.As(err, &e) {
				t.Fatalf("want NoSuchBucket, got %v", err)
			}
		}},
		{"DeleteObject missing bucket", func() error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
			return err
		}, func(t *testing.T, err error) { wantCode(t, err, "NoSuchBucket") }},
		{"PutObject bad Content-MD5", func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("errs"), Key: aws.String("k"), Body: strings.NewReader("x"),
				ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
			return err
		}, func(t *testing.T, err error) { wantCode(t, err, "BadDigest") }},
		{"PutObject bad CRC32", func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("errs"), Key: aws.String("k"), Body: strings.NewReader("x"),
				ChecksumCRC32: aws.String("AAAAAA==")})
			return err
		}, func(t *testing.T, err error) { wantCode(t, err, "BadDigest") }},
		{"GetObject unsatisfiable range", func() error {
			mustPut(t, c, "errs", "small", []byte("abc"))
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("errs"), Key: aws.String("small"), Range: aws.String("bytes=10-20")})
			return err
		}, func(t *testing.T, err error) { wantCode(t, err, "InvalidRange") }},
		{"PutObject If-None-Match on existing", func() error {
			mustPut(t, c, "errs", "exists", []byte("abc"))
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("errs"), Key: aws.String("exists"), Body: strings.NewReader("x"),
				IfNoneMatch: aws.String("*")})
			return err
		}, func(t *testing.T, err error) { wantCode(t, err, "PreconditionFailed") }},
		{"unsupported subresource", func() error {
			_, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("errs")})
			return err
		}, func(t *testing.T, err error) { wantCode(t, err, "NotImplemented") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, tc.call()) })
	}
}

func TestS3RangeAndConditional(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "rng")
	put := mustPut(t, c, "rng", "digits", []byte("0123456789"))
	for _, tc := range []struct{ rng, want, contentRange string }{
		{"bytes=2-4", "234", "bytes 2-4/10"},
		{"bytes=7-", "789", "bytes 7-9/10"},
		{"bytes=-3", "789", "bytes 7-9/10"},
		{"bytes=8-100", "89", "bytes 8-9/10"},
		{"bytes=0-0", "0", "bytes 0-0/10"},
	} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("rng"), Key: aws.String("digits"), Range: aws.String(tc.rng)})
		if err != nil {
			t.Fatalf("%s: %v", tc.rng, err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(b) != tc.want || aws.ToString(out.ContentRange) != tc.contentRange || aws.ToInt64(out.ContentLength) != int64(len(tc.want)) {
			t.Errorf("%s: body %q range %q len %d", tc.rng, b, aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength))
		}
	}
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("rng"), Key: aws.String("digits"), IfMatch: aws.String(`"nope"`)})
	wantCode(t, err, "PreconditionFailed")
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("rng"), Key: aws.String("digits"), IfMatch: put.ETag})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("rng"), Key: aws.String("digits"), IfNoneMatch: put.ETag})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 304 {
		t.Fatalf("If-None-Match: want 304, got %v", err)
	}
}

func TestS3Checksums(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "sums")
	data := []byte("checksummed payload")
	for _, algo := range []s3types.ChecksumAlgorithm{s3types.ChecksumAlgorithmCrc32, s3types.ChecksumAlgorithmCrc32c,
		s3types.ChecksumAlgorithmSha1, s3types.ChecksumAlgorithmSha256, s3types.ChecksumAlgorithmCrc64nvme} {
		t.Run(string(algo), func(t *testing.T) {
			key := "k-" + string(algo)
			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sums"), Key: aws.String(key), Body: bytes.NewReader(data),
				ChecksumAlgorithm: algo})
			if err != nil {
				t.Fatal(err)
			}
			want := s3Checksum(string(algo), data)
			got := map[s3types.ChecksumAlgorithm]*string{s3types.ChecksumAlgorithmCrc32: put.ChecksumCRC32, s3types.ChecksumAlgorithmCrc32c: put.ChecksumCRC32C,
				s3types.ChecksumAlgorithmSha1: put.ChecksumSHA1, s3types.ChecksumAlgorithmSha256: put.ChecksumSHA256, s3types.ChecksumAlgorithmCrc64nvme: put.ChecksumCRC64NVME}[algo]
			if aws.ToString(got) != want {
				t.Errorf("echoed checksum %q, want %q", aws.ToString(got), want)
			}
			// The SDK validates the returned checksum against the body.
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sums"), Key: aws.String(key), ChecksumMode: s3types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(b, data) {
				t.Fatalf("GetObject: %q, %v", b, err)
			}
		})
	}
	// A known CRC32 value, independently computed.
	var raw [4]byte
	v := crc32.ChecksumIEEE(data)
	raw[0], raw[1], raw[2], raw[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	if got := s3Checksum("CRC32", data); got != base64.StdEncoding.EncodeToString(raw[:]) {
		t.Errorf("CRC32 = %s", got)
	}
}

func TestS3ListObjectsV2(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "list")
	keys := []string{"a.txt", "dir/1", "dir/2", "dir/sub/3", "dir2/x", "logs/2024/01", "logs/2024/02", "logs/2025/01", "z"}
	for _, k := range keys {
		mustPut(t, c, "list", k, []byte(k))
	}
	list := func(in s3.ListObjectsV2Input) *s3.ListObjectsV2Output {
		t.Helper()
		in.Bucket = aws.String("list")
		out, err := c.ListObjectsV2(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	names := func(out *s3.ListObjectsV2Output) (string, string) {
		var ks, ps []string
		for _, o := range out.Contents {
			ks = append(ks, aws.ToString(o.Key))
		}
		for _, p := range out.CommonPrefixes {
			ps = append(ps, aws.ToString(p.Prefix))
		}
		return strings.Join(ks, ","), strings.Join(ps, ",")
	}
	for _, tc := range []struct {
		name         string
		in           s3.ListObjectsV2Input
		keys, prefix string
		truncated    bool
	}{
		{"all", s3.ListObjectsV2Input{}, strings.Join(keys, ","), "", false},
		{"prefix", s3.ListObjectsV2Input{Prefix: aws.String("dir/")}, "dir/1,dir/2,dir/sub/3", "", false},
		{"delimiter", s3.ListObjectsV2Input{Delimiter: aws.String("/")}, "a.txt,z", "dir/,dir2/,logs/", false},
		{"prefix and delimiter", s3.ListObjectsV2Input{Prefix: aws.String("logs/"), Delimiter: aws.String("/")}, "", "logs/2024/,logs/2025/", false},
		{"start-after", s3.ListObjectsV2Input{StartAfter: aws.String("logs/2024/02")}, "logs/2025/01,z", "", false},
		{"max-keys", s3.ListObjectsV2Input{MaxKeys: aws.Int32(2)}, "a.txt,dir/1", "", true},
		{"no match", s3.ListObjectsV2Input{Prefix: aws.String("nothing")}, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := list(tc.in)
			ks, ps := names(out)
			if ks != tc.keys || ps != tc.prefix {
				t.Errorf("keys %q prefixes %q, want %q %q", ks, ps, tc.keys, tc.prefix)
			}
			if aws.ToBool(out.IsTruncated) != tc.truncated || aws.ToInt32(out.KeyCount) != int32(len(out.Contents)+len(out.CommonPrefixes)) {
				t.Errorf("IsTruncated %v KeyCount %d", aws.ToBool(out.IsTruncated), aws.ToInt32(out.KeyCount))
			}
			if tc.truncated == (out.NextContinuationToken == nil) {
				t.Errorf("NextContinuationToken = %v", out.NextContinuationToken)
			}
		})
	}
	// Paging with a delimiter: common prefixes count as one entry and are not repeated.
	for _, size := range []int32{1, 2, 3} {
		var ks, ps []string
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("list"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(size)})
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			k, pr := names(out)
			if k != "" {
				ks = append(ks, k)
			}
			if pr != "" {
				ps = append(ps, pr)
			}
		}
		if strings.Join(ks, ",") != "a.txt,z" || strings.Join(ps, ",") != "dir/,dir2/,logs/" {
			t.Errorf("page size %d: keys %v prefixes %v", size, ks, ps)
		}
		if want := (5 + int(size) - 1) / int(size); pages != want {
			t.Errorf("page size %d: %d pages, want %d", size, pages, want)
		}
	}
	// Full paging without delimiter.
	var all []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("list"), MaxKeys: aws.Int32(4)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			all = append(all, aws.ToString(o.Key))
			if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || o.StorageClass != "STANDARD" || aws.ToString(o.ETag) == "" {
				t.Errorf("object %+v", o)
			}
		}
	}
	if strings.Join(all, ",") != strings.Join(keys, ",") {
		t.Errorf("paged keys = %v", all)
	}
	_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("list"), ContinuationToken: aws.String("!!bad!!")})
	wantCode(t, err, "InvalidArgument")

	// ListObjects (v1) with marker.
	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("list"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(v1.Contents) != 1 || len(v1.CommonPrefixes) != 1 || !aws.ToBool(v1.IsTruncated) || aws.ToString(v1.NextMarker) != "dir/" {
		t.Fatalf("ListObjects = %+v", v1)
	}
	v1, err = c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("list"), Delimiter: aws.String("/"), Marker: v1.NextMarker})
	if err != nil {
		t.Fatal(err)
	}
	if len(v1.Contents) != 1 || len(v1.CommonPrefixes) != 2 || aws.ToBool(v1.IsTruncated) || v1.Contents[0].Owner == nil {
		t.Fatalf("ListObjects page 2 = %+v", v1)
	}
}

func TestS3ListEncodingTypeURL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "enc")
	mustPut(t, c, "enc", "a b+c/é", []byte("x"))
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("enc"), EncodingType: s3types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	if out.EncodingType != s3types.EncodingTypeUrl || len(out.Contents) != 1 {
		t.Fatalf("EncodingType %q, %d objects", out.EncodingType, len(out.Contents))
	}
	if got := aws.ToString(out.Contents[0].Key); got != "a+b%2Bc%2F%C3%A9" {
		t.Errorf("encoded key = %q", got)
	}
	plain, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("enc")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(plain.Contents[0].Key); got != "a b+c/é" || plain.EncodingType != "" {
		t.Errorf("plain key = %q, EncodingType %q", got, plain.EncodingType)
	}
}

func TestS3DeleteAndCopy(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "src")
	mustCreateBucket(t, c, "dst")
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a key+1"), Body: strings.NewReader("payload"),
		ContentType: aws.String("text/x"), Metadata: map[string]string{"m": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("src/a%20key%2B1")})
	if err != nil {
		t.Fatal(err)
	}
	if cp.CopyObjectResult == nil || aws.ToString(cp.CopyObjectResult.ETag) == "" {
		t.Fatalf("CopyObjectResult = %+v", cp.CopyObjectResult)
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(h.ContentType) != "text/x" || h.Metadata["m"] != "1" || aws.ToString(h.ETag) != aws.ToString(cp.CopyObjectResult.ETag) {
		t.Errorf("copied head = %s %v %s", aws.ToString(h.ContentType), h.Metadata, aws.ToString(h.ETag))
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("repl"), CopySource: aws.String("src/a%20key%2B1"),
		MetadataDirective: s3types.MetadataDirectiveReplace, ContentType: aws.String("text/y"), Metadata: map[string]string{"n": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("repl")})
	if err != nil || aws.ToString(h.ContentType) != "text/y" || h.Metadata["n"] != "2" || h.Metadata["m"] != "" {
		t.Errorf("replaced head = %+v, %v", h, err)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"), CopySource: aws.String("src/missing")})
	wantCode(t, err, "NoSuchKey")

	for _, k := range []string{"d1", "d2", "d3"} {
		mustPut(t, c, "src", k, []byte(k))
	}
	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("src"), Delete: &s3types.Delete{
		Objects: []s3types.ObjectIdentifier{{Key: aws.String("d1")}, {Key: aws.String("d2")}, {Key: aws.String("never-existed")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Deleted) != 3 || len(del.Errors) != 0 {
		t.Errorf("DeleteObjects = %+v", del)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("src")})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, o := range out.Contents {
		left = append(left, aws.ToString(o.Key))
	}
	if strings.Join(left, ",") != "a key+1,d3" {
		t.Errorf("left = %v", left)
	}
}

func TestS3LargeObjectAndMultipart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "big")
	data := make([]byte, 5<<20+123)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	mustPut(t, c, "big", "five-mib", data)
	if got := mustGet(t, c, "big", "five-mib"); !bytes.Equal(got, data) {
		t.Fatalf("large round trip: got %d bytes", len(got))
	}

	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("mp"), ContentType: aws.String("app/x")})
	if err != nil {
		t.Fatal(err)
	}
	part1, part2 := data[:5<<20], data[5<<20:]
	var parts []s3types.CompletedPart
	for i, p := range [][]byte{part1, part2} {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("mp"), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	// Wrong order is rejected.
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("mp"), UploadId: cr.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{parts[1], parts[0]}}})
	wantCode(t, err, "InvalidPartOrder")
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("mp"), UploadId: cr.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(done.ETag), `-2"`) {
		t.Errorf("multipart ETag = %s", aws.ToString(done.ETag))
	}
	if got := mustGet(t, c, "big", "mp"); !bytes.Equal(got, data) {
		t.Fatalf("multipart round trip: %d bytes", len(got))
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("mp"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x"))})
	wantCode(t, err, "NoSuchUpload")

	// Small non-last parts are rejected; abort removes the upload.
	cr2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("small")})
	if err != nil {
		t.Fatal(err)
	}
	var small []s3types.CompletedPart
	for i := 1; i <= 2; i++ {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cr2.UploadId,
			PartNumber: aws.Int32(int32(i)), Body: strings.NewReader("tiny")})
		if err != nil {
			t.Fatal(err)
		}
		small = append(small, s3types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i))})
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cr2.UploadId})
	if err != nil || len(lp.Parts) != 2 {
		t.Fatalf("ListParts = %+v, %v", lp, err)
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cr2.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: small}})
	wantCode(t, err, "EntityTooSmall")
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cr2.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cr2.UploadId})
	var nsu *s3types.NoSuchUpload
	if !errors.As(err, &nsu) {
		t.Fatalf("want NoSuchUpload, got %v", err)
	}
}

func TestS3Concurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newS3Test(t, Options{})
	mustCreateBucket(t, c, "conc")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				key := fmt.Sprintf("w%d/%d", w, i)
				data := []byte(strings.Repeat(key, 100))
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conc"), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
					errs <- err
					return
				}
				out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("conc"), Key: aws.String(key)})
				if err != nil {
					errs <- err
					return
				}
				got, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if !bytes.Equal(got, data) {
					errs <- fmt.Errorf("%s: got %d bytes", key, len(got))
					return
				}
				if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("conc"), Prefix: aws.String(fmt.Sprintf("w%d/", w))}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("conc")})
	if err != nil || aws.ToInt32(out.KeyCount) != 80 {
		t.Fatalf("KeyCount = %d, %v", aws.ToInt32(out.KeyCount), err)
	}
}

func TestS3PresignedURLs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, cfg := newTestEmulator(t, Options{})
	c := newS3Client(cfg)
	mustCreateBucket(t, c, "pre")
	pc := s3.NewPresignClient(c)

	// PUT through a presigned URL with plain net/http.
	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("up/file.bin")})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(put.Method, put.URL, strings.NewReader("uploaded via presigned url"))
	for k, v := range put.SignedHeader {
		if !strings.EqualFold(k, "host") {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d %s", resp.StatusCode, b)
	}
	if got := mustGet(t, c, "pre", "up/file.bin"); string(got) != "uploaded via presigned url" {
		t.Fatalf("object = %q", got)
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("pre"), Key: aws.String("up/file.bin")})
	if err != nil {
		t.Fatal(err)
	}
	if ct := aws.ToString(h.ContentType); ct != "binary/octet-stream" {
		t.Errorf("default Content-Type = %q", ct)
	}

	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("up/file.bin")})
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := fetch(get.URL); code != 200 || body != "uploaded via presigned url" {
		t.Fatalf("presigned GET: %d %q", code, body)
	}
	sig := get.URL[strings.Index(get.URL, "X-Amz-Signature=")+len("X-Amz-Signature="):]
	sig, _, _ = strings.Cut(sig, "&")
	flipped := []byte(sig)
	if flipped[0] == 'a' {
		flipped[0] = 'b'
	} else {
		flipped[0] = 'a'
	}
	for name, u := range map[string]string{
		"changed key":       strings.Replace(get.URL, "up/file.bin", "up/other.bin", 1),
		"changed signature": strings.Replace(get.URL, sig, string(flipped), 1),
	} {
		code, body := fetch(u)
		if code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}

	short, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("up/file.bin")},
		s3.WithPresignExpires(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // wall time on purpose: the URL's 1 s expiry must pass
	code, body := fetch(short.URL)
	if code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, "Request has expired") {
		t.Errorf("expired URL: %d %s", code, body)
	}
}

// TestS3AWSChunkedUpload sends a streaming upload with a trailing checksum, as the
// SDKs and the CLI do over TLS.
func TestS3AWSChunkedUpload(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e, cfg := newTestEmulator(t, Options{})
	c := newS3Client(cfg)
	mustCreateBucket(t, c, "chunk")
	data := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80000 bytes
	crc := s3Checksum("CRC32", data)
	build := func(trailerSum string) *http.Request {
		var body bytes.Buffer
		for off := 0; off < len(data); off += 65536 {
			end := min(off+65536, len(data))
			fmt.Fprintf(&body, "%x\r\n", end-off)
			body.Write(data[off:end])
			body.WriteString("\r\n")
		}
		fmt.Fprintf(&body, "0\r\nx-amz-checksum-crc32:%s\r\n\r\n", trailerSum)
		req, _ := http.NewRequest(http.MethodPut, e.URL()+"/chunk/streamed", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		creds, _ := cfg.Credentials.Retrieve(ctx)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return req
	}
	resp, err := http.DefaultClient.Do(build(crc))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Checksum-Crc32") != crc {
		t.Fatalf("chunked PUT: %d %s (crc header %q)", resp.StatusCode, b, resp.Header.Get("X-Amz-Checksum-Crc32"))
	}
	if got := mustGet(t, c, "chunk", "streamed"); !bytes.Equal(got, data) {
		t.Fatalf("decoded body: %d bytes", len(got))
	}
	resp, err = http.DefaultClient.Do(build("AAAAAA=="))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "BadDigest") {
		t.Fatalf("bad trailer checksum: %d %s", resp.StatusCode, b)
	}
}

func TestS3PutObjectLocked(t *testing.T) {
	t.Parallel()
	e, c := newS3Test(t, Options{})
	e.mu.Lock()
	err := e.s3PutObjectLocked("missing", "k", []byte("x"))
	exists := e.s3BucketExistsLocked("out")
	e.mu.Unlock()
	if err == nil || exists {
		t.Fatalf("missing bucket: err %v exists %v", err, exists)
	}
	mustCreateBucket(t, c, "out")
	e.mu.Lock()
	exists = e.s3BucketExistsLocked("out")
	err = e.s3PutObjectLocked("out", "cmd/i-1/stdout", []byte("output"))
	e.mu.Unlock()
	if err != nil || !exists {
		t.Fatalf("put: %v exists %v", err, exists)
	}
	if got := mustGet(t, c, "out", "cmd/i-1/stdout"); string(got) != "output" {
		t.Fatalf("got %q", got)
	}
}

func TestS3DecodeAWSChunked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, want string
		trailers         map[string]string
		ok               bool
	}{
		{"simple", "3\r\nabc\r\n0\r\n\r\n", "abc", map[string]string{}, true},
		{"signed chunks", "3;chunk-signature=aa\r\nabc\r\n2;chunk-signature=bb\r\nde\r\n0;chunk-signature=cc\r\n\r\n", "abcde", map[string]string{}, true},
		{"trailer", "1\r\nx\r\n0\r\nx-amz-checksum-crc32:abc=\r\n\r\n", "x", map[string]string{"x-amz-checksum-crc32": "abc="}, true},
		{"truncated", "5\r\nab", "", nil, false},
		{"bad size", "zz\r\nab\r\n0\r\n\r\n", "", nil, false},
		{"missing crlf", "2\r\nabX0\r\n\r\n", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, tr, ok := decodeAWSChunked([]byte(tc.body))
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if string(got) != tc.want || fmt.Sprint(tr) != fmt.Sprint(tc.trailers) {
				t.Errorf("got %q %v", got, tr)
			}
		})
	}
}

func TestS3ParseRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		h                string
		size, start, end int64
		ok, sat          bool
	}{
		{"bytes=0-9", 10, 0, 9, true, true},
		{"bytes=5-", 10, 5, 9, true, true},
		{"bytes=-4", 10, 6, 9, true, true},
		{"bytes=-40", 10, 0, 9, true, true},
		{"bytes=10-", 10, 0, 0, true, false},
		{"bytes=1-2,4-5", 10, 0, 0, false, false},
		{"items=1-2", 10, 0, 0, false, false},
		{"bytes=5-2", 10, 0, 0, false, false},
		{"bytes=-0", 10, 0, 0, true, false},
	} {
		s, e, ok, sat := parseRange(tc.h, tc.size)
		if ok != tc.ok || sat != tc.sat || (sat && (s != tc.start || e != tc.end)) {
			t.Errorf("%s: %d-%d ok %v sat %v", tc.h, s, e, ok, sat)
		}
	}
}
