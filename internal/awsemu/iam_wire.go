package awsemu

// The wire shapes of IAM's answers.

type ixTag struct{ Key, Value string }

type ixBoundary struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

type ixRole struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string      `xml:",omitempty"`
	Description              string      `xml:",omitempty"`
	MaxSessionDuration       int32       `xml:",omitempty"`
	PermissionsBoundary      *ixBoundary `xml:",omitempty"`
	Tags                     *ixTagList  `xml:",omitempty"`
	RoleLastUsed             *struct{}   `xml:",omitempty"`
}

type ixProfile struct {
	Path                string
	InstanceProfileName string
	InstanceProfileId   string
	Arn                 string
	CreateDate          string
	Roles               []ixRole   `xml:"Roles>member"`
	Tags                *ixTagList `xml:",omitempty"`
}

type ixPolicy struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    string
	UpdateDate                    string
	Tags                          *ixTagList `xml:",omitempty"`
}

type ixAttached struct{ PolicyName, PolicyArn string }

type ixPage struct {
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ixTagList is an entity's optional Tags member, omitted when there are none.
type ixTagList struct {
	Member []ixTag `xml:"member"`
}

func ixTagListOf(tags []iamTag) *ixTagList {
	if len(tags) == 0 {
		return nil
	}
	return &ixTagList{ixTagsOf(tags)}
}

func ixTagsOf(tags []iamTag) []ixTag {
	out := make([]ixTag, len(tags))
	for i, t := range tags {
		out[i] = ixTag(t)
	}
	return out
}

// roleView selects the members an operation returns.
type roleView int

const (
	roleList   roleView = iota // ListRoles, profiles' Roles: no tags, boundary or last use
	roleCreate                 // CreateRole: + tags, boundary
	roleGet                    // GetRole: everything
)

func xmlRole(r *iamRole, view roleView) ixRole {
	x := ixRole{
		Path: r.Path, RoleName: r.Name, RoleId: r.ID, Arn: r.Arn, CreateDate: isoTime(r.Created),
		AssumeRolePolicyDocument: iamEscape(r.AssumeRolePolicy), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration,
	}
	if view >= roleCreate {
		x.Tags = ixTagListOf(r.Tags)
		if r.Boundary != "" {
			x.PermissionsBoundary = &ixBoundary{"PermissionsBoundaryPolicy", r.Boundary}
		}
	}
	if view == roleGet {
		x.RoleLastUsed = &struct{}{}
	}
	return x
}

func (e *Emulator) xmlProfile(p *iamProfile, withTags bool) ixProfile {
	x := ixProfile{Path: p.Path, InstanceProfileName: p.Name, InstanceProfileId: p.ID, Arn: p.Arn, CreateDate: isoTime(p.Created)}
	if r := e.iam.roles[p.Role]; r != nil {
		x.Roles = []ixRole{xmlRole(r, roleList)}
	}
	if withTags {
		x.Tags = ixTagListOf(p.Tags)
	}
	return x
}

func (e *Emulator) xmlPolicy(p *iamPolicy, withTags bool) ixPolicy {
	attached, boundary := e.policyUsageLocked(p.Arn)
	x := ixPolicy{
		PolicyName: p.Name, PolicyId: p.ID, Arn: p.Arn, Path: p.Path, DefaultVersionId: p.Default,
		AttachmentCount: attached, PermissionsBoundaryUsageCount: boundary, IsAttachable: true,
		Description: p.Description, CreateDate: isoTime(p.Created), UpdateDate: isoTime(p.Updated),
	}
	if withTags {
		x.Tags = ixTagListOf(p.Tags)
	}
	return x
}
