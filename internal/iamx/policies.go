package iamx

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// ManagedCorePolicyName is the AWS managed policy the "managed" role mode attaches.
const ManagedCorePolicyName = "AmazonSSMManagedInstanceCore"

// ManagedCorePolicyARN is AmazonSSMManagedInstanceCore's ARN in a partition.
func ManagedCorePolicyARN(partition string) string {
	return "arn:" + partitionOr(partition) + ":iam::aws:policy/" + ManagedCorePolicyName
}

func partitionOr(p string) string {
	if p == "" {
		return "aws"
	}
	return p
}

// TrustPolicy is the trust policy of an instance role: ec2.amazonaws.com may
// assume it. The EC2 service principal is ec2.amazonaws.com in every partition
// (also aws-cn, where the legacy ec2.amazonaws.com.cn is accepted too).
func TrustPolicy(string) PolicyDocument {
	return PolicyDocument{Version: "2012-10-17", Statement: Statements{{
		Effect:    "Allow",
		Principal: map[string]any{"Service": AgentTrustService},
		Action:    StringList{"sts:AssumeRole"},
	}}}
}

// Grants are the optional grants of an instance role beyond the agent's needs.
type Grants struct {
	// OutputBucketARNs: buckets (arn:aws:s3:::name) Run Command may write output to.
	OutputBucketARNs []string
	// LogGroupARNs: CloudWatch Logs groups Run Command or Session Manager log to.
	LogGroupARNs []string
	// KMSKeyARN: key the agent decrypts session data with.
	KMSKeyARN string
}

// Empty reports whether no grant is set.
func (g Grants) Empty() bool {
	return len(g.OutputBucketARNs) == 0 && len(g.LogGroupARNs) == 0 && g.KMSKeyARN == ""
}

// InstanceRolePolicy is the inline policy of an instance role: AgentActions when
// agent is true ("minimal" mode), plus the grants. ok is false when the policy
// would be empty (managed mode without grants).
func InstanceRolePolicy(agent bool, g Grants) (doc PolicyDocument, ok bool) {
	doc.Version = "2012-10-17"
	if agent {
		doc.Statement = append(doc.Statement, Statement{
			Sid: "SSMAgent", Effect: "Allow", Action: append(StringList(nil), AgentActions...), Resource: StringList{"*"},
		})
	}
	if len(g.OutputBucketARNs) > 0 {
		buckets := sorted(g.OutputBucketARNs)
		objects := make(StringList, len(buckets))
		for i, b := range buckets {
			objects[i] = strings.TrimSuffix(b, "/") + "/*"
		}
		doc.Statement = append(doc.Statement,
			Statement{Sid: "OutputObjects", Effect: "Allow", Action: StringList(AgentS3OutputObjectActions), Resource: objects},
			Statement{Sid: "OutputBuckets", Effect: "Allow", Action: StringList(AgentS3OutputBucketActions), Resource: buckets})
	}
	if len(g.LogGroupARNs) > 0 {
		groups := sorted(g.LogGroupARNs)
		streams := make(StringList, len(groups))
		for i, lg := range groups {
			streams[i] = strings.TrimSuffix(lg, ":*") + ":*"
		}
		doc.Statement = append(doc.Statement,
			Statement{Sid: "LogStreams", Effect: "Allow", Action: StringList(AgentLogStreamActions), Resource: streams},
			Statement{Sid: "LogGroups", Effect: "Allow", Action: StringList(AgentLogGroupActions), Resource: trimAll(groups, ":*")},
			Statement{Sid: "DescribeLogGroups", Effect: "Allow", Action: StringList(AgentLogDescribeActions), Resource: StringList{"*"}})
	}
	if g.KMSKeyARN != "" {
		doc.Statement = append(doc.Statement, Statement{Sid: "KMSDecrypt", Effect: "Allow", Action: StringList{"kms:Decrypt"}, Resource: StringList{g.KMSKeyARN}})
	}
	return doc, len(doc.Statement) > 0
}

// The agent's calls for command and session output, per the agent's source
// (notes/aws-behaviour.md#agent-permissions).
var (
	// AgentS3OutputObjectActions upload output: s3manager's PutObject (multipart
	// for large files) with the canned ACL bucket-owner-full-control, which S3
	// authorizes with s3:PutObjectAcl too.
	AgentS3OutputObjectActions = []string{"s3:PutObject", "s3:PutObjectAcl"}
	// AgentS3OutputBucketActions read the bucket's default encryption
	// (GetBucketEncryption), which session logging with s3EncryptionEnabled requires.
	AgentS3OutputBucketActions = []string{"s3:GetEncryptionConfiguration"}
	// AgentLogStreamActions create the streams and write the events.
	AgentLogStreamActions = []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}
	// AgentLogGroupActions: Run Command creates the group when it is missing.
	AgentLogGroupActions = []string{"logs:CreateLogGroup"}
	// AgentLogDescribeActions: the agent finds the group with DescribeLogGroups
	// (session logging always, Run Command when CreateLogGroup fails); with
	// cloudWatchEncryptionEnabled a session is refused when it cannot. The
	// action has no resource type, so it is granted on "*".
	AgentLogDescribeActions = []string{"logs:DescribeLogGroups"}
)

func sorted(in []string) StringList {
	out := append(StringList(nil), in...)
	sort.Strings(out)
	return out
}

func trimAll(in StringList, suffix string) StringList {
	out := make(StringList, len(in))
	for i, s := range in {
		out[i] = strings.TrimSuffix(s, suffix)
	}
	return out
}

// JSON is the compact JSON of the document.
func (p PolicyDocument) JSON() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // only strings, lists and maps: cannot fail
	}
	return string(b)
}

// decode URL-decodes a document IAM returned encoded; other text is kept.
func decode(doc string) string {
	s := strings.TrimSpace(doc)
	if strings.HasPrefix(s, "%7B") || strings.HasPrefix(s, "%7b") {
		if dec, err := url.QueryUnescape(s); err == nil {
			return dec
		}
	}
	return doc
}

// Normalize returns a canonical form of a policy document: URL-decoding, key
// order, whitespace, string-vs-list, duplicate and list order do not matter.
// Two documents are equivalent when their normal forms are equal.
func Normalize(doc string) (string, error) {
	var raw any
	if err := json.Unmarshal([]byte(decode(doc)), &raw); err != nil {
		return "", fmt.Errorf("parsing policy document: %w", err)
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return "", fmt.Errorf("parsing policy document: not a JSON object")
	}
	if st, ok := m["Statement"]; ok {
		var list []any
		switch v := st.(type) {
		case []any:
			list = v
		default:
			list = []any{v}
		}
		norm := make([]string, 0, len(list))
		for _, s := range list {
			b, _ := json.Marshal(normValue(s, ""))
			norm = append(norm, string(b))
		}
		sort.Strings(norm)
		stmts := make([]json.RawMessage, len(norm))
		for i, s := range norm {
			stmts[i] = json.RawMessage(s)
		}
		m["Statement"] = stmts
	}
	b, err := json.Marshal(m) // encoding/json sorts map keys
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// listKeys are statement members whose string values mean one-element lists.
var listKeys = map[string]bool{"Action": true, "NotAction": true, "Resource": true, "NotResource": true}

// normValue turns strings in list positions into sorted unique lists, recursively
// inside Principal and Condition (whose leaf values are lists too).
func normValue(v any, key string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			switch {
			case listKeys[k] && key == "":
				out[k] = strList(x)
			case k == "Principal" || k == "NotPrincipal" || k == "Condition":
				out[k] = normValue(x, k)
			case key == "Principal" || key == "NotPrincipal":
				out[k] = strList(x)
			case key == "Condition":
				out[k] = normValue(x, "ConditionOp")
			case key == "ConditionOp":
				out[k] = strList(x)
			default:
				out[k] = x
			}
		}
		return out
	default:
		return v
	}
}

func strList(v any) any {
	var items []string
	switch t := v.(type) {
	case string:
		items = []string{t}
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return v // not a string list: keep as is
			}
			items = append(items, s)
		}
	default:
		return v
	}
	sort.Strings(items)
	out := items[:0]
	for i, s := range items {
		if i == 0 || s != items[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// Equivalent reports whether two policy documents mean the same (see Normalize).
// Unparsable documents are equivalent only when byte-equal.
func Equivalent(a, b string) bool {
	na, errA := Normalize(a)
	nb, errB := Normalize(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return na == nb
}
