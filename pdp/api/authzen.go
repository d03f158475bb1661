package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// handleEvaluation serves POST /access/v1/evaluation (AuthZEN 1.0 §6).
func (s *Server) handleEvaluation(w http.ResponseWriter, r *http.Request) {
	var req pdp.AZRequest
	if err := decodeAZ(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if err := req.CheckSizes(""); err != nil {
		WriteError(w, err)
		return
	}
	res, err := s.eng.EvaluateAuthZEN(r.Context(), &req, meta(r))
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

func (s *Server) handleEvaluations(w http.ResponseWriter, r *http.Request) {
	var req pdp.AZBatch
	if err := decodeAZ(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	semantic := pdp.ExecuteAll
	if req.Options != nil && req.Options.EvaluationsSemantic != "" {
		semantic = req.Options.EvaluationsSemantic
	}
	switch semantic {
	case pdp.ExecuteAll, pdp.DenyOnFirstDeny, pdp.PermitOnFirstPermit:
	default:
		WriteError(w, store.Errorf(store.EInvalid, "options.evaluations_semantic must be execute_all, deny_on_first_deny or permit_on_first_permit"))
		return
	}
	if err := req.CheckSizes(""); err != nil {
		WriteError(w, err)
		return
	}
	for i := range req.Evaluations {
		if err := req.Evaluations[i].CheckSizes(fmt.Sprintf("evaluations[%d].", i)); err != nil {
			WriteError(w, err)
			return
		}
	}
	if len(req.Evaluations) == 0 {
		// No evaluations array: a single evaluation with the top-level values.
		res, err := s.eng.EvaluateAuthZEN(r.Context(), &req.AZRequest, meta(r))
		if err != nil {
			WriteError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, res)
		return
	}
	if len(req.Evaluations) > 1000 {
		WriteError(w, store.Errorf(store.EInvalid, "at most 1000 evaluations per request"))
		return
	}
	out := make([]*pdp.AZResponse, 0, len(req.Evaluations))
	for i := range req.Evaluations {
		item := mergeAZ(&req.AZRequest, &req.Evaluations[i])
		res, err := s.eng.EvaluateAuthZEN(r.Context(), item, meta(r))
		if err != nil {
			// A malformed item is denied with its error; the batch goes on.
			res = &pdp.AZResponse{Decision: false, Context: map[string]any{"error": errorContext(err)}}
		}
		out = append(out, res)
		if semantic == pdp.DenyOnFirstDeny && !res.Decision || semantic == pdp.PermitOnFirstPermit && res.Decision {
			break
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"evaluations": out})
}

// errorContext is an evaluation item's error as the batch answers it:
// the status and detail WriteError would write.
func errorContext(err error) map[string]any {
	d := DetailOf(err)
	return map[string]any{"status": StatusOf(err), "code": d.Code, "message": d.Message, "rule": d.Rule}
}

// mergeAZ fills an evaluation item's missing parts from the batch defaults.
func mergeAZ(def, item *pdp.AZRequest) *pdp.AZRequest {
	out := *item
	if out.Subject == nil {
		out.Subject = def.Subject
	}
	if out.Resource == nil {
		out.Resource = def.Resource
	}
	if out.Action == nil {
		out.Action = def.Action
	}
	if out.Context == nil {
		out.Context = def.Context
	}
	return &out
}

// handleAuthZENConfig serves the PDP metadata (AuthZEN 1.0 §9).
func (s *Server) handleAuthZENConfig(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	doc := map[string]any{
		"policy_decision_point":       base,
		"access_evaluation_endpoint":  base + "/access/v1/evaluation",
		"access_evaluations_endpoint": base + "/access/v1/evaluations",
	}
	s.eng.SearchEndpoints(doc, base)
	WriteJSON(w, http.StatusOK, doc)
}

// decodeAZ reads an AuthZEN body: unknown fields are ignored (AuthZEN 1.0
// §11.1.1 "receivers MUST ignore unknown fields"); the body must be one
// JSON object. The decision listener has already bounded its size.
func decodeAZ(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err := dec.Decode(v); err != nil {
		return store.Errorf(store.EInvalid, "malformed JSON body: %s", pdp.MaskCPR(err.Error()))
	}
	if dec.More() {
		return store.Errorf(store.EInvalid, "malformed JSON body: trailing data")
	}
	return nil
}

// handleSearch serves POST /access/v1/search/{kind}.
func (s *Server) handleSearch(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var raw json.RawMessage
		if err := decodeAZ(r, &raw); err != nil {
			WriteError(w, err)
			return
		}
		var req pdp.AZSearchRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			WriteError(w, store.Errorf(store.EInvalid, "malformed search request: %s", pdp.MaskCPR(err.Error())))
			return
		}
		res, err := s.eng.Search(r.Context(), kind, &req, raw, meta(r))
		if err != nil {
			WriteError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, res)
	}
}
