package pdp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	opametrics "github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/server/types"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/adgang/adgang/store"
)

// OPA Data API parity (issue 16): the decision listener answers
// GET/POST /v1/data/{path}, POST / (the default decision) and
// POST /v1/batch/data/{path} as `opa run --server` of go.mod's OPA
// version does — its query parameters (explain, metrics, pretty,
// provenance, instrument, strict-builtin-errors), GET's ?input=, numeric
// path segments as array indexes, the missing-input warning and its error
// body {code, message, errors} — written with OPA's own server types and
// writer. Login requests to adgang/login… paths are still answered over
// the store-enriched input, as at /v1/decisions/login.

// DefaultDecision is the rule POST / evaluates when Config.DefaultDecision
// is empty.
const DefaultDecision = "adgang/login/decision"

// DataOpts are a Data API request's query parameters (OPA's names).
type DataOpts struct {
	Explain    types.ExplainModeV1 // ?explain=
	Pretty     bool                // ?pretty
	Metrics    bool                // ?metrics
	Instrument bool                // ?instrument
	Provenance bool                // ?provenance
	Strict     bool                // ?strict-builtin-errors
}

// pathRef turns a URL path into a data reference as OPA does: each
// segment is unescaped; an integer segment is an array index.
func pathRef(p string) (ast.Ref, error) {
	ref := ast.Ref{ast.DefaultRootDocument}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		if y, err := url.PathUnescape(seg); err == nil {
			seg = y
		}
		if strings.Contains(seg, `"`) {
			return nil, fmt.Errorf("invalid ref term '%s'", seg)
		}
		if i, ok := util.Atoi64(seg); ok {
			ref = append(ref, ast.InternedTerm(i))
		} else {
			ref = append(ref, ast.InternedTerm(seg))
		}
	}
	return ref, nil
}

// DataQuery is a prepared Data API query and what it was asked with.
type DataQuery struct {
	Ref  ast.Ref
	Path string // the ref as a slash path, for the decision log and metrics
}

// NewDataQuery is the query of a Data API path (segments unescaped, an
// integer segment an array index); an invalid path is OPA's
// invalid_parameter error.
func NewDataQuery(p string) (*DataQuery, *types.ErrorV1) {
	ref, err := pathRef(p)
	if err != nil {
		return nil, types.NewErrorV1(types.CodeInvalidParameter, "invalid path: %v", err)
	}
	parts := make([]string, 0, len(ref)-1)
	for _, t := range ref[1:] {
		if s, ok := t.Value.(ast.String); ok {
			parts = append(parts, string(s))
		} else {
			parts = append(parts, t.Value.String())
		}
	}
	return &DataQuery{Ref: ref, Path: strings.Join(parts, "/")}, nil
}

// preparedData returns the prepared query of ref (strict: with strict
// builtin errors), preparing and caching it per policy set.
func (ps *PolicySet) preparedData(ctx context.Context, ref ast.Ref, strict bool) (*rego.PreparedEvalQuery, error) {
	key := "dataapi:" + ref.String()
	if strict {
		key = "dataapi:strict:" + ref.String()
	}
	ps.mu.Lock()
	pq, ok := ps.prepared[key]
	ps.mu.Unlock()
	if ok {
		return pq, nil
	}
	body, err := ast.ParseBody(ref.String())
	if err != nil {
		return nil, types.NewErrorV1(types.CodeInvalidParameter, "invalid path: failed to parse query")
	}
	q, err := rego.New(
		rego.ParsedQuery(body),
		rego.Compiler(ps.compiler),
		rego.Store(ps.store),
		rego.StrictBuiltinErrors(strict),
		rego.StackTraces(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	ps.mu.Lock()
	if len(ps.prepared) < 1024 { // bound the cache: refs come from clients
		ps.prepared[key] = &q
	}
	ps.mu.Unlock()
	return &q, nil
}

// storeFacts are the login input's fields that come from the store.
var storeFacts = []string{"user", "grants", "rights", "org", "grant_orgs", "certificate"}

// noStoreFacts refuses a data.adgang.login input that is not a login
// request but carries the facts the store provides: a client must not be
// able to read "allow" for a user, grants or rights it made up.
func noStoreFacts(input ast.Value) error {
	obj, ok := input.(ast.Object)
	if !ok {
		return nil
	}
	for _, k := range storeFacts {
		if obj.Get(ast.StringTerm(k)) != nil {
			return store.Errorf(store.EInvalid, "data.adgang.login reads %s from the store: send a login request (subject, service) as input", k)
		}
	}
	return nil
}

// DataResult is one Data API evaluation's outcome.
type DataResult struct {
	Result   *any // nil: undefined
	Explain  types.TraceV1
	Revision uint64 // the store revision the answer reflects
}

// EvalData evaluates q over input (nil: no input) with opts; rawInput is
// the input's JSON (for the store-enriched login paths) or nil.
func (e *Engine) EvalData(ctx context.Context, q *DataQuery, input ast.Value, rawInput []byte, decisionID string, o DataOpts, m opametrics.Metrics) (DataResult, error) {
	if q.Path == "adgang/login" || strings.HasPrefix(q.Path, "adgang/login/") {
		if res, ok, err := e.enrichedLogin(ctx, refQuery(q.Ref), rawInput, decisionID); ok || err != nil {
			if err != nil {
				return DataResult{}, err
			}
			out := DataResult{Revision: res.revision}
			if res.result != nil {
				v := res.result
				out.Result = &v
			}
			return out, nil
		}
		if err := noStoreFacts(input); err != nil {
			return DataResult{}, err
		}
	}
	ps := e.policy.Load()
	if ps == nil {
		return DataResult{}, types.NewErrorV1(types.CodeInternal, "no policy loaded")
	}
	pq, err := ps.preparedData(ctx, q.Ref, o.Strict)
	if err != nil {
		return DataResult{}, err
	}
	var buf *topdown.BufferTracer
	if o.Explain != types.ExplainOffV1 {
		buf = topdown.NewBufferTracer()
	}
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input), rego.EvalMetrics(m), rego.EvalQueryTracer(buf), rego.EvalInstrument(o.Instrument))
	if err != nil {
		return DataResult{}, err
	}
	out := DataResult{Revision: e.store.Revision()}
	if len(rs) > 0 {
		v := rs[0].Expressions[0].Value
		out.Result = &v
	}
	if buf != nil && (out.Result != nil || o.Explain == types.ExplainFullV1) {
		out.Explain = explanation(o, *buf)
	}
	return out, nil
}

// refQuery is the query string enrichedLogin knows a login ref by.
func refQuery(ref ast.Ref) string {
	q := "data"
	for _, t := range ref[1:] {
		if s, ok := t.Value.(ast.String); ok {
			q += fmt.Sprintf("[%q]", string(s))
		} else {
			q += "[" + t.Value.String() + "]"
		}
	}
	return q
}

// explanation is the trace OPA answers for o.Explain.
func explanation(o DataOpts, trace []*topdown.Event) types.TraceV1 {
	var events []*topdown.Event
	switch o.Explain {
	case types.ExplainNotesV1:
		events = lineage.Notes(trace)
	case types.ExplainFailsV1:
		events = lineage.Fails(trace)
	case types.ExplainFullV1:
		events = lineage.Full(trace)
	case types.ExplainDebugV1:
		events = lineage.Debug(trace)
	}
	t, err := types.NewTraceV1(events, o.Pretty)
	if err != nil {
		return nil
	}
	return t
}

// DefaultDecisionPath is the rule POST / evaluates: Config.DefaultDecision
// or DefaultDecision.
func (e *Engine) DefaultDecisionPath() string {
	if d := strings.Trim(e.cfg.DefaultDecision, "/"); d != "" {
		return d
	}
	return DefaultDecision
}

// HasRules reports whether the serving policy set defines rules at ref
// (an undefined answer then says the document was found but undefined).
func (e *Engine) HasRules(ref ast.Ref) bool {
	ps := e.policy.Load()
	return ps != nil && len(ps.compiler.GetRulesForVirtualDocument(ref)) > 0
}

// JSONValue is raw decoded as JSON, nil when empty or malformed: the
// input as a decision-log line records it.
func JSONValue(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return v
}
