package iamx

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func TestTagChanges(t *testing.T) {
	set, remove := TagChanges(
		map[string]string{"keep": "1", "change": "a", "drop": "x", "drop2": "y"},
		map[string]string{"keep": "1", "change": "b", "add": "z"})
	if want := map[string]string{"change": "b", "add": "z"}; !reflect.DeepEqual(set, want) {
		t.Errorf("set %v, want %v", set, want)
	}
	if want := []string{"drop", "drop2"}; !reflect.DeepEqual(remove, want) {
		t.Errorf("remove %v, want %v", remove, want)
	}
}

// syncTags untags what is gone, then tags what is new or changed, and says
// which step failed.
func TestSyncTags(t *testing.T) {
	var untagged []string
	var tagged []iamtypes.Tag
	err := syncTags(map[string]string{"a": "1", "b": "2"}, map[string]string{"b": "3", "c": "4"},
		func(keys []string) error { untagged = keys; return nil },
		func(tags []iamtypes.Tag) error { tagged = tags; return nil })
	if err != nil || !reflect.DeepEqual(untagged, []string{"a"}) || len(tagged) != 2 ||
		aws.ToString(tagged[0].Key) != "b" || aws.ToString(tagged[0].Value) != "3" || aws.ToString(tagged[1].Key) != "c" {
		t.Errorf("err %v, untagged %v, tagged %+v", err, untagged, tagged)
	}
	calls := 0
	err = syncTags(map[string]string{"a": "1"}, map[string]string{"a": "1"},
		func([]string) error { calls++; return nil }, func([]iamtypes.Tag) error { calls++; return nil })
	if err != nil || calls != 0 {
		t.Errorf("unchanged tags: err %v, %d calls, want none", err, calls)
	}
}

// Tags read from IAM never show the create marker.
func TestTagMapDropsMarker(t *testing.T) {
	got := tagMap([]iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("ops")}, {Key: aws.String(CreateMarkerTag), Value: aws.String("t")}})
	if !reflect.DeepEqual(got, map[string]string{"team": "ops"}) {
		t.Errorf("tags %v", got)
	}
}
