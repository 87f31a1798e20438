package defaulthost

import "testing"

func TestValue(t *testing.T) {
	for _, c := range []struct{ path, name, value string }{
		{"/", "Role", "Role"},
		{"/service-role/", "AWSSystemsManagerDefaultEC2InstanceManagementRole", "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole"},
		{"/a/b/", "R", "a/b/R"},
	} {
		if got := Value(c.path, c.name); got != c.value {
			t.Errorf("Value(%q, %q) = %q, want %q", c.path, c.name, got, c.value)
		}
		if p, n := ParseValue(c.value); p != c.path || n != c.name {
			t.Errorf("ParseValue(%q) = %q, %q", c.value, p, n)
		}
	}
	if (&Setting{Value: Off}).On() || !(&Setting{Value: "R"}).On() {
		t.Error("On")
	}
}
