package pdp

import (
	"encoding/json"
	"time"

	"github.com/rs/zerolog"
)

// Every decision-log line, login or Data API/AuthZEN, carries the same
// fields: decision_id, request_id, path, input, allow, reason, reasons,
// rights, revision, policy and latency_ms (a Data API line also its masked
// result). allow is null when a result is neither a boolean nor an object
// with one.

// latencyMS is a duration in milliseconds, the unit its field names.
func latencyMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// logRights is the rights of a decision for the log, decoded from the
// encoded answer when the decision came from the cache in compact form.
func (d *Decision) logRights() []RightScope {
	if !d.compact {
		return d.Rights
	}
	var full decisionBody
	if json.Unmarshal(append([]byte{'{'}, d.body...), &full) != nil {
		return nil
	}
	return full.Rights
}

// rightsArray is the log form of rights: [{right, scope}].
func rightsArray(rs []RightScope) *zerolog.Array {
	arr := zerolog.Arr()
	for _, r := range rs {
		arr.Interface(r)
	}
	return arr
}

// resultFacts reads allow, the first denying reason code, the reason codes
// and the rights of a (masked) Data API or AuthZEN result: a boolean, or an
// object shaped like the login decision.
func resultFacts(result any) (allow any, reason string, codes, rights *zerolog.Array) {
	codes, rights = zerolog.Arr(), zerolog.Arr()
	switch resultLabel(result) {
	case "allow":
		allow = true
	case "deny":
		allow = false
	}
	m, ok := result.(map[string]any)
	if !ok {
		return allow, "", codes, rights
	}
	if rs, ok := m["reasons"].([]any); ok {
		for _, r := range rs {
			rm, _ := r.(map[string]any)
			code, _ := rm["code"].(string)
			if code == "" {
				continue
			}
			codes.Str(code)
			if info, _ := rm["info"].(bool); !info && reason == "" && allow == false {
				reason = code
			}
		}
	}
	if rs, ok := m["rights"].([]any); ok {
		for _, r := range rs {
			rights.Interface(r)
		}
	}
	return allow, reason, codes, rights
}
