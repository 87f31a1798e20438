package provider_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	ssmprovider "github.com/terraform-ssm/terraform-provider-ssm/internal/provider"
)

// gateConfig is a data source whose inputs are unknown until apply, so the
// provider is configured and validated during plan without reading anything.
const gateConfig = `
resource "terraform_data" "id" {
  input = "i-0123456789abcdef0"
}

data "ssm_agent_online" "gate" {
  instance_ids = [terraform_data.id.output]
  timeout      = "5s"
}
`

func TestProviderSchema_descriptions(t *testing.T) {
	p := ssmprovider.New("test")()
	var resp provider.SchemaResponse
	p.Schema(t.Context(), provider.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	var check func(prefix string, attrs map[string]schema.Attribute, blocks map[string]schema.Block)
	check = func(prefix string, attrs map[string]schema.Attribute, blocks map[string]schema.Block) {
		for name, a := range attrs {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("provider attribute %s%s has no description", prefix, name)
			}
		}
		for name, b := range blocks {
			if b.GetMarkdownDescription() == "" {
				t.Errorf("provider block %s%s has no description", prefix, name)
			}
			lb, ok := b.(schema.ListNestedBlock)
			if !ok {
				t.Fatalf("block %s is %T", name, b)
			}
			check(prefix+name+".", lb.NestedObject.Attributes, lb.NestedObject.Blocks)
		}
	}
	check("", resp.Schema.Attributes, resp.Schema.Blocks)
	want := []string{"region", "profile", "shared_config_files", "shared_credentials_files", "access_key", "secret_key", "token", "max_retries", "retry_mode"}
	for _, name := range want {
		if _, ok := resp.Schema.Attributes[name]; !ok {
			t.Errorf("provider schema lacks %s", name)
		}
	}
	for _, name := range []string{"assume_role", "endpoints", "default_tags"} {
		if _, ok := resp.Schema.Blocks[name]; !ok {
			t.Errorf("provider schema lacks block %s", name)
		}
	}
}

func TestAccProvider_configValidation(t *testing.T) {
	cases := []struct {
		name, provider string
		want           *regexp.Regexp
	}{
		{"malformed role_arn", `assume_role { role_arn = "arn:aws:iam::123:user/bob" }`, regexp.MustCompile(`(?s)invalid ARN.*must be an IAM role ARN.*account id "123" is not 12 digits`)},
		{"role_arn not an ARN", `assume_role { role_arn = "deployer" }`, regexp.MustCompile(`(?s)invalid ARN.*"deployer" must be an IAM role ARN`)},
		{"access_key without secret_key", `access_key = "AKIAEXAMPLE"`, regexp.MustCompile(`(?s)Invalid Attribute Combination.*secret_key`)},
		{"secret_key without access_key", `secret_key = "s3cr3t"`, regexp.MustCompile(`(?s)Invalid Attribute Combination.*access_key`)},
		{"relative endpoint", `endpoints { ssm = "localhost:4566" }`, regexp.MustCompile(`(?s)invalid endpoint URL.*"localhost:4566" is not an absolute http\(s\) URL`)},
		{"ftp endpoint", `endpoints { iam = "ftp://example.com" }`, regexp.MustCompile(`(?s)invalid endpoint URL.*"ftp://example.com"`)},
		{"unknown retry_mode", `retry_mode = "legacy"`, regexp.MustCompile(`(?s)retry_mode.*value must be one of`)},
		{"negative max_retries", `max_retries = -1`, regexp.MustCompile(`(?s)max_retries.*must be at least 0`)},
		{"assume_role duration too long", `assume_role {
  role_arn = "arn:aws:iam::123456789012:role/deployer"
  duration = "24h"
}`, regexp.MustCompile(`(?s)duration out of range.*between 15m0s and 12h0m0s`)},
		{"unparsable assume_role duration", `assume_role {
  role_arn = "arn:aws:iam::123456789012:role/deployer"
  duration = "an hour"
}`, regexp.MustCompile(`(?s)invalid duration.*"an hour" is not a duration`)},
		{"bad region", `region = "US East"`, regexp.MustCompile(`(?s)region.*must be an AWS region name`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      providerBlock(tc.provider) + gateConfig,
					PlanOnly:    true,
					ExpectError: tc.want,
				}},
			})
		})
	}
}

// providerBlock is a provider block with a region unless body sets its own.
func providerBlock(body string) string {
	if strings.Contains(body, "region") {
		return fmt.Sprintf("provider \"ssm\" {\n  %s\n}\n", body)
	}
	return fmt.Sprintf("provider \"ssm\" {\n  region = \"us-east-1\"\n  %s\n}\n", body)
}

// TestAccProvider_noNetworkDuringPlan proves that validating and planning a
// configuration makes no AWS call: every endpoint (STS for assume_role included)
// points at a listener that records requests.
func TestAccProvider_noNetworkDuringPlan(t *testing.T) {
	var hits atomic.Int64
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "unexpected call", http.StatusTeapot)
	}))
	defer rec.Close()
	cfg := fmt.Sprintf(`
provider "ssm" {
  region     = "eu-west-1"
  access_key = "AKIAEXAMPLE"
  secret_key = "example"

  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/deployer"
    session_name = "plan-only"
    duration     = "1h"
  }

  endpoints {
    ec2  = %[1]q
    iam  = %[1]q
    logs = %[1]q
    s3   = %[1]q
    ssm  = %[1]q
    sts  = %[1]q
  }
  max_retries = 0
  retry_mode  = "standard"

  default_tags {
    tags = { Team = "platform" }
  }
}
`, rec.URL) + gateConfig
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:             cfg,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
	if n := hits.Load(); n != 0 {
		t.Fatalf("validate and plan made %d requests to AWS endpoints, want 0", n)
	}
}

// TestAccProvider_endpointsAndAssumeRole configures endpoints and assume_role,
// and checks that the data source's calls reached the emulator through the
// assumed role's temporary credentials.
func TestAccProvider_endpointsAndAssumeRole(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ctx := t.Context()
	_, err := iam.NewFromConfig(emuConfig(e)).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("deployer"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true})
	cfg := fmt.Sprintf(`
provider "ssm" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/deployer"
    session_name = "acceptance"
    external_id  = "ext-123"
    duration     = "30m"
  }

  endpoints {
    ec2  = %[1]q
    iam  = %[1]q
    logs = %[1]q
    s3   = %[1]q
    ssm  = %[1]q
    sts  = %[1]q
  }
}

data "ssm_agent_online" "test" {
  instance_ids = [%[2]q]
}
`, e.URL(), ids[0])
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ssm_agent_online.test", tfjsonpath.New("online_instance_ids"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ids[0])})),
			},
			Check: func(*terraform.State) error {
				if n := e.CallCount("sts.AssumeRole"); n < 1 {
					return fmt.Errorf("sts.AssumeRole called %d times, want at least 1", n)
				}
				if n := e.CallCount("ssm.DescribeInstanceInformation"); n < 1 {
					return fmt.Errorf("ssm.DescribeInstanceInformation called %d times through the endpoint, want at least 1", n)
				}
				return nil
			},
		}},
	})
}
