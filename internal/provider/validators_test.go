package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// Bad input is refused at plan time, naming the attribute.
func TestAccValidation_planTime(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	run := func(body string) string {
		return fmt.Sprintf("resource \"ssm_command_run\" \"test\" {\n%s\n}\n", body)
	}
	ids := `instance_ids = ["i-0123456789abcdef0"]`
	cases := []struct {
		name, config, want string
	}{
		{"target key not a known form", run(`commands = ["true"]
targets {
  key    = "Role"
  values = ["web"]
}`), `key    = "Role"|"Role" must be tag:<tag key>, tag-key, InstanceIds|write tag:Role`},
		{"empty tag key in target", run(`commands = ["true"]
targets {
  key    = "tag:"
  values = ["web"]
}`), `invalid target key|"tag:" must be`},
		{"empty commands parameter", run(ids + "\nparameters = { commands = [] }"), `no commands|parameters.commands is empty`},
		{"executionTimeout twice", run(ids + "\ncommands = [\"true\"]\nexecution_timeout = \"5m\"\nparameters = { executionTimeout = [\"60\"] }"),
			`executionTimeout given twice|parameters.executionTimeout and the execution_timeout argument`},
		{"workingDirectory twice", run(ids + "\ncommands = [\"true\"]\nworking_directory = \"/tmp\"\nparameters = { workingDirectory = [\"/srv\"] }"),
			`workingDirectory given twice|working_directory argument`},
		{"comment over 100 characters", run(ids + "\ncommands = [\"true\"]\ncomment = \"" + strings.Repeat("é", 101) + "\""), `comment must be at most 100 characters long, got 101`},
		{"bad duration", run(ids + "\ncommands = [\"true\"]\nexecution_timeout = \"10 minutes\""), `execution_timeout = "10 minutes"|"10 minutes" is not a duration. Write a number with a unit`},
		{"empty role tag key", `resource "ssm_instance_role" "test" {
  tags = { "" = "x" }
}`, `must be 1 to 128 characters long, got 0`},
		{"role tag value over 256 characters", `resource "ssm_instance_role" "test" {
  tags = { k = "` + strings.Repeat("v", 257) + `" }
}`, `must be at most 256 characters long, got 257`},
		{"profile tag value over 256 characters", `resource "ssm_instance_profile" "test" {
  role = "r"
  tags = { k = "` + strings.Repeat("v", 257) + `" }
}`, `must be at most 256 characters long, got 257`},
		{"agent_online empty tag key", `data "ssm_agent_online" "test" {
  tags = { "" = "web" }
}`, `must be 1 to 128 characters long, got 0`},
		{"role description over 1000 characters", `resource "ssm_instance_role" "test" {
  description = "` + strings.Repeat("é", 1001) + `"
}`, `description must be 1 to 1000 characters long, got 1001`},
		{"profile ARN message", `resource "ssm_instance_profile_association" "test" {
  instance_id      = "i-0123456789abcdef0"
  instance_profile = "arn:aws:iam::12345:instance-profile/web"
}`, `"arn:aws:iam::12345:instance-profile/web" must be an instance profile name or an ARN`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{Config: acctest.ProviderConfig(e) + c.config, PlanOnly: true, ExpectError: phrases(c.want)})
	}
	// Character counts, not bytes: 1000 two-byte characters are a valid description,
	// 256 of them a valid tag value.
	steps = append(steps, resource.TestStep{Config: acctest.ProviderConfig(e) + `resource "ssm_instance_role" "test" {
  description = "` + strings.Repeat("é", 1000) + `"
  tags        = { k = "` + strings.Repeat("é", 256) + `" }
}`, PlanOnly: true, ExpectNonEmptyPlan: true})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps:                    steps,
	})
}

// phrases matches the |-separated phrases in order, whatever the line wrapping.
func phrases(want string) *regexp.Regexp {
	var parts []string
	for _, p := range strings.Split(want, "|") {
		parts = append(parts, strings.Join(strings.Fields(regexp.QuoteMeta(p)), `\s+`))
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}
