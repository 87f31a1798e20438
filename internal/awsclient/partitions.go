package awsclient

import (
	"regexp"
	"slices"
)

// Partition is one AWS partition: the first field of every ARN in it, the DNS
// suffix of its endpoints, the pattern of its region names and the regions it
// has.
type Partition struct {
	ID        string // "aws", "aws-cn", ...
	DNSSuffix string // "amazonaws.com", "amazonaws.com.cn", ...
	// RegionPattern matches the names of the partition's regions, those to
	// come included.
	RegionPattern *regexp.Regexp
	// Regions are the partition's regions today, without the *-global pseudo
	// regions.
	Regions []string
}

// Partitions is the one partition table of the provider (the emulator keeps
// its own), as the AWS SDK for Go v2's endpoint rules list them (partitions.json
// of its internal/endpoints/awsrulesfn package). A region belongs to the first
// partition whose pattern matches; one matching none is in "aws".
var Partitions = []Partition{
	{ID: "aws", DNSSuffix: "amazonaws.com", RegionPattern: regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`),
		Regions: []string{"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
			"ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6",
			"ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
			"eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1",
			"sa-east-1", "sa-west-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}},
	{ID: "aws-cn", DNSSuffix: "amazonaws.com.cn", RegionPattern: regexp.MustCompile(`^cn-\w+-\d+$`),
		Regions: []string{"cn-north-1", "cn-northwest-1"}},
	{ID: "aws-eusc", DNSSuffix: "amazonaws.eu", RegionPattern: regexp.MustCompile(`^eusc-(de)-\w+-\d+$`),
		Regions: []string{"eusc-de-east-1"}},
	{ID: "aws-iso", DNSSuffix: "c2s.ic.gov", RegionPattern: regexp.MustCompile(`^us-iso-\w+-\d+$`),
		Regions: []string{"us-iso-east-1", "us-iso-west-1"}},
	{ID: "aws-iso-b", DNSSuffix: "sc2s.sgov.gov", RegionPattern: regexp.MustCompile(`^us-isob-\w+-\d+$`),
		Regions: []string{"us-isob-east-1", "us-isob-west-1"}},
	{ID: "aws-iso-e", DNSSuffix: "cloud.adc-e.uk", RegionPattern: regexp.MustCompile(`^eu-isoe-\w+-\d+$`),
		Regions: []string{"eu-isoe-west-1"}},
	{ID: "aws-iso-f", DNSSuffix: "csp.hci.ic.gov", RegionPattern: regexp.MustCompile(`^us-isof-\w+-\d+$`),
		Regions: []string{"us-isof-east-1", "us-isof-south-1"}},
	{ID: "aws-us-gov", DNSSuffix: "amazonaws.com", RegionPattern: regexp.MustCompile(`^us-gov-\w+-\d+$`),
		Regions: []string{"us-gov-east-1", "us-gov-west-1"}},
}

// LookupPartition returns the partition with the id.
func LookupPartition(id string) (Partition, bool) {
	for _, p := range Partitions {
		if p.ID == id {
			return p, true
		}
	}
	return Partition{}, false
}

// PartitionForRegion returns the partition of a region name, known or not, for
// building ARNs: the first whose RegionPattern matches, else "aws".
func PartitionForRegion(region string) string {
	for _, p := range Partitions {
		if p.RegionPattern.MatchString(region) {
			return p.ID
		}
	}
	return "aws"
}

// PartitionOfKnownRegion returns the partition listing the region among its
// Regions, or false for a region no partition lists (a typo, or one newer than
// the table).
func PartitionOfKnownRegion(region string) (string, bool) {
	for _, p := range Partitions {
		if slices.Contains(p.Regions, region) {
			return p.ID, true
		}
	}
	return "", false
}
