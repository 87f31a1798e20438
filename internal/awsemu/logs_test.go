package awsemu

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func newLogsTest(t *testing.T) (*Emulator, *cloudwatchlogs.Client) {
	t.Helper()
	e, cfg := newTestEmulator(t, Options{})
	return e, cloudwatchlogs.NewFromConfig(cfg)
}

func TestLogsGroupsAndStreams(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newLogsTest(t)
	for _, g := range []string{"/aws/ssm/AWS-RunShellScript", "/aws/ssm/other", "app"} {
		if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("app")})
	var exists *cwltypes.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("duplicate group: want ResourceAlreadyExistsException, got %v", err)
	}
	_, err = c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bad name!")})
	var inv *cwltypes.InvalidParameterException
	if !errors.As(err, &inv) {
		t.Fatalf("bad group name: want InvalidParameterException, got %v", err)
	}

	dg, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/ssm/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(dg.LogGroups) != 2 || aws.ToString(dg.LogGroups[0].LogGroupName) != "/aws/ssm/AWS-RunShellScript" {
		t.Fatalf("DescribeLogGroups = %+v", dg.LogGroups)
	}
	g0 := dg.LogGroups[0]
	if aws.ToInt64(g0.CreationTime) < time.Now().Add(-time.Minute).UnixMilli() ||
		aws.ToString(g0.Arn) != "arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/AWS-RunShellScript:*" {
		t.Errorf("group = creation %d arn %s", aws.ToInt64(g0.CreationTime), aws.ToString(g0.Arn))
	}
	// Pagination.
	var all []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.LogGroups {
			all = append(all, aws.ToString(g.LogGroupName))
		}
	}
	if strings.Join(all, ",") != "/aws/ssm/AWS-RunShellScript,/aws/ssm/other,app" {
		t.Errorf("paged groups = %v", all)
	}

	g := aws.String("app")
	for _, s := range []string{"cmd/i-1/stdout", "cmd/i-1/stderr", "cmd/i-2/stdout"} {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String("cmd/i-1/stdout")})
	if !errors.As(err, &exists) {
		t.Fatalf("duplicate stream: want ResourceAlreadyExistsException, got %v", err)
	}
	ds, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, LogStreamNamePrefix: aws.String("cmd/i-1/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.LogStreams) != 2 || aws.ToString(ds.LogStreams[0].LogStreamName) != "cmd/i-1/stderr" || ds.LogStreams[0].LastEventTimestamp != nil {
		t.Fatalf("DescribeLogStreams = %+v", ds.LogStreams)
	}
	_, err = c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, LogStreamNamePrefix: aws.String("x"),
		OrderBy: cwltypes.OrderByLastEventTime})
	if !errors.As(err, &inv) {
		t.Fatalf("orderBy with prefix: want InvalidParameterException, got %v", err)
	}

	notFound := []struct {
		name string
		call func() error
	}{
		{"DeleteLogGroup", func() error {
			_, err := c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("nope")})
			return err
		}},
		{"CreateLogStream", func() error {
			_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
			return err
		}},
		{"DescribeLogStreams", func() error {
			_, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("nope")})
			return err
		}},
		{"GetLogEvents group", func() error {
			_, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
			return err
		}},
		{"GetLogEvents stream", func() error {
			_, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: aws.String("nope")})
			return err
		}},
		{"PutLogEvents stream", func() error {
			_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: aws.String("nope"),
				LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("x")}}})
			return err
		}},
		{"FilterLogEvents", func() error {
			_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("nope")})
			return err
		}},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			var nf *cwltypes.ResourceNotFoundException
			if err := tc.call(); !errors.As(err, &nf) {
				t.Fatalf("want ResourceNotFoundException, got %v", err)
			}
		})
	}
	_, err = c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("nope")})
	var nf *cwltypes.ResourceNotFoundException
	if errors.As(err, &nf) && nf.ErrorMessage() != "The specified log group does not exist." {
		t.Errorf("message = %q", nf.ErrorMessage())
	}

	if _, err := c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	dg, err = c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("app")})
	if err != nil || len(dg.LogGroups) != 0 {
		t.Fatalf("after delete: %+v, %v", dg, err)
	}
}

func TestLogsEvents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, c := newLogsTest(t)
	g, s := aws.String("grp"), aws.String("stream")
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: g, LogStreamName: s}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Minute).UnixMilli()
	var evs []cwltypes.InputLogEvent
	for i := 0; i < 25; i++ {
		evs = append(evs, cwltypes.InputLogEvent{Timestamp: aws.Int64(base + int64(i)), Message: aws.String(fmt.Sprintf("line %02d", i))})
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: evs}); err != nil {
		t.Fatal(err)
	}

	// Validation.
	var inv *cwltypes.InvalidParameterException
	_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: []cwltypes.InputLogEvent{
		{Timestamp: aws.Int64(base + 10), Message: aws.String("b")}, {Timestamp: aws.Int64(base), Message: aws.String("a")}}})
	if !errors.As(err, &inv) || !strings.Contains(inv.ErrorMessage(), "chronological") {
		t.Fatalf("unordered batch: %v", err)
	}
	old, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: []cwltypes.InputLogEvent{
		{Timestamp: aws.Int64(time.Now().Add(-30 * 24 * time.Hour).UnixMilli()), Message: aws.String("ancient")}}})
	if err != nil || old.RejectedLogEventsInfo == nil || aws.ToInt32(old.RejectedLogEventsInfo.TooOldLogEventEndIndex) != 0 {
		t.Fatalf("too old event: %+v, %v", old, err)
	}

	// From the head, 10 at a time, until the forward token repeats.
	var got []string
	var tok *string
	for i := 0; i < 10; i++ {
		out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: s, StartFromHead: aws.Bool(true),
			Limit: aws.Int32(10), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out.Events {
			got = append(got, aws.ToString(ev.Message))
			if aws.ToInt64(ev.IngestionTime) == 0 {
				t.Errorf("no ingestion time")
			}
		}
		if tok != nil && aws.ToString(out.NextForwardToken) == aws.ToString(tok) {
			if len(out.Events) != 0 {
				t.Errorf("repeated token with %d events", len(out.Events))
			}
			break
		}
		tok = out.NextForwardToken
	}
	if len(got) != 25 || got[0] != "line 00" || got[24] != "line 24" {
		t.Fatalf("forward read = %v", got)
	}

	// Default (no startFromHead): the latest events; then backwards.
	out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: s, Limit: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 5 || aws.ToString(out.Events[0].Message) != "line 20" || aws.ToString(out.Events[4].Message) != "line 24" {
		t.Fatalf("tail = %+v", out.Events)
	}
	back, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: s, Limit: aws.Int32(5), NextToken: out.NextBackwardToken})
	if err != nil || len(back.Events) != 5 || aws.ToString(back.Events[0].Message) != "line 15" {
		t.Fatalf("backward page = %+v, %v", back, err)
	}
	// Time window.
	win, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: s, StartFromHead: aws.Bool(true),
		StartTime: aws.Int64(base + 3), EndTime: aws.Int64(base + 6)})
	if err != nil || len(win.Events) != 3 || aws.ToString(win.Events[0].Message) != "line 03" {
		t.Fatalf("window = %+v, %v", win, err)
	}
	_, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: s, NextToken: aws.String("garbage")})
	if !errors.As(err, &inv) {
		t.Fatalf("bad token: %v", err)
	}

	ds, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g})
	if err != nil || len(ds.LogStreams) != 1 {
		t.Fatal(err)
	}
	st := ds.LogStreams[0]
	if aws.ToInt64(st.FirstEventTimestamp) != base || aws.ToInt64(st.LastEventTimestamp) != base+24 {
		t.Errorf("stream timestamps %d..%d, want %d..%d", aws.ToInt64(st.FirstEventTimestamp), aws.ToInt64(st.LastEventTimestamp), base, base+24)
	}
}

func TestLogsFilterAndAgentPut(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e, c := newLogsTest(t)
	e.mu.Lock()
	e.logsPutLocked("/aws/ssm/AWS-RunShellScript", "cmd-1/i-1/aws-runShellScript/stdout", "hello from i-1")
	e.logsPutLocked("/aws/ssm/AWS-RunShellScript", "cmd-1/i-1/aws-runShellScript/stdout", "second line ERROR")
	e.logsPutLocked("/aws/ssm/AWS-RunShellScript", "cmd-1/i-2/aws-runShellScript/stdout", "hello from i-2")
	e.logsPutLocked("/aws/ssm/AWS-RunShellScript", "cmd-2/i-1/aws-runShellScript/stdout", "other command")
	e.mu.Unlock()

	out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/ssm/AWS-RunShellScript"),
		LogStreamName: aws.String("cmd-1/i-1/aws-runShellScript/stdout"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 2 || aws.ToString(out.Events[1].Message) != "second line ERROR" {
		t.Fatalf("agent events = %+v", out.Events)
	}

	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.FilterLogEventsInput
		want string
	}{
		{"all", cloudwatchlogs.FilterLogEventsInput{}, "hello from i-1,second line ERROR,hello from i-2,other command"},
		{"stream prefix", cloudwatchlogs.FilterLogEventsInput{LogStreamNamePrefix: aws.String("cmd-1/")}, "hello from i-1,second line ERROR,hello from i-2"},
		{"stream names", cloudwatchlogs.FilterLogEventsInput{LogStreamNames: []string{"cmd-2/i-1/aws-runShellScript/stdout"}}, "other command"},
		{"pattern", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String("hello i-2")}, "hello from i-2"},
		{"quoted and negated", cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`"from i" -i-2`)}, "hello from i-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.LogGroupName = aws.String("/aws/ssm/AWS-RunShellScript")
			var msgs []string
			p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &in, func(o *cloudwatchlogs.FilterLogEventsPaginatorOptions) { o.Limit = 1 })
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range out.Events {
					msgs = append(msgs, aws.ToString(ev.Message))
					if aws.ToString(ev.LogStreamName) == "" || aws.ToString(ev.EventId) == "" {
						t.Errorf("event %+v", ev)
					}
				}
			}
			if strings.Join(msgs, ",") != tc.want {
				t.Errorf("got %v, want %s", msgs, tc.want)
			}
		})
	}
}
