package pdp

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// RequestMeta carries per-request facts for the decision log.
type RequestMeta struct {
	RequestID string
}

// cprLike matches anything shaped like a CPR number (DDMMYY-XXXX, with or
// without the dash, KOT letters included, fictitious days 61-91 too).
// Decision logs mask every match.
var cprLike = regexp.MustCompile(`\b([0-36-9][0-9][01][0-9][0-9]{2})-?([0-9A-Za-z]{4})\b`)

// MaskCPR replaces every CPR-shaped substring of s with DDMMYY-****.
func MaskCPR(s string) string {
	if len(s) < 10 {
		return s
	}
	return cprLike.ReplaceAllString(s, "$1-****")
}

// secretKeys are input fields whose values never reach a log.
var secretKeys = map[string]bool{"password": true, "new_password": true, "code": true, "token": true, "cpr": true}

// maskValue returns a copy of a decoded JSON value with CPR-shaped strings
// masked and secret fields replaced.
func maskValue(v any) any {
	switch x := v.(type) {
	case string:
		return MaskCPR(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, vv := range x {
			if secretKeys[strings.ToLower(k)] {
				out[k] = "***"
				continue
			}
			out[k] = maskValue(vv)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, vv := range x {
			out[i] = maskValue(vv)
		}
		return out
	default:
		return v
	}
}

// finish records metrics and the decision-log line of a login decision.
func (e *Engine) finish(_ context.Context, path string, req *LoginRequest, d *Decision, meta RequestMeta, start time.Time) {
	elapsed := time.Since(start)
	result, reason := "deny", ""
	if d.Allow {
		result = "allow"
	} else {
		for _, r := range d.Reasons {
			if !r.Info {
				reason = r.Code
				break
			}
		}
	}
	e.metrics.decisions.WithLabelValues(path, result, reason).Inc()
	e.metrics.latency.WithLabelValues(path).Observe(elapsed.Seconds())
	if e.declog == nil {
		return
	}
	ev := e.declog.Info().
		Str("decision_id", d.DecisionID).
		Str("request_id", meta.RequestID).
		Str("path", path).
		Dict("input", zerolog.Dict().
			Str("subject_id", MaskCPR(req.Subject.ID)).
			Str("cvr", req.Subject.CVR).
			Str("p_number", req.Subject.PNumber).
			Str("kind", req.Subject.Kind).
			Bool("cpr_linked", req.Subject.CPRLinked).
			Str("auth_method", req.Subject.AuthMethod).
			Str("service", req.Service).
			Str("right", req.Right).
			Str("target_p_number", req.PNumber)).
		Bool("allow", d.Allow).
		Str("reason", reason).
		Uint64("revision", d.Revision).
		Str("policy", d.Policy).
		Dur("latency", elapsed)
	codes := zerolog.Arr()
	for _, r := range d.Reasons {
		codes.Str(r.Code)
	}
	ev.Array("reasons", codes).Msg("decision")
}

// logGeneric records a decision-log line for a Data API or AuthZEN
// evaluation of arbitrary input.
func (e *Engine) logGeneric(path, decisionID string, input any, result any, meta RequestMeta, start time.Time, revision uint64) {
	elapsed := time.Since(start)
	allow, isBool := result.(bool)
	res := "other"
	if isBool {
		res = "deny"
		if allow {
			res = "allow"
		}
	}
	label := path
	if !strings.HasPrefix(path, "authzen:") { // the configured entrypoint
		label = e.metricPath(path)
	}
	e.metrics.decisions.WithLabelValues(label, res, "").Inc()
	e.metrics.latency.WithLabelValues(label).Observe(elapsed.Seconds())
	if e.declog == nil {
		return
	}
	e.declog.Info().
		Str("decision_id", decisionID).
		Str("request_id", meta.RequestID).
		Str("path", path).
		Interface("input", maskValue(input)).
		Interface("result", maskValue(result)).
		Uint64("revision", revision).
		Dur("latency", elapsed).
		Msg("decision")
}
