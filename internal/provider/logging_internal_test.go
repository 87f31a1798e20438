package provider

import "testing"

func TestFrameworkLogLevel(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
		set  bool
	}{
		{"nothing set: Terraform drops the provider's logs", nil, "OFF", true},
		{"TF_LOG", map[string]string{"TF_LOG": "debug"}, "DEBUG", true},
		{"TF_LOG_PROVIDER wins over TF_LOG", map[string]string{"TF_LOG": "TRACE", "TF_LOG_PROVIDER": "warn"}, "WARN", true},
		{"JSON is TRACE", map[string]string{"TF_LOG": "json"}, "TRACE", true},
		{"the user's own setting stays", map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace", "TF_LOG": "ERROR"}, "", false},
		{"a level Terraform reads as TRACE is left to the framework", map[string]string{"TF_LOG": "verbose"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, set := frameworkLogLevel(func(k string) string { return tc.env[k] })
			if got != tc.want || set != tc.set {
				t.Errorf("frameworkLogLevel = %q, %v; want %q, %v", got, set, tc.want, tc.set)
			}
		})
	}
}
