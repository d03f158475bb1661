package pdp

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Verdict is the answer of the adgang.admin or adgang.password rules:
// allowed, or refused with the reasons (rule ID and reason code each).
type Verdict struct {
	Allow   bool     `json:"allow"`
	Reasons []Reason `json:"reasons"`
	Policy  string   `json:"policy,omitempty"`
}

// First returns the first deny reason, or nil.
func (v *Verdict) First() *Reason {
	for i := range v.Reasons {
		if !v.Reasons[i].Info {
			return &v.Reasons[i]
		}
	}
	return nil
}

// CheckAdmin asks data.adgang.admin.decision about a proposed change. The
// input shape is documented in policies/README.md. A missing or broken
// policy refuses (fail closed).
func (e *Engine) CheckAdmin(ctx context.Context, input map[string]any) *Verdict {
	v, err := adminInput(input)
	if err != nil {
		return refused(ReasonPolicyError, "the policy input could not be built")
	}
	if ps := e.policy.Load(); ps != nil {
		if out, ok := e.checkAdminPlanned(ctx, ps, v); ok {
			return out
		}
	}
	return e.check(ctx, AdminQuery, func(ps *PolicySet) (rego.PreparedEvalQuery, bool) {
		return ps.admin, ps.hasAdmin
	}, v)
}

// CheckPassword asks data.adgang.password.decision whether a new password
// that none of the kept passwords match (a generated one) is acceptable
// (L8). The password itself never reaches a log.
func (e *Engine) CheckPassword(ctx context.Context, password string) *Verdict {
	return e.CheckPasswordChange(ctx, PasswordCheck{Password: password})
}

// CheckPasswordChange asks data.adgang.password.decision whether a user
// may change to a new password (L8: the password rules, and no change
// while the password is blocked). The password never reaches a log.
func (e *Engine) CheckPasswordChange(ctx context.Context, c PasswordCheck) *Verdict {
	return e.check(ctx, PasswordQuery, func(ps *PolicySet) (rego.PreparedEvalQuery, bool) {
		return ps.password, ps.hasPassword
	}, passwordCheckInput(c))
}

func (e *Engine) check(ctx context.Context, query string, pick func(*PolicySet) (rego.PreparedEvalQuery, bool), input ast.Value) *Verdict {
	ps := e.policy.Load()
	if ps == nil {
		return refused(ReasonPolicyUnavailable, "no valid policy is loaded")
	}
	pq, ok := pick(ps)
	if !ok {
		return refused(ReasonPolicyUnavailable, query+" is not defined by the loaded policy set")
	}
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		e.log.Error().Err(err).Str("query", query).Msg("policy evaluation failed")
		return refused(ReasonPolicyError, "the policy could not be evaluated")
	}
	out, err := parseVerdict(rs)
	if err != nil {
		e.log.Error().Err(err).Str("query", query).Msg("policy answered in an unexpected shape")
		return refused(ReasonPolicyError, "the policy answered in an unexpected shape")
	}
	out.Policy = ps.ID
	return out
}

func refused(code, msg string) *Verdict {
	return &Verdict{Reasons: []Reason{{Code: code, Rule: RuleFailClosed, Message: msg}}}
}

func parseVerdict(rs rego.ResultSet) (*Verdict, error) {
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, errors.New("decision undefined")
	}
	m, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decision is %T, not an object", rs[0].Expressions[0].Value)
	}
	return parseVerdictMap(m)
}

// parseVerdictMap reads a decision object: allow, and the reasons.
func parseVerdictMap(m map[string]any) (*Verdict, error) {
	allow, ok := m["allow"].(bool)
	if !ok {
		return nil, errors.New("decision has no boolean allow")
	}
	v := &Verdict{Allow: allow, Reasons: []Reason{}}
	reasons, _ := m["reasons"].([]any)
	for _, r := range reasons {
		rm, _ := r.(map[string]any)
		rr := Reason{Code: str(rm["code"]), Rule: str(rm["rule"]), Message: str(rm["message"])}
		rr.Info, _ = rm["info"].(bool)
		v.Reasons = append(v.Reasons, rr)
	}
	if v.Allow && v.First() != nil {
		v.Allow = false // a deny reason always wins
	}
	if !v.Allow && v.First() == nil {
		return nil, errors.New("refusal without a reason")
	}
	return v, nil
}
