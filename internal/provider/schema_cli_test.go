package provider_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
)

// TestAccProvider_schemaThroughCLI installs the built provider with
// dev_overrides, as a developer would, and checks that `terraform providers
// schema -json` lists every configuration attribute with a description.
func TestAccProvider_schemaThroughCLI(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	acctest.PreCheck(t)
	t.Parallel()
	work, env := devOverrideCLI(t)
	writeFile(t, filepath.Join(work, "main.tf"), `terraform {
  required_providers {
    ssm = { source = "terraform-ssm/ssm" }
  }
}

provider "ssm" {
  region = "us-east-1"
}
`)
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "providers", "schema", "-json")
	cmd.Dir = work
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("terraform providers schema: %v\n%s", err, stderr)
	}
	var schemas struct {
		ProviderSchemas map[string]struct {
			Provider struct {
				Block schemaBlock `json:"block"`
			} `json:"provider"`
			DataSourceSchemas map[string]any `json:"data_source_schemas"`
		} `json:"provider_schemas"`
	}
	if err := json.Unmarshal(out, &schemas); err != nil {
		t.Fatalf("decoding schema JSON: %v", err)
	}
	// The source "terraform-ssm/ssm" is registry.terraform.io/terraform-ssm/ssm
	// to Terraform and registry.opentofu.org/terraform-ssm/ssm to OpenTofu.
	addr := acctest.DetectCLI(t).RegistryHost() + "/terraform-ssm/ssm"
	ps, ok := schemas.ProviderSchemas[addr]
	if !ok {
		t.Fatalf("no schema for %s in %s", addr, out)
	}
	seen := map[string]bool{}
	ps.Provider.Block.walk("", func(name, desc string) {
		seen[name] = true
		if strings.TrimSpace(desc) == "" {
			t.Errorf("provider attribute %s has no description", name)
		}
	})
	for _, want := range []string{"region", "profile", "shared_config_files", "shared_credentials_files", "access_key", "secret_key", "token",
		"max_retries", "retry_mode", "assume_role", "assume_role.role_arn", "assume_role.session_name", "assume_role.external_id", "assume_role.duration",
		"endpoints", "endpoints.ec2", "endpoints.iam", "endpoints.s3", "endpoints.ssm", "endpoints.sts", "endpoints.logs", "default_tags", "default_tags.tags"} {
		if !seen[want] {
			t.Errorf("schema lacks %s", want)
		}
	}
	if _, ok := ps.DataSourceSchemas["ssm_agent_online"]; !ok {
		t.Error("schema lacks data source ssm_agent_online")
	}
}

type schemaBlock struct {
	Attributes map[string]struct {
		Description string `json:"description"`
	} `json:"attributes"`
	BlockTypes map[string]struct {
		Block schemaBlock `json:"block"`
	} `json:"block_types"`
	Description string `json:"description"`
}

func (b schemaBlock) walk(prefix string, f func(name, desc string)) {
	for n, a := range b.Attributes {
		f(prefix+n, a.Description)
	}
	for n, bt := range b.BlockTypes {
		f(prefix+n, bt.Block.Description)
		bt.Block.walk(prefix+n+".", f)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
