package awsemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestSigV4SDKClients(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e, good := newTestEmulator(t, Options{})
	e.mu.Lock()
	e.creds["AKIDOTHER"] = credential{secret: "other-secret"}
	e.mu.Unlock()

	type client struct {
		s3   *s3.Client
		logs *cloudwatchlogs.Client
	}
	mk := func(cfg aws.Config) client {
		return client{newS3Client(cfg), cloudwatchlogs.NewFromConfig(cfg)}
	}
	ok := mk(good)
	if _, err := ok.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sig")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ok.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("sig")}); err != nil {
		t.Fatal(err)
	}
	// A second registered key pair works as well.
	if _, err := mk(testConfig(e, "AKIDOTHER", "other-secret")).s3.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("second key: %v", err)
	}

	for _, tc := range []struct {
		name       string
		ak, sk     string
		s3Code     string
		s3Status   int
		logsCode   string
		logsStatus int
	}{
		{"wrong secret", "test", "wrong", "SignatureDoesNotMatch", 403, "InvalidSignatureException", 400},
		{"other key's secret", "AKIDOTHER", "test", "SignatureDoesNotMatch", 403, "InvalidSignatureException", 400},
		{"unknown access key", "AKIDUNKNOWN", "test", "InvalidAccessKeyId", 403, "UnrecognizedClientException", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mk(testConfig(e, tc.ak, tc.sk))
			_, err := c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("sig")})
			wantCode(t, err, tc.s3Code)
			if got := httpStatus(err); got != tc.s3Status {
				t.Errorf("s3 status %d, want %d", got, tc.s3Status)
			}
			// HEAD carries no error body: only the status reaches the client.
			_, err = c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("sig")})
			if got := httpStatus(err); got != 403 {
				t.Errorf("HeadBucket status %d, want 403 (%v)", got, err)
			}
			_, err = c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
			wantCode(t, err, tc.logsCode)
			if got := httpStatus(err); got != tc.logsStatus {
				t.Errorf("logs status %d, want %d", got, tc.logsStatus)
			}
		})
	}
}

func TestSigV4UnsignedRequests(t *testing.T) {
	t.Parallel()
	for _, disabled := range []bool{false, true} {
		e, cfg := newTestEmulator(t, Options{DisableSigV4: disabled})
		if _, err := newS3Client(cfg).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("open")}); err != nil {
			t.Fatal(err)
		}
		// JSON service: a plain POST with the target header but no signature.
		req, _ := http.NewRequest(http.MethodPost, e.URL()+"/", strings.NewReader(`{"logGroupName":"plain"}`))
		req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if disabled != (resp.StatusCode == 200) {
			t.Errorf("DisableSigV4=%v: unsigned logs request got %d %s", disabled, resp.StatusCode, body)
		}
		// S3: an anonymous PUT and GET.
		req, _ = http.NewRequest(http.MethodPut, e.URL()+"/open/anon.txt", strings.NewReader("anon"))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if disabled != (resp.StatusCode == 200) {
			t.Errorf("DisableSigV4=%v: unsigned PUT got %d %s", disabled, resp.StatusCode, body)
		}
		if !disabled && (resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>AccessDenied</Code>")) {
			t.Errorf("anonymous S3 request: %d %s", resp.StatusCode, body)
		}
		resp, err = http.Get(e.URL() + "/open/anon.txt")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if disabled && (resp.StatusCode != 200 || string(body) != "anon") {
			t.Errorf("unsigned GET with DisableSigV4: %d %s", resp.StatusCode, body)
		}
		if !disabled && resp.StatusCode != 403 {
			t.Errorf("unsigned GET: %d %s", resp.StatusCode, body)
		}
	}
}

// tamperBody replaces the request body after the SDK signed it (same length).
func tamperBody(st *middleware.Stack) error {
	return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("tamper", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		req, ok := in.Request.(*smithyhttp.Request)
		if !ok {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("tamper: request is %T", in.Request)
		}
		b, err := io.ReadAll(req.GetStream())
		if err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		b = bytes.Replace(b, []byte("good"), []byte("evil"), 1)
		req, err = req.SetStream(bytes.NewReader(b))
		if err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		in.Request = req
		return next.HandleFinalize(ctx, in)
	}), "Signing", middleware.After)
}

func TestSigV4TamperedBody(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, cfg := newTestEmulator(t, Options{})
	sc := newS3Client(cfg)
	mustCreateBucket(t, sc, "tamper")

	_, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tamper"), Key: aws.String("k"), Body: strings.NewReader("good data")},
		func(o *s3.Options) { o.APIOptions = append(o.APIOptions, tamperBody) })
	if err == nil {
		t.Fatal("tampered S3 body accepted")
	}
	wantCode(t, err, "XAmzContentSHA256Mismatch")
	_, err = sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tamper"), Key: aws.String("k")})
	if httpStatus(err) != 404 {
		t.Errorf("tampered object stored: %v", err)
	}

	lc := cloudwatchlogs.NewFromConfig(cfg)
	_, err = lc.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("good")},
		func(o *cloudwatchlogs.Options) { o.APIOptions = append(o.APIOptions, tamperBody) })
	wantCode(t, err, "InvalidSignatureException")
	_, err = lc.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("evil")})
	var nf *cwltypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("tampered group created: %v", err)
	}

	// A hand-signed S3 request whose body changes after signing.
	creds, _ := cfg.Credentials.Retrieve(ctx)
	body := []byte("good bytes")
	sum := sha256.Sum256(body)
	req, _ := http.NewRequest(http.MethodPut, aws.ToString(cfg.BaseEndpoint)+"/tamper/manual", bytes.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Body = io.NopCloser(bytes.NewReader([]byte("evil bytes")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatalf("tampered manual request accepted: %s", b)
	}
}

func TestSigV4ObjectKeyEncoding(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, cfg := newTestEmulator(t, Options{})
	c := newS3Client(cfg)
	mustCreateBucket(t, c, "keys")
	keys := []string{
		"with space.txt",
		"plus+sign",
		"ünïcødé/日本語.txt",
		"percent%20literal",
		"a//double/slash",
		"query?and=amp&hash#frag",
		"sub-delims!$'()*,;:@",
		"tilde~and_under-score.dot",
		" leading and trailing ",
	}
	for _, k := range keys {
		t.Run(k, func(t *testing.T) {
			mustPut(t, c, "keys", k, []byte("data:"+k))
			if got := mustGet(t, c, "keys", k); string(got) != "data:"+k {
				t.Fatalf("got %q", got)
			}
			if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("keys"), Key: aws.String(k)}); err != nil {
				t.Fatal(err)
			}
			out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("keys"), Prefix: aws.String(k)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != k {
				t.Fatalf("listed %+v", out.Contents)
			}
			cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("keys"), Key: aws.String(k + ".copy"),
				CopySource: aws.String("keys/" + uriEncode(k, false))})
			if err != nil || cp.CopyObjectResult == nil {
				t.Fatalf("copy: %v", err)
			}
			for _, kk := range []string{k, k + ".copy"} {
				if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("keys"), Key: aws.String(kk)}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestS3SigV2Signature checks the SigV2 query signature against the example of the
// S3 developer guide ("Query string request authentication").
func TestS3SigV2Signature(t *testing.T) {
	t.Parallel()
	r, _ := http.NewRequest(http.MethodGet, "http://s3.amazonaws.com/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=x", nil)
	r.RequestURI = "/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=x"
	if got := s3SigV2Signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", r); got != "NpgCjnDzrM+WFzoENXmpNDUsSn8=" {
		t.Fatalf("signature = %s", got)
	}
}

// TestS3SigV2PresignedURL: AWS CLI v1's `aws s3 presign` produces SigV2 URLs.
func TestS3SigV2PresignedURL(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	c := newS3Client(cfg)
	mustCreateBucket(t, c, "sig-v2")
	mustPut(t, c, "sig-v2", "dir/a b+c.txt", []byte("sigv2"))
	presign := func(key, secret string, expires int64, extra string) string {
		path := "/sig-v2/" + uriEncode(key, false)
		raw := fmt.Sprintf("%s?%sAWSAccessKeyId=test&Expires=%d", path, extra, expires)
		r, _ := http.NewRequest(http.MethodGet, e.URL()+raw, nil)
		r.RequestURI = raw
		return e.URL() + raw + "&Signature=" + url.QueryEscape(s3SigV2Signature(secret, r))
	}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	future := time.Now().Add(time.Minute).Unix()
	for _, tc := range []struct {
		name, url, code string
		status          int
	}{
		{"valid", presign("dir/a b+c.txt", "test", future, ""), "", 200},
		{"with subresource", presign("dir/a b+c.txt", "test", future, "response-content-type=text%2Fplain&"), "", 200},
		{"wrong secret", presign("dir/a b+c.txt", "nope", future, ""), "SignatureDoesNotMatch", 403},
		{"expired", presign("dir/a b+c.txt", "test", time.Now().Add(-time.Second).Unix(), ""), "AccessDenied", 403},
		{"changed key", strings.Replace(presign("dir/a b+c.txt", "test", future, ""), "c.txt", "d.txt", 1), "SignatureDoesNotMatch", 403},
		{"unknown key", strings.Replace(presign("dir/a b+c.txt", "test", future, ""), "AWSAccessKeyId=test", "AWSAccessKeyId=other", 1), "InvalidAccessKeyId", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(tc.url)
			if status != tc.status || (tc.code != "" && !strings.Contains(body, "<Code>"+tc.code+"</Code>")) || (tc.code == "" && body != "sigv2") {
				t.Fatalf("%d %s", status, body)
			}
		})
	}
}
