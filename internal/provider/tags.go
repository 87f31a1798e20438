package provider

import (
	"context"
	"maps"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// mergeTags is default_tags overlaid with the resource's tags (the resource wins).
func mergeTags(defaults map[string]string, own map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, defaults)
	maps.Copy(out, own)
	return out
}

// tagsAllPlan is the planned tags_all: default_tags merged with tags, unknown
// while tags are.
func tagsAllPlan(ctx context.Context, tags types.Map, defaults map[string]string, diags *diag.Diagnostics) types.Map {
	if tags.IsUnknown() {
		return types.MapUnknown(types.StringType)
	}
	return mapValue(mergeTags(defaults, stringMap(ctx, tags, diags)))
}

// ownTags are the actual tags shown in `tags`: all but those that only come
// from default_tags (as hashicorp/aws does). prior are the tags in state or plan.
func ownTags(actual, defaults, prior map[string]string, priorNull bool) types.Map {
	out := map[string]string{}
	for k, v := range actual {
		if _, mine := prior[k]; mine {
			out[k] = v
			continue
		}
		if dv, ok := defaults[k]; ok && dv == v {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 && priorNull {
		return types.MapNull(types.StringType)
	}
	return mapValue(out)
}
