package awsemu

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// notesActions reads the IAM action names listed in notes/aws-behaviour.md's
// "Emulator IAM actions" section.
func notesActions(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../../notes/aws-behaviour.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "## Emulator IAM actions")
	if i < 0 {
		t.Fatal("notes have no Emulator IAM actions section")
	}
	s = s[i:]
	j := strings.Index(s, "- IAM action names the table may use")
	k := strings.Index(s[j:], "\n- Not modelled")
	if j < 0 || k < 0 {
		t.Fatal("notes have no list of IAM action names")
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z0-9]+:[A-Za-z]+)`").FindAllStringSubmatch(s[j:j+k], -1) {
		out[m[1]] = true
	}
	return out
}

// Every operation the emulator routes has an entry in the table of IAM actions,
// every entry is an operation it routes, and every action is one of the IAM
// action names written down in the notes (never an API operation name that is no
// action, such as s3:ListObjectsV2).
func TestAuthzActionsCoverEveryOperation(t *testing.T) {
	t.Parallel()
	e := &Emulator{}
	routed := map[string]bool{}
	for name, svc := range e.services() {
		for op := range svc.query {
			routed[name+"."+op] = true
		}
		for op := range svc.json {
			routed[name+"."+op] = true
		}
	}
	for _, op := range s3Operations {
		routed["s3."+op] = true
	}
	var missing, stale []string
	for op := range routed {
		if _, ok := authzActions[op]; !ok {
			missing = append(missing, op)
		}
	}
	for op := range authzActions {
		if !routed[op] {
			stale = append(stale, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 || len(stale) > 0 {
		t.Fatalf("operations without IAM actions: %v; table entries for operations not served: %v", missing, stale)
	}
	names := notesActions(t)
	for _, bad := range []string{"s3:ListObjectsV2", "s3:ListObjects", "s3:HeadObject", "s3:HeadBucket", "s3:UploadPart",
		"s3:CreateMultipartUpload", "s3:CompleteMultipartUpload", "s3:ListParts", "s3:DeleteObjects", "s3:CopyObject", "s3:ListBuckets"} {
		if names[bad] {
			t.Errorf("the notes list %s, which is no IAM action", bad)
		}
	}
	used := map[string]bool{}
	for op, actions := range authzActions {
		for _, a := range actions {
			used[a] = true
			if !names[a] {
				t.Errorf("%s is authorized by %s, which the notes do not list as an IAM action", op, a)
			}
		}
	}
	for a := range names {
		if !used[a] {
			t.Errorf("the notes list %s, which the table does not use", a)
		}
	}
}

// s3Operation names every S3 request the emulator serves with one of
// s3Operations.
func TestS3OperationNames(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, op := range s3Operations {
		known[op] = true
	}
	for _, c := range []struct{ method, target, copySource, want string }{
		{"GET", "/", "", "ListBuckets"},
		{"PUT", "/b", "", "CreateBucket"},
		{"HEAD", "/b", "", "HeadBucket"},
		{"DELETE", "/b", "", "DeleteBucket"},
		{"GET", "/b?location", "", "GetBucketLocation"},
		{"GET", "/b?list-type=2&prefix=p", "", "ListObjectsV2"},
		{"GET", "/b", "", "ListObjects"},
		{"POST", "/b?delete", "", "DeleteObjects"},
		{"PUT", "/b/k", "", "PutObject"},
		{"PUT", "/b/k", "/a/k", "CopyObject"},
		{"GET", "/b/k", "", "GetObject"},
		{"HEAD", "/b/k", "", "HeadObject"},
		{"DELETE", "/b/k", "", "DeleteObject"},
		{"POST", "/b/k?uploads", "", "CreateMultipartUpload"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", "", "UploadPart"},
		{"POST", "/b/k?uploadId=u", "", "CompleteMultipartUpload"},
		{"DELETE", "/b/k?uploadId=u", "", "AbortMultipartUpload"},
		{"GET", "/b/k?uploadId=u", "", "ListParts"},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		if c.copySource != "" {
			r.Header.Set("X-Amz-Copy-Source", c.copySource)
		}
		got := s3Operation(r)
		if got != c.want || !known[got] {
			t.Errorf("%s %s: %s (known %v), want %s", c.method, c.target, got, known[got], c.want)
		}
	}
}

// Under enforcement, S3 operations are authorized by their IAM actions: a
// policy granting s3:ListBucket (limited by s3:prefix), s3:GetObject and
// s3:PutObject lists, heads, gets (presigned too) and uploads in parts; what it
// does not grant is denied naming the IAM action.
func TestAuthorizationUsesIAMActionsForS3(t *testing.T) {
	t.Parallel()
	e, root := newTestEmulator(t, Options{})
	ctx := t.Context()
	rs3 := s3.NewFromConfig(root, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := rs3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("stage")}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("stage"), Key: aws.String("other/secret"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	op := assumeWithPolicy(t, root, "s3op", `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::stage","Condition":{"StringLike":{"s3:prefix":"mine/*"}}},
 {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::stage/mine/*"}]}`)
	e.SetAuthorization(true)
	c := s3.NewFromConfig(op, func(o *s3.Options) { o.UsePathStyle = true })

	big := bytes.Repeat([]byte("part"), 3<<20) // 12 MiB in a 5 MiB and a 7 MiB part
	mu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("stage"), Key: aws.String("mine/big")})
	if err != nil {
		t.Fatalf("CreateMultipartUpload with s3:PutObject: %v", err)
	}
	var parts []s3types.CompletedPart
	for i, chunk := range [][]byte{big[:5<<20], big[5<<20:]} {
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("stage"), Key: aws.String("mine/big"), UploadId: mu.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk)})
		if err != nil {
			t.Fatalf("UploadPart with s3:PutObject: %v", err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("stage"), Key: aws.String("mine/big"), UploadId: mu.UploadId})
	wantDenied(t, err, "AccessDenied", "s3:ListMultipartUploadParts", "arn:aws:s3:::stage/mine/big")
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("stage"), Key: aws.String("mine/big"),
		UploadId: mu.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatalf("CompleteMultipartUpload with s3:PutObject: %v", err)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("stage"), Prefix: aws.String("mine/")})
	if err != nil || len(out.Contents) != 1 {
		t.Fatalf("ListObjectsV2 with s3:ListBucket: %v, %v", out, err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("stage"), Key: aws.String("mine/big")}); err != nil {
		t.Fatalf("HeadObject with s3:GetObject: %v", err)
	}
	req, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("stage"), Key: aws.String("mine/big")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(big)) {
		t.Fatalf("presigned GET with s3:GetObject: %d", resp.StatusCode)
	}

	// A prefix outside the condition, an object outside the resource, a bucket
	// check the policy does not allow (HeadBucket carries no s3:prefix), a delete.
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("stage"), Prefix: aws.String("other/")})
	wantDenied(t, err, "AccessDenied", "s3:ListBucket", "arn:aws:s3:::stage")
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("stage")})
	if err == nil {
		t.Fatal("HeadBucket without an unconditioned s3:ListBucket succeeded")
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("stage"), Key: aws.String("other/secret")})
	wantDenied(t, err, "AccessDenied", "s3:GetObject", "arn:aws:s3:::stage/other/secret")
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("stage"), Key: aws.String("mine/big")})
	wantDenied(t, err, "AccessDenied", "s3:DeleteObject", "arn:aws:s3:::stage/mine/big")
	_, err = c.ListBuckets(ctx, &s3.ListBucketsInput{})
	wantDenied(t, err, "AccessDenied", "s3:ListAllMyBuckets", "")
}

// Giving an instance a profile passes the profile's role: without iam:PassRole
// on it, AssociateIamInstanceProfile is denied naming iam:PassRole.
func TestAuthorizationPassRoleForInstanceProfiles(t *testing.T) {
	t.Parallel()
	e, root := newTestEmulator(t, Options{})
	ctx := t.Context()
	ids, err := e.AddInstances(InstanceSpec{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	ic := iam.NewFromConfig(root)
	for _, name := range []string{"app", "other"} {
		if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(ec2TrustPolicy)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	op := assumeWithPolicy(t, root, "assoc", `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"ec2:AssociateIamInstanceProfile","Resource":"arn:aws:ec2:us-east-1:123456789012:instance/*"},
 {"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/app"}]}`)
	e.SetAuthorization(true)
	c := ec2.NewFromConfig(op)
	_, err = c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(ids[0]),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("other")}})
	wantDenied(t, err, "UnauthorizedOperation", "iam:PassRole", "arn:aws:iam::123456789012:role/other")
	if _, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(ids[0]),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("app")}}); err != nil {
		t.Fatalf("with iam:PassRole on the role: %v", err)
	}
}
