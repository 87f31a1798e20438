package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Diagnostics read as sentences: no doubled "must be", no literal "\n".
func TestMessages_readable(t *testing.T) {
	ctx := context.Background()
	var vr validator.StringResponse
	instanceProfileNameOrARN().ValidateString(ctx, validator.StringRequest{Path: path.Root("instance_profile"),
		ConfigValue: types.StringValue("arn:aws:iam::12345:instance-profile/web")}, &vr)
	var vd xattr.ValidateAttributeResponse
	v, _ := durationType{}.ValueFromString(ctx, types.StringValue("10 minutes"))
	v.(checkedDurationValue).ValidateAttribute(ctx, xattr.ValidateAttributeRequest{Path: path.Root("execution_timeout")}, &vd)
	for name, diags := range map[string]diag.Diagnostics{"profile ARN": vr.Diagnostics, "duration": vd.Diagnostics} {
		if diags.ErrorsCount() != 1 {
			t.Fatalf("%s: %d errors, want 1", name, diags.ErrorsCount())
		}
		d := diags.Errors()[0].Detail()
		if strings.Contains(d, "must be must be") || strings.Contains(d, `\n`) {
			t.Errorf("%s: unreadable detail %q", name, d)
		}
	}
}

// Durations compare as durations.
func TestDurationSemanticEquals(t *testing.T) {
	ctx := context.Background()
	for _, s := range []string{"2m", "2m0s", "120s"} {
		b, _ := durationType{}.ValueFromString(ctx, types.StringValue(s))
		if ok, _ := durationOf(2*time.Minute).StringSemanticEquals(ctx, b); !ok {
			t.Errorf("2m0s and %s are the same duration", s)
		}
	}
	b, _ := durationType{}.ValueFromString(ctx, types.StringValue("121s"))
	if ok, _ := durationOf(2*time.Minute).StringSemanticEquals(ctx, b); ok {
		t.Error("2m0s and 121s differ")
	}
}
