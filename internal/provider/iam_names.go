package provider

import (
	"context"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// IAM name and path rules (notes/aws-behaviour.md#iam).
var (
	iamNamePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
	iamPathPattern = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
)

const (
	maxRoleNameLen    = 64
	maxProfileNameLen = 128
	// uniqueSuffixLen is the length of what name_prefix gets appended, as in
	// terraform-provider-aws's id.PrefixedUniqueId: a timestamp and a counter.
	uniqueSuffixLen = 26
)

var uniqueCounter atomic.Uint32

// prefixedUniqueName is prefix + a 26-character suffix unique within this process
// and, by its timestamp, across runs.
func prefixedUniqueName(prefix string) string {
	ts := time.Now().UTC().Format("20060102150405")
	return fmt.Sprintf("%s%s%04d%08x", prefix, ts, time.Now().Nanosecond()/100000%10000, uniqueCounter.Add(1))
}

// uniqueSuffix is what prefixedUniqueName appends to a name_prefix.
var uniqueSuffix = regexp.MustCompile(`^(.+)\d{18}[0-9a-f]{8}$`)

// importNamePrefix sets name_prefix on import when the name ends in the unique
// suffix name_prefix gets, as hashicorp/aws recovers it
// (create.NamePrefixFromName), so a configuration using name_prefix plans no
// replacement after import.
func importNamePrefix(ctx context.Context, name string, resp *resource.ImportStateResponse) {
	if m := uniqueSuffix.FindStringSubmatch(name); m != nil {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name_prefix"), m[1])...)
	}
}

// nameFromPlan is the planned name, or a unique one from name_prefix (default
// "terraform-") when the name is not set.
func nameFromPlan(name, namePrefix types.String) string {
	if !name.IsNull() && !name.IsUnknown() {
		return name.ValueString()
	}
	prefix := "terraform-"
	if !namePrefix.IsNull() && !namePrefix.IsUnknown() {
		prefix = namePrefix.ValueString()
	}
	return prefixedUniqueName(prefix)
}
