package pdp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/adgang/adgang/store"
)

// maxBody bounds a request body read with DecodeJSON (the admin API's
// bodies too); decision routes are bounded tighter by MaxDecisionBody.
const maxBody = 1 << 20

// MaxDecisionBody bounds every request body on the decision listener,
// counted after gzip decompression (SPEC §8); a larger one is answered 413
// {error:{code:"too_large"}} before any handler sees it.
const MaxDecisionBody = 64 << 10

// MaxIdentifier bounds every identifier and name field of login and
// AuthZEN requests, in bytes (SPEC §8); a longer one is answered 400.
const MaxIdentifier = 256

// Handler returns the decision listener's HTTP API. Every route is here.
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/decisions/login", e.handleLogin)
	mux.HandleFunc("POST /v1/authn/password", e.handlePassword)
	mux.HandleFunc("POST /v1/data/{path...}", e.handleDataAPI)
	mux.HandleFunc("GET /v1/data/{path...}", e.handleDataAPI)
	mux.HandleFunc("POST /v1/data", e.handleDataAPI)
	mux.HandleFunc("GET /v1/data", e.handleDataAPI)
	mux.HandleFunc("POST /access/v1/evaluation", e.handleEvaluation)
	mux.HandleFunc("POST /access/v1/evaluations", e.handleEvaluations)
	mux.HandleFunc("GET /.well-known/authzen-configuration", e.handleAuthZENConfig)
	mux.HandleFunc("POST /access/v1/search/subject", e.handleSearch(searchSubject))
	mux.HandleFunc("POST /access/v1/search/resource", e.handleSearch(searchResource))
	mux.HandleFunc("POST /access/v1/search/action", e.handleSearch(searchAction))
	mux.HandleFunc("POST /v1/privileges", e.handlePrivileges)
	mux.HandleFunc("GET /health", e.handleHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.cfg.Registry, promhttp.HandlerOpts{}))
	// OPA Data API parity (issue 16): the default decision and the batch API.
	mux.HandleFunc("POST /{$}", e.handleDefaultDecision)
	mux.HandleFunc("POST /v1/batch/data/{path...}", e.handleBatchData)
	mux.HandleFunc("POST /v1/batch/data", e.handleBatchData)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, store.Errorf(store.ENotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	return withRequestID(e.withDurableLog(limitBody(mux)))
}

// limitBody enforces MaxDecisionBody on every decision route: the body is
// read up front (gzip decompressed when Content-Encoding says so), so no
// handler, cache or log ever holds more than MaxDecisionBody of it.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// The wire bound leaves room for gzip's framing around a body that
		// is at the limit once decompressed.
		var src io.Reader = http.MaxBytesReader(w, r.Body, MaxDecisionBody+4096)
		switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
		case "", "identity":
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(src)
			if err != nil {
				if tooLarge(err) {
					writeTooLarge(w)
					return
				}
				WriteError(w, store.Errorf(store.EInvalid, "malformed gzip body"))
				return
			}
			defer zr.Close()
			src = zr
		default:
			WriteJSON(w, http.StatusUnsupportedMediaType, ErrorBody{Error: ErrorDetail{Code: "unsupported_encoding",
				Message: "Content-Encoding must be gzip or identity"}})
			return
		}
		body, err := io.ReadAll(io.LimitReader(src, MaxDecisionBody+1))
		switch {
		case tooLarge(err) || err == nil && len(body) > MaxDecisionBody:
			writeTooLarge(w)
			return
		case err != nil:
			WriteError(w, store.Errorf(store.EInvalid, "request body unreadable or malformed gzip"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Content-Encoding")
		next.ServeHTTP(w, r)
	})
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// writeTooLarge answers 413 {error:{code:"too_large"}}.
func writeTooLarge(w http.ResponseWriter) {
	WriteJSON(w, http.StatusRequestEntityTooLarge, ErrorBody{Error: ErrorDetail{Code: store.ReasonTooLarge,
		Message: fmt.Sprintf("request body larger than %d bytes (after decompression)", MaxDecisionBody)}})
}

// checkLen refuses a field value longer than MaxIdentifier bytes.
func checkLen(field, v string) error {
	if len(v) > MaxIdentifier {
		return store.Errorf(store.EInvalid, "%s is longer than %d bytes", field, MaxIdentifier)
	}
	return nil
}

// withRequestID echoes X-Request-ID (AuthZEN) and makes one (a UUID)
// when the client sent none, so every decision-log line has one.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if id == "" {
			id = uuid.NewString()
			r.Header.Set("X-Request-ID", id)
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r)
	})
}

func meta(r *http.Request) RequestMeta {
	return RequestMeta{RequestID: r.Header.Get("X-Request-ID"), pending: pendingFrom(r.Context())}
}

// ErrorBody is the JSON error shape of every Adgang API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes one error: a code, a safe message and the rule ID
// that refused the request, if any.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Rule    string `json:"rule,omitempty"`
}

// StatusOf maps an error to its HTTP status; the one place that does.
func StatusOf(err error) int {
	var e *store.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.Code {
	case store.EInvalid:
		if e.Rule != "" {
			return http.StatusUnprocessableEntity
		}
		return http.StatusBadRequest
	case store.ENotFound:
		return http.StatusNotFound
	case store.EConflict:
		return http.StatusConflict
	case store.EForbidden:
		return http.StatusForbidden
	case store.EUnauthorized:
		return http.StatusUnauthorized
	case store.ERateLimited:
		return http.StatusTooManyRequests
	case store.EInsufficientStorage:
		return http.StatusInsufficientStorage
	default:
		return http.StatusInternalServerError
	}
}

// WriteError writes err as {error:{code,message,rule}} with its status.
// Internal errors are not described to the client.
func WriteError(w http.ResponseWriter, err error) {
	WriteJSON(w, StatusOf(err), ErrorBody{Error: DetailOf(err)})
}

// DetailOf is the JSON error detail of err as WriteError answers it: the
// reason code, a masked message and the rule; internals are hidden.
func DetailOf(err error) ErrorDetail {
	var e *store.Error
	if errors.As(err, &e) && e.Code != store.EInternal {
		return ErrorDetail{Code: e.ReasonCode(), Message: MaskCPR(e.Message), Rule: e.Rule}
	}
	return ErrorDetail{Code: store.EInternal, Message: "internal error"}
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DecodeJSON reads a JSON body strictly: bounded size, unknown fields and
// trailing data refused.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return store.Errorf(store.EInvalid, "request body larger than %d bytes", maxBody)
		}
		if terr, ok := store.TimeFieldError(err); ok {
			return terr
		}
		return store.Errorf(store.EInvalid, "malformed JSON body: %s", MaskCPR(err.Error()))
	}
	if dec.More() {
		return store.Errorf(store.EInvalid, "malformed JSON body: trailing data")
	}
	return nil
}

func (e *Engine) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, err)
		return
	}
	d, err := e.loginAnswer(r.Context(), &req, meta(r))
	if err != nil {
		WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	buf := answerBufs.Get().(*[]byte)
	*buf = d.appendJSON((*buf)[:0])
	_, _ = w.Write(*buf)
	if cap(*buf) <= 64<<10 {
		answerBufs.Put(buf)
	}
}

// answerBufs recycles the login answers' write buffers.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// --- OPA Data API ---

func validSegment(s string) bool {
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func rawJSONValue(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
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

// --- health ---

type healthPolicy struct {
	// Status is "ok", or "refused" while a changed set on disk was refused
	// and the previous set keeps serving.
	Status   string    `json:"status"`
	ID       string    `json:"id,omitempty"`
	LoadedAt time.Time `json:"loaded_at,omitzero"`
	Tests    int       `json:"tests"`
	Error    string    `json:"error,omitempty"`
}

type healthStore struct {
	Kind     string `json:"kind"` // StoreKind
	Revision uint64 `json:"revision"`
	Error    string `json:"error,omitempty"`
}

type healthBody struct {
	Status  string   `json:"status"`
	Reasons []string `json:"reasons"` // why status is not ok; empty when it is
	// Revision is the store revision this node has applied (as store.revision).
	Revision uint64       `json:"revision"`
	Policy   healthPolicy `json:"policy"`
	Store    healthStore  `json:"store"`
}

// handleHealth is ready (200) only when a policy set is loaded and the
// store is usable; a refused reload makes it "degraded" (still 200, with
// the reason), since the previous set keeps serving.
func (e *Engine) handleHealth(w http.ResponseWriter, _ *http.Request) {
	body := healthBody{Status: "ok", Reasons: []string{}, Store: healthStore{Kind: StoreKind}}
	if ps := e.policy.Load(); ps != nil {
		body.Policy = healthPolicy{Status: "ok", ID: ps.ID, LoadedAt: ps.LoadedAt, Tests: ps.Tests}
	} else {
		body.Status, body.Policy.Status = "unavailable", "none"
		body.Reasons = append(body.Reasons, "policy_unavailable: no policy set is loaded")
	}
	if body.Policy.Error = e.PolicyError(); body.Policy.Error != "" {
		body.Policy.Status = "refused"
		if body.Status == "ok" {
			body.Status = "degraded"
		}
		body.Reasons = append(body.Reasons, "policy_refused: the policy set on disk was refused; the previous set keeps serving: "+body.Policy.Error)
	}
	if err := e.store.Healthy(); err != nil {
		body.Reasons = append(body.Reasons, "store_unavailable: "+err.Error())
		body.Status = "unavailable"
		body.Store.Error = err.Error()
	} else {
		body.Store.Revision = e.store.Revision()
		body.Revision = body.Store.Revision
	}
	status := http.StatusOK
	if body.Status == "unavailable" {
		status = http.StatusServiceUnavailable
	}
	WriteJSON(w, status, body)
}
