package awsemu

import "strings"

// awsPartition is one AWS partition as the SDK's partition metadata describes it
// (notes/aws-behaviour.md#operator-policy, "Regions by partition"): the name ARNs
// carry, the prefix its regions' names start with, and the DNS suffix of its
// endpoints.
type awsPartition struct {
	name         string // aws, aws-cn, ...
	regionPrefix string // "" for the default partition
	dnsSuffix    string
}

// awsPartitions are the partitions the emulator knows. A region no prefix
// matches is in the first, the aws partition.
var awsPartitions = []awsPartition{
	{name: "aws", dnsSuffix: "amazonaws.com"},
	{name: "aws-cn", regionPrefix: "cn-", dnsSuffix: "amazonaws.com.cn"},
	{name: "aws-us-gov", regionPrefix: "us-gov-", dnsSuffix: "amazonaws.com"},
	{name: "aws-iso", regionPrefix: "us-iso-", dnsSuffix: "c2s.ic.gov"},
	{name: "aws-iso-b", regionPrefix: "us-isob-", dnsSuffix: "sc2s.sgov.gov"},
	{name: "aws-iso-e", regionPrefix: "eu-isoe-", dnsSuffix: "cloud.adc-e.uk"},
	{name: "aws-iso-f", regionPrefix: "us-isof-", dnsSuffix: "csp.hci.ic.gov"},
	{name: "aws-eusc", regionPrefix: "eusc-", dnsSuffix: "amazonaws.eu"},
}

// partitionOf is the partition a region belongs to.
func partitionOf(region string) awsPartition {
	for _, p := range awsPartitions[1:] {
		if strings.HasPrefix(region, p.regionPrefix) {
			return p
		}
	}
	return awsPartitions[0]
}

// partition is the ARN partition of the emulated region.
func (e *Emulator) partition() string { return partitionOf(e.opts.Region).name }
