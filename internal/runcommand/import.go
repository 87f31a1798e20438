package runcommand

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Import reconstructs a run from one command id: the Spec it was sent with (from
// ListCommands) and its Result (the invocations, with output up to outputLimit
// bytes per stream; 0 = DefaultOutputLimit). It does not wait: a command still
// running is returned as it is. An unknown id (or expired history) gives an
// error wrapping ErrCommandNotFound. Only the given command is read: a run split
// into several commands is imported by its first id as that command alone.
func Import(ctx context.Context, c Clients, commandID string, outputLimit int) (*Result, *Spec, error) {
	if len(commandID) != 36 {
		return nil, nil, fmt.Errorf("importing command %q: %w (a command id is 36 characters, e.g. 0b7d0a5e-1c5a-4c8e-9a55-6f2f0e1a2b3c)", commandID, ErrCommandNotFound)
	}
	out, err := c.SSM.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: aws.String(commandID)})
	if err != nil {
		if code := errorCode(err); code == "InvalidCommandId" || code == "ValidationException" {
			return nil, nil, fmt.Errorf("importing command %s: %w: %v", commandID, ErrCommandNotFound, err)
		}
		return nil, nil, fmt.Errorf("importing command %s: %w", commandID, err)
	}
	if len(out.Commands) == 0 {
		return nil, nil, fmt.Errorf("importing command %s: %w (history is kept for 30 days)", commandID, ErrCommandNotFound)
	}
	cmd := out.Commands[0]
	spec := &Spec{
		DocumentName:       aws.ToString(cmd.DocumentName),
		DocumentVersion:    aws.ToString(cmd.DocumentVersion),
		Parameters:         cmd.Parameters,
		InstanceIDs:        cmd.InstanceIds,
		MaxConcurrency:     aws.ToString(cmd.MaxConcurrency),
		MaxErrors:          aws.ToString(cmd.MaxErrors),
		Comment:            StripRunToken(aws.ToString(cmd.Comment)),
		DeliveryTimeout:    time.Duration(aws.ToInt32(cmd.TimeoutSeconds)) * time.Second,
		OutputS3BucketName: aws.ToString(cmd.OutputS3BucketName),
		OutputS3KeyPrefix:  aws.ToString(cmd.OutputS3KeyPrefix),
		OutputLimit:        outputLimit,
	}
	for _, t := range cmd.Targets {
		spec.Targets = append(spec.Targets, Target{Key: aws.ToString(t.Key), Values: t.Values})
	}
	// A run sent with instance ids has no targets; some APIs echo them as an
	// InstanceIds target too: keep one form.
	if len(spec.InstanceIDs) > 0 {
		var keep []Target
		for _, t := range spec.Targets {
			if !strings.EqualFold(t.Key, "InstanceIds") {
				keep = append(keep, t)
			}
		}
		spec.Targets = keep
	}
	if cw := cmd.CloudWatchOutputConfig; cw != nil {
		spec.CloudWatchLogEnabled = cw.CloudWatchOutputEnabled
		spec.CloudWatchLogGroup = aws.ToString(cw.CloudWatchLogGroupName)
	}
	full := withDefaults(*spec)
	st := &cmdState{id: commandID}
	st.update(&cmd)
	res := &Result{CommandIDs: []string{commandID}, Invocations: map[string]*Invocation{}}
	if err := collectAll(ctx, c, full, res, []*cmdState{st}, false); err != nil {
		return res, spec, fmt.Errorf("importing command %s: %w", commandID, err)
	}
	return res, spec, nil
}
