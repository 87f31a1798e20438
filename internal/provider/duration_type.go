package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// durationType is timetypes.GoDurationType with a clear validation message: the
// library's shows a literal "\n\nGiven Value:" in its detail. Values compare as
// durations ("2m" equals "120s").
type durationType struct{ basetypes.StringType }

var (
	_ basetypes.StringTypable                    = durationType{}
	_ basetypes.StringValuableWithSemanticEquals = checkedDurationValue{}
	_ xattr.ValidateableAttribute                = checkedDurationValue{}
)

func (t durationType) String() string                       { return "provider.durationType" }
func (t durationType) ValueType(context.Context) attr.Value { return checkedDurationValue{} }
func (t durationType) Equal(o attr.Type) bool               { _, ok := o.(durationType); return ok }
func (t durationType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return checkedDurationValue{GoDuration: timetypes.GoDuration{StringValue: in}}, nil
}

func (t durationType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	s, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	out, diags := t.ValueFromString(ctx, s)
	if diags.HasError() {
		return nil, fmt.Errorf("converting a string to a duration: %v", diags)
	}
	return out, nil
}

// checkedDurationValue is a Go duration string ("90s", "10m", "1h30m").
type checkedDurationValue struct{ timetypes.GoDuration }

func durationNull() checkedDurationValue { return checkedDurationValue{timetypes.NewGoDurationNull()} }

func durationOf(d time.Duration) checkedDurationValue {
	return checkedDurationValue{timetypes.NewGoDurationValue(d)}
}

func (v checkedDurationValue) Type(context.Context) attr.Type { return durationType{} }

func (v checkedDurationValue) Equal(o attr.Value) bool {
	ov, ok := o.(checkedDurationValue)
	return ok && v.StringValue.Equal(ov.StringValue)
}

// StringSemanticEquals: the same duration written differently.
func (v checkedDurationValue) StringSemanticEquals(_ context.Context, nv basetypes.StringValuable) (bool, diag.Diagnostics) {
	ov, ok := nv.(checkedDurationValue)
	if !ok {
		return false, nil
	}
	a, errA := time.ParseDuration(v.ValueString())
	b, errB := time.ParseDuration(ov.ValueString())
	return errA == nil && errB == nil && a == b, nil
}

func (v checkedDurationValue) ValidateAttribute(_ context.Context, req xattr.ValidateAttributeRequest, resp *xattr.ValidateAttributeResponse) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	if _, err := time.ParseDuration(v.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid duration",
			fmt.Sprintf("%s: %q is not a duration. Write a number with a unit, such as 90s, 10m or 1h30m (units: ns, us, ms, s, m, h).", req.Path, v.ValueString()))
	}
}
