package awsemu

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input validation in the shape IAM and STS report it:
//
//	ValidationError: 1 validation error detected: Value 'x' at 'roleName' failed to
//	satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+
type iamValidator struct{ errs []string }

type iamRule struct {
	min, max int
	re       *regexp.Regexp
	pattern  string // as IAM prints it
}

var (
	iamReName      = regexp.MustCompile(`^[\w+=,.@-]+$`)
	iamRePath      = regexp.MustCompile(`^(/|/[\x{21}-\x{7E}]+/)$`)
	iamRePathPfx   = regexp.MustCompile(`^/[\x{21}-\x{7F}]*$`)
	iamReDesc      = regexp.MustCompile(`^[\t\n\r\x{20}-\x{7E}\x{A1}-\x{FF}]*$`)
	iamReDoc       = regexp.MustCompile(`^[\t\n\r\x{20}-\x{FF}]+$`)
	iamReMarker    = regexp.MustCompile(`^[\x{20}-\x{FF}]+$`)
	iamReSession   = regexp.MustCompile(`^[\w+=,.@-]*$`)
	iamReTagKey    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	iamReTagValue  = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	iamReVersionID = regexp.MustCompile(`^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$`)

	iamRuleRoleName    = iamRule{1, 64, iamReName, `[\w+=,.@-]+`}
	iamRuleProfileName = iamRule{1, 128, iamReName, `[\w+=,.@-]+`}
	iamRulePolicyName  = iamRule{1, 128, iamReName, `[\w+=,.@-]+`}
	iamRulePath        = iamRule{1, 512, iamRePath, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`}
	iamRulePathPrefix  = iamRule{1, 512, iamRePathPfx, `\u002F[\u0021-\u007F]*`}
	iamRuleDescription = iamRule{0, 1000, iamReDesc, `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`}
	iamRuleDocument    = iamRule{1, 131072, iamReDoc, `[\u0009\u000A\u000D\u0020-\u00FF]+`}
	iamRuleArn         = iamRule{20, 2048, nil, ""}
	iamRuleMarker      = iamRule{1, 320, iamReMarker, `[\u0020-\u00FF]+`}
	iamRuleTagKey      = iamRule{1, 128, iamReTagKey, `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`}
	iamRuleTagValue    = iamRule{0, 256, iamReTagValue, `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`}
	iamRuleSession     = iamRule{2, 64, iamReSession, `[\w+=,.@-]*`}
	iamRuleVersionID   = iamRule{0, 0, iamReVersionID, `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`}
)

func (v *iamValidator) add(value, field, constraint string) {
	v.errs = append(v.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must %s", value, field, constraint))
}

// str checks a string parameter against its length and pattern.
func (v *iamValidator) str(field, val string, r iamRule) {
	n := utf8.RuneCountInString(val)
	if r.min > 0 && n < r.min {
		v.add(val, field, fmt.Sprintf("have length greater than or equal to %d", r.min))
	}
	if r.max > 0 && n > r.max {
		v.add(val, field, fmt.Sprintf("have length less than or equal to %d", r.max))
	}
	if r.re != nil && n > 0 && !r.re.MatchString(val) {
		v.add(val, field, "satisfy regular expression pattern: "+r.pattern)
	}
}

// opt checks p[name] when it is present.
func (v *iamValidator) opt(p url.Values, name, field string, r iamRule) {
	if _, ok := p[name]; ok {
		v.str(field, p.Get(name), r)
	}
}

func (v *iamValidator) num(field, raw string, n, lo, hi int64) {
	if n < lo {
		v.add(raw, field, fmt.Sprintf("have value greater than or equal to %d", lo))
	}
	if n > hi {
		v.add(raw, field, fmt.Sprintf("have value less than or equal to %d", hi))
	}
}

// intParam parses an optional integer; a non-number is reported like IAM does.
func (v *iamValidator) intParam(p url.Values, name, field string, lo, hi int64) (int64, bool) {
	raw, ok := p[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(raw[0], 10, 64)
	if err != nil {
		v.errs = append(v.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must be a number", raw[0], field))
		return 0, false
	}
	v.num(field, raw[0], n, lo, hi)
	return n, true
}

func (v *iamValidator) err() *APIError {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return apiErr(400, "ValidationError", "1 validation error detected: %s", v.errs[0])
	}
	return apiErr(400, "ValidationError", "%d validation errors detected: %s", len(v.errs), strings.Join(v.errs, "; "))
}

// iamPolicyChars counts a policy's size the way IAM quotas do: whitespace is
// not counted.
func iamPolicyChars(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// iamQueryTags reads Tags.member.N.Key / .Value.
func iamQueryTags(p url.Values) []iamTag {
	var out []iamTag
	for i := 1; ; i++ {
		k := "Tags.member." + strconv.Itoa(i)
		key, ok := p[k+".Key"]
		if !ok {
			return out
		}
		out = append(out, iamTag{Key: key[0], Value: p.Get(k + ".Value")})
	}
}

// iamValidateTags checks tag keys and values, the 50-tag limit and duplicates.
func iamValidateTags(v *iamValidator, tags []iamTag) *APIError {
	for i, t := range tags {
		v.str(fmt.Sprintf("tags.%d.member.key", i+1), t.Key, iamRuleTagKey)
		v.str(fmt.Sprintf("tags.%d.member.value", i+1), t.Value, iamRuleTagValue)
	}
	if len(tags) > 50 {
		v.errs = append(v.errs, "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	if err := v.err(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return apiErr(400, "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	return nil
}

// iamMergeTags adds or overwrites tags (keys compared without regard to case) and
// enforces the 50-tag quota.
func iamMergeTags(have, add []iamTag) ([]iamTag, *APIError) {
	out := append([]iamTag(nil), have...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i] = t
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	if len(out) > 50 {
		return nil, apiErr(409, "LimitExceeded", "The number of tags has reached the maximum limit.")
	}
	return out, nil
}

func iamRemoveTags(have []iamTag, keys []string) []iamTag {
	var out []iamTag
	for _, t := range have {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

// iamPage applies Marker/MaxItems paging to a list of sort keys and returns the
// index range to return, the next marker and whether the list is truncated.
// Markers are opaque: the base64 of the first key of the next page.
func iamPage(p url.Values, keys []string) (from, to int, next string, truncated bool, aerr *APIError) {
	v := &iamValidator{}
	pageSize, ok := v.intParam(p, "MaxItems", "maxItems", 1, 1000)
	if !ok {
		pageSize = 100
	}
	v.opt(p, "Marker", "marker", iamRuleMarker)
	if err := v.err(); err != nil {
		return 0, 0, "", false, err
	}
	if m := p.Get("Marker"); m != "" {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			// GUESS: IAM's reply to a forged marker.
			return 0, 0, "", false, apiErr(400, "InvalidInput", "Invalid Marker.")
		}
		from = sort.SearchStrings(keys, string(raw))
	}
	to = from + int(pageSize)
	if to >= len(keys) {
		return from, len(keys), "", false, nil
	}
	return from, to, base64.RawURLEncoding.EncodeToString([]byte(keys[to])), true, nil
}

// iamEscape URL-encodes a policy document as IAM returns it: like
// url.QueryEscape but with spaces as %20, so that both Go's QueryUnescape and
// Python's unquote (the AWS CLI) restore it.
func iamEscape(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}
