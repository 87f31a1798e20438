package awsemu

// STUB — replaced by the EC2 implementation.

type ec2State struct {
	instances map[string]*Instance
	order     []string
}

func newEC2State() *ec2State { return &ec2State{instances: map[string]*Instance{}} }

var ec2Ops = map[string]queryHandler{}
