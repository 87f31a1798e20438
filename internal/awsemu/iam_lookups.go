package awsemu

import (
	"net/url"
	"strings"
	"time"
)

// Parameter lookups and checks shared by the IAM operations, and their errors.

func iamNoSuchRole(name string) *APIError {
	return apiErr(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

func iamNoSuchProfile(name string) *APIError {
	return apiErr(404, "NoSuchEntity", "Instance Profile %s cannot be found.", name)
}

// roleParam validates RoleName and finds the role.
func (e *Emulator) roleParam(p url.Values) (*iamRole, *APIError) {
	name := p.Get("RoleName")
	v := &iamValidator{}
	v.str("roleName", name, iamRuleRoleName)
	if err := v.err(); err != nil {
		return nil, err
	}
	r := e.iam.roles[strings.ToLower(name)]
	if r == nil {
		return nil, iamNoSuchRole(name)
	}
	return r, nil
}

func (e *Emulator) profileParam(p url.Values) (*iamProfile, *APIError) {
	name := p.Get("InstanceProfileName")
	v := &iamValidator{}
	v.str("instanceProfileName", name, iamRuleProfileName)
	if err := v.err(); err != nil {
		return nil, err
	}
	ip := e.iam.profiles[strings.ToLower(name)]
	if ip == nil {
		return nil, iamNoSuchProfile(name)
	}
	return ip, nil
}

// policyArnParam validates PolicyArn (or another ARN parameter) and checks its form.
func policyArnParam(p url.Values, name, field string) (string, *APIError) {
	arn := p.Get(name)
	v := &iamValidator{}
	v.str(field, arn, iamRuleArn)
	if err := v.err(); err != nil {
		return "", err
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "policy/") {
		return "", apiErr(400, "InvalidInput", "ARN %s is not valid.", arn)
	}
	return arn, nil
}

// iamCheckDocument validates a policy document parameter: length and characters
// (ValidationError), then JSON grammar (MalformedPolicyDocument).
func iamCheckDocument(field, doc string, kind iamPolicyKind) *APIError {
	v := &iamValidator{}
	v.str(field, doc, iamRuleDocument)
	if err := v.err(); err != nil {
		return err
	}
	if msg := iamValidatePolicyDoc(doc, kind); msg != "" {
		return apiErr(400, "MalformedPolicyDocument", "%s", msg)
	}
	return nil
}

// checkTrustPrincipals rejects a trust policy naming a role of this account that
// does not exist, as IAM does (Terraform retries this error while a new role
// propagates).
func (e *Emulator) checkTrustPrincipals(doc string) *APIError {
	for _, arn := range iamTrustRolePrincipals(doc, e.partition(), e.opts.AccountID) {
		name := arn[strings.LastIndex(arn, "/")+1:]
		if r := e.iam.roles[strings.ToLower(name)]; r == nil || !strings.EqualFold(r.Arn, arn) {
			return apiErr(400, "MalformedPolicyDocument", "Invalid principal in policy: \"AWS\":\"%s\"", arn)
		}
	}
	return nil
}

// checkTrustSize enforces the trust policy quota (ACLSizePerRole, whitespace excluded).
func checkTrustSize(doc string) *APIError {
	if iamPolicyChars(doc) > 2048 {
		return apiErr(409, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
	}
	return nil
}

func (e *Emulator) iamNow() time.Time { return time.Now().UTC().Truncate(time.Second) }

func iamPathPrefix(p url.Values, path string) (bool, *APIError) {
	if _, ok := p["PathPrefix"]; !ok {
		return true, nil
	}
	v := &iamValidator{}
	v.str("pathPrefix", p.Get("PathPrefix"), iamRulePathPrefix)
	if err := v.err(); err != nil {
		return false, err
	}
	return strings.HasPrefix(path, p.Get("PathPrefix")), nil
}
