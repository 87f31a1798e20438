package provider

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

var (
	regionPattern      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

const (
	minAssumeRoleDuration = 15 * time.Minute
	maxAssumeRoleDuration = 12 * time.Hour
)

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
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid endpoint URL",
			fmt.Sprintf("%q is not an absolute http(s) URL: the endpoint %s.", raw, v.Description(ctx)))
	}
}

// roleARN accepts IAM role ARNs in any partition.
func roleARN() validator.String { return roleARNValidator{} }

type roleARNValidator struct{}

func (roleARNValidator) Description(context.Context) string {
	return "must be an IAM role ARN such as arn:aws:iam::123456789012:role/deployer"
}
func (v roleARNValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v roleARNValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	raw := req.ConfigValue.ValueString()
	a, err := arn.Parse(raw)
	var problem string
	switch {
	case err != nil:
		problem = err.Error()
	case a.Service != "iam":
		problem = fmt.Sprintf("service is %q, not iam", a.Service)
	case len(a.AccountID) != 12 || strings.Trim(a.AccountID, "0123456789") != "":
		problem = fmt.Sprintf("account id %q is not 12 digits", a.AccountID)
	case !strings.HasPrefix(a.Resource, "role/") || len(a.Resource) <= len("role/"):
		problem = fmt.Sprintf("resource %q is not role/<name>", a.Resource)
	}
	if problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid role ARN",
			fmt.Sprintf("%q %s: %s.", raw, v.Description(ctx), problem))
	}
}

// durationBetween accepts Go durations in [min, max]. The timetypes custom type
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
		resp.Diagnostics.AddAttributeError(req.Path, "Duration out of range",
			fmt.Sprintf("%s %s, got %s.", req.Path, v.Description(ctx), d))
	}
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(name))
	return b
}
