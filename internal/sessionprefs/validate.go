package sessionprefs

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// What AWS accepts, checked before any call so that a plan names the bad input.
// Sources: notes/aws-behaviour.md#session-manager-preferences.

var (
	documentNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,128}$`)
	bucketNamePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	keyIDPattern        = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
	aliasPattern        = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
	logGroupPattern     = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)
)

// ValidateDocumentName checks a name CreateDocument would accept: 3 to 128
// letters, digits, '_', '-' and '.', not starting with aws, amazon or amzn (any case).
func ValidateDocumentName(name string) error {
	if !documentNamePattern.MatchString(name) {
		return fmt.Errorf("%q is not a valid SSM document name: use 3 to 128 letters, digits, '_', '-' and '.'", name)
	}
	low := strings.ToLower(name)
	for _, p := range []string{"aws", "amazon", "amzn"} {
		if strings.HasPrefix(low, p) {
			return fmt.Errorf("%q is not a valid SSM document name: the prefix %q is reserved by AWS", name, name[:len(p)])
		}
	}
	return nil
}

// ValidateSessionDocumentName checks a document a session may name: one of
// AWS's own, whose names begin with "AWS-" (AWS-StartPortForwardingSession,
// AWS-StartSSHSession, ...), or one of the account's (ValidateDocumentName).
func ValidateSessionDocumentName(name string) error {
	if strings.HasPrefix(name, "AWS-") && len(name) > len("AWS-") && documentNamePattern.MatchString(name) {
		return nil
	}
	if err := ValidateDocumentName(name); err != nil {
		return fmt.Errorf("%w (AWS's own documents begin with \"AWS-\", such as AWS-StartPortForwardingSession)", err)
	}
	return nil
}

// ValidateBucketName checks the naming rules of S3 general purpose buckets.
func ValidateBucketName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%q is not a valid S3 bucket name: %s", name, why) }
	switch {
	case len(name) < 3 || len(name) > 63:
		return bad("it must be 3 to 63 characters long")
	case !bucketNamePattern.MatchString(name):
		return bad("use lower-case letters, digits, '.' and '-', beginning and ending with a letter or digit")
	case strings.Contains(name, ".."):
		return bad("two periods may not be adjacent")
	case net.ParseIP(name) != nil:
		return bad("it may not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad(fmt.Sprintf("the prefix %q is reserved", p))
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad(fmt.Sprintf("the suffix %q is reserved", s))
		}
	}
	return nil
}

// ValidateKMSKeyID checks the forms KMS accepts as a key identifier: a key id
// (UUID or mrk- multi-Region id), an alias name (alias/...), a key ARN or an alias ARN.
func ValidateKMSKeyID(id string) error {
	if keyIDPattern.MatchString(id) || aliasPattern.MatchString(id) {
		return nil
	}
	bad := fmt.Errorf("%q is not a KMS key identifier: use a key id (1234abcd-12ab-34cd-56ef-1234567890ab), an alias (alias/sessions), "+
		"a key ARN (arn:aws:kms:us-east-1:111122223333:key/1234abcd-...) or an alias ARN", id)
	if !strings.HasPrefix(id, "arn:") {
		return bad
	}
	a, err := arn.Parse(id)
	if err != nil || a.Service != "kms" || a.Region == "" || len(a.AccountID) != 12 || strings.Trim(a.AccountID, "0123456789") != "" {
		return bad
	}
	if r, ok := strings.CutPrefix(a.Resource, "key/"); ok && keyIDPattern.MatchString(r) {
		return nil
	}
	if aliasPattern.MatchString(a.Resource) {
		return nil
	}
	return bad
}

// ValidateLogGroupName checks a CloudWatch Logs group name.
func ValidateLogGroupName(name string) error {
	if !logGroupPattern.MatchString(name) {
		return fmt.Errorf("%q is not a valid CloudWatch Logs group name: use 1 to 512 letters, digits and the characters . - _ / #", name)
	}
	return nil
}
