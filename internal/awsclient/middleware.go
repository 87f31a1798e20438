package awsclient

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// RequestLogger receives one record per API call attempt: metadata only, never
// bodies, headers or credentials.
type RequestLogger func(ctx context.Context, fields map[string]any)

func apiOptions(ua []UserAgentProduct, requestLog RequestLogger) []func(*middleware.Stack) error {
	out := []func(*middleware.Stack) error{callStateMiddleware}
	for _, p := range ua {
		out = append(out, awsmiddleware.AddUserAgentKeyValue(p.Name, p.Version))
	}
	if requestLog == nil {
		return out
	}
	out = append(out, func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("terraformProviderSSMRequestLog",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleDeserialize(ctx, in)
				fields := map[string]any{
					"aws.service":   awsmiddleware.GetServiceID(ctx),
					"aws.operation": awsmiddleware.GetOperationName(ctx),
					"aws.region":    awsmiddleware.GetRegion(ctx),
					"duration_ms":   time.Since(start).Milliseconds(),
				}
				if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil {
					fields["http.status_code"] = resp.StatusCode
				}
				if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
					fields["aws.request_id"] = id
				}
				if err != nil {
					fields["error"] = err.Error()
				}
				requestLog(ctx, fields)
				return out, md, err
			}), middleware.Before)
	})
	return out
}

// expandHome expands a leading "~/" as the AWS CLI and hashicorp/aws do.
func expandHome(paths []string) []string {
	out := make([]string, len(paths))
	home, _ := os.UserHomeDir()
	for i, p := range paths {
		if home != "" && strings.HasPrefix(p, "~/") {
			p = filepath.Join(home, p[2:])
		}
		out[i] = p
	}
	return out
}
