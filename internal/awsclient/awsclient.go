// Package awsclient builds the AWS SDK configuration and service clients the
// provider shares between resources, from plain Go settings (no Terraform types).
// Building makes no network call: credentials and assumed roles resolve lazily on
// the first API request.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// ErrNoRegion: no region was given, and the environment and shared config
// name none.
var ErrNoRegion = errors.New("no AWS region is set, and none is found in AWS_REGION, AWS_DEFAULT_REGION or the shared config profile")

// Services whose endpoints can be overridden, in the provider's `endpoints` block.
var Services = []string{"ec2", "iam", "logs", "s3", "ssm", "sts"}

// AssumeRole configures a role to assume with the base credentials.
type AssumeRole struct {
	RoleARN     string
	SessionName string
	ExternalID  string
	Duration    time.Duration
}

// Settings are the provider's AWS settings. Empty values fall back to the SDK's
// environment variables and shared files, like the AWS CLI and hashicorp/aws.
type Settings struct {
	Region                 string
	Profile                string
	SharedConfigFiles      []string
	SharedCredentialsFiles []string
	AccessKey              string
	SecretKey              string
	Token                  string
	AssumeRole             *AssumeRole
	// Endpoints maps a service name (see Services) to a base URL.
	Endpoints map[string]string
	// MaxRetries is the number of retries after the first attempt (nil: default).
	MaxRetries *int
	// RetryMode is "standard" or "adaptive" ("" : default).
	RetryMode      string
	S3UsePathStyle bool
	// UserAgent is appended to the SDK's user agent, e.g. "terraform-provider-ssm/1.2.3".
	UserAgent []UserAgentProduct
	// RequestLogger, when set, records every API call attempt (metadata only).
	RequestLogger RequestLogger
}

// UserAgentProduct is one name/version pair of the user agent.
type UserAgentProduct struct{ Name, Version string }

// Defaults applied when Settings leave retries unset: the SDK's standard mode,
// as hashicorp/aws uses, with hashicorp/aws's 25 retries. Adaptive mode's
// client-side rate limiter is shared by every resource and, under throttling,
// slows a whole apply down many times over (see
// notes/aws-behaviour.md#retries-deadlines-and-lost-responses).
const (
	DefaultMaxRetries = 25
	DefaultRetryMode  = "standard"
	maxBackoff        = 20 * time.Second
)

// Clients are the service clients shared by all resources.
type Clients struct {
	Config    aws.Config
	Region    string
	Partition string
	EC2       *ec2.Client
	IAM       *iam.Client
	Logs      *cloudwatchlogs.Client
	S3        *s3.Client
	SSM       *ssm.Client
	STS       *sts.Client
}

// New builds the clients. It reads environment variables and shared files but
// makes no network call.
func New(ctx context.Context, s Settings, logger logging.Logger) (*Clients, error) {
	var opts []func(*config.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	if len(s.SharedConfigFiles) > 0 {
		opts = append(opts, config.WithSharedConfigFiles(expandHome(s.SharedConfigFiles)))
	}
	if len(s.SharedCredentialsFiles) > 0 {
		opts = append(opts, config.WithSharedCredentialsFiles(expandHome(s.SharedCredentialsFiles)))
	}
	if s.AccessKey != "" || s.SecretKey != "" {
		if s.AccessKey == "" || s.SecretKey == "" {
			return nil, errors.New("AccessKey and SecretKey must be set together")
		}
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, s.Token)))
	}
	if s.RetryMode != "" {
		if _, err := aws.ParseRetryMode(s.RetryMode); err != nil {
			return nil, fmt.Errorf("RetryMode: %w", err)
		}
	}
	if s.MaxRetries != nil && *s.MaxRetries < 0 {
		return nil, fmt.Errorf("MaxRetries must not be negative, got %d", *s.MaxRetries)
	}
	if logger != nil {
		opts = append(opts, config.WithLogger(logger))
	}
	opts = append(opts, config.WithAPIOptions(apiOptions(s.UserAgent, s.RequestLogger)))

	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	applyRetryer(&cfg, s)
	if cfg.Region == "" {
		return nil, ErrNoRegion
	}
	for svc := range s.Endpoints {
		if !knownService(svc) {
			return nil, fmt.Errorf("unknown service %q in Endpoints (known: %s)", svc, strings.Join(Services, ", "))
		}
	}
	endpoint := func(svc string) *string {
		if u := s.Endpoints[svc]; u != "" {
			return aws.String(u)
		}
		return nil // the SDK resolves AWS_ENDPOINT_URL(_<SERVICE>) and the default
	}

	if ar := s.AssumeRole; ar != nil && ar.RoleARN != "" {
		stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if ep := endpoint("sts"); ep != nil {
				o.BaseEndpoint = ep
			}
		})
		prov := stscreds.NewAssumeRoleProvider(stsClient, ar.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = ar.SessionName
			if o.RoleSessionName == "" {
				o.RoleSessionName = fmt.Sprintf("terraform-provider-ssm-%d", time.Now().UnixNano())
			}
			if ar.ExternalID != "" {
				o.ExternalID = aws.String(ar.ExternalID)
			}
			if ar.Duration > 0 {
				o.Duration = ar.Duration
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(prov)
	}

	c := &Clients{Config: cfg, Region: cfg.Region, Partition: PartitionForRegion(cfg.Region)}
	c.EC2 = ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = orDefault(endpoint("ec2"), o.BaseEndpoint) })
	c.IAM = iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = orDefault(endpoint("iam"), o.BaseEndpoint) })
	c.Logs = cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		o.BaseEndpoint = orDefault(endpoint("logs"), o.BaseEndpoint)
	})
	c.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = orDefault(endpoint("s3"), o.BaseEndpoint)
		o.UsePathStyle = o.UsePathStyle || s.S3UsePathStyle
	})
	c.SSM = ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = orDefault(endpoint("ssm"), o.BaseEndpoint) })
	c.STS = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = orDefault(endpoint("sts"), o.BaseEndpoint) })
	return c, nil
}

func orDefault(v, def *string) *string {
	if v != nil {
		return v
	}
	return def
}

func knownService(s string) bool {
	for _, k := range Services {
		if k == s {
			return true
		}
	}
	return false
}

// applyRetryer sets the one retryer every client uses. The attempt count is
// max_retries + 1, else AWS_MAX_ATTEMPTS (or the shared config's max_attempts),
// else DefaultMaxRetries + 1; the mode is retry_mode, else AWS_RETRY_MODE (or
// retry_mode in the shared config), else DefaultRetryMode. The SDK's own
// RetryMaxAttempts/RetryMode are then cleared: a client would otherwise wrap
// the retryer again with AWS_MAX_ATTEMPTS, overriding max_retries.
func applyRetryer(cfg *aws.Config, s Settings) {
	attempts := DefaultMaxRetries + 1
	switch {
	case s.MaxRetries != nil:
		attempts = *s.MaxRetries + 1
	case cfg.RetryMaxAttempts > 0:
		attempts = cfg.RetryMaxAttempts
	}
	mode := aws.RetryMode(DefaultRetryMode)
	switch {
	case s.RetryMode != "":
		mode, _ = aws.ParseRetryMode(s.RetryMode)
	case cfg.RetryMode != "":
		mode = cfg.RetryMode
	}
	cfg.Retryer = func() aws.Retryer { return newRetryer(mode, attempts) }
	cfg.RetryMaxAttempts, cfg.RetryMode = 0, ""
}
