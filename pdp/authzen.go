package pdp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// OpenID AuthZEN Authorization API 1.0: Access Evaluation(s) and the PDP
// metadata document. By default AuthZEN is mapped onto the login decision
// (subject = user, resource = service, action = "login"); with
// Config.AuthZENEntrypoint any loaded rule is evaluated with the AuthZEN
// request itself as input.

// AZEntity is an AuthZEN subject or resource.
type AZEntity struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

// AZAction is an AuthZEN action.
type AZAction struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// AZRequest is one access evaluation request.
type AZRequest struct {
	Subject  *AZEntity      `json:"subject,omitempty"`
	Resource *AZEntity      `json:"resource,omitempty"`
	Action   *AZAction      `json:"action,omitempty"`
	Context  map[string]any `json:"context,omitempty"`
}

// AZResponse is one access evaluation answer.
type AZResponse struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// AZBatch is an access evaluations request: top-level values are defaults
// for every item.
type AZBatch struct {
	AZRequest
	Evaluations []AZRequest `json:"evaluations,omitempty"`
	Options     *struct {
		EvaluationsSemantic string `json:"evaluations_semantic,omitempty"`
	} `json:"options,omitempty"`
}

// Evaluations semantics (AuthZEN 1.0 §7).
const (
	ExecuteAll          = "execute_all"
	DenyOnFirstDeny     = "deny_on_first_deny"
	PermitOnFirstPermit = "permit_on_first_permit"
)

func (e *Engine) handleEvaluation(w http.ResponseWriter, r *http.Request) {
	var req AZRequest
	if err := decodeAZ(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if err := req.checkSizes(""); err != nil {
		WriteError(w, err)
		return
	}
	res, err := e.EvaluateAuthZEN(r.Context(), &req, meta(r))
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// azIdentProps are the properties the login mapping reads as identifiers
// and names (see loginFromAuthZEN).
var azIdentProps = []string{"cvr", "p_number", "kind", "auth_method", "certificate_serial", "name", "email", "right"}

// checkSizes refuses an identifier or name field longer than MaxIdentifier
// bytes (SPEC §8): the entities' type and id, the action's name and the
// identifier properties of the login mapping.
func (r *AZRequest) checkSizes(prefix string) error {
	check := func(field string, ent *AZEntity) error {
		if ent == nil {
			return nil
		}
		if err := checkLen(prefix+field+".type", ent.Type); err != nil {
			return err
		}
		if err := checkLen(prefix+field+".id", ent.ID); err != nil {
			return err
		}
		for _, k := range azIdentProps {
			if err := checkLen(prefix+field+".properties."+k, propString(ent.Properties, k)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := check("subject", r.Subject); err != nil {
		return err
	}
	if err := check("resource", r.Resource); err != nil {
		return err
	}
	if r.Action != nil {
		return checkLen(prefix+"action.name", r.Action.Name)
	}
	return nil
}

func (e *Engine) handleEvaluations(w http.ResponseWriter, r *http.Request) {
	var req AZBatch
	if err := decodeAZ(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	semantic := ExecuteAll
	if req.Options != nil && req.Options.EvaluationsSemantic != "" {
		semantic = req.Options.EvaluationsSemantic
	}
	switch semantic {
	case ExecuteAll, DenyOnFirstDeny, PermitOnFirstPermit:
	default:
		WriteError(w, store.Errorf(store.EInvalid, "options.evaluations_semantic must be execute_all, deny_on_first_deny or permit_on_first_permit"))
		return
	}
	if err := req.checkSizes(""); err != nil {
		WriteError(w, err)
		return
	}
	for i := range req.Evaluations {
		if err := req.Evaluations[i].checkSizes(fmt.Sprintf("evaluations[%d].", i)); err != nil {
			WriteError(w, err)
			return
		}
	}
	if len(req.Evaluations) == 0 {
		// No evaluations array: a single evaluation with the top-level values.
		res, err := e.EvaluateAuthZEN(r.Context(), &req.AZRequest, meta(r))
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
	out := make([]*AZResponse, 0, len(req.Evaluations))
	for i := range req.Evaluations {
		item := mergeAZ(&req.AZRequest, &req.Evaluations[i])
		res, err := e.EvaluateAuthZEN(r.Context(), item, meta(r))
		if err != nil {
			// A malformed item is denied with its error; the batch goes on.
			res = &AZResponse{Decision: false, Context: map[string]any{"error": errorContext(err)}}
		}
		out = append(out, res)
		if semantic == DenyOnFirstDeny && !res.Decision || semantic == PermitOnFirstPermit && res.Decision {
			break
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"evaluations": out})
}

func errorContext(err error) map[string]any {
	var d ErrorDetail
	if se, ok := err.(*store.Error); ok {
		d = ErrorDetail{Code: se.ReasonCode(), Message: MaskCPR(se.Message), Rule: se.Rule}
	} else {
		d = ErrorDetail{Code: store.EInternal, Message: "internal error"}
	}
	return map[string]any{"status": StatusOf(err), "code": d.Code, "message": d.Message, "rule": d.Rule}
}

// mergeAZ fills an evaluation item's missing parts from the batch defaults.
func mergeAZ(def, item *AZRequest) *AZRequest {
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

// EvaluateAuthZEN answers one AuthZEN access evaluation.
func (e *Engine) EvaluateAuthZEN(ctx context.Context, req *AZRequest, m RequestMeta) (*AZResponse, error) {
	if err := req.checkRequired("", ""); err != nil {
		return nil, err
	}
	if err := req.checkSizes(""); err != nil {
		return nil, err
	}
	if ep := strings.Trim(e.cfg.AuthZENEntrypoint, "/"); ep != "" {
		return e.authzenCustom(ctx, ep, req, m)
	}
	if loginMapped(req) {
		return e.evaluateUnit(ctx, req, m)
	}
	if req.Action.Name != "login" {
		return &AZResponse{Decision: false, Context: map[string]any{
			"reason": "unsupported_action", "message": `the login mapping only answers action "login"`}}, nil
	}
	lr, err := loginFromAuthZEN(req)
	if err != nil {
		return nil, err
	}
	d, err := e.Login(ctx, lr, m)
	if err != nil {
		return nil, err
	}
	return &AZResponse{Decision: d.Allow, Context: map[string]any{
		"decision_id": d.DecisionID, "rights": d.Rights, "reasons": d.Reasons, "revision": d.Revision}}, nil
}

// loginFromAuthZEN maps subject (type user, id, properties cvr, p_number,
// kind, cpr_linked, auth_method, certificate_serial) and resource (type
// service, id = service, properties right, p_number) onto a login request.
func loginFromAuthZEN(req *AZRequest) (*LoginRequest, error) {
	p := req.Subject.Properties
	lr := &LoginRequest{
		Subject: Subject{
			ID:                req.Subject.ID,
			CVR:               propString(p, "cvr"),
			PNumber:           propString(p, "p_number"),
			Kind:              propString(p, "kind"),
			AuthMethod:        propString(p, "auth_method"),
			CertificateSerial: propString(p, "certificate_serial"),
			Name:              propString(p, "name"),
			Email:             propString(p, "email"),
		},
		Service: req.Resource.ID,
		Right:   propString(req.Resource.Properties, "right"),
		PNumber: propString(req.Resource.Properties, "p_number"),
	}
	if v, ok := p["cpr_linked"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return nil, store.Errorf(store.EInvalid, "subject.properties.cpr_linked must be a boolean")
		}
		lr.Subject.CPRLinked = b
	}
	return lr, nil
}

func propString(p map[string]any, k string) string {
	if p == nil {
		return ""
	}
	switch v := p[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return fmt.Sprintf("%.0f", v)
	}
	return ""
}

// authzenCustom evaluates data.<entrypoint> with the AuthZEN request as
// input. A boolean result is the decision; an object result contributes
// its "decision" (boolean) and "context"; anything else denies.
func (e *Engine) authzenCustom(ctx context.Context, ep string, req *AZRequest, m RequestMeta) (*AZResponse, error) {
	start := time.Now()
	query := "data"
	for _, seg := range strings.Split(strings.ReplaceAll(ep, ".", "/"), "/") {
		if seg == "" || !validSegment(seg) {
			return nil, store.Errorf(store.EInternal, "invalid AuthZEN entrypoint")
		}
		query += fmt.Sprintf("[%q]", seg)
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, store.Errorf(store.EInvalid, "request cannot be encoded")
	}
	id := uuid.NewString()
	result, rev, err := e.Evaluate(ctx, query, raw)
	res := &AZResponse{Context: map[string]any{"decision_id": id}}
	if err != nil {
		res.Context["reason"] = ReasonPolicyError
	} else {
		switch v := result.(type) {
		case bool:
			res.Decision = v
		case map[string]any:
			res.Decision, _ = v["decision"].(bool)
			if c, ok := v["context"].(map[string]any); ok {
				for k, cv := range c {
					res.Context[k] = cv
				}
			}
		}
	}
	e.logGeneric("authzen:"+ep, id, rawJSONValue(raw), res.Decision, m, start, rev)
	return res, nil
}

// handleAuthZENConfig serves the PDP metadata (AuthZEN 1.0 §9).
func (e *Engine) handleAuthZENConfig(w http.ResponseWriter, r *http.Request) {
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
	e.searchEndpoints(doc, base)
	WriteJSON(w, http.StatusOK, doc)
}
