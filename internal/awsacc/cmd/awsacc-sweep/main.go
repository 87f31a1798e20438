// Command awsacc-sweep deletes what runs of the AWS acceptance lane left in
// the account and region of the environment's credentials (`make sweep-aws`):
// instances tagged ssm-acc-run (terminated), roles and instance profiles under
// /ssm-acc/ with that tag, buckets and documents named ssm-acc-<run id>-...
// With -run only that run's; with -check it deletes nothing and exits 1 when
// something is left; -check-empty checks that the account holds nothing at all
// (for the emulator, after `make testacc-aws-emulator`). It needs the same confirmation as the lane (SSM_ACC_AWS=1).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsacc"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("awsacc-sweep", flag.ContinueOnError)
	runID := fs.String("run", os.Getenv(awsacc.EnvRunID), "the run id whose resources to delete (default: every run of the lane)")
	check := fs.Bool("check", false, "delete nothing; list what is left and exit 1 when anything is")
	checkEmpty := fs.Bool("check-empty", false, "delete nothing; exit 1 unless the account holds no live instance, role, instance profile, bucket or own document at all (for the emulator)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The sweeper creates nothing, but it deletes: it asks for the same
	// confirmation, credentials and region as the lane. A run id given by flag
	// is checked like one from the environment.
	getenv := func(k string) string {
		if k == awsacc.EnvRunID {
			return *runID
		}
		return os.Getenv(k)
	}
	s, err := awsacc.Check(getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *runID == "" {
		s.RunID = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading the AWS configuration:", err)
		return 2
	}
	pathStyle, _ := strconv.ParseBool(os.Getenv("AWS_S3_USE_PATH_STYLE"))
	c := awsacc.NewClients(cfg, pathStyle || s.Endpoint != "")
	which := "every run"
	if s.RunID != "" {
		which = "run " + s.RunID
	}
	if *checkEmpty {
		left, err := awsacc.FindAny(ctx, c)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("in the account (%s, %s): %s\n", s.Target(), s.Region, left)
		if !left.Empty() {
			return 1
		}
		return 0
	}
	if *check {
		left, err := awsacc.Find(ctx, c, s.RunID)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("left of %s (%s, %s): %s\n", which, s.Target(), s.Region, left)
		if !left.Empty() {
			return 1
		}
		return 0
	}
	for attempt := 1; ; attempt++ {
		found, err := awsacc.Sweep(ctx, c, s.RunID)
		if err == nil {
			left, ferr := awsacc.Find(ctx, c, s.RunID)
			if ferr == nil && left.Empty() {
				fmt.Printf("swept %s (%s, %s): %s; nothing left\n", which, s.Target(), s.Region, found)
				return 0
			}
			err = errors.Join(ferr, fmt.Errorf("still there: %s", left))
		}
		if attempt < 5 {
			serr := poll.Sleep(ctx, 5*time.Second)
			if serr == nil {
				continue
			}
			err = errors.Join(err, serr)
		}
		fmt.Fprintf(os.Stderr, "sweep of %s incomplete: %v\n", which, err)
		return 1
	}
}
