package pdp

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/adgang/adgang/store"
)

// MaxIdentifier bounds every identifier and name field of login and
// AuthZEN requests, in bytes (SPEC §8); a longer one is answered 400.
const MaxIdentifier = 256

// CheckLen refuses a field value longer than MaxIdentifier bytes.
func CheckLen(field, v string) error {
	if len(v) > MaxIdentifier {
		return store.Errorf(store.EInvalid, "%s is longer than %d bytes", field, MaxIdentifier)
	}
	return nil
}

// --- OPA Data API ---

func validSegment(s string) bool {
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

type evalResult struct {
	result   any
	revision uint64
}

// enrichedLogin evaluates a data.adgang.login… query over the store-enriched
// input when rawInput is a login request. ok is false when it is not one.
func (e *Engine) enrichedLogin(ctx context.Context, query string, rawInput []byte, decisionID string) (evalResult, bool, error) {
	if len(rawInput) == 0 {
		return evalResult{}, false, nil
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(rawInput, &probe) != nil || probe["subject"] == nil {
		return evalResult{}, false, nil
	}
	var req LoginRequest
	dec := json.NewDecoder(bytes.NewReader(rawInput))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return evalResult{}, true, store.Errorf(store.EInvalid, "input is not a login request: %s", MaskCPR(err.Error()))
	}
	if err := req.Validate(); err != nil {
		return evalResult{}, true, err
	}
	ps := e.policy.Load()
	if ps == nil {
		return evalResult{}, true, store.Errorf(store.EInternal, "no policy loaded")
	}
	view, err := e.store.LoginView(ctx, req.Subject.CVR, req.Subject.ID, req.Subject.CertificateSerial)
	if err != nil {
		e.metrics.storeErrors.Inc()
		// Fail closed in the shape a Data API client reads: the login
		// decision denies; other rules are undefined.
		if query == `data["adgang"]["login"]["decision"]` {
			d := failClosed(&Decision{DecisionID: decisionID}, ReasonStoreUnavailable, "the store could not be read")
			return evalResult{result: d}, true, nil
		}
		if query == `data["adgang"]["login"]["allow"]` {
			return evalResult{result: false}, true, nil
		}
		return evalResult{}, true, store.Errorf(store.EInternal, "store unavailable")
	}
	pq, err := ps.query(ctx, query)
	if err != nil {
		return evalResult{}, true, store.Errorf(store.EInvalid, "invalid query: %v", err)
	}
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(e.loginInput(&req, view)))
	if err != nil {
		return evalResult{}, true, store.Errorf(store.EInternal, "evaluation failed: %v", err)
	}
	res := evalResult{revision: view.Revision}
	if len(rs) > 0 && len(rs[0].Expressions) > 0 {
		res.result = rs[0].Expressions[0].Value
		if m, ok := res.result.(map[string]any); ok && m["knock"] == true {
			e.enqueueKnock(&req)
		}
	}
	return res, true, nil
}

// evalValue evaluates a data reference over an input built in input.go
// with the current policy set. An undefined result is nil.
func (e *Engine) evalValue(ctx context.Context, query string, input ast.Value) (any, error) {
	ps := e.policy.Load()
	if ps == nil {
		return nil, store.Errorf(store.EInternal, "no policy loaded")
	}
	pq, err := ps.query(ctx, query)
	if err != nil {
		return nil, store.Errorf(store.EInvalid, "invalid query: %v", err)
	}
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, store.Errorf(store.EInternal, "evaluation failed: %v", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	return rs[0].Expressions[0].Value, nil
}

// Evaluate evaluates a data reference (e.g. `data.todo.allow`) over a raw
// JSON input with the current policy set. An undefined result is nil.
func (e *Engine) Evaluate(ctx context.Context, query string, rawInput []byte) (any, uint64, error) {
	ps := e.policy.Load()
	if ps == nil {
		return nil, 0, store.Errorf(store.EInternal, "no policy loaded")
	}
	pq, err := ps.query(ctx, query)
	if err != nil {
		return nil, 0, store.Errorf(store.EInvalid, "invalid query: %v", err)
	}
	var opts []rego.EvalOption
	if len(rawInput) > 0 {
		v, err := ast.ValueFromReader(bytes.NewReader(rawInput))
		if err != nil {
			return nil, 0, store.Errorf(store.EInvalid, "malformed input: %s", MaskCPR(err.Error()))
		}
		opts = append(opts, rego.EvalParsedInput(v))
	}
	rs, err := pq.Eval(ctx, opts...)
	if err != nil {
		return nil, 0, store.Errorf(store.EInternal, "evaluation failed: %v", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, e.store.Revision(), nil
	}
	return rs[0].Expressions[0].Value, e.store.Revision(), nil
}

// Health states (GET /health).
const (
	HealthOK          = "ok"
	HealthDegraded    = "degraded"
	HealthUnavailable = "unavailable"
)

// HealthPolicy is the serving policy set in a Health report.
type HealthPolicy struct {
	// Status is "ok", or "refused" while a changed set on disk was refused
	// and the previous set keeps serving.
	Status   string    `json:"status"`
	ID       string    `json:"id,omitempty"`
	LoadedAt time.Time `json:"loaded_at,omitzero"`
	Tests    int       `json:"tests"`
	Error    string    `json:"error,omitempty"`
	// LoginEvaluator is what evaluates login decisions of this set now:
	// "plan" or "wasm", else "topdown" (configured so, not compiled and checked yet,
	// or refused by the check).
	LoginEvaluator string `json:"login_evaluator,omitempty"`
	// AdminEvaluator is what evaluates admin decisions (data.adgang.admin)
	// of this set now: "plan", else "topdown".
	AdminEvaluator string `json:"admin_evaluator,omitempty"`
}

// HealthStore is the store in a Health report.
type HealthStore struct {
	Kind     string `json:"kind"` // StoreKind ("badger") or the fleet's ("postgres")
	Revision uint64 `json:"revision"`
	Error    string `json:"error,omitempty"`
	// ReplicaLagMS is how long ago a fleet replica was last up to date
	// with the system of record (absent for a store on its own).
	ReplicaLagMS *int64 `json:"replica_lag_ms,omitempty"`
}

// Health is the GET /health answer: ready (ok) only when a policy set is
// loaded and the store is usable; a refused reload makes it degraded
// (the previous set keeps serving); unavailable otherwise.
type Health struct {
	Status  string   `json:"status"`
	Reasons []string `json:"reasons"` // why status is not ok; empty when it is
	// Revision is the store revision this node has applied (as store.revision).
	Revision uint64       `json:"revision"`
	Policy   HealthPolicy `json:"policy"`
	Store    HealthStore  `json:"store"`
}

// Health reports whether the engine can decide now.
func (e *Engine) Health(_ context.Context) Health {
	body := Health{Status: HealthOK, Reasons: []string{}, Store: HealthStore{Kind: StoreKind}}
	if ps := e.policy.Load(); ps != nil {
		body.Policy = HealthPolicy{Status: "ok", ID: ps.ID, LoadedAt: ps.LoadedAt, Tests: ps.Tests, LoginEvaluator: ps.LoginEvaluator(),
			AdminEvaluator: ps.AdminEvaluator()}
	} else {
		body.Status, body.Policy.Status = HealthUnavailable, "none"
		body.Reasons = append(body.Reasons, "policy_unavailable: no policy set is loaded")
	}
	if body.Policy.Error = e.PolicyError(); body.Policy.Error != "" {
		body.Policy.Status = "refused"
		if body.Status == HealthOK {
			body.Status = HealthDegraded
		}
		body.Reasons = append(body.Reasons, "policy_refused: the policy set on disk was refused; the previous set keeps serving: "+body.Policy.Error)
	}
	if err := e.store.Healthy(); err != nil {
		body.Reasons = append(body.Reasons, "store_unavailable: "+err.Error())
		body.Status = HealthUnavailable
		body.Store.Error = err.Error()
	} else {
		body.Store.Revision = e.store.Revision()
		body.Revision = body.Store.Revision
		e.storeHealth(&body)
	}
	return body
}
