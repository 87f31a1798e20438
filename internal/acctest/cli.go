package acctest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// CLI is the command-line tool the acceptance tests drive
// (TF_ACC_TERRAFORM_PATH): Terraform or OpenTofu, with its version.
type CLI struct {
	Path     string
	OpenTofu bool
	Version  string // such as "1.8.5"
	Major    int
	Minor    int
}

// String names the tool and its version, such as "OpenTofu 1.6.3".
func (c CLI) String() string {
	if c.OpenTofu {
		return "OpenTofu " + c.Version
	}
	return "Terraform " + c.Version
}

// AtLeast reports whether the version is major.minor or newer.
func (c CLI) AtLeast(major, minor int) bool {
	return c.Major > major || (c.Major == major && c.Minor >= minor)
}

// WriteOnly reports whether the tool has write-only attributes (and ephemeral
// variables, which the tests feed them from): Terraform and OpenTofu both have
// them from 1.11 on.
func (c CLI) WriteOnly() bool {
	return c.AtLeast(1, 11)
}

// Actions reports whether the tool has actions (action blocks, `terraform
// apply -invoke` and lifecycle action_trigger): Terraform from 1.14 on;
// OpenTofu has none yet.
func (c CLI) Actions() bool {
	return !c.OpenTofu && c.AtLeast(1, 14)
}

// RegistryHost is the registry the tool gives a provider source without a
// host, such as "terraform-ssm/ssm": registry.opentofu.org for OpenTofu,
// registry.terraform.io for Terraform.
func (c CLI) RegistryHost() string {
	if c.OpenTofu {
		return "registry.opentofu.org"
	}
	return "registry.terraform.io"
}

// DetectCLI runs `<TF_ACC_TERRAFORM_PATH> version` and tells Terraform from
// OpenTofu by the first line ("Terraform v1.8.5", "OpenTofu v1.6.3").
func DetectCLI(t testing.TB) CLI {
	t.Helper()
	PreCheck(t)
	p := os.Getenv("TF_ACC_TERRAFORM_PATH")
	cmd := exec.Command(p, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s version: %v", p, err)
	}
	c, err := parseVersionLine(p, string(out))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseVersionLine(path, out string) (CLI, error) {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	name, v, ok := strings.Cut(strings.TrimSpace(line), " v")
	if !ok || (name != "Terraform" && name != "OpenTofu") {
		return CLI{}, fmt.Errorf("%s version printed %q, want Terraform or OpenTofu and a version", path, line)
	}
	c := CLI{Path: path, OpenTofu: name == "OpenTofu", Version: v}
	if _, err := fmt.Sscanf(v, "%d.%d", &c.Major, &c.Minor); err != nil {
		return CLI{}, fmt.Errorf("%s version %q: %v", path, v, err)
	}
	return c, nil
}

// Ephemeral reports whether the tool has ephemeral resources: Terraform from
// 1.10 on, OpenTofu from 1.11 on.
func (c CLI) Ephemeral() bool {
	if c.OpenTofu {
		return c.AtLeast(1, 11)
	}
	return c.AtLeast(1, 10)
}
