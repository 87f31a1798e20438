package awsemu

import "strings"

// The simulated agent's own calls when it writes Run Command output, authorized
// against its instance role as the real agent's are (only while request
// authorization is on, as the rest of enforcement). Per the agent's source
// (notes/aws-behaviour.md#agent-permissions):
//   - S3 (agent/s3util/s3util.go S3Upload): PutObject with the canned ACL
//     bucket-owner-full-control, which needs s3:PutObject and s3:PutObjectAcl on
//     the object. GetBucketEncryption (s3:GetEncryptionConfiguration) failing
//     only means "not encrypted", so it is not required. A failed upload is
//     logged by the agent and the object is missing; the command's status does
//     not change (agent/framework/processor/executer/iohandler/iomodule/fileS3.go).
//   - CloudWatch Logs (agent/framework/processor/executer/iohandler/iohandler.go,
//     agent/agentlogstocloudwatch/cloudwatchlogspublisher/cloudwatchlogsservice.go):
//     CreateLogGroup, or, when that fails, DescribeLogGroups finding the group;
//     otherwise CloudWatch output is switched off for the run. Then
//     CreateLogStream (or DescribeLogStreams finding the stream) and PutLogEvents.
//
// Instances without an instance profile role (Default Host Management, or the
// fleet's ready-made instances) are not checked (a limitation: the
// emulator has no role to evaluate for them).

// agentRoleLocked returns the identity policies (and permissions boundary) of
// the role in the instance's profile; ok is false when there is none to check.
func (e *Emulator) agentRoleLocked(instanceID string) (docs, boundary []*iamPolicyDoc, ok bool) {
	inst := e.ec2.instances[instanceID]
	if !e.opts.EnforceIAM || inst == nil || inst.Association == nil {
		return nil, nil, false
	}
	ref, found := e.lookupProfileLocked(inst.Association.ProfileArn)
	if !found || ref.RoleName == "" {
		return nil, nil, false
	}
	r := e.iam.roles[strings.ToLower(ref.RoleName)]
	if r == nil {
		return nil, nil, false
	}
	docs = e.roleIdentityDocsLocked(r)
	if r.Boundary != "" {
		boundary = []*iamPolicyDoc{}
		if p := e.findPolicyLocked(r.Boundary); p != nil {
			if d, err := iamParsePolicy(p.defaultDoc()); err == nil {
				boundary = []*iamPolicyDoc{d}
			}
		}
	}
	return docs, boundary, true
}

// agentMayLocked reports whether the instance's agent may call action on
// resource: true when there is no role to check.
func (e *Emulator) agentMayLocked(instanceID, action, resource string) bool {
	docs, boundary, ok := e.agentRoleLocked(instanceID)
	if !ok {
		return true
	}
	ctx := map[string]string{"aws:requestedregion": e.opts.Region}
	if iamEvalIn(docs, action, resource, ctx) != "allow" {
		return false
	}
	return boundary == nil || iamEvalIn(boundary, action, resource, ctx) == "allow"
}

// agentMayUploadLocked: the agent's S3 output upload of one object.
func (e *Emulator) agentMayUploadLocked(instanceID, bucket, key string) bool {
	obj := "arn:" + e.partition() + ":s3:::" + bucket + "/" + key
	return e.agentMayLocked(instanceID, "s3:PutObject", obj) && e.agentMayLocked(instanceID, "s3:PutObjectAcl", obj)
}

// agentMayUseLogGroupLocked: the agent's CreateLogGroup, or DescribeLogGroups
// finding an existing group.
func (e *Emulator) agentMayUseLogGroupLocked(instanceID, group string) bool {
	if e.agentMayLocked(instanceID, "logs:CreateLogGroup", e.logGroupARN(group)) {
		return true
	}
	_, exists := e.logs.groups[group]
	return exists && e.agentMayLocked(instanceID, "logs:DescribeLogGroups", "*")
}

// agentMayWriteStreamLocked: CreateLogStream (or DescribeLogStreams finding the
// stream) and PutLogEvents.
func (e *Emulator) agentMayWriteStreamLocked(instanceID, group, stream string) bool {
	arn := e.logStreamARN(group, stream)
	create := e.agentMayLocked(instanceID, "logs:CreateLogStream", arn)
	if !create {
		g := e.logs.groups[group]
		exists := g != nil && g.streams[stream] != nil
		create = exists && e.agentMayLocked(instanceID, "logs:DescribeLogStreams", e.logStreamARN(group, "*"))
	}
	return create && e.agentMayLocked(instanceID, "logs:PutLogEvents", arn)
}
