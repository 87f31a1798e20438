package awsemu

// STUB — replaced by the STS implementation.
var stsOps = map[string]queryHandler{}
