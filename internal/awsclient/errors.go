package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Transient reports whether polling again may cure err: throttling, a 5xx
// answer, or a connection error (refused, reset, timed out), as the SDK's
// retryer classifies them. Anything else (access denied, validation, not
// found) will fail the same way on the next call. See
// notes/aws-behaviour.md#retries-deadlines-and-lost-responses.
func Transient(err error) bool {
	if err == nil || ContextOnly(err) {
		return false
	}
	if throttles.IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	if code := HTTPStatus(err); code >= 500 {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// ContextOnly reports whether err says only that the caller's context ended
// (deadline or cancellation), with no answer from AWS and no connection error
// behind it.
func ContextOnly(err error) bool {
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return false
	}
	var ae smithy.APIError
	return HTTPStatus(err) == 0 && !errors.As(err, &ae)
}

// HTTPStatus is the HTTP status code of the response err came with, or 0.
func HTTPStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// Cause is a short text of what an API call failed with: "HTTP 500
// InternalServerError: An internal error occurred", "ThrottlingException:
// Rate exceeded", or the error text (a connection error) when there was no
// answer, without a final full stop so it can end a sentence. Never empty for
// a non-nil error.
func Cause(err error) string {
	return strings.TrimSuffix(cause(err), ".")
}

func cause(err error) string {
	if err == nil {
		return "no error"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		s := ae.ErrorCode()
		if msg := ae.ErrorMessage(); msg != "" {
			s += ": " + msg
		}
		if code := HTTPStatus(err); code >= 500 {
			s = fmt.Sprintf("HTTP %d %s", code, s)
		}
		return s
	}
	if code := HTTPStatus(err); code > 0 {
		return fmt.Sprintf("HTTP %d: %v", code, err)
	}
	return err.Error()
}
