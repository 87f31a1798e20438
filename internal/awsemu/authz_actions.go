package awsemu

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// authzActions maps every operation the emulator serves ("<service>.<Operation>",
// as the call counters name it, the service being the SigV4 scope name) to the
// IAM actions ("<prefix>:<Action>") that authorize it,
// as the Service Authorization Reference lists them (its "Actions defined by ..."
// table of each service, and the dependent actions it names). An empty list means
// the operation needs no permission. The table, its sources and the list of
// action names it may use are in notes/aws-behaviour.md#emulator-iam-actions; a
// test checks every routed operation has an entry and every action is a listed
// IAM action name (API operation names such as ListObjectsV2 are not actions).
var authzActions = map[string][]string{
	// IAM: each operation is authorized by the action of the same name;
	// AddRoleToInstanceProfile also passes the role (iam:PassRole).
	"iam.CreateRole":                    {"iam:CreateRole"},
	"iam.GetRole":                       {"iam:GetRole"},
	"iam.UpdateRole":                    {"iam:UpdateRole"},
	"iam.UpdateRoleDescription":         {"iam:UpdateRoleDescription"},
	"iam.UpdateAssumeRolePolicy":        {"iam:UpdateAssumeRolePolicy"},
	"iam.DeleteRole":                    {"iam:DeleteRole"},
	"iam.ListRoles":                     {"iam:ListRoles"},
	"iam.TagRole":                       {"iam:TagRole"},
	"iam.UntagRole":                     {"iam:UntagRole"},
	"iam.ListRoleTags":                  {"iam:ListRoleTags"},
	"iam.PutRolePermissionsBoundary":    {"iam:PutRolePermissionsBoundary"},
	"iam.DeleteRolePermissionsBoundary": {"iam:DeleteRolePermissionsBoundary"},
	"iam.AttachRolePolicy":              {"iam:AttachRolePolicy"},
	"iam.DetachRolePolicy":              {"iam:DetachRolePolicy"},
	"iam.ListAttachedRolePolicies":      {"iam:ListAttachedRolePolicies"},
	"iam.PutRolePolicy":                 {"iam:PutRolePolicy"},
	"iam.GetRolePolicy":                 {"iam:GetRolePolicy"},
	"iam.DeleteRolePolicy":              {"iam:DeleteRolePolicy"},
	"iam.ListRolePolicies":              {"iam:ListRolePolicies"},
	"iam.CreateInstanceProfile":         {"iam:CreateInstanceProfile"},
	"iam.GetInstanceProfile":            {"iam:GetInstanceProfile"},
	"iam.DeleteInstanceProfile":         {"iam:DeleteInstanceProfile"},
	"iam.ListInstanceProfiles":          {"iam:ListInstanceProfiles"},
	"iam.AddRoleToInstanceProfile":      {"iam:AddRoleToInstanceProfile", "iam:PassRole"},
	"iam.RemoveRoleFromInstanceProfile": {"iam:RemoveRoleFromInstanceProfile"},
	"iam.ListInstanceProfilesForRole":   {"iam:ListInstanceProfilesForRole"},
	"iam.TagInstanceProfile":            {"iam:TagInstanceProfile"},
	"iam.UntagInstanceProfile":          {"iam:UntagInstanceProfile"},
	"iam.ListInstanceProfileTags":       {"iam:ListInstanceProfileTags"},
	"iam.CreatePolicy":                  {"iam:CreatePolicy"},
	"iam.GetPolicy":                     {"iam:GetPolicy"},
	"iam.GetPolicyVersion":              {"iam:GetPolicyVersion"},
	"iam.DeletePolicy":                  {"iam:DeletePolicy"},
	"iam.ListPolicies":                  {"iam:ListPolicies"},
	"iam.ListEntitiesForPolicy":         {"iam:ListEntitiesForPolicy"},
	"iam.CreateUser":                    {"iam:CreateUser"},
	"iam.GetUser":                       {"iam:GetUser"},
	"iam.DeleteUser":                    {"iam:DeleteUser"},
	"iam.PutUserPolicy":                 {"iam:PutUserPolicy"},
	"iam.DeleteUserPolicy":              {"iam:DeleteUserPolicy"},
	"iam.AttachUserPolicy":              {"iam:AttachUserPolicy"},
	"iam.DetachUserPolicy":              {"iam:DetachUserPolicy"},
	"iam.CreateAccessKey":               {"iam:CreateAccessKey"},
	"iam.DeleteAccessKey":               {"iam:DeleteAccessKey"},

	// STS: GetCallerIdentity needs no permission.
	"sts.GetCallerIdentity": {},
	"sts.AssumeRole":        {"sts:AssumeRole"},

	// EC2: giving an instance a profile passes the profile's role.
	"ec2.DescribeInstances":                      {"ec2:DescribeInstances"},
	"ec2.RunInstances":                           {"ec2:RunInstances", "iam:PassRole"},
	"ec2.StartInstances":                         {"ec2:StartInstances"},
	"ec2.StopInstances":                          {"ec2:StopInstances"},
	"ec2.TerminateInstances":                     {"ec2:TerminateInstances"},
	"ec2.CreateTags":                             {"ec2:CreateTags"},
	"ec2.DeleteTags":                             {"ec2:DeleteTags"},
	"ec2.DescribeTags":                           {"ec2:DescribeTags"},
	"ec2.AssociateIamInstanceProfile":            {"ec2:AssociateIamInstanceProfile", "iam:PassRole"},
	"ec2.DescribeIamInstanceProfileAssociations": {"ec2:DescribeIamInstanceProfileAssociations"},
	"ec2.ReplaceIamInstanceProfileAssociation":   {"ec2:ReplaceIamInstanceProfileAssociation", "iam:PassRole"},
	"ec2.DisassociateIamInstanceProfile":         {"ec2:DisassociateIamInstanceProfile"},

	// Systems Manager: each operation by the action of the same name.
	"ssm.DescribeInstanceInformation":  {"ssm:DescribeInstanceInformation"},
	"ssm.DescribeInstanceProperties":   {"ssm:DescribeInstanceProperties"},
	"ssm.SendCommand":                  {"ssm:SendCommand"},
	"ssm.GetCommandInvocation":         {"ssm:GetCommandInvocation"},
	"ssm.ListCommandInvocations":       {"ssm:ListCommandInvocations"},
	"ssm.ListCommands":                 {"ssm:ListCommands"},
	"ssm.CancelCommand":                {"ssm:CancelCommand"},
	"ssm.CreateDocument":               {"ssm:CreateDocument"},
	"ssm.GetDocument":                  {"ssm:GetDocument"},
	"ssm.UpdateDocument":               {"ssm:UpdateDocument"},
	"ssm.DescribeDocument":             {"ssm:DescribeDocument"},
	"ssm.DeleteDocument":               {"ssm:DeleteDocument"},
	"ssm.UpdateDocumentDefaultVersion": {"ssm:UpdateDocumentDefaultVersion"},
	"ssm.ListDocuments":                {"ssm:ListDocuments"},
	"ssm.GetServiceSetting":            {"ssm:GetServiceSetting"},
	"ssm.UpdateServiceSetting":         {"ssm:UpdateServiceSetting"},
	"ssm.ResetServiceSetting":          {"ssm:ResetServiceSetting"},
	"ssm.StartSession":                 {"ssm:StartSession"},
	"ssm.ResumeSession":                {"ssm:ResumeSession"},
	"ssm.TerminateSession":             {"ssm:TerminateSession"},
	"ssm.DescribeSessions":             {"ssm:DescribeSessions"},
	"ssm.GetConnectionStatus":          {"ssm:GetConnectionStatus"},
	"ssm.GetParameter":                 {"ssm:GetParameter"},

	// CloudWatch Logs: each operation by the action of the same name.
	"logs.CreateLogGroup":     {"logs:CreateLogGroup"},
	"logs.DeleteLogGroup":     {"logs:DeleteLogGroup"},
	"logs.DescribeLogGroups":  {"logs:DescribeLogGroups"},
	"logs.CreateLogStream":    {"logs:CreateLogStream"},
	"logs.DeleteLogStream":    {"logs:DeleteLogStream"},
	"logs.DescribeLogStreams": {"logs:DescribeLogStreams"},
	"logs.PutLogEvents":       {"logs:PutLogEvents"},
	"logs.GetLogEvents":       {"logs:GetLogEvents"},
	"logs.FilterLogEvents":    {"logs:FilterLogEvents"},
	"logs.PutRetentionPolicy": {"logs:PutRetentionPolicy"},

	// S3: many operations are authorized by an action of another name.
	"s3.ListBuckets":             {"s3:ListAllMyBuckets"},
	"s3.CreateBucket":            {"s3:CreateBucket"},
	"s3.HeadBucket":              {"s3:ListBucket"},
	"s3.DeleteBucket":            {"s3:DeleteBucket"},
	"s3.GetBucketLocation":       {"s3:GetBucketLocation"},
	"s3.ListObjectsV2":           {"s3:ListBucket"},
	"s3.ListObjects":             {"s3:ListBucket"},
	"s3.DeleteObjects":           {"s3:DeleteObject"},
	"s3.PutObject":               {"s3:PutObject"},
	"s3.CopyObject":              {"s3:PutObject", "s3:GetObject"},
	"s3.GetObject":               {"s3:GetObject"},
	"s3.HeadObject":              {"s3:GetObject"},
	"s3.DeleteObject":            {"s3:DeleteObject"},
	"s3.CreateMultipartUpload":   {"s3:PutObject"},
	"s3.UploadPart":              {"s3:PutObject"},
	"s3.CompleteMultipartUpload": {"s3:PutObject"},
	"s3.AbortMultipartUpload":    {"s3:AbortMultipartUpload"},
	"s3.ListParts":               {"s3:ListMultipartUploadParts"},
}

// s3Operations are the operation names s3Operation gives the S3 requests the
// emulator serves.
var s3Operations = []string{"ListBuckets", "CreateBucket", "HeadBucket", "DeleteBucket", "GetBucketLocation",
	"ListObjectsV2", "ListObjects", "DeleteObjects", "PutObject", "CopyObject", "GetObject", "HeadObject",
	"DeleteObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts"}

// authzCheck is one action evaluated against one resource, with the request
// context keys that resource adds.
type authzCheck struct {
	action string
	res    authzResource
	ctx    map[string]string
}

// authzRequest is what the checks of a request are derived from.
type authzRequest struct {
	params      url.Values // query protocols
	body        []byte     // JSON and S3 bodies
	bucket, key string     // S3
	query       url.Values // S3 query string
	header      http.Header
}

// requestChecksLocked lists what a request is authorized by: each action of the
// operation against each resource it acts on. ok is false for operations the
// emulator does not serve (their handler rejects them).
func (e *Emulator) requestChecksLocked(svc *serviceDef, op string, rq authzRequest) (checks []authzCheck, ok bool) {
	actions, ok := authzActions[svc.name+"."+op]
	if !ok {
		return nil, false
	}
	for _, a := range actions {
		for _, r := range e.actionResourcesLocked(svc, op, a, rq) {
			checks = append(checks, authzCheck{action: a, res: r, ctx: r.ctx})
		}
	}
	return checks, true
}

// actionResourcesLocked lists the resources one action of a request is
// authorized against. Actions without resource-level permissions use "*".
func (e *Emulator) actionResourcesLocked(svc *serviceDef, op, action string, rq authzRequest) []authzResource {
	p := e.partition()
	star := []authzResource{{arn: "*"}}
	instanceARN := func(id string) authzResource {
		r := authzResource{arn: fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", p, e.opts.Region, e.opts.AccountID, id)}
		if inst := e.ec2.instances[id]; inst != nil {
			r.tags = inst.Tags
		}
		return r
	}
	switch {
	case action == "iam:PassRole":
		return e.passedRolesLocked(svc, rq)
	case action == "sts:AssumeRole":
		if a := rq.params.Get("RoleArn"); a != "" {
			return []authzResource{{arn: a}}
		}
	case action == "ssm:SendCommand":
		return e.sendCommandResourcesLocked(rq.body)
	case action == "ssm:StartSession", action == "ssm:ResumeSession", action == "ssm:TerminateSession":
		return e.sessionResourcesLocked(action, rq.body) // ssm_session_authz.go
	case svc.name == "ssm":
		if r, ok := e.ssmResourceLocked(op, rq.body); ok {
			return []authzResource{r}
		}
	case svc.name == "iam":
		if out := e.iamResourcesLocked(rq.params); len(out) > 0 {
			return out
		}
	case svc.name == "ec2":
		var ids []string
		switch op {
		case "StartInstances", "StopInstances", "TerminateInstances":
			ids = queryList(rq.params, "InstanceId")
		case "AssociateIamInstanceProfile":
			ids = []string{rq.params.Get("InstanceId")}
		case "ReplaceIamInstanceProfileAssociation", "DisassociateIamInstanceProfile":
			if inst, aerr := e.findAssociationLocked(rq.params.Get("AssociationId")); aerr == nil {
				ids = []string{inst.ID}
			}
		case "CreateTags", "DeleteTags":
			for _, id := range queryList(rq.params, "ResourceId") {
				if strings.HasPrefix(id, "i-") {
					ids = append(ids, id)
				}
			}
		}
		if len(ids) == 0 {
			return star
		}
		sort.Strings(ids)
		out := make([]authzResource, 0, len(ids))
		for _, id := range ids {
			out = append(out, instanceARN(id))
		}
		return out
	case svc.name == "logs":
		return e.logsResourcesLocked(op, rq.body)
	case svc.name == "s3":
		return e.s3ResourcesLocked(op, action, rq)
	}
	return star
}

// sendCommandResourcesLocked: the document and each instance the command
// targets (by id or by the instances its tag Targets resolve to).
func (e *Emulator) sendCommandResourcesLocked(body []byte) []authzResource {
	p := e.partition()
	var in struct {
		InstanceIDs  []string    `json:"InstanceIds"`
		Targets      []ssmTarget `json:"Targets"`
		DocumentName string      `json:"DocumentName"`
	}
	_ = json.Unmarshal(body, &in)
	var out []authzResource
	doc := in.DocumentName
	if !strings.HasPrefix(doc, "arn:") {
		account := e.opts.AccountID
		if d := e.findDocLocked(doc); d != nil && d.builtin {
			account = ""
		}
		doc = fmt.Sprintf("arn:%s:ssm:%s:%s:document/%s", p, e.opts.Region, account, doc)
	}
	if d := e.findDocLocked(in.DocumentName); d != nil {
		out = append(out, authzResource{arn: doc, tags: ssmTagMap(d.Tags)})
	} else {
		out = append(out, authzResource{arn: doc})
	}
	ids := append([]string(nil), in.InstanceIDs...)
	if len(in.Targets) > 0 {
		if resolved, _, aerr := e.resolveTargetsLocked(in.Targets); aerr == nil {
			ids = append(ids, resolved...)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := authzResource{arn: fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", p, e.opts.Region, e.opts.AccountID, id)}
		if inst := e.ec2.instances[id]; inst != nil {
			r.tags = inst.Tags
		}
		out = append(out, r)
	}
	return out
}

// iamResourcesLocked: the roles, instance profiles, policies and users an IAM
// request names. GUESS: calls naming two of them (AddRoleToInstanceProfile) are
// authorized against both.
func (e *Emulator) iamResourcesLocked(params url.Values) []authzResource {
	p := e.partition()
	var out []authzResource
	if n := params.Get("RoleName"); n != "" {
		arn := fmt.Sprintf("arn:%s:iam::%s:role%s%s", p, e.opts.AccountID, pathOr(params.Get("Path")), n)
		if r := e.iam.roles[strings.ToLower(n)]; r != nil {
			arn = r.Arn
		}
		out = append(out, authzResource{arn: arn})
	}
	if n := params.Get("InstanceProfileName"); n != "" {
		arn := fmt.Sprintf("arn:%s:iam::%s:instance-profile%s%s", p, e.opts.AccountID, pathOr(params.Get("Path")), n)
		if ip := e.iam.profiles[strings.ToLower(n)]; ip != nil {
			arn = ip.Arn
		}
		out = append(out, authzResource{arn: arn})
	}
	if a := params.Get("PolicyArn"); a != "" {
		out = append(out, authzResource{arn: a})
	}
	if n := params.Get("UserName"); n != "" {
		arn := fmt.Sprintf("arn:%s:iam::%s:user%s%s", p, e.opts.AccountID, pathOr(params.Get("Path")), n)
		if u := e.iam.users[strings.ToLower(n)]; u != nil {
			arn = u.Arn
		}
		out = append(out, authzResource{arn: arn})
	}
	return out
}

// passedRolesLocked is the role iam:PassRole is evaluated against: the role
// named (AddRoleToInstanceProfile) or the role of the instance profile given to
// an instance. A profile without a role passes none (no check).
func (e *Emulator) passedRolesLocked(svc *serviceDef, rq authzRequest) []authzResource {
	if svc.name == "iam" {
		if n := rq.params.Get("RoleName"); n != "" {
			if r := e.iam.roles[strings.ToLower(n)]; r != nil {
				return []authzResource{{arn: r.Arn}}
			}
		}
		return nil
	}
	ref := rq.params.Get("IamInstanceProfile.Arn")
	if ref == "" {
		ref = rq.params.Get("IamInstanceProfile.Name")
	}
	if ref == "" {
		return nil
	}
	prof, ok := e.lookupProfileLocked(ref)
	if !ok || prof.RoleName == "" {
		return nil
	}
	if r := e.iam.roles[strings.ToLower(prof.RoleName)]; r != nil {
		return []authzResource{{arn: r.Arn}}
	}
	return nil
}

// logStreamARN is a log stream's resource ARN (Service Authorization Reference,
// "Resource types defined by Amazon CloudWatch Logs"); logGroupARN is in logs.go.
func (e *Emulator) logStreamARN(group, stream string) string {
	return e.logGroupARN(group) + ":log-stream:" + stream
}

// logsResourcesLocked: operations on a group are authorized against the group,
// those on a stream against the stream; DescribeLogGroups has no resource type
// ("*"); DescribeLogStreams against the group's streams (GUESS:
// "log-group:<name>:log-stream:*", which the "log-group:<name>:*" grants AWS's
// own examples use match).
func (e *Emulator) logsResourcesLocked(op string, body []byte) []authzResource {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}
	_ = json.Unmarshal(body, &in)
	switch op {
	case "DescribeLogGroups":
		return []authzResource{{arn: "*"}}
	case "DescribeLogStreams":
		return []authzResource{{arn: e.logStreamARN(in.LogGroupName, "*")}}
	case "CreateLogStream", "DeleteLogStream", "PutLogEvents", "GetLogEvents":
		return []authzResource{{arn: e.logStreamARN(in.LogGroupName, in.LogStreamName)}}
	}
	if in.LogGroupName != "" {
		return []authzResource{{arn: e.logGroupARN(in.LogGroupName)}}
	}
	return []authzResource{{arn: "*"}}
}

// s3ResourcesLocked: bucket actions on the bucket (with s3:prefix for
// listings), object actions on the object; DeleteObjects checks s3:DeleteObject
// on each key, CopyObject s3:GetObject on its source.
func (e *Emulator) s3ResourcesLocked(op, action string, rq authzRequest) []authzResource {
	p := e.partition()
	bucketARN := fmt.Sprintf("arn:%s:s3:::%s", p, rq.bucket)
	objectARN := func(bucket, key string) string { return fmt.Sprintf("arn:%s:s3:::%s/%s", p, bucket, key) }
	switch {
	case rq.bucket == "":
		return []authzResource{{arn: "*"}}
	case op == "ListObjects" || op == "ListObjectsV2":
		r := authzResource{arn: bucketARN}
		if v, ok := rq.query["prefix"]; ok {
			r.ctx = map[string]string{"s3:prefix": strings.Join(v, "")}
		}
		return []authzResource{r}
	case op == "DeleteObjects":
		var req struct {
			Objects []struct {
				Key string `xml:"Key"`
			} `xml:"Object"`
		}
		_ = xml.Unmarshal(rq.body, &req)
		out := make([]authzResource, 0, len(req.Objects))
		for _, o := range req.Objects {
			out = append(out, authzResource{arn: objectARN(rq.bucket, o.Key)})
		}
		return out
	case op == "CopyObject" && action == "s3:GetObject":
		src := rq.header.Get("X-Amz-Copy-Source")
		src, _, _ = strings.Cut(src, "?")
		if u, err := url.PathUnescape(src); err == nil {
			src = u
		}
		b, k, _ := strings.Cut(strings.TrimPrefix(src, "/"), "/")
		return []authzResource{{arn: objectARN(b, k)}}
	case rq.key != "":
		return []authzResource{{arn: objectARN(rq.bucket, rq.key)}}
	}
	return []authzResource{{arn: bucketARN}}
}

// ssmResourceLocked: service settings are authorized against
// arn:<partition>:ssm:<region>:<account>:servicesetting/<setting id without its
// leading slash>, documents against their document ARN (AWS-owned documents have
// no account), as the Service Authorization Reference's "servicesetting" and
// "document" resource types; the other SSM operations the emulator serves have
// no resource type.
func (e *Emulator) ssmResourceLocked(op string, body []byte) (authzResource, bool) {
	p := e.partition()
	var in struct {
		SettingID string `json:"SettingId"`
		Name      string `json:"Name"`
	}
	_ = json.Unmarshal(body, &in)
	switch op {
	case "GetParameter":
		// Public parameters have no account in their ARN; others would.
		return authzResource{arn: fmt.Sprintf("arn:%s:ssm:%s::parameter%s", p, e.opts.Region, in.Name)}, in.Name != "" && !strings.HasPrefix(in.Name, "arn:")
	case "GetServiceSetting", "UpdateServiceSetting", "ResetServiceSetting":
		if strings.HasPrefix(in.SettingID, "arn:") {
			return authzResource{arn: in.SettingID}, true
		}
		return authzResource{arn: fmt.Sprintf("arn:%s:ssm:%s:%s:servicesetting/%s", p, e.opts.Region, e.opts.AccountID,
			strings.TrimPrefix(in.SettingID, "/"))}, true
	case "CreateDocument", "GetDocument", "UpdateDocument", "DescribeDocument", "DeleteDocument", "UpdateDocumentDefaultVersion":
		if in.Name == "" {
			return authzResource{}, false
		}
		if strings.HasPrefix(in.Name, "arn:") {
			return authzResource{arn: in.Name}, true
		}
		account := e.opts.AccountID
		r := authzResource{}
		if d := e.findDocLocked(in.Name); d != nil {
			if d.builtin {
				account = ""
			}
			r.tags = ssmTagMap(d.Tags)
		}
		r.arn = fmt.Sprintf("arn:%s:ssm:%s:%s:document/%s", p, e.opts.Region, account, in.Name)
		return r, true
	}
	return authzResource{}, false
}
