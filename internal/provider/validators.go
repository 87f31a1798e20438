package provider

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// The plan-time validators of the provider's arguments. Their diagnostics
// follow the provider's style (diagnostics.go): a lower-case summary saying
// what is wrong, a detail naming the value, the rule and the way out.

// instanceIDPattern is SendCommand's InstanceIds pattern (notes/aws-behaviour.md#sendcommand).
var instanceIDPattern = regexp.MustCompile(`^(i-(\w{8}|\w{17})|mi-\w{17})$`)

// endpointURL accepts absolute http(s) URLs with a host.
func endpointURL() validator.String { return endpointURLValidator{} }

type endpointURLValidator struct{}

func (endpointURLValidator) Description(context.Context) string {
	return "must be an absolute http or https URL, such as https://ssm.us-east-1.amazonaws.com or http://127.0.0.1:4566"
}
func (v endpointURLValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v endpointURLValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	raw := req.ConfigValue.ValueString()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid endpoint URL",
			fmt.Sprintf("%q is not an absolute http(s) URL: the endpoint %s.", raw, v.Description(ctx)))
	}
}

// accountRule says what the account field of an ARN must hold.
type accountRule int

const (
	anyAccount      accountRule = iota // not checked (S3 bucket ARNs have none)
	accountID                          // 12 digits
	accountIDOrAWS                     // 12 digits, or "aws" (AWS managed policies)
	accountIDOrWild                    // 12 digits, or an IAM wildcard pattern of digits, * and ?
)

// arnValidator checks ARNs of one service whose resource matches a pattern,
// in any partition. It is the provider's one ARN validator, built on the SDK's
// arn package.
type arnValidator struct {
	service  string
	resource *regexp.Regexp
	what     string // "an S3 bucket ARN such as arn:aws:s3:::my-bucket"
	account  accountRule
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
	twelveDigits := len(a.AccountID) == 12 && strings.Trim(a.AccountID, "0123456789") == ""
	var problem string
	switch {
	case err != nil:
		problem = err.Error()
	case a.Service != v.service:
		problem = fmt.Sprintf("service is %q, not %s", a.Service, v.service)
	case v.account == accountID && !twelveDigits, v.account == accountIDOrAWS && !twelveDigits && a.AccountID != "aws",
		v.account == accountIDOrWild && !twelveDigits && !wildAccount.MatchString(a.AccountID):
		problem = fmt.Sprintf("account id %q is not 12 digits", a.AccountID)
	case !v.resource.MatchString(a.Resource):
		problem = fmt.Sprintf("resource %q is not of the expected form", a.Resource)
	}
	if problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid ARN",
			fmt.Sprintf("%q %s: %s.", raw, v.Description(ctx), problem))
	}
}

// roleARN accepts IAM role ARNs.
func roleARN() validator.String {
	return arnValidator{service: "iam", account: accountID, resource: regexp.MustCompile(`^role/.+$`),
		what: "an IAM role ARN such as arn:aws:iam::123456789012:role/deployer"}
}

func iamPolicyARN() validator.String {
	return arnValidator{service: "iam", account: accountIDOrAWS, resource: regexp.MustCompile(`^policy/(.+/)?[\w+=,.@-]+$`),
		what: "an IAM policy ARN such as arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}
}

// wildAccount is an account field with IAM wildcards (* and ?), such as "*".
var wildAccount = regexp.MustCompile(`^[0-9*?]*[*?][0-9*?]*$`)

// s3BucketARN accepts bucket ARNs, and bucket name patterns with the IAM
// wildcards * and ? (IAM matches Resource ARNs with them: IAM User Guide, "IAM
// JSON policy elements: Resource"), such as arn:aws:s3:::ssm-output-*. Object
// keys, upper case and other characters no bucket name has are rejected.
func s3BucketARN() validator.String {
	return arnValidator{service: "s3", resource: regexp.MustCompile(`^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9]|[a-z0-9.?-]*\*[a-z0-9.*?-]*|[a-z0-9.*-]*\?[a-z0-9.*?-]*)$`),
		what: "an S3 bucket ARN such as arn:aws:s3:::my-bucket, or a pattern such as arn:aws:s3:::ssm-output-* (no object key)"}
}

// logGroupARN accepts log group ARNs and patterns with IAM wildcards in the
// region, account and group name, such as
// arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*.
func logGroupARN() validator.String {
	return arnValidator{service: "logs", account: accountIDOrWild, resource: regexp.MustCompile(`^log-group:[\w#/.*?-]{1,512}(:\*)?$`),
		what: "a CloudWatch Logs group ARN such as arn:aws:logs:us-east-1:123456789012:log-group:ssm, or a pattern such as arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*"}
}

func kmsKeyARN() validator.String {
	return arnValidator{service: "kms", account: accountID, resource: regexp.MustCompile(`^(key|alias)/[\w/+=,.@-]+$`),
		what: "a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
}

func ec2InstanceARNPattern() validator.String {
	return arnValidator{service: "ec2", account: accountID, resource: regexp.MustCompile(`^instance/[\w*?-]+$`),
		what: "an EC2 instance ARN or pattern such as arn:aws:ec2:*:111122223333:instance/*"}
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
		arnValidator{service: "iam", account: accountID, resource: regexp.MustCompile(`^instance-profile/(.+/)?[\w+=,.@-]{1,128}$`),
			what: strings.TrimPrefix(v.Description(ctx), "must be ")}.ValidateString(ctx, req, resp)
		return
	}
	if len(raw) > maxProfileNameLen || !iamNamePattern.MatchString(raw) {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid instance profile",
			fmt.Sprintf("%q %s: names have 1 to 128 letters, digits and the characters +=,.@_-.", raw, v.Description(ctx)))
	}
}

// durationBetween accepts Go durations in [min, max]. The duration type
// already rejects unparsable values.
func durationBetween(lo, hi time.Duration) validator.String { return durationValidator{lo, hi} }

type durationValidator struct{ lo, hi time.Duration }

func (v durationValidator) Description(context.Context) string {
	return fmt.Sprintf("must be a duration between %s and %s", v.lo, v.hi)
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v durationValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil {
		return // reported by the type
	}
	if d < v.lo || d > v.hi {
		resp.Diagnostics.AddAttributeError(req.Path, "duration out of range",
			fmt.Sprintf("%s %s, got %s.", req.Path, v.Description(ctx), d))
	}
}

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
		resp.Diagnostics.AddAttributeError(req.Path, "invalid length",
			fmt.Sprintf("%s %s, got %d characters.", req.Path, v.Description(ctx), n))
	}
}

// instanceIDListValidators check a list of instance ids at plan time: at least
// one, no nulls or duplicates, each an EC2 instance id or a hybrid node id.
func instanceIDListValidators() []validator.List {
	return []validator.List{
		listvalidator.SizeAtLeast(1),
		listvalidator.NoNullValues(),
		listvalidator.UniqueValues(),
		listvalidator.ValueStringsAre(stringvalidator.RegexMatches(instanceIDPattern, "must be an instance id such as i-0123456789abcdef0 (or mi-... for a hybrid node)")),
	}
}

// tagSelectorValidators check a tag map that selects instances: at least one
// tag, each as tagMapValidators checks it.
func tagSelectorValidators() []validator.Map {
	return append([]validator.Map{mapvalidator.SizeAtLeast(1)}, tagMapValidators()...)
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
		resp.Diagnostics.AddAttributeError(req.Path, "invalid target key",
			fmt.Sprintf("%q %s.%s", k, v.Description(ctx), hint))
	}
}

// checkWith turns a plain check of an engine into a plan-time validator.
type checkWith struct {
	desc  string
	check func(string) error
}

func (v checkWith) Description(context.Context) string             { return v.desc }
func (v checkWith) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v checkWith) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid "+v.desc, fmt.Sprintf("%s: %s.", req.Path, err))
	}
}

// knownRegion accepts the regions of the partition table
// (awsclient.Partitions) in the partitions the operator policy supports.
type knownRegion struct{}

func (knownRegion) Description(context.Context) string {
	return "must be a region of the " + orList(iamx.OperatorPolicyPartitions) + " partition, such as us-east-1"
}
func (v knownRegion) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v knownRegion) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	region := req.ConfigValue.ValueString()
	p, known := awsclient.PartitionOfKnownRegion(region)
	switch {
	case !known:
		resp.Diagnostics.AddAttributeError(req.Path, "unknown region",
			fmt.Sprintf("%s: %q is not a known region: the value %s. Check the spelling (regions look like eu-west-1).",
				req.Path, region, v.Description(ctx)))
	case !slices.Contains(iamx.OperatorPolicyPartitions, p):
		resp.Diagnostics.AddAttributeError(req.Path, "unsupported region",
			fmt.Sprintf("%s: %q is in partition %s: the value %s.", req.Path, region, p, v.Description(ctx)))
	}
}

// orList is "a, b or c".
func orList(ss []string) string {
	if len(ss) < 2 {
		return strings.Join(ss, "")
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " or " + ss[len(ss)-1]
}
