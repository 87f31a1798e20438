package sessionprefs_test

import (
	"testing"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/sessionprefs"
)

func TestValidators(t *testing.T) {
	cases := []struct {
		f    func(string) error
		good []string
		bad  []string
	}{
		{sessionprefs.ValidateDocumentName,
			[]string{"SSM-SessionManagerRunShell", "team.prefs_1", "abc"},
			[]string{"ab", "AWS-Prefs", "amazonPrefs", "Amzn.x", "has space", "slash/name", string(make([]byte, 129))}},
		{sessionprefs.ValidateSessionDocumentName,
			[]string{"AWS-StartPortForwardingSession", "AWS-StartSSHSession", "SSM-SessionManagerRunShell", "team.prefs_1"},
			[]string{"AWS-", "aws-StartSSHSession", "Amazon-Shell", "AWS-has space", "ab", string(make([]byte, 129))}},
		{sessionprefs.ValidateBucketName,
			[]string{"session-logs", "logs.example.com", "a1b"},
			[]string{"ab", "Session-Logs", "-logs", "logs-", "a..b", "192.168.1.1", "xn--logs", "logs-s3alias", "under_score"}},
		{sessionprefs.ValidateKMSKeyID,
			[]string{"1234abcd-12ab-34cd-56ef-1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890ab", "alias/sessions",
				"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
				"arn:aws-cn:kms:cn-north-1:111122223333:alias/sessions"},
			[]string{"1a2b3c4d", "sessions", "alias/", "arn:aws:s3:::bucket", "arn:aws:kms:us-east-1:111122223333:key/nope",
				"arn:aws:kms::111122223333:alias/x"}},
		{sessionprefs.ValidateLogGroupName,
			[]string{"/ssm/sessions", "a#b.c_d-e"},
			[]string{"", "has space", "colon:name"}},
	}
	for _, c := range cases {
		for _, s := range c.good {
			if err := c.f(s); err != nil {
				t.Errorf("%q: %v", s, err)
			}
		}
		for _, s := range c.bad {
			if err := c.f(s); err == nil {
				t.Errorf("%q accepted", s)
			}
		}
	}
}
