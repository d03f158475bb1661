package pdp

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/adgang/adgang/pdp/planvm"
)

// The login decision is evaluated with topdown directly rather than through
// rego.PreparedEvalQuery: the answer stays an ast.Value, read below into a
// Decision, instead of being converted to map[string]any first (about 100
// allocations per decision, docs/decision-path.md). The query is the same
// compiled data.adgang.login.decision over the same compiler and store.

// The answer's keys are interned (planvm.Intern): the plans' constant
// keys are the same terms, found by pointer.
var (
	keyAllow, keyKnock, keyValidUntil = planvm.Intern("allow"), planvm.Intern("knock"), planvm.Intern("valid_until_ns")
	keyRights, keyReasons, keyRight   = planvm.Intern("rights"), planvm.Intern("reasons"), planvm.Intern("right")
	keyScope, keyAll, keyCVR          = planvm.Intern("scope"), planvm.Intern("all"), planvm.Intern("cvr")
	keyPNumbers, keySENumbers         = planvm.Intern("p_numbers"), planvm.Intern("se_numbers")
	keyCode, keyRule, keyMessage      = planvm.Intern("code"), planvm.Intern("rule"), planvm.Intern("message")
	keyGrant, keyInfo                 = planvm.Intern("grant"), planvm.Intern("info")
)

// loginVar is the query variable bound to the decision.
const loginVar = ast.Var("decision")

// compileLogin compiles the login query once per policy set.
func (ps *PolicySet) compileLogin() error {
	body, err := ps.compiler.QueryCompiler().Compile(ast.MustParseBody(string(loginVar) + " = " + LoginQuery))
	if err != nil {
		return err
	}
	ps.loginBody = body
	return nil
}

// evalLogin evaluates data.adgang.login.decision over input; nil when the
// decision is undefined (parseLoginValue refuses it: fail closed).
func (ps *PolicySet) evalLogin(ctx context.Context, input ast.Value) (ast.Value, error) {
	txn, err := ps.store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer ps.store.Abort(ctx, txn)
	qs, err := topdown.NewQuery(ps.loginBody).WithCompiler(ps.compiler).WithStore(ps.store).
		WithTransaction(txn).WithInput(ast.NewTerm(input)).Run(ctx)
	if err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, nil
	}
	if t := qs[0][loginVar]; t != nil {
		return t.Value, nil
	}
	return nil, nil
}

// parseLoginValue reads the policy's decision object into d: the same
// fields, checks and defaults as the answer's JSON shape (SPEC §2).
func parseLoginValue(v ast.Value, d *Decision) error {
	if v == nil {
		return errors.New("login decision undefined")
	}
	m, ok := v.(ast.Object)
	if !ok {
		return errors.New("login decision is not an object")
	}
	allow, ok := valueOf(m, keyAllow).(ast.Boolean)
	if !ok {
		return errors.New("login decision has no boolean allow")
	}
	d.Allow = bool(allow)
	knock, _ := valueOf(m, keyKnock).(ast.Boolean)
	d.knock = bool(knock)
	d.validUntil = time.Time{}
	if n, ok := valueOf(m, keyValidUntil).(ast.Number); ok {
		if ns, ok := n.Int64(); ok && ns > 0 {
			d.validUntil = time.Unix(0, ns)
		}
	}
	d.Rights = []RightScope{}
	if rights, ok := valueOf(m, keyRights).(*ast.Array); ok {
		d.Rights = make([]RightScope, 0, rights.Len())
		rights.Foreach(func(t *ast.Term) {
			rm, _ := t.Value.(ast.Object)
			d.Rights = append(d.Rights, rightScopeOf(rm))
		})
	}
	d.Reasons = []Reason{}
	if reasons, ok := valueOf(m, keyReasons).(*ast.Array); ok {
		d.Reasons = make([]Reason, 0, reasons.Len())
		reasons.Foreach(func(t *ast.Term) {
			rm, _ := t.Value.(ast.Object)
			info, _ := valueOf(rm, keyInfo).(ast.Boolean)
			d.Reasons = append(d.Reasons, Reason{Code: strOf(rm, keyCode), Rule: strOf(rm, keyRule),
				Message: strOf(rm, keyMessage), Right: strOf(rm, keyRight), Grant: strOf(rm, keyGrant), Info: bool(info)})
		})
	}
	finishLogin(d)
	return nil
}

// finishLogin orders the reasons and sets the knock answer of a decision
// read from the policy's answer.
func finishLogin(d *Decision) {
	sortReasons(d.Reasons)
	d.Knock = nil
	if slices.ContainsFunc(d.Reasons, func(r Reason) bool { return r.Rule == "D2" && !r.Info }) {
		d.Knock = &KnockAnswer{Queued: d.knock}
	}
}

func rightScopeOf(rm ast.Object) RightScope {
	rs := RightScope{Right: strOf(rm, keyRight)}
	if sc, ok := valueOf(rm, keyScope).(ast.Object); ok {
		all, _ := valueOf(sc, keyAll).(ast.Boolean)
		rs.Scope.All = bool(all)
		rs.Scope.CVR = strOf(sc, keyCVR)
		rs.Scope.PNumbers = stringsOf(valueOf(sc, keyPNumbers))
		rs.Scope.SENumbers = stringsOf(valueOf(sc, keySENumbers))
	}
	return rs
}

// valueOf is m[k], or nil when m is nil or has no such key.
func valueOf(m ast.Object, k *ast.Term) ast.Value {
	if m == nil {
		return nil
	}
	if t := m.Get(k); t != nil {
		return t.Value
	}
	return nil
}

func strOf(m ast.Object, k *ast.Term) string {
	s, _ := valueOf(m, k).(ast.String)
	return string(s)
}

// stringsOf is the strings of an array (other elements skipped); never nil.
func stringsOf(v ast.Value) []string {
	arr, _ := v.(*ast.Array)
	if arr == nil {
		return []string{}
	}
	out := make([]string, 0, arr.Len())
	arr.Foreach(func(t *ast.Term) {
		if s, ok := t.Value.(ast.String); ok {
			out = append(out, string(s))
		}
	})
	return out
}
