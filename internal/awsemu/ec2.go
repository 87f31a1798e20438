package awsemu

// EC2 (ec2Query protocol): instances, tags and IAM instance profile associations.
// Behaviour per notes/aws-behaviour.md#ec2-instance-profile-associations; wire
// names per the SDK's service/ec2 deserializers.go.

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type ec2State struct {
	instances map[string]*Instance
	order     []string
	// reservations maps an instance id to its reservation id. Instances added by
	// the fleet get one lazily (one reservation each).
	reservations map[string]string
}

func newEC2State() *ec2State {
	return &ec2State{instances: map[string]*Instance{}, reservations: map[string]string{}}
}

var ec2Ops map[string]queryHandler

func init() {
	ec2Ops = map[string]queryHandler{
		"DescribeInstances":                      ec2DescribeInstances,
		"RunInstances":                           ec2RunInstances,
		"StartInstances":                         ec2StartInstances,
		"StopInstances":                          ec2StopInstances,
		"TerminateInstances":                     ec2TerminateInstances,
		"CreateTags":                             ec2CreateTags,
		"DeleteTags":                             ec2DeleteTags,
		"DescribeTags":                           ec2DescribeTags,
		"AssociateIamInstanceProfile":            ec2AssociateIamInstanceProfile,
		"DescribeIamInstanceProfileAssociations": ec2DescribeIamInstanceProfileAssociations,
		"ReplaceIamInstanceProfileAssociation":   ec2ReplaceIamInstanceProfileAssociation,
		"DisassociateIamInstanceProfile":         ec2DisassociateIamInstanceProfile,
	}
}

// WindowsAMI is the image id RunInstances treats as a Windows AMI; every other
// "ami-" id launches Amazon Linux.
const WindowsAMI = "ami-0fedcba9876543210"

// associationSettle is how long (AWS-side time, scaled) an association stays
// "associating" before Describe reports it "associated".
const associationSettle = time.Second

var (
	instanceIDRe = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

// ---- wire shapes ----

type ec2InstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func stateOf(name string) ec2InstanceState {
	return ec2InstanceState{Code: stateCodes[name], Name: name}
}

type ec2ProfileRef struct {
	Arn string `xml:"arn"`
	ID  string `xml:"id"`
}

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type ec2Placement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type ec2Monitoring struct {
	State string `xml:"state"`
}

type ec2Instance struct {
	InstanceID         string           `xml:"instanceId"`
	ImageID            string           `xml:"imageId"`
	State              ec2InstanceState `xml:"instanceState"`
	PrivateDNSName     string           `xml:"privateDnsName"`
	AmiLaunchIndex     int              `xml:"amiLaunchIndex"`
	InstanceType       string           `xml:"instanceType"`
	LaunchTime         string           `xml:"launchTime"`
	Placement          ec2Placement     `xml:"placement"`
	Platform           string           `xml:"platform,omitempty"`
	Monitoring         ec2Monitoring    `xml:"monitoring"`
	PrivateIPAddress   string           `xml:"privateIpAddress"`
	Architecture       string           `xml:"architecture"`
	RootDeviceType     string           `xml:"rootDeviceType"`
	RootDeviceName     string           `xml:"rootDeviceName"`
	VirtualizationType string           `xml:"virtualizationType"`
	IamInstanceProfile *ec2ProfileRef   `xml:"iamInstanceProfile,omitempty"`
	Tags               []ec2Tag         `xml:"tagSet>item"`
	PlatformDetails    string           `xml:"platformDetails"`
	UsageOperation     string           `xml:"usageOperation"`
}

type ec2Reservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        []struct{}    `xml:"groupSet>item"`
	Instances     []ec2Instance `xml:"instancesSet>item"`
}

type ec2StateChange struct {
	InstanceID    string           `xml:"instanceId"`
	CurrentState  ec2InstanceState `xml:"currentState"`
	PreviousState ec2InstanceState `xml:"previousState"`
}

type ec2StateChanges struct {
	Instances []ec2StateChange `xml:"instancesSet>item"`
}

type ec2Return struct {
	Return bool `xml:"return"`
}

// ---- helpers ----

func (e *Emulator) reservationLocked(id string) string {
	r, ok := e.ec2.reservations[id]
	if !ok {
		r = "r-" + randHex(17)
		e.ec2.reservations[id] = r
	}
	return r
}

func (e *Emulator) ec2InstanceLocked(inst *Instance, launchIndex int) ec2Instance {
	out := ec2Instance{
		InstanceID:         inst.ID,
		ImageID:            inst.ImageID,
		State:              stateOf(inst.State),
		PrivateDNSName:     "ip-" + strings.ReplaceAll(inst.PrivateIP, ".", "-") + ".ec2.internal",
		AmiLaunchIndex:     launchIndex,
		InstanceType:       inst.InstanceType,
		LaunchTime:         isoTime(inst.LaunchedAt),
		Placement:          ec2Placement{AvailabilityZone: e.opts.Region + "a", Tenancy: "default"},
		Monitoring:         ec2Monitoring{State: "disabled"},
		PrivateIPAddress:   inst.PrivateIP,
		Architecture:       "x86_64",
		RootDeviceType:     "ebs",
		RootDeviceName:     "/dev/xvda",
		VirtualizationType: "hvm",
		PlatformDetails:    "Linux/UNIX",
		UsageOperation:     "RunInstances",
	}
	if inst.Platform == "Windows" {
		out.Platform = "windows"
		out.PlatformDetails = "Windows"
		out.UsageOperation = "RunInstances:0002"
		out.RootDeviceName = "/dev/sda1"
	}
	if a := inst.Association; a != nil {
		out.IamInstanceProfile = &ec2ProfileRef{Arn: a.ProfileArn, ID: a.ProfileID}
	}
	for _, k := range sortedKeys(inst.Tags) {
		out.Tags = append(out.Tags, ec2Tag{Key: k, Value: inst.Tags[k]})
	}
	return out
}

// lookupInstancesLocked resolves instance ids: the first malformed id gives
// InvalidInstanceID.Malformed, otherwise every unknown id is listed in one
// InvalidInstanceID.NotFound.
func (e *Emulator) lookupInstancesLocked(ids []string) ([]*Instance, *APIError) {
	for _, id := range ids {
		if !instanceIDRe.MatchString(id) {
			return nil, apiErr(400, "InvalidInstanceID.Malformed", "Invalid id: %q", id)
		}
	}
	var missing []string
	out := make([]*Instance, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		inst, ok := e.ec2.instances[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, inst)
		}
	}
	switch len(missing) {
	case 0:
		return out, nil
	case 1:
		return nil, apiErr(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
	default:
		return nil, apiErr(400, "InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
}

// pageParams reads MaxResults (5..1000) and NextToken. pageSize is 0 when absent.
func pageParams(p url.Values) (pageSize, start int, aerr *APIError) {
	if s := p.Get("MaxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, apiErr(400, "InvalidParameterValue", "Invalid value '%s' for maxResults", s)
		}
		// Wording below 5 as EC2 answers it (notes/aws-behaviour.md#emulator-guesses);
		// GUESS: the wording above 1000, by analogy.
		if n < 5 {
			return 0, 0, apiErr(400, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than 5.", n)
		}
		if n > 1000 {
			return 0, 0, apiErr(400, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value less than 1000.", n)
		}
		pageSize = n
	}
	if tok := p.Get("NextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		off, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "awsemu:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "awsemu:") || off < 0 {
			// GUESS: code and wording for an unusable token.
			return 0, 0, apiErr(400, "InvalidParameterValue", "Invalid value '%s' for nextToken", tok)
		}
		start = off
	}
	return pageSize, start, nil
}

// page cuts [start, start+pageSize) out of n items and returns the next token ("" at the end).
func page(n, pageSize, start int) (lo, hi int, next string) {
	if start > n {
		start = n
	}
	lo, hi = start, n
	if pageSize > 0 && lo+pageSize < n {
		hi = lo + pageSize
		next = base64.RawURLEncoding.EncodeToString([]byte("awsemu:" + strconv.Itoa(hi)))
	}
	return lo, hi, next
}

// globMatch matches EC2 filter values: * is any run of characters, ? one character.
func globMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	px, sx := 0, 0
	nextP, nextS := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextP, nextS = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextS > 0 && nextS <= len(s) {
			px, sx = nextP, nextS
			continue
		}
		return false
	}
	return true
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

func checkFilters(filters map[string][]string, allowed ...string) *APIError {
	for name := range filters {
		if strings.HasPrefix(name, "tag:") && len(name) > 4 {
			continue
		}
		ok := false
		for _, a := range allowed {
			if name == a {
				ok = true
				break
			}
		}
		if !ok {
			return apiErr(400, "InvalidParameterValue", "The filter '%s' is invalid", name)
		}
	}
	return nil
}

// tagFilterMatch applies tag:<k>, tag-key and tag-value filters.
func tagFilterMatch(tags map[string]string, name string, vals []string) (handled, ok bool) {
	switch {
	case strings.HasPrefix(name, "tag:"):
		v, has := tags[name[4:]]
		return true, has && anyGlob(vals, v)
	case name == "tag-key":
		for k := range tags {
			if anyGlob(vals, k) {
				return true, true
			}
		}
		return true, false
	case name == "tag-value":
		for _, v := range tags {
			if anyGlob(vals, v) {
				return true, true
			}
		}
		return true, false
	}
	return false, false
}

func instanceMatches(inst *Instance, filters map[string][]string) bool {
	for name, vals := range filters {
		if handled, ok := tagFilterMatch(inst.Tags, name, vals); handled {
			if !ok {
				return false
			}
			continue
		}
		var got string
		switch name {
		case "instance-id":
			got = inst.ID
		case "instance-state-name":
			got = inst.State
		case "instance-state-code":
			got = strconv.Itoa(stateCodes[inst.State])
		case "iam-instance-profile.arn":
			if inst.Association == nil {
				return false
			}
			got = inst.Association.ProfileArn
		case "platform":
			if inst.Platform != "Windows" {
				return false
			}
			got = "windows"
		case "platform-details":
			got = "Linux/UNIX"
			if inst.Platform == "Windows" {
				got = "Windows"
			}
		case "image-id":
			got = inst.ImageID
		case "instance-type":
			got = inst.InstanceType
		case "private-ip-address":
			got = inst.PrivateIP
		}
		if !anyGlob(vals, got) {
			return false
		}
	}
	return true
}

// resolveProfileLocked reads IamInstanceProfile.Arn / .Name and checks that EC2
// can use the profile: it exists, is older than the IAM propagation delay and has
// a role. ok is false when neither parameter is given.
func (e *Emulator) resolveProfileLocked(p url.Values, now time.Time) (ref profileRef, given bool, aerr *APIError) {
	key, param, kind := p.Get("IamInstanceProfile.Arn"), "iamInstanceProfile.arn", "ARN"
	if key == "" {
		key, param, kind = p.Get("IamInstanceProfile.Name"), "iamInstanceProfile.name", "name"
	}
	if key == "" {
		return profileRef{}, false, nil
	}
	ref, ok := e.lookupProfileLocked(key)
	if !ok || !e.profilePropagatedLocked(ref, now) {
		return profileRef{}, true, apiErr(400, "InvalidParameterValue", "Value (%s) for parameter %s is invalid. Invalid IAM Instance Profile %s", key, param, kind)
	}
	if ref.RoleName == "" {
		return profileRef{}, true, apiErr(400, "InvalidParameterValue", "Value (%s) for parameter %s is invalid. IAM Instance Profile \"%s\" has no associated IAM Roles", key, param, ref.Arn)
	}
	return ref, true, nil
}

// profilePropagatedLocked reports whether EC2 may see the profile yet. IAM keeps
// creation times at whole seconds (as its API reports them), so a whole-second
// Created may be up to 1 s early: with a propagation delay set, count from the end
// of that second, erring towards rejecting (AWS only promises "~10 seconds").
func (e *Emulator) profilePropagatedLocked(ref profileRef, now time.Time) bool {
	d := e.opts.IAMPropagationDelay
	if d <= 0 {
		return true
	}
	created := ref.Created
	if created.Equal(created.Truncate(time.Second)) {
		created = created.Add(time.Second)
	}
	return now.Sub(created) >= d
}

func missingParam(name string) *APIError {
	return apiErr(400, "MissingParameter", "The request must contain the parameter %s", name)
}

// ---- DescribeInstances ----

func ec2DescribeInstances(e *Emulator, p url.Values) (any, *APIError) {
	ids := queryList(p, "InstanceId")
	pageSize, start, aerr := pageParams(p)
	if aerr != nil {
		return nil, aerr
	}
	if pageSize > 0 && len(ids) > 0 {
		return nil, apiErr(400, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	filters := queryFilters(p)
	if aerr := checkFilters(filters, "instance-id", "tag-key", "tag-value", "instance-state-name", "instance-state-code",
		"iam-instance-profile.arn", "platform", "platform-details", "image-id", "instance-type", "private-ip-address"); aerr != nil {
		return nil, aerr
	}
	var candidates []*Instance
	if len(ids) > 0 {
		if candidates, aerr = e.lookupInstancesLocked(ids); aerr != nil {
			return nil, aerr
		}
	} else {
		for _, id := range e.ec2.order {
			candidates = append(candidates, e.ec2.instances[id])
		}
	}
	var matched []*Instance
	for _, inst := range candidates {
		if instanceMatches(inst, filters) {
			matched = append(matched, inst)
		}
	}
	lo, hi, next := page(len(matched), pageSize, start)
	out := struct {
		Reservations []ec2Reservation `xml:"reservationSet>item"`
		NextToken    string           `xml:"nextToken,omitempty"`
	}{NextToken: next}
	// Consecutive instances of one reservation share an item.
	for _, inst := range matched[lo:hi] {
		rid := e.reservationLocked(inst.ID)
		n := len(out.Reservations)
		if n == 0 || out.Reservations[n-1].ReservationID != rid {
			out.Reservations = append(out.Reservations, ec2Reservation{ReservationID: rid, OwnerID: e.opts.AccountID})
			n++
		}
		r := &out.Reservations[n-1]
		r.Instances = append(r.Instances, e.ec2InstanceLocked(inst, len(r.Instances)))
	}
	return out, nil
}

// ---- RunInstances ----

// maxRunCount bounds one RunInstances call. GUESS: the error for a larger MinCount.
const maxRunCount = 1000

func ec2RunInstances(e *Emulator, p url.Values) (any, *APIError) {
	now := time.Now()
	image := p.Get("ImageId")
	if image == "" {
		return nil, missingParam("ImageId")
	}
	if !strings.HasPrefix(image, "ami-") {
		return nil, apiErr(400, "InvalidAMIID.Malformed", "Invalid id: %q (expecting \"ami-...\")", image)
	}
	counts := [2]int{}
	for i, name := range []string{"MinCount", "MaxCount"} {
		s := p.Get(name)
		if s == "" {
			return nil, missingParam(name)
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			// GUESS: wording.
			return nil, apiErr(400, "InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expected a positive integer.", s, strings.ToLower(name[:1])+name[1:])
		}
		counts[i] = n
	}
	if counts[0] > counts[1] {
		// GUESS: wording.
		return nil, apiErr(400, "InvalidParameterValue", "MinCount (%d) must be less than or equal to MaxCount (%d)", counts[0], counts[1])
	}
	if counts[0] > maxRunCount {
		return nil, apiErr(400, "InstanceLimitExceeded", "You have requested more instances (%d) than your current instance limit of %d allows for the specified instance type.", counts[0], maxRunCount)
	}
	n := min(counts[1], maxRunCount)

	tags := map[string]string{}
	for i := 1; ; i++ {
		pre := "TagSpecification." + strconv.Itoa(i)
		rt, has := p[pre+".ResourceType"]
		if !has {
			break
		}
		kv, aerr := queryTags(p, pre+".Tag", true)
		if aerr != nil {
			return nil, aerr
		}
		switch rt[0] {
		case "instance":
			for _, t := range kv {
				tags[t.Key] = t.Value
			}
		case "volume", "network-interface", "spot-instances-request", "elastic-gpu":
			// Accepted; those resources are not modelled.
		default:
			return nil, apiErr(400, "InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", rt[0])
		}
	}
	if len(tags) > maxTags {
		return nil, apiErr(400, "TagLimitExceeded", "The maximum number of tags per resource (%d) has been exceeded", maxTags)
	}
	ref, withProfile, aerr := e.resolveProfileLocked(p, now)
	if aerr != nil {
		return nil, aerr
	}
	platform := "Linux"
	if image == WindowsAMI {
		platform = "Windows"
	}
	res := ec2Reservation{ReservationID: "r-" + randHex(17), OwnerID: e.opts.AccountID}
	for i := 0; i < n; i++ {
		inst := e.newInstanceLocked(platform, StatePending, tags, now)
		inst.ImageID = image
		if t := p.Get("InstanceType"); t != "" {
			inst.InstanceType = t
		}
		if withProfile {
			inst.Association = &ProfileAssociation{ID: e.newAssociationID(), ProfileArn: ref.Arn, ProfileID: ref.ID, State: "associated", Timestamp: now}
		}
		e.setTransitionLocked(inst, now, StatePending, StateRunning)
		e.ec2.reservations[inst.ID] = res.ReservationID
		res.Instances = append(res.Instances, e.ec2InstanceLocked(inst, i))
	}
	return res, nil
}

// ---- Start / Stop / Terminate ----

func (e *Emulator) changeStates(p url.Values, check func(inst *Instance) *APIError, apply func(inst *Instance, now time.Time)) (any, *APIError) {
	ids := queryList(p, "InstanceId")
	if len(ids) == 0 {
		return nil, missingParam("InstanceId")
	}
	insts, aerr := e.lookupInstancesLocked(ids)
	if aerr != nil {
		return nil, aerr
	}
	for _, inst := range insts {
		if aerr := check(inst); aerr != nil {
			return nil, aerr
		}
	}
	now := time.Now()
	out := ec2StateChanges{}
	for _, inst := range insts {
		prev := inst.State
		apply(inst, now)
		out.Instances = append(out.Instances, ec2StateChange{InstanceID: inst.ID, CurrentState: stateOf(inst.State), PreviousState: stateOf(prev)})
	}
	return out, nil
}

func ec2StartInstances(e *Emulator, p url.Values) (any, *APIError) {
	return e.changeStates(p, func(inst *Instance) *APIError {
		switch inst.State {
		case StateStopped, StatePending, StateRunning:
			return nil
		}
		return apiErr(400, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", inst.ID)
	}, func(inst *Instance, now time.Time) {
		if inst.State == StateStopped {
			e.setTransitionLocked(inst, now, StatePending, StateRunning)
		}
	})
}

func ec2StopInstances(e *Emulator, p url.Values) (any, *APIError) {
	return e.changeStates(p, func(inst *Instance) *APIError {
		switch inst.State {
		case StateRunning, StateStopping, StateStopped:
			return nil
		}
		return apiErr(400, "IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", inst.ID)
	}, func(inst *Instance, now time.Time) {
		if inst.State == StateRunning {
			e.setTransitionLocked(inst, now, StateStopping, StateStopped)
		}
	})
}

func ec2TerminateInstances(e *Emulator, p url.Values) (any, *APIError) {
	return e.changeStates(p, func(*Instance) *APIError { return nil }, func(inst *Instance, now time.Time) {
		if inst.State != StateTerminated && inst.State != StateShuttingDown {
			e.setTransitionLocked(inst, now, StateShuttingDown, StateTerminated)
		}
	})
}
