package awsclient

import "testing"

func TestPartitionForRegion(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-2": "aws", "mx-central-1": "aws", "eu-south-9": "aws",
		"cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-gov-east-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f",
		"eusc-de-east-1": "aws-eusc",
		"local":          "aws", // matching no pattern: the default
	} {
		if got := PartitionForRegion(region); got != want {
			t.Errorf("PartitionForRegion(%q) = %q, want %q", region, got, want)
		}
	}
}

func TestPartitionOfKnownRegion(t *testing.T) {
	for region, want := range map[string]string{"us-east-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "us-east-9": "", "us-easst-2": ""} {
		got, known := PartitionOfKnownRegion(region)
		if got != want || known != (want != "") {
			t.Errorf("PartitionOfKnownRegion(%q) = %q, %v; want %q", region, got, known, want)
		}
	}
}

// Every listed region matches its own partition's pattern, and only its own.
func TestPartitionsTableIsConsistent(t *testing.T) {
	for _, p := range Partitions {
		if _, ok := LookupPartition(p.ID); !ok || p.DNSSuffix == "" || len(p.Regions) == 0 {
			t.Errorf("partition %q is incomplete", p.ID)
		}
		for _, r := range p.Regions {
			if got := PartitionForRegion(r); got != p.ID {
				t.Errorf("region %s of %s is taken for %s", r, p.ID, got)
			}
		}
	}
}
