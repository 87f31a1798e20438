package runcommand

import (
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// DefaultPersistentErrorLimit: how long transient errors (throttling, 5xx,
// connection errors) may answer every call of a wait or a collection before
// the run gives up on them.
const DefaultPersistentErrorLimit = 2 * time.Minute

// newTracker follows the API errors of one run's waiting and collecting: the
// last one (named when the deadline is reached) and since when every call
// failed, with the errors classified as the SDK's retryer does. See
// notes/aws-behaviour.md#retries-deadlines-and-lost-responses.
func newTracker(limit time.Duration) *poll.Tracker {
	return &poll.Tracker{Limit: limit, Transient: awsclient.Transient, ContextOnly: awsclient.ContextOnly, Describe: awsclient.Cause}
}
