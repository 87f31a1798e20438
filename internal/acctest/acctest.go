// Package acctest holds what the acceptance tests share: provider factories, the
// Terraform CLI location and an emulator per test.
package acctest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/provider"
)

// ProviderName is the provider's local name in test configurations.
const ProviderName = "ssm"

// ProtoV6ProviderFactories serves the provider in-process to the Terraform CLI.
var ProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	ProviderName: providerserver.NewProtocol6WithError(provider.New("test")()),
}

func init() {
	// Terraform must not phone home from tests (there is no network in CI).
	_ = os.Setenv("CHECKPOINT_DISABLE", "1")
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if p := repoTerraform(); p != "" {
			_ = os.Setenv("TF_ACC_TERRAFORM_PATH", p)
		}
	}
}

// repoTerraform finds the newest bin/terraform-<version> at the module root
// (installed by `make terraform`).
func repoTerraform() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return newestCLI(filepath.Join(dir, "bin"), "terraform")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// newestCLI returns the file dir/<name>-<major>.<minor>.<patch> with the
// highest version, or "" when there is none.
func newestCLI(dir, name string) string {
	matches, _ := filepath.Glob(filepath.Join(dir, name+"-*"))
	best, bestV := "", [3]int{-1, -1, -1}
	for _, m := range matches {
		var v [3]int
		rest := strings.TrimPrefix(filepath.Base(m), name+"-")
		if n, err := fmt.Sscanf(rest, "%d.%d.%d", &v[0], &v[1], &v[2]); n != 3 || err != nil || fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) != rest {
			continue
		}
		if v[0] > bestV[0] || (v[0] == bestV[0] && (v[1] > bestV[1] || (v[1] == bestV[1] && v[2] > bestV[2]))) {
			best, bestV = m, v
		}
	}
	return best
}

// PreCheck fails the test early when the Terraform CLI is missing, with the fix.
func PreCheck(t testing.TB) {
	t.Helper()
	p := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if p == "" {
		t.Fatal("TF_ACC_TERRAFORM_PATH is not set and there is no bin/terraform-<version>: run `make terraform` (or `make testacc`)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Terraform CLI at TF_ACC_TERRAFORM_PATH: %v (run `make terraform`)", err)
	}
}

// ProviderConfig is a provider block pointing every service at the emulator with
// its default keys.
func ProviderConfig(e *awsemu.Emulator) string {
	o := e.Options()
	return fmt.Sprintf(`
provider "ssm" {
  region     = %[2]q
  access_key = %[3]q
  secret_key = %[4]q

  endpoints {
    ec2  = %[1]q
    iam  = %[1]q
    logs = %[1]q
    s3   = %[1]q
    ssm  = %[1]q
    sts  = %[1]q
  }
}
`, e.URL(), o.Region, o.AccessKey, o.SecretKey)
}
