package provider_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// chaosFault is the chaos fault mix on every service: 30% throttling,
// 5% 5xx, 5% connection resets before the request is handled and 5% responses
// lost after it was handled.
var chaosFault = awsemu.Fault{ThrottleRate: 0.3, ServerErrorRate: 0.05, ResetRate: 0.05, LostResponseRate: 0.05}

// chaosConfig: a role, a profile, one association per instance, the agents'
// wait, a command by instance ids and one by tag.
//
// The provider runs with retry_mode = "standard", the default, said here so the
// test keeps measuring it if the default changes: in "adaptive" mode the SDK's
// client-side rate limiter, shared by every resource, slows
// down under 30% throttling until this flow takes well over 7 minutes (see
// BenchmarkChaosIdentity in internal/iamx). SSM_CHAOS_RETRY_MODE=adaptive
// measures that mode.
func chaosConfig(e *awsemu.Emulator, ids []string) string {
	mode := os.Getenv("SSM_CHAOS_RETRY_MODE")
	if mode == "" {
		mode = "standard"
	}
	provider := strings.Replace(acctest.ProviderConfig(e), "provider \"ssm\" {\n", "provider \"ssm\" {\n  retry_mode = \""+mode+"\"\n", 1)
	return provider + fmt.Sprintf(`
locals {
  ids = %s
}

resource "ssm_instance_role" "chaos" {
  name   = "chaos"
  policy = "managed"
}

resource "ssm_instance_profile" "chaos" {
  name = "chaos"
  role = ssm_instance_role.chaos.name
}

resource "ssm_instance_profile_association" "chaos" {
  count            = length(local.ids)
  instance_id      = local.ids[count.index]
  instance_profile = ssm_instance_profile.chaos.name
}

data "ssm_agent_online" "chaos" {
  instance_ids = local.ids
  timeout      = "2m"
  depends_on   = [ssm_instance_profile_association.chaos]
}

resource "ssm_command_run" "by_ids" {
  instance_ids    = keys(data.ssm_agent_online.chaos.instances)
  commands        = ["echo by-ids"]
  max_concurrency = "100%%"
}

resource "ssm_command_run" "by_tag" {
  targets {
    key    = "tag:Fleet"
    values = ["chaos"]
  }
  commands        = ["echo by-tag"]
  max_concurrency = "100%%"
  depends_on      = [data.ssm_agent_online.chaos]
}
`, quoteIDs(ids))
}

// chaosInventory counts what the emulator holds, with faults off.
func chaosInventory(ctx context.Context, e *awsemu.Emulator, ids []string) (roles, profiles int, assocs map[string]int, commands []string, err error) {
	ic := iamClient(e)
	rp := iam.NewListRolesPaginator(ic, &iam.ListRolesInput{})
	for rp.HasMorePages() {
		out, err := rp.NextPage(ctx)
		if err != nil {
			return 0, 0, nil, nil, err
		}
		roles += len(out.Roles)
	}
	pp := iam.NewListInstanceProfilesPaginator(ic, &iam.ListInstanceProfilesInput{})
	for pp.HasMorePages() {
		out, err := pp.NextPage(ctx)
		if err != nil {
			return 0, 0, nil, nil, err
		}
		profiles += len(out.InstanceProfiles)
	}
	assocs = map[string]int{}
	for _, id := range ids {
		if inst, ok := e.Instance(id); ok && inst.Association != nil && inst.Association.State != "disassociated" {
			assocs[id]++
		}
	}
	cp := ssm.NewListCommandsPaginator(ssm.NewFromConfig(emuConfig(e)), &ssm.ListCommandsInput{})
	for cp.HasMorePages() {
		out, err := cp.NextPage(ctx)
		if err != nil {
			return 0, 0, nil, nil, err
		}
		for _, c := range out.Commands {
			commands = append(commands, fmt.Sprintf("%s:%d", strings.Join(c.Parameters["commands"], ";"), len(c.InstanceIds)))
		}
	}
	return roles, profiles, assocs, commands, nil
}

// TestAccChaos_applyAndDestroy is the chaos test: the whole flow for 60
// instances, applied and destroyed through the Terraform CLI while every
// service throttles, fails, resets and loses responses. Both succeed, nothing
// is created twice, nothing is left.
func TestAccChaos_applyAndDestroy(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{Seed: 10, RegistrationDelay: 200 * time.Millisecond, MaxProcesses: 16})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 60, Tags: map[string]string{"Fleet": "chaos"}})
	ctx := t.Context()
	e.SetFault("*", chaosFault)
	var start time.Time // once the parallel test runs: apply, checks and destroy
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t); start = time.Now() },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: chaosConfig(e, ids),
			Check: func(*terraform.State) error {
				e.ClearFaults()
				defer e.SetFault("*", chaosFault) // the plans after apply and the destroy run under chaos too
				roles, profiles, assocs, commands, err := chaosInventory(ctx, e, ids)
				if err != nil {
					return err
				}
				if roles != 1 || profiles != 1 {
					return fmt.Errorf("%d roles and %d instance profiles, want exactly one each", roles, profiles)
				}
				for _, id := range ids {
					if assocs[id] != 1 {
						return fmt.Errorf("instance %s has %d active associations, want 1", id, assocs[id])
					}
				}
				// 60 ids: two commands (50 + 10); the tag: one command.
				want := map[string]int{"echo by-ids:50": 1, "echo by-ids:10": 1, "echo by-tag:0": 1}
				got := map[string]int{}
				for _, c := range commands {
					got[c]++
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					return fmt.Errorf("commands sent %v, want exactly %v", got, want)
				}
				// The counters agree: every SendCommand the emulator handled
				// (lost responses included) created one of these three.
				calls := e.Calls()
				handled := calls["ssm.SendCommand"] - calls["ssm.SendCommand#throttled"] - calls["ssm.SendCommand#5xx"] -
					calls["ssm.SendCommand#reset"] - calls["ssm.SendCommand#denied"]
				if handled != 3 {
					return fmt.Errorf("SendCommand handled %d times, want 3 (calls %v)", handled, calls)
				}
				return nil
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			e.ClearFaults()
			roles, profiles, assocs, _, err := chaosInventory(ctx, e, ids)
			if err != nil {
				return err
			}
			if roles != 0 || profiles != 0 || len(assocs) != 0 {
				return fmt.Errorf("after destroy: %d roles, %d instance profiles, %d associations left", roles, profiles, len(assocs))
			}
			return nil
		},
	})
	if t.Failed() {
		return
	}
	kinds := map[string]int64{}
	for k, n := range e.Calls() {
		if i := strings.LastIndex(k, "#"); i > 0 {
			kinds[k[i+1:]] += n
		}
	}
	for _, kind := range []string{"throttled", "5xx", "reset", "lost"} {
		if kinds[kind] == 0 {
			t.Errorf("no %s fault fired: the chaos did not really hit (%v)", kind, kinds)
		}
	}
	t.Logf("chaos apply + destroy of 60 instances took %s; faults fired: %v", time.Since(start).Round(time.Second), kinds)
}
