package provider

import (
	"os"
	"strings"
)

// The framework's own log level (TF_LOG_SDK_FRAMEWORK) when the user has not
// set it. Unset, the framework treats its log level as "everything": each
// of its trace calls looks its logger up in the request's context, and the
// passes it makes over a whole state value (nullifying write-only attributes,
// marking computed values unknown) grow that context by one value per
// attribute they visit, so each lookup walks all the earlier ones. The time
// is quadratic in the size of the state: with 10,000 per-instance results in
// an ssm_command_run, one such pass took over a minute of CPU per apply, and
// every plan makes two or three of them. Terraform shows a provider's logs only
// at the level of TF_LOG_PROVIDER, else TF_LOG, and drops them when neither
// is set (its internal/logging providerLogLevel); the framework gets that same
// level, so no log anyone could see is lost and the trace calls return at once
// when tracing is off.
const envFrameworkLogLevel = "TF_LOG_SDK_FRAMEWORK"

// frameworkLogLevel is the value for TF_LOG_SDK_FRAMEWORK given the
// environment, and false when it must be left as it is: set by the user, or a
// Terraform level the framework would not read the same way.
func frameworkLogLevel(getenv func(string) string) (string, bool) {
	if getenv(envFrameworkLogLevel) != "" {
		return "", false
	}
	level := strings.ToUpper(strings.TrimSpace(getenv("TF_LOG_PROVIDER")))
	if level == "" {
		level = strings.ToUpper(strings.TrimSpace(getenv("TF_LOG")))
	}
	switch level {
	case "":
		return "OFF", true
	case "JSON":
		return "TRACE", true
	case "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF":
		return level, true
	}
	// Terraform reads any other value as TRACE, and so does the framework
	// when its variable is left unset.
	return "", false
}

// SetFrameworkLogLevel sets TF_LOG_SDK_FRAMEWORK for this process to the
// level Terraform shows the provider's logs at, unless the user set it. Call
// it before serving when Terraform started the provider (not in debug mode,
// where the provider's own stderr is the log).
func SetFrameworkLogLevel() {
	if level, ok := frameworkLogLevel(os.Getenv); ok {
		_ = os.Setenv(envFrameworkLogLevel, level)
	}
}
