package awsemu

import "testing"

// The emulator's partitions are the SDK's (the same table as
// internal/awsclient's, from the SDK's partition metadata).
func TestPartitionOf(t *testing.T) {
	t.Parallel()
	for region, want := range map[string][2]string{
		"us-east-1":      {"aws", "amazonaws.com"},
		"eu-west-1":      {"aws", "amazonaws.com"},
		"cn-north-1":     {"aws-cn", "amazonaws.com.cn"},
		"us-gov-west-1":  {"aws-us-gov", "amazonaws.com"},
		"us-iso-east-1":  {"aws-iso", "c2s.ic.gov"},
		"us-isob-east-1": {"aws-iso-b", "sc2s.sgov.gov"},
		"eu-isoe-west-1": {"aws-iso-e", "cloud.adc-e.uk"},
		"us-isof-east-1": {"aws-iso-f", "csp.hci.ic.gov"},
		"eusc-de-east-1": {"aws-eusc", "amazonaws.eu"},
	} {
		if p := partitionOf(region); p.name != want[0] || p.dnsSuffix != want[1] {
			t.Errorf("%s: partition %s (%s), want %s (%s)", region, p.name, p.dnsSuffix, want[0], want[1])
		}
	}
}
