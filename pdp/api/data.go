package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"
	opametrics "github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/server/types"
	"github.com/open-policy-agent/opa/v1/server/writer"
	"github.com/open-policy-agent/opa/v1/util"
	"github.com/open-policy-agent/opa/v1/version"

	"github.com/adgang/adgang/pdp"
)

// parseDataOpts reads the Data API query parameters of u.
func parseDataOpts(u *url.URL) pdp.DataOpts {
	return pdp.DataOpts{
		Explain:    explainParam(u),
		Pretty:     boolParam(u, types.ParamPrettyV1),
		Metrics:    boolParam(u, types.ParamMetricsV1),
		Instrument: boolParam(u, types.ParamInstrumentV1),
		Provenance: boolParam(u, types.ParamProvenanceV1),
		Strict:     boolParam(u, types.ParamStrictBuiltinErrors),
	}
}

// boolParam reads a boolean query parameter as OPA does: present without
// a value, or any value "true" (any case).
func boolParam(u *url.URL, name string) bool {
	if u.RawQuery == "" {
		return false
	}
	p, ok := u.Query()[name]
	if !ok {
		return false
	}
	if len(p) == 1 && p[0] == "" {
		return true
	}
	for _, x := range p {
		if strings.EqualFold(x, "true") {
			return true
		}
	}
	return false
}

func explainParam(u *url.URL) types.ExplainModeV1 {
	if u.RawQuery == "" {
		return types.ExplainOffV1
	}
	for _, x := range u.Query()[types.ParamExplainV1] {
		switch m := types.ExplainModeV1(x); m {
		case types.ExplainNotesV1, types.ExplainFailsV1, types.ExplainFullV1, types.ExplainDebugV1:
			return m
		}
	}
	return types.ExplainOffV1
}

// dataPath is the path after prefix of r's escaped URL path, "" for the
// root document.
func dataPath(r *http.Request, prefix string) string {
	p := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
	return strings.TrimPrefix(p, "/")
}

// provenance is OPA's provenance block: the embedded OPA's version and
// build (Adgang loads no bundles).
func provenance() *types.ProvenanceV1 {
	return &types.ProvenanceV1{Version: version.Version, Vcs: version.Vcs, Timestamp: version.Timestamp, Hostname: version.Hostname}
}

// writeOPAError writes err as OPA's server does: {code, message, errors}
// with OPA's status (OPA's own writer picks both by the error's type);
// Adgang's own errors keep their status and code. The answer is masked: a
// CPR number never leaves in an error.
func writeOPAError(w http.ResponseWriter, err error) {
	rec := newErrorRecorder()
	var ae *storeErr
	if errors.As(err, &ae) {
		d := DetailOf(ae.err)
		writer.Error(rec, StatusOf(ae.err), types.NewErrorV1(d.Code, "%s", d.Message))
	} else {
		writer.ErrorAuto(rec, err)
	}
	rec.flush(w)
}

// opaError writes an error of the given status and code in OPA's shape.
func opaError(w http.ResponseWriter, status int, code string, err error) {
	rec := newErrorRecorder()
	writer.ErrorString(rec, status, code, err)
	rec.flush(w)
}

// storeErr marks an Adgang error (store.Error) inside the Data API.
type storeErr struct{ err error }

func (s *storeErr) Error() string { return s.err.Error() }
func (s *storeErr) Unwrap() error { return s.err }

// readDataBody parses a POST /v1/data body as OPA does: JSON (or YAML by
// Content-Type) {input, …}; an empty body has no input.
func readDataBody(r *http.Request) (*types.DataRequestV1, []byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("body could not be read: %w", err)
	}
	var req types.DataRequestV1
	if strings.Contains(r.Header.Get("Content-Type"), "yaml") {
		if len(body) > 0 {
			if err := util.Unmarshal(body, &req); err != nil {
				return nil, nil, fmt.Errorf("body contains malformed input document: %w", err)
			}
		}
	} else if err := util.NewJSONDecoder(bytes.NewReader(body)).Decode(&req); err != nil && err != io.EOF {
		return nil, nil, fmt.Errorf("body contains malformed input document: %w", err)
	}
	return &req, body, nil
}

// inputValue converts a decoded input; raw is its JSON for the login paths.
func inputValue(x *any) (ast.Value, []byte, error) {
	if x == nil {
		return nil, nil, nil
	}
	v, err := ast.InterfaceToValue(*x)
	if err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(*x)
	if err != nil {
		return nil, nil, err
	}
	return v, raw, nil
}

// handleDataAPI serves GET and POST /v1/data[/{path}].
func (s *Server) handleDataAPI(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	m := opametrics.New()
	m.Timer(opametrics.ServerHandler).Start()
	o := parseDataOpts(r.URL)
	id := uuid.NewString()
	q, qerr := pdp.NewDataQuery(dataPath(r, "/v1/data"))
	m.Timer(opametrics.RegoInputParse).Start()
	var input ast.Value
	var raw []byte
	var goInput *any
	if r.Method == http.MethodGet {
		if inputs := r.URL.Query()[types.ParamInputV1]; len(inputs) > 0 {
			var x any
			if err := util.UnmarshalJSON([]byte(inputs[len(inputs)-1]), &x); err != nil {
				opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, fmt.Errorf("parameter contains malformed input document: %w", err))
				return
			}
			goInput = &x
		}
	} else {
		req, _, err := readDataBody(r)
		if err != nil {
			opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, err)
			return
		}
		goInput = req.Input
	}
	var err error
	if input, raw, err = inputValue(goInput); err != nil {
		opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, err)
		return
	}
	m.Timer(opametrics.RegoInputParse).Stop()
	if qerr != nil {
		writer.Error(w, http.StatusBadRequest, qerr)
		return
	}
	ev, err := s.eng.EvalData(r.Context(), q, input, raw, id, o, m)
	m.Timer(opametrics.ServerHandler).Stop()
	if err != nil {
		writeOPAError(w, wrapStoreErr(err))
		return
	}
	resp := types.DataResponseV1{DecisionID: id, Result: ev.Result, Explanation: ev.Explain}
	if r.Method == http.MethodPost && input == nil {
		resp.Warning = types.NewWarning(types.CodeAPIUsageWarn, types.MsgInputKeyMissing)
	}
	if o.Metrics || o.Instrument {
		resp.Metrics = m.All()
	}
	if o.Provenance {
		resp.Provenance = provenance()
	}
	s.eng.LogGeneric(q.Path, id, pdp.JSONValue(raw), resultValue(ev.Result), meta(r), start, ev.Revision)
	writer.JSONOK(w, resp, o.Pretty)
}

func resultValue(r *any) any {
	if r == nil {
		return nil
	}
	return *r
}

// wrapStoreErr marks Adgang's own errors so writeOPAError keeps their
// status; OPA's and Rego's errors go to OPA's writer as they are.
func wrapStoreErr(err error) error {
	var ev1 *types.ErrorV1
	if errors.As(err, &ev1) {
		return err
	}
	if _, ok := err.(interface{ ReasonCode() string }); ok {
		return &storeErr{err}
	}
	return err
}

// handleDefaultDecision serves POST /: OPA's default decision, the rule
// named by Config.DefaultDecision (default adgang/login/decision). The
// body is the input itself and the answer is the bare result; an
// undefined decision is 404 undefined_document.
func (s *Server) handleDefaultDecision(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := uuid.NewString()
	q, qerr := pdp.NewDataQuery(s.eng.DefaultDecisionPath())
	if qerr != nil {
		writer.Error(w, http.StatusBadRequest, qerr)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, errors.New("body could not be read"))
		return
	}
	var x any
	if strings.Contains(r.Header.Get("Content-Type"), "yaml") {
		if len(body) > 0 {
			err = util.Unmarshal(body, &x)
		}
	} else if derr := util.NewJSONDecoder(bytes.NewReader(body)).Decode(&x); derr != nil && derr != io.EOF {
		err = derr
	}
	if err != nil {
		opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, fmt.Errorf("unexpected parse error for input: body contains malformed input document: %w", err))
		return
	}
	input, raw, err := inputValue(&x)
	if err != nil {
		opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, err)
		return
	}
	ev, err := s.eng.EvalData(r.Context(), q, input, raw, id, pdp.DataOpts{}, opametrics.NoOp())
	if err != nil {
		writeOPAError(w, wrapStoreErr(err))
		return
	}
	s.eng.LogGeneric(q.Path, id, pdp.JSONValue(raw), resultValue(ev.Result), meta(r), start, ev.Revision)
	if ev.Result == nil {
		msg := types.MsgMissingError
		if s.eng.HasRules(q.Ref) {
			msg = types.MsgFoundUndefinedError
		}
		writer.Error(w, http.StatusNotFound, types.NewErrorV1(types.CodeUndefinedDocument, "%v: %v", msg, q.Ref))
		return
	}
	writer.JSONOK(w, *ev.Result, boolParam(r.URL, types.ParamPrettyV1))
}

// batchRequest is the body of POST /v1/batch/data/{path}: named inputs and
// a common input merged into each (the input's own values win).
type batchRequest struct {
	Inputs      map[string]*any `json:"inputs"`
	CommonInput *any            `json:"common_input"`
}

// batchItem is one answer of a batch: a DataResponseV1 or an error, with
// http_status_code when the batch is mixed (207).
type batchItem struct {
	HTTPStatusCode string              `json:"http_status_code,omitempty"`
	DecisionID     string              `json:"decision_id,omitempty"`
	Result         *any                `json:"result,omitempty"`
	Explanation    types.TraceV1       `json:"explanation,omitempty"`
	Metrics        types.MetricsV1     `json:"metrics,omitempty"`
	Provenance     *types.ProvenanceV1 `json:"provenance,omitempty"`
	Code           string              `json:"code,omitempty"`
	Message        string              `json:"message,omitempty"`
	Errors         []any               `json:"errors,omitempty"`
}

// handleBatchData serves POST /v1/batch/data/{path} (Enterprise OPA's
// batch API, open source since 2025): every input is evaluated as by
// POST /v1/data/{path}; 200 when all succeed, 500 when all fail, 207
// (each answer with http_status_code "200" or "500") when mixed.
func (s *Server) handleBatchData(w http.ResponseWriter, r *http.Request) {
	o := parseDataOpts(r.URL)
	batchID := uuid.NewString()
	q, qerr := pdp.NewDataQuery(dataPath(r, "/v1/batch/data"))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, errors.New("body could not be read"))
		return
	}
	var req batchRequest
	if err := util.NewJSONDecoder(bytes.NewReader(body)).Decode(&req); err != nil && err != io.EOF {
		opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, fmt.Errorf("body contains malformed input document: %w", err))
		return
	}
	if qerr != nil {
		writer.Error(w, http.StatusBadRequest, qerr)
		return
	}
	if len(req.Inputs) > 1000 {
		opaError(w, http.StatusBadRequest, types.CodeInvalidParameter, errors.New("at most 1000 inputs per batch"))
		return
	}
	items := make(map[string]*batchItem, len(req.Inputs))
	ok, failed := 0, 0
	for key, in := range req.Inputs {
		start := time.Now()
		m := opametrics.New()
		id := uuid.NewString()
		merged := mergeInput(req.CommonInput, in)
		input, raw, err := inputValue(merged)
		var ev pdp.DataResult
		if err == nil {
			ev, err = s.eng.EvalData(r.Context(), q, input, raw, id, o, m)
		}
		if err != nil {
			failed++
			items[key] = batchError(err, id)
			continue
		}
		ok++
		it := &batchItem{DecisionID: id, Result: ev.Result, Explanation: ev.Explain}
		if o.Metrics || o.Instrument {
			it.Metrics = m.All()
		}
		if o.Provenance {
			it.Provenance = provenance()
		}
		items[key] = it
		s.eng.LogGeneric(q.Path, id, pdp.JSONValue(raw), resultValue(ev.Result), meta(r), start, ev.Revision)
	}
	status := http.StatusOK
	switch {
	case failed > 0 && ok > 0:
		status = http.StatusMultiStatus
		for _, it := range items {
			if it.Code != "" {
				it.HTTPStatusCode = "500"
			} else {
				it.HTTPStatusCode = "200"
			}
		}
	case failed > 0:
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if o.Pretty {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(map[string]any{"batch_decision_id": batchID, "responses": items})
}

// batchError is the error answer of one batch input, in OPA's error shape.
func batchError(err error, id string) *batchItem {
	rec := newErrorRecorder()
	writeOPAError(rec, wrapStoreErr(err))
	var ev struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Errors  []any  `json:"errors"`
	}
	_ = json.Unmarshal(rec.body.Bytes(), &ev)
	return &batchItem{DecisionID: id, Code: ev.Code, Message: ev.Message, Errors: ev.Errors}
}

// errorRecorder captures an error answer written by OPA's writer.
type errorRecorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newErrorRecorder() *errorRecorder {
	return &errorRecorder{h: http.Header{}, status: http.StatusOK}
}

func (e *errorRecorder) Header() http.Header         { return e.h }
func (e *errorRecorder) WriteHeader(code int)        { e.status = code }
func (e *errorRecorder) Write(b []byte) (int, error) { return e.body.Write(b) }

// flush writes the recorded answer to w with every CPR number masked.
func (e *errorRecorder) flush(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = io.WriteString(w, pdp.MaskCPR(e.body.String()))
}

// mergeInput merges common into in (both objects: in's values win,
// nested objects merged); otherwise in, or common when in is absent.
func mergeInput(common, in *any) *any {
	if common == nil {
		return in
	}
	if in == nil {
		return common
	}
	merged := mergeValues(*common, *in)
	return &merged
}

func mergeValues(common, in any) any {
	cm, ok1 := common.(map[string]any)
	im, ok2 := in.(map[string]any)
	if !ok1 || !ok2 {
		return in
	}
	out := make(map[string]any, len(cm)+len(im))
	for k, v := range cm {
		out[k] = v
	}
	for k, v := range im {
		if c, ok := out[k]; ok {
			out[k] = mergeValues(c, v)
		} else {
			out[k] = v
		}
	}
	return out
}
