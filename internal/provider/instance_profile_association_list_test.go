package provider_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// skipWithoutQuery skips a test on CLIs without `terraform query` and list
// resources: OpenTofu (none yet) and Terraform before 1.14.
func skipWithoutQuery(t *testing.T) {
	t.Helper()
	cli := acctest.DetectCLI(t)
	if cli.OpenTofu || !cli.AtLeast(1, 14) {
		t.Skipf("list resources need `terraform query` (Terraform 1.14 or later); %s has none", cli)
	}
}

// `terraform query` lists a fleet's existing associations by tag, by profile
// and by instance, each identified by its instance id; with include_resource
// the result is the state an import gives. Then one of them is imported by
// that identity (an import block with identity, as query generates).
func TestAccInstanceProfileAssociationList_query(t *testing.T) {
	acctest.PreCheck(t)
	skipWithoutQuery(t)
	e := emutest.Start(t, awsemu.Options{})
	// Ready instances come with the emulator's ready-made profile associated.
	web := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true, Tags: map[string]string{"Role": "web"}})
	db := addInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Role": "db"}})
	bare := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Tags: map[string]string{"Role": "web"}})
	provider := acctest.ProviderConfig(e)
	// Terraform associates a profile of its own with one of the bare instances.
	managed := provider + fmt.Sprintf(`
resource "ssm_instance_role" "managed" {
  name = "managed"
}

resource "ssm_instance_profile" "managed" {
  name = "managed"
  role = ssm_instance_role.managed.name
}

resource "ssm_instance_profile_association" "managed" {
  instance_id      = %q
  instance_profile = ssm_instance_profile.managed.name
}
`, bare[0])
	identity := func(id string) map[string]knownvalue.Check {
		return map[string]knownvalue.Check{"instance_id": knownvalue.StringExact(id)}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: managed},
			{
				Query: true,
				Config: `
list "ssm_instance_profile_association" "web" {
  provider = ssm
  config {
    tags = { Role = "web" }
  }
}

list "ssm_instance_profile_association" "managed" {
  provider         = ssm
  include_resource = true
  config {
    instance_profile = "managed"
  }
}

list "ssm_instance_profile_association" "some" {
  provider = ssm
  config {
    instance_ids = [` + fmt.Sprintf("%q, %q", db[0], bare[1]) + `]
  }
}
`,
				QueryResultChecks: []querycheck.QueryResultCheck{
					// The web instances with a profile: three ready ones and the one
					// Terraform associated; not the bare one without a profile.
					querycheck.ExpectLength("ssm_instance_profile_association.web", 4),
					querycheck.ExpectIdentity("ssm_instance_profile_association.web", identity(web[0])),
					querycheck.ExpectIdentity("ssm_instance_profile_association.web", identity(web[2])),
					querycheck.ExpectIdentity("ssm_instance_profile_association.web", identity(bare[0])),
					querycheck.ExpectNoIdentity("ssm_instance_profile_association.web", identity(bare[1])),
					querycheck.ExpectNoIdentity("ssm_instance_profile_association.web", identity(db[0])),
					querycheck.ExpectLength("ssm_instance_profile_association.managed", 1),
					querycheck.ExpectResourceDisplayName("ssm_instance_profile_association.managed", queryfilter.ByResourceIdentity(identity(bare[0])),
						knownvalue.StringExact(bare[0]+" (instance profile managed)")),
					querycheck.ExpectResourceKnownValues("ssm_instance_profile_association.managed", queryfilter.ByResourceIdentity(identity(bare[0])),
						[]querycheck.KnownValueCheck{
							{Path: tfjsonpath.New("instance_id"), KnownValue: knownvalue.StringExact(bare[0])},
							{Path: tfjsonpath.New("instance_profile"), KnownValue: knownvalue.StringExact("managed")},
							{Path: tfjsonpath.New("instance_profile_arn"), KnownValue: knownvalue.StringExact(managedProfileARN)},
							{Path: tfjsonpath.New("association_id"), KnownValue: knownvalue.StringRegexp(regexp.MustCompile(`^iip-assoc-`))},
							{Path: tfjsonpath.New("restore_on_destroy"), KnownValue: knownvalue.Bool(true)},
						}),
					querycheck.ExpectLength("ssm_instance_profile_association.some", 1),
					querycheck.ExpectIdentity("ssm_instance_profile_association.some", identity(db[0])),
				},
			},
			{
				// The managed association, imported by the identity query listed.
				Config:          managed,
				ResourceName:    "ssm_instance_profile_association.managed",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
			{
				// Its state carries the identity.
				Config: managed,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity("ssm_instance_profile_association.managed", identity(bare[0])),
				},
			},
		},
	})
}

// The workflow the list resource is for, through the CLI as a user runs it:
// `terraform query -generate-config-out` writes an import block by identity
// and a resource for each association found, `terraform apply` imports them
// without touching any association, and the plan after that is empty.
func TestAccInstanceProfileAssociationList_generateConfig(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	acctest.PreCheck(t)
	skipWithoutQuery(t)
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{})
	web := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true, Tags: map[string]string{"Role": "web"}})
	other := addInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Role": "db"}})
	work, env := devOverrideCLI(t)
	writeFile(t, filepath.Join(work, "main.tf"), `terraform {
  required_providers {
    ssm = { source = "terraform-ssm/ssm" }
  }
}
`+acctest.ProviderConfig(e))
	writeFile(t, filepath.Join(work, "fleet.tfquery.hcl"), `list "ssm_instance_profile_association" "web" {
  provider = ssm
  config {
    tags = { Role = "web" }
  }
}
`)
	tf := func(args ...string) (string, error) {
		cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), append(args, "-no-color")...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := tf("query", "-generate-config-out=generated.tf"); err != nil {
		t.Fatalf("terraform query: %v\n%s", err, out)
	}
	gen, err := os.ReadFile(filepath.Join(work, "generated.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range web {
		if !regexp.MustCompile(`(?s)import \{[^}]*identity = \{\s*instance_id = "`+id+`"`).Match(gen) ||
			!strings.Contains(string(gen), `instance_id        = "`+id+`"`) {
			t.Errorf("generated.tf lacks the import block or resource of %s:\n%s", id, gen)
		}
	}
	if strings.Contains(string(gen), other[0]) {
		t.Errorf("generated.tf names %s, which is not tagged Role = web:\n%s", other[0], gen)
	}
	e.ResetCalls()
	out, err := tf("apply", "-auto-approve")
	if err != nil || !strings.Contains(out, "2 imported, 0 added, 0 changed, 0 destroyed") {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
	for _, op := range []string{"ec2.AssociateIamInstanceProfile", "ec2.ReplaceIamInstanceProfileAssociation", "ec2.DisassociateIamInstanceProfile"} {
		if n := e.CallCount(op); n != 0 {
			t.Errorf("the import apply called %s %d times", op, n)
		}
	}
	if out, err := tf("plan", "-detailed-exitcode"); err != nil {
		t.Errorf("plan after the import is not empty: %v\n%s", err, out)
	}
}
