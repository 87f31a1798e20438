package awsemu

import (
	"crypto/rand"
	"encoding/base64"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// STS (awsQuery): GetCallerIdentity and AssumeRole. Temporary credentials are
// registered in e.creds with their session token and expiry, so SigV4
// verification accepts requests signed with them.

// callerKeyParam carries the request's SigV4 access key to query handlers. The
// server sets it (protocol.go) after removing any client-supplied value.
const callerKeyParam = "\x00awsemu-caller-key"

var stsOps = map[string]queryHandler{}

func init() {
	stsOps["GetCallerIdentity"] = stsGetCallerIdentity
	stsOps["AssumeRole"] = stsAssumeRole
}

// stsSession is what GetCallerIdentity reports for temporary credentials.
type stsSession struct {
	userID string // "AROA…:session"
	role   string // the role's IAM ARN (for trust evaluation when chaining)
}

// callerLocked returns the calling credential's access key and principal.
// Without SigV4 (DisableSigV4) or for an unknown key the caller is the
// account's default credential.
func (e *Emulator) callerLocked(p url.Values) (string, credential) {
	ak := p.Get(callerKeyParam)
	if c, ok := e.creds[ak]; ok {
		return ak, c
	}
	return e.opts.AccessKey, e.creds[e.opts.AccessKey]
}

// rootArn is the ARN of the account's root user, in the emulated partition.
func (e *Emulator) rootArn() string {
	return "arn:" + e.partition() + ":iam::" + e.opts.AccountID + ":root"
}

func stsGetCallerIdentity(e *Emulator, p url.Values) (any, *APIError) {
	ak, c := e.callerLocked(p)
	arn := c.arn
	if arn == "" || strings.HasSuffix(arn, ":root") {
		arn = e.rootArn()
	}
	userID := e.opts.AccountID // the root user's ID is the account ID
	if s, ok := e.iam.sessions[ak]; ok {
		userID = s.userID
	} else if !strings.HasSuffix(arn, ":root") {
		userID = ak // GUESS for a caller the emulator does not know
		for _, u := range e.iam.users {
			if u.Arn == arn {
				userID = u.ID // an IAM user's unique id (AIDA…)
			}
		}
	}
	return struct{ Arn, UserId, Account string }{arn, userID, e.opts.AccountID}, nil
}

type stsCredentials struct {
	AccessKeyId, SecretAccessKey, SessionToken, Expiration string
}

type stsAssumedRoleUser struct{ AssumedRoleId, Arn string }

func stsAssumeRole(e *Emulator, p url.Values) (any, *APIError) {
	roleArn := p.Get("RoleArn")
	session := p.Get("RoleSessionName")
	v := &iamValidator{}
	v.str("roleArn", roleArn, iamRuleArn)
	v.str("roleSessionName", session, iamRuleSession)
	dur, hasDur := v.intParam(p, "DurationSeconds", "durationSeconds", 900, 43200)
	if err := v.err(); err != nil {
		return nil, err
	}
	if !hasDur {
		dur = 3600
	}
	callerKey, caller := e.callerLocked(p)
	callerArn := caller.arn
	if callerArn == "" || strings.HasSuffix(callerArn, ":root") {
		callerArn = e.rootArn()
	}
	denied := apiErr(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", callerArn, roleArn)

	// The role must exist under exactly this ARN (path included).
	var role *iamRole
	if i := strings.LastIndex(roleArn, "/"); i >= 0 && strings.Contains(roleArn, ":role/") {
		role = e.iam.roles[strings.ToLower(roleArn[i+1:])]
	}
	if role == nil || !strings.EqualFold(role.Arn, roleArn) {
		return nil, denied
	}
	candidates := []string{callerArn, e.rootArn(), e.opts.AccountID}
	chained := false
	if s, ok := e.iam.sessions[callerKey]; ok {
		candidates = append(candidates, s.role)
		chained = true
	}
	if !iamTrustAllows(role.AssumeRolePolicy, "AWS", candidates) {
		return nil, denied
	}
	if chained && dur > 3600 {
		return nil, apiErr(400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if dur > int64(role.MaxSessionDuration) {
		return nil, apiErr(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	// GUESS: the session lifetime honours TimeScale like other AWS-side durations;
	// the reported Expiration is the enforced one.
	expires := time.Now().Add(e.scaled(time.Duration(dur) * time.Second)).UTC().Truncate(time.Second)
	ak := "ASIA" + stsRandom(iamIDChars, 16)
	secret := stsRandom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
	tok := make([]byte, 240)
	_, _ = rand.Read(tok)
	token := "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(tok)
	arn := "arn:" + e.partition() + ":sts::" + e.opts.AccountID + ":assumed-role/" + role.Name + "/" + session
	userID := role.ID + ":" + session
	e.creds[ak] = credential{secret: secret, token: token, expires: expires, arn: arn}
	if e.iam.sessions == nil {
		e.iam.sessions = map[string]stsSession{}
	}
	e.iam.sessions[ak] = stsSession{userID: userID, role: role.Arn}
	return struct {
		Credentials     stsCredentials
		AssumedRoleUser stsAssumedRoleUser
	}{
		stsCredentials{ak, secret, token, isoTime(expires)},
		stsAssumedRoleUser{userID, arn},
	}, nil
}

func stsRandom(alphabet string, n int) string {
	b := make([]byte, n)
	size := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, _ := rand.Int(rand.Reader, size)
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}
