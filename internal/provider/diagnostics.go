package provider

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// One diagnostic style everywhere, as hashicorp/aws writes them: the summary is
// lower case and says what was being done and to what ("creating SSM instance
// role (web)", "running command on 3 instances"), or, for a value the
// configuration gets wrong, what is wrong with it ("invalid ARN"); the detail
// gives the cause and what to do next. The engines' errors state facts; the
// advice that names Terraform arguments is added here.

// What the summaries call the objects of each resource.
const (
	nameInstanceRole        = "SSM instance role"
	nameInstanceProfile     = "SSM instance profile"
	nameProfileAssociation  = "SSM instance profile association"
	nameCommandRun          = "SSM command run"
	nameSessionPreferences  = "SSM session preferences"
	nameDefaultHost         = "Default Host Management"
	nameOperatorPolicy      = "SSM operator policy"
	nameAgents              = "SSM agents"
	agentWaitTimeoutAdvice  = "set agent_wait_timeout (such as \"10m\") to wait for agents still coming online"
	outputBucketMissingNext = "Create the bucket in the provider's account and region, or fix output_s3_bucket_name."
)

// doing is a summary: "creating SSM instance role (web)".
func doing(action, what, id string) string {
	return fmt.Sprintf("%s %s (%s)", action, what, id)
}

// addNotFoundWarning says that Read found the object gone and removes it from
// the state: the next plan creates it again. detail says what was deleted.
func addNotFoundWarning(diags *diag.Diagnostics, what, id, detail string) {
	diags.AddWarning(fmt.Sprintf("%s (%s) not found, removing from state", what, id),
		detail+" It was deleted outside Terraform: it is removed from the state, and the next apply creates it again.")
}

// createErrorDetail is the detail of a failed IAM create: for
// EntityAlreadyExists it says how to adopt the existing object.
func createErrorDetail(err error, resourceType, kind, name string) string {
	if !iamx.IsAlreadyExists(err) {
		return err.Error()
	}
	return fmt.Sprintf("%s\n\nAn IAM %s named %s already exists. To manage it with this resource, import it:\n"+
		"  terraform import %s.<name> %s\n"+
		"(or an import block with id = %q). Otherwise choose another name, or use name_prefix.", err, kind, name, resourceType, name, name)
}

// identityAdvice names the provider's resources that give instances an
// identity, when the waiter's diagnosis says an instance lacks a usable one
// (no profile, or a role the agent cannot use); else "".
func identityAdvice(err error) string {
	var (
		missing []agentwait.Diagnosis
		nr      *agentwait.NotReadyError
		te      *agentwait.TimeoutError
	)
	switch {
	case errors.As(err, &nr):
		missing = nr.Missing
	case errors.As(err, &te):
		missing = te.Missing
	}
	for _, d := range missing {
		if d.Check == "profile" || d.Check == "role" {
			return "\n\nWith this provider, ssm_instance_role, ssm_instance_profile and ssm_instance_profile_association give an " +
				"instance an identity the SSM agent can use, and ssm_default_host_management gives one to every instance without an instance profile."
		}
	}
	return ""
}

// sentence is s with its first letter in upper case, to start a sentence of a
// detail with an engine's error.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

// targetText names the instances of a run for a summary: "instance i-0abc",
// "3 instances", "instances with tag:Role = web".
func targetText(instanceIDs []string, targets []runcommand.Target) string {
	switch {
	case len(instanceIDs) == 1:
		return "instance " + instanceIDs[0]
	case len(instanceIDs) > 1:
		return fmt.Sprintf("%d instances", len(instanceIDs))
	case len(targets) == 0:
		return "no instance"
	}
	sel := make([]string, len(targets))
	for i, t := range targets {
		sel[i] = t.Key + " = " + strings.Join(t.Values, ", ")
	}
	return "instances with " + strings.Join(sel, "; ")
}
