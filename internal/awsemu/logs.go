package awsemu

// STUB — replaced by the CloudWatch Logs implementation.

type logsState struct{}

func newLogsState() *logsState { return &logsState{} }

var logsOps = map[string]jsonHandler{}

// logsPutLocked appends a message to a log stream, creating group and stream as the
// agent does.
func (e *Emulator) logsPutLocked(group, stream, message string) {}
