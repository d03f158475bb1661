package pdp

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

// RequestMeta carries per-request facts for the decision log.
type RequestMeta struct {
	RequestID string
	// pending collects the request's stored-log writes in lossless mode.
	pending *pendingLog
}

// cprLike matches anything shaped like a CPR number (DDMMYY-XXXX, with or
// without the dash, KOT letters included, fictitious days 61-91 too): a
// day and a month that can be a date, so 10-digit P-numbers such as
// 1000000001 (month 00) are not taken for one. Free text is masked by it.
var cprLike = regexp.MustCompile(`\b((?:0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])(?:0[1-9]|1[0-2])[0-9]{2})-?([0-9A-Za-z]{4})\b`)

// MaskCPR replaces every CPR-shaped substring of s with DDMMYY-****. It is
// meant for free text (messages, names, e-mails); a field known to hold an
// identifier such as a P-number is not passed through it (see maskValue).
func MaskCPR(s string) string {
	if len(s) < 10 {
		return s
	}
	return cprLike.ReplaceAllString(s, "$1-****")
}

// secretKeys are fields whose values never reach a log, in any input.
var secretKeys = map[string]bool{"password": true, "new_password": true, "token": true, "secret": true}

// cprKeys are fields that hold a CPR number: logged in the masked form.
var cprKeys = map[string]bool{"cpr": true, "cpr_number": true, "cpr_nummer": true, "personnummer": true}

// identifierKeys are fields that hold an identifier which is never a CPR
// number: a valid value is logged as it is (a P-number stays a P-number);
// an invalid one is masked like free text.
var identifierKeys = map[string]func(string) error{
	"cvr": store.ValidCVR, "se_number": store.ValidSE, "se_numbers": store.ValidSE,
	"p_number": store.ValidPNumber, "p_numbers": store.ValidPNumber, "target_p_number": store.ValidPNumber,
}

// maskValue returns a copy of a decoded JSON value for the decision log,
// masked by what each field is: secrets are replaced, CPR fields masked,
// valid identifiers (p_number, cvr, se_number, …) kept, and everything
// else (free text, unknown fields, keys, CPR-shaped numbers) masked by
// shape. In an input, "code" is a secret (an activation or one-time
// code); in a result it is a reason code and kept.
func maskValue(v any, inResult bool) any {
	return maskField("", v, inResult)
}

func maskField(key string, v any, inResult bool) any {
	k := strings.ToLower(key)
	switch {
	case secretKeys[k] || k == "code" && !inResult:
		return "***"
	case cprKeys[k]:
		return maskCPRField(v)
	}
	switch x := v.(type) {
	case string:
		if valid := identifierKeys[k]; valid != nil && valid(x) == nil {
			return x
		}
		return MaskCPR(x)
	case float64:
		return maskNumber(x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			if m, ok := maskNumber(f).(string); ok {
				return m
			}
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for kk, vv := range x {
			out[MaskCPR(kk)] = maskField(kk, vv, inResult)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, vv := range x {
			out[i] = maskField(key, vv, inResult) // list elements are what the list's key names
		}
		return out
	default:
		return v
	}
}

// maskNumber masks a number whose ten digits (a leading zero is lost in
// JSON) read as a CPR number; any other number is returned as it is.
func maskNumber(f float64) any {
	if f < 1e8 || f >= 1e10 || f != float64(int64(f)) {
		return f
	}
	s := strconv.FormatInt(int64(f), 10)
	if len(s) == 9 {
		s = "0" + s
	}
	if m := MaskCPR(s); m != s {
		return m
	}
	return f
}

// maskCPRField masks the value of a CPR field whatever its shape.
func maskCPRField(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return x
		}
		return store.MaskCPR(x)
	case nil, bool:
		return v
	default:
		return "******-****"
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
	if e.dlog != nil {
		e.storeDecision(meta, e.loginRecord(path, req, d, e.now()))
	}
	if e.declog == nil {
		return
	}
	ev := e.declog.Info().
		Str("decision_id", d.DecisionID).
		Str("request_id", MaskCPR(meta.RequestID)).
		Str("path", path).
		// cvr and the P-numbers were validated (Validate): identifiers,
		// kept; every other client-chosen string is masked by shape.
		Dict("input", zerolog.Dict().
			Str("subject_id", MaskCPR(req.Subject.ID)).
			Str("cvr", req.Subject.CVR).
			Str("p_number", req.Subject.PNumber).
			Str("kind", req.Subject.Kind).
			Bool("cpr_linked", req.Subject.CPRLinked).
			Str("auth_method", MaskCPR(req.Subject.AuthMethod)).
			Str("service", MaskCPR(req.Service)).
			Str("right", MaskCPR(req.Right)).
			Str("target_p_number", req.PNumber)).
		Bool("allow", d.Allow).
		Str("reason", reason).
		Array("rights", rightsArray(d.logRights())).
		Uint64("revision", d.Revision).
		Str("policy", d.Policy).
		Float64("latency_ms", latencyMS(elapsed))
	codes := zerolog.Arr()
	for _, r := range d.Reasons {
		codes.Str(r.Code)
	}
	ev.Array("reasons", codes).Msg("decision")
}

// LogGeneric records a decision-log line for a Data API or AuthZEN
// evaluation of arbitrary input.
func (e *Engine) LogGeneric(path, decisionID string, input any, result any, meta RequestMeta, start time.Time, revision uint64) {
	elapsed := time.Since(start)
	res := resultLabel(result)
	label := path
	if !strings.HasPrefix(path, "authzen:") { // the configured entrypoint
		label = e.metricPath(path)
	}
	e.metrics.decisions.WithLabelValues(label, res, "").Inc()
	e.metrics.latency.WithLabelValues(label).Observe(elapsed.Seconds())
	if e.dlog != nil {
		e.storeDecision(meta, e.genericRecord(path, decisionID, input, result, revision, e.now()))
	}
	if e.declog == nil {
		return
	}
	masked := maskValue(result, true)
	allow, reason, codes, rights := resultFacts(masked)
	e.declog.Info().
		Str("decision_id", decisionID).
		Str("request_id", MaskCPR(meta.RequestID)).
		Str("path", MaskCPR(path)).
		RawJSON("input", boundedInput(maskValue(input, false))).
		Interface("result", masked).
		Interface("allow", allow).
		Str("reason", reason).
		Array("rights", rights).
		Uint64("revision", revision).
		Str("policy", e.PolicyID()).
		Float64("latency_ms", latencyMS(elapsed)).
		Array("reasons", codes).
		Msg("decision")
}

// maxLoggedInput bounds the input one decision-log line or stored record
// carries: a batch request may fan one 64 KiB body out into 1000
// decisions (common_input), which would otherwise write 1000 copies of it.
const maxLoggedInput = 8 << 10

// boundedInput is the JSON of a masked input, or {"truncated":true,
// "bytes":N} when it is larger than maxLoggedInput.
func boundedInput(masked any) []byte {
	b, err := json.Marshal(masked)
	if err != nil {
		return []byte(`{"unencodable":true}`)
	}
	if len(b) > maxLoggedInput {
		return []byte(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(b)))
	}
	return b
}
