package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
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

// mergeTags is default_tags overlaid with the resource's tags (the resource wins).
func mergeTags(defaults map[string]string, own map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, defaults)
	maps.Copy(out, own)
	return out
}

func stringMap(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	out := map[string]string{}
	if m.IsNull() || m.IsUnknown() {
		return out
	}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

func stringSet(ctx context.Context, s types.Set, diags *diag.Diagnostics) []string {
	var out []string
	if s.IsNull() || s.IsUnknown() {
		return nil
	}
	diags.Append(s.ElementsAs(ctx, &out, false)...)
	return out
}

func mapValue(m map[string]string) types.Map {
	vals := make(map[string]attr.Value, len(m))
	for k, v := range m {
		vals[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, vals)
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

// tagChanges are the tags to set and the keys to remove to go from old to new.
func tagChanges(old, new map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range new {
		if ov, ok := old[k]; !ok || ov != v {
			set[k] = v
		}
	}
	for k := range old {
		if _, ok := new[k]; !ok {
			remove = append(remove, k)
		}
	}
	return set, remove
}

// arnValidator checks ARNs of one service whose resource matches a pattern.
type arnValidator struct {
	service  string
	resource *regexp.Regexp
	what     string // "an S3 bucket ARN such as arn:aws:s3:::my-bucket"
	account  bool   // the ARN names an account (12 digits) or "aws"
}

func (v arnValidator) Description(context.Context) string { return "must be " + v.what }
func (v arnValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v arnValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	raw := req.ConfigValue.ValueString()
	a, err := arn.Parse(raw)
	var problem string
	switch {
	case err != nil:
		problem = err.Error()
	case a.Service != v.service:
		problem = fmt.Sprintf("service is %q, not %s", a.Service, v.service)
	case v.account && a.AccountID != "aws" && (len(a.AccountID) != 12 || strings.Trim(a.AccountID, "0123456789") != ""):
		problem = fmt.Sprintf("account id %q is not 12 digits", a.AccountID)
	case !v.resource.MatchString(a.Resource):
		problem = fmt.Sprintf("resource %q is not of the expected form", a.Resource)
	}
	if problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid ARN",
			fmt.Sprintf("%q %s: %s.", raw, v.Description(ctx), problem))
	}
}

func iamPolicyARN() validator.String {
	return arnValidator{service: "iam", account: true, resource: regexp.MustCompile(`^policy/(.+/)?[\w+=,.@-]+$`),
		what: "an IAM policy ARN such as arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}
}

func s3BucketARN() validator.String {
	return arnValidator{service: "s3", resource: regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`),
		what: "an S3 bucket ARN such as arn:aws:s3:::my-bucket (no object key)"}
}

func logGroupARN() validator.String {
	return arnValidator{service: "logs", account: true, resource: regexp.MustCompile(`^log-group:[\w#/.-]{1,512}(:\*)?$`),
		what: "a CloudWatch Logs group ARN such as arn:aws:logs:us-east-1:123456789012:log-group:ssm"}
}

func kmsKeyARN() validator.String {
	return arnValidator{service: "kms", account: true, resource: regexp.MustCompile(`^(key|alias)/[\w/+=,.@-]+$`),
		what: "a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
}

func instanceProfileNameOrARN() validator.String { return profileRefValidator{} }

type profileRefValidator struct{}

func (profileRefValidator) Description(context.Context) string {
	return "must be an instance profile name or an ARN such as arn:aws:iam::123456789012:instance-profile/ssm"
}
func (v profileRefValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v profileRefValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	raw := req.ConfigValue.ValueString()
	if strings.HasPrefix(raw, "arn:") {
		arnValidator{service: "iam", account: true, resource: regexp.MustCompile(`^instance-profile/(.+/)?[\w+=,.@-]{1,128}$`),
			what: strings.TrimPrefix(v.Description(ctx), "must be ")}.ValidateString(ctx, req, resp)
		return
	}
	if len(raw) > maxProfileNameLen || !iamNamePattern.MatchString(raw) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid instance profile",
			fmt.Sprintf("%q %s: names have 1 to 128 letters, digits and the characters +=,.@_-.", raw, v.Description(ctx)))
	}
}

// createErrorDetail is the detail of a failed IAM create: for
// EntityAlreadyExists it says how to adopt the existing object.
func createErrorDetail(err error, resourceType, kind, name string) string {
	var ae *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &ae) {
		return err.Error()
	}
	return fmt.Sprintf("%s\n\nAn IAM %s named %s already exists. To manage it with this resource, import it:\n"+
		"  terraform import %s.<name> %s\n"+
		"(or an import block with id = %q). Otherwise choose another name, or use name_prefix.", err, kind, name, resourceType, name, name)
}
