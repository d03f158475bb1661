package pdp

import (
	"context"
	"encoding/json"
	"fmt"
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

// azIdentProps are the properties the login mapping reads as identifiers
// and names (see loginFromAuthZEN).
var azIdentProps = []string{"cvr", "p_number", "kind", "auth_method", "certificate_serial", "name", "email", "right"}

// CheckSizes refuses an identifier or name field longer than MaxIdentifier
// bytes (SPEC §8): the entities' type and id, the action's name and the
// identifier properties of the login mapping.
func (r *AZRequest) CheckSizes(prefix string) error {
	check := func(field string, ent *AZEntity) error {
		if ent == nil {
			return nil
		}
		if err := CheckLen(prefix+field+".type", ent.Type); err != nil {
			return err
		}
		if err := CheckLen(prefix+field+".id", ent.ID); err != nil {
			return err
		}
		for _, k := range azIdentProps {
			if err := CheckLen(prefix+field+".properties."+k, propString(ent.Properties, k)); err != nil {
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
		return CheckLen(prefix+"action.name", r.Action.Name)
	}
	return nil
}

// EvaluateAuthZEN answers one AuthZEN access evaluation.
func (e *Engine) EvaluateAuthZEN(ctx context.Context, req *AZRequest, m RequestMeta) (*AZResponse, error) {
	if err := req.checkRequired("", ""); err != nil {
		return nil, err
	}
	if err := req.CheckSizes(""); err != nil {
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
	e.LogGeneric("authzen:"+ep, id, JSONValue(raw), res.Decision, m, start, rev)
	return res, nil
}
