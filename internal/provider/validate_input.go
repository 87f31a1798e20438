package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// charsBetween accepts strings of lo to hi characters. AWS counts characters
// (Unicode code points) where its models give string lengths;
// stringvalidator.LengthBetween counts bytes, which rejects non-ASCII text AWS
// accepts.
func charsBetween(lo, hi int) validator.String { return charsValidator{lo, hi} }

type charsValidator struct{ lo, hi int }

func (v charsValidator) Description(context.Context) string {
	if v.lo == 0 {
		return fmt.Sprintf("must be at most %d characters long", v.hi)
	}
	return fmt.Sprintf("must be %d to %d characters long", v.lo, v.hi)
}
func (v charsValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v charsValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if n := utf8.RuneCountInString(req.ConfigValue.ValueString()); n < v.lo || n > v.hi {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid length",
			fmt.Sprintf("%s %s, got %d characters.", req.Path, v.Description(ctx), n))
	}
}

// tagMapValidators check tags as IAM and EC2 take them: keys of 1 to 128
// characters, values of at most 256 (notes/aws-behaviour.md#iam).
func tagMapValidators() []validator.Map {
	return []validator.Map{
		mapvalidator.NoNullValues(),
		mapvalidator.KeysAre(charsBetween(1, 128)),
		mapvalidator.ValueStringsAre(charsBetween(0, 256)),
	}
}

// targetKeyPatternStrict: the target keys SendCommand documents: tag:<tag key>,
// tag-key, InstanceIds, resource-groups:Name and resource-groups:ResourceTypeFilters
// (SDK model: service/ssm Target.Key; notes/aws-behaviour.md#sendcommand).
var targetKeyPatternStrict = regexp.MustCompile(`^(tag:.{1,128}|tag-key|InstanceIds|resource-groups:Name|resource-groups:ResourceTypeFilters)$`)

func targetKey() validator.String { return targetKeyValidator{} }

type targetKeyValidator struct{}

func (targetKeyValidator) Description(context.Context) string {
	return "must be tag:<tag key>, tag-key, InstanceIds, resource-groups:Name or resource-groups:ResourceTypeFilters"
}
func (v targetKeyValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v targetKeyValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	k := req.ConfigValue.ValueString()
	if !targetKeyPatternStrict.MatchString(k) || (strings.HasPrefix(k, "tag:") && strings.TrimSpace(k[4:]) == "") {
		hint := ""
		if !strings.Contains(k, ":") && k != "tag-key" && k != "InstanceIds" {
			hint = fmt.Sprintf(" To select by the tag %q, write tag:%s.", k, k)
		}
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid target key",
			fmt.Sprintf("%q %s.%s", k, v.Description(ctx), hint))
	}
}

// validateRunParameters rejects parameters that the arguments would silently
// override, and empty command lists.
func validateRunParameters(m *commandRunModel, diags *diag.Diagnostics) {
	if m.Parameters.IsNull() || m.Parameters.IsUnknown() {
		return
	}
	params := m.Parameters.Elements()
	for name, arg := range map[string]struct {
		attr string
		set  bool
	}{
		"executionTimeout": {"execution_timeout", !m.ExecutionTimeout.IsNull()},
		"workingDirectory": {"working_directory", !m.WorkingDirectory.IsNull()},
	} {
		if _, ok := params[name]; ok && arg.set {
			diags.AddAttributeError(path.Root("parameters").AtMapKey(name), name+" given twice",
				fmt.Sprintf("parameters.%s and the %s argument both set the document's %s: keep one of them.", name, arg.attr, name))
		}
	}
	if v, ok := params["commands"]; ok {
		if l, ok := v.(types.List); ok && !l.IsUnknown() && !l.IsNull() && len(l.Elements()) == 0 {
			diags.AddAttributeError(path.Root("parameters").AtMapKey("commands"), "No commands",
				"parameters.commands is empty: give at least one command (AWS-RunShellScript requires it).")
		}
	}
}
