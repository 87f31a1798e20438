package iamx

// IsProfilePropagation reports whether err (or an error it wraps) is EC2's
// answer for an instance profile IAM has not propagated to EC2 yet: the only
// error for which waiting longer can help an association. See
// notes/aws-behaviour.md#ec2-instance-profile-associations.
func IsProfilePropagation(err error) bool { return isProfilePropagation(err) }
