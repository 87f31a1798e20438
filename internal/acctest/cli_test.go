package acctest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseVersionLine(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want CLI
		host string
	}{
		{"Terraform v1.8.5\non linux_amd64\n", CLI{Path: "tf", Version: "1.8.5", Major: 1, Minor: 8}, "registry.terraform.io"},
		{"OpenTofu v1.6.3\non linux_amd64\n", CLI{Path: "tf", OpenTofu: true, Version: "1.6.3", Major: 1, Minor: 6}, "registry.opentofu.org"},
		{"Terraform v1.11.4\non linux_amd64\n\nYour version of Terraform is out of date!", CLI{Path: "tf", Version: "1.11.4", Major: 1, Minor: 11}, "registry.terraform.io"},
	} {
		got, err := parseVersionLine("tf", tc.out)
		if err != nil {
			t.Errorf("parseVersionLine(%q): %v", tc.out, err)
			continue
		}
		if got != tc.want || got.RegistryHost() != tc.host {
			t.Errorf("parseVersionLine(%q) = %+v (host %s), want %+v (host %s)", tc.out, got, got.RegistryHost(), tc.want, tc.host)
		}
	}
	for _, out := range []string{"", "Something v1.0.0", "Terraform 1.8.5", "OpenTofu vX"} {
		if c, err := parseVersionLine("tf", out); err == nil {
			t.Errorf("parseVersionLine(%q) = %+v, want an error", out, c)
		}
	}
	c := CLI{Major: 1, Minor: 11}
	if !c.AtLeast(1, 11) || !c.AtLeast(1, 6) || c.AtLeast(1, 12) || c.AtLeast(2, 0) {
		t.Errorf("AtLeast is wrong for %+v", c)
	}
	for _, tc := range []struct {
		cli  CLI
		want bool
	}{
		{CLI{Version: "1.8.0", Major: 1, Minor: 8}, false},
		{CLI{Version: "1.11.0", Major: 1, Minor: 11}, true},
		{CLI{Version: "1.15.0", Major: 1, Minor: 15}, true},
		{CLI{OpenTofu: true, Version: "1.6.0", Major: 1, Minor: 6}, false},
		{CLI{OpenTofu: true, Version: "1.10.0", Major: 1, Minor: 10}, false},
		{CLI{OpenTofu: true, Version: "1.11.0", Major: 1, Minor: 11}, true},
		{CLI{OpenTofu: true, Version: "1.12.0", Major: 1, Minor: 12}, true},
		{CLI{Version: "2.0.0", Major: 2, Minor: 0}, true},
	} {
		if got := tc.cli.WriteOnly(); got != tc.want {
			t.Errorf("%s: WriteOnly() = %v, want %v", tc.cli, got, tc.want)
		}
	}
	for _, tc := range []struct {
		cli  CLI
		want bool
	}{
		{CLI{Version: "1.13.5", Major: 1, Minor: 13}, false},
		{CLI{Version: "1.14.0", Major: 1, Minor: 14}, true},
		{CLI{Version: "1.15.9", Major: 1, Minor: 15}, true},
		{CLI{OpenTofu: true, Version: "1.12.6", Major: 1, Minor: 12}, false},
	} {
		if got := tc.cli.Actions(); got != tc.want {
			t.Errorf("%s: Actions() = %v, want %v", tc.cli, got, tc.want)
		}
	}
	if s := (CLI{OpenTofu: true, Version: "1.6.3"}).String(); s != "OpenTofu 1.6.3" {
		t.Errorf("String() = %q", s)
	}
}

func TestNewestCLI(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"terraform-1.8.5", "terraform-1.15.9", "terraform-1.9.10", "terraform-1.15.9.bak", "tofu-1.12.6", "terraform"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := newestCLI(dir, "terraform"), filepath.Join(dir, "terraform-1.15.9"); got != want {
		t.Errorf("newestCLI = %q, want %q", got, want)
	}
	if got := newestCLI(t.TempDir(), "terraform"); got != "" {
		t.Errorf("newestCLI of an empty directory = %q, want none", got)
	}
}
