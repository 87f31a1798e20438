package awsclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// recorder answers every request with 503 (retryable in every protocol) and
// records who called.
type recorder struct {
	mu      sync.Mutex
	targets []string
	agents  []string
}

func (r *recorder) server(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.targets = append(r.targets, req.Header.Get("X-Amz-Target"))
		r.agents = append(r.agents, req.Header.Get("User-Agent"))
		r.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestNew_noNetworkAndSettings(t *testing.T) {
	rec := &recorder{}
	srv := rec.server(t)
	retries := 2
	var logged []map[string]any
	c, err := New(t.Context(), Settings{
		Region: "cn-north-1", AccessKey: "AKIDEXAMPLE", SecretKey: "secret",
		Endpoints:     map[string]string{"ssm": srv.URL, "sts": srv.URL},
		AssumeRole:    &AssumeRole{RoleARN: "arn:aws-cn:iam::123456789012:role/x"},
		MaxRetries:    &retries,
		RetryMode:     "standard",
		UserAgent:     []UserAgentProduct{{Name: "terraform-provider-ssm", Version: "1.2.3"}},
		RequestLogger: func(_ context.Context, f map[string]any) { logged = append(logged, f) },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.targets) != 0 {
		t.Fatalf("New made %d requests, want none", len(rec.targets))
	}
	if c.Partition != "aws-cn" || c.Region != "cn-north-1" {
		t.Errorf("partition/region = %s/%s", c.Partition, c.Region)
	}
	if got := c.Config.Retryer().MaxAttempts(); got != 3 {
		t.Errorf("max attempts = %d, want max_retries+1 = 3", got)
	}
	// The first call assumes the role through the STS endpoint, with our user agent.
	_, err = c.SSM.DescribeInstanceInformation(t.Context(), &ssm.DescribeInstanceInformationInput{})
	if err == nil {
		t.Fatal("expected the 503 error")
	}
	// 3 attempts of the SSM call (max_retries 2 + 1), each retrieving credentials
	// with 3 AssumeRole attempts; none reaches SSM without credentials.
	if len(rec.targets) != 9 {
		t.Errorf("AssumeRole requests = %d, want 3x3", len(rec.targets))
	}
	for _, ua := range rec.agents {
		if !strings.Contains(ua, "terraform-provider-ssm/1.2.3") {
			t.Errorf("user agent %q lacks terraform-provider-ssm/1.2.3", ua)
		}
	}
	if len(logged) == 0 || logged[0]["aws.service"] != "STS" || logged[0]["aws.operation"] != "AssumeRole" {
		t.Errorf("request log = %v, want STS AssumeRole records", logged)
	}
	for _, f := range logged {
		for k, v := range f {
			if s, ok := v.(string); ok && strings.Contains(s, "secret") {
				t.Errorf("request log field %s leaks the secret: %q", k, s)
			}
		}
	}
}

func TestNew_sdkEndpointEnvironment(t *testing.T) {
	rec := &recorder{}
	srv := rec.server(t)
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)
	c, err := New(t.Context(), Settings{Region: "us-east-1", AccessKey: "a", SecretKey: "b", MaxRetries: aws.Int(0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.SSM.DescribeInstanceInformation(t.Context(), &ssm.DescribeInstanceInformationInput{})
	if len(rec.targets) != 1 || rec.targets[0] != "AmazonSSM.DescribeInstanceInformation" {
		t.Errorf("AWS_ENDPOINT_URL_SSM not honoured: requests %v", rec.targets)
	}
	if got := c.STS.Options().BaseEndpoint; got != nil {
		t.Errorf("STS base endpoint = %q, want the AWS default", *got)
	}
}

func TestNew_errors(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	for name, s := range map[string]Settings{
		"no region":        {AccessKey: "a", SecretKey: "b"},
		"half static key":  {Region: "us-east-1", AccessKey: "a"},
		"unknown service":  {Region: "us-east-1", Endpoints: map[string]string{"dynamodb": "http://x"}},
		"bad retry mode":   {Region: "us-east-1", RetryMode: "legacy"},
		"negative retries": {Region: "us-east-1", MaxRetries: aws.Int(-1)},
	} {
		if _, err := New(t.Context(), s, nil); err == nil {
			t.Errorf("%s: New accepted %+v", name, s)
		}
	}
}
