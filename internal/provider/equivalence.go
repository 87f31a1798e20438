package provider

import (
	"context"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// Values written differently that mean the same (IAM names in another letter
// case, a profile by name or by ARN, "2m" and "120s") must not show a diff, and
// above all must not replace anything. A plan modifier that plans the prior
// state's value when the configured one is equivalent does it: Terraform accepts
// a planned value equal to the prior state in place of the configuration's.

// keepEquivalent plans the prior state's value when eq says the configured value
// is equivalent. Put it before RequiresReplace.
type keepEquivalent struct {
	desc string
	eq   func(ctx context.Context, req planmodifier.StringRequest, state, config string) bool
}

func (m keepEquivalent) Description(context.Context) string         { return m.desc }
func (m keepEquivalent) MarkdownDescription(context.Context) string { return m.desc }

func (m keepEquivalent) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.StateValue.IsNull() || req.StateValue.IsUnknown() || req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() ||
		req.PlanValue.IsUnknown() || req.StateValue.Equal(req.PlanValue) {
		return
	}
	if m.eq(ctx, req, req.StateValue.ValueString(), req.ConfigValue.ValueString()) {
		resp.PlanValue = req.StateValue
	}
}

// iamNameEquivalent: IAM names are unique case-insensitively, so "CaseRole" and
// "caserole" name the same role (notes/aws-behaviour.md#iam).
func iamNameEquivalent() planmodifier.String {
	return keepEquivalent{desc: "IAM names that differ only in letter case name the same entity.",
		eq: func(_ context.Context, _ planmodifier.StringRequest, state, config string) bool {
			return strings.EqualFold(state, config)
		}}
}

// durationEquivalent: "2m", "2m0s" and "120s" are the same duration.
func durationEquivalent() planmodifier.String {
	return keepEquivalent{desc: "Durations written differently (2m, 2m0s, 120s) are the same.",
		eq: func(_ context.Context, _ planmodifier.StringRequest, state, config string) bool {
			a, errA := time.ParseDuration(state)
			b, errB := time.ParseDuration(config)
			return errA == nil && errB == nil && a == b
		}}
}

// profileEquivalent: an instance profile named by name or by ARN is the same
// profile when the state's profile ARN says so (names case-insensitively).
func profileEquivalent(arnAttr string) planmodifier.String {
	return keepEquivalent{desc: "An instance profile given by name or by ARN is the same profile.",
		eq: func(ctx context.Context, req planmodifier.StringRequest, state, config string) bool {
			var arn types.String
			if d := req.State.GetAttribute(ctx, path.Root(arnAttr), &arn); d.HasError() || arn.ValueString() == "" {
				return strings.EqualFold(state, config)
			}
			return profileNames(arn.ValueString(), config)
		}}
}

// profileNames reports whether want (a name or an ARN) names the profile arn.
func profileNames(arn, want string) bool {
	if strings.HasPrefix(want, "arn:") {
		i, j := strings.Index(arn, ":instance-profile/"), strings.Index(want, ":instance-profile/")
		return i >= 0 && j >= 0 && arn[:i] == want[:j] && strings.EqualFold(arn[i:], want[j:])
	}
	return strings.EqualFold(iamx.ProfileNameFromARN(arn), want)
}
