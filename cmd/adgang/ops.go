package main

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	opaversion "github.com/open-policy-agent/opa/v1/version"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	pdpapi "github.com/adgang/adgang/pdp/api"
)

// commit is set at build time with -ldflags "-X main.commit=…" (the
// Makefile does, from git); without it the VCS stamp of the build is used.
var commit = ""

// versionInfo is what `adgang version` and `adgang --version` print: the
// version and commit (from the Makefile's ldflags, else from the Go build
// info), the Go version and the embedded OPA's version.
func versionInfo() string {
	v, c := version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if c == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("adgang %s\ncommit: %s\ngo: %s\nopa: %s\n", v, c, runtime.Version(), opaversion.Version)
}

// logLevels are the values --log-level takes.
var logLevels = []string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}

// parseLogLevel validates --log-level; an unknown level is a usage error
// (exit 2) that lists the levels.
func parseLogLevel(s string) (zerolog.Level, error) {
	for _, l := range logLevels {
		if strings.EqualFold(s, l) {
			return zerolog.ParseLevel(l)
		}
	}
	return zerolog.NoLevel, usageError(fmt.Sprintf("adgang serve: --log-level %q is not a level; use one of %s (env ADGANG_LOG_LEVEL)\n",
		s, strings.Join(logLevels, ", ")))
}

// withOps serves GET /health and GET /metrics beside the admin API on the
// admin listener (SPEC §8: the admin listener answers the same /health and
// serves /metrics); every other request goes to the admin API.
func withOps(h http.Handler, eng *pdp.Engine) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /health", pdpapi.HealthHandler(eng))
	mux.Handle("GET /metrics", pdpapi.MetricsHandler(eng))
	mux.Handle("/", h)
	return mux
}

// logStarted writes the start line an operator looks for: version, policy
// set, data directory and listeners.
func (m *Main) logStarted() {
	ev := m.Logger.Info().Str("version", version).Str("commit", commit).Str("policy", m.Engine.PolicyID()).
		Str("policy_dir", m.Config.PoliciesDir).Str("data", m.Config.DataDir).
		Str("decision_url", m.DecisionURL).Str("admin_url", m.AdminURL)
	if m.Config.Console {
		ev = ev.Str("console_url", m.AdminURL+"/console/")
	}
	ev.Dur("shutdown_grace", m.grace()).Msg("adgang started")
}

// grace is --shutdown-grace: how long Close lets in-flight requests
// finish (default shutdownGrace).
func (m *Main) grace() time.Duration {
	if m.Config.ShutdownGrace > 0 {
		return m.Config.ShutdownGrace
	}
	return shutdownGrace
}

// shutdownBound bounds the whole shutdown: the grace period and 5 s more
// for the store to close (see closeWithin).
func (m *Main) shutdownBound() time.Duration { return m.grace() + shutdownLimit - shutdownGrace }
