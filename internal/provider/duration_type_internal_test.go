package provider

import (
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Durations compare as durations.
func TestDurationSemanticEquals(t *testing.T) {
	ctx := t.Context()
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
