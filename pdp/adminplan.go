package pdp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The admin decision (data.adgang.admin.decision, asked by every admin
// write) is evaluated from its plan by planvm too, when the engine's
// evaluator is plan: on topdown it cost more CPU than anything else in a
// write but the fsync (its deep recursion also regrows each request
// goroutine's stack). The plan is checked before it serves against
// topdown on the inputs the set's own tests give the admin decision:
// those cover every A rule both ways, which a generated sample would have
// to rebuild. A set with too few of them stays on topdown.

// adminEntrypoint is AdminQuery as a plan entrypoint.
const adminEntrypoint = "adgang/admin/decision"

// adminCheckMin is the fewest distinct admin inputs the set's tests must
// give for the plan to be checked at all.
const adminCheckMin = 20

// adminBuilt keeps the checked admin plan of recent policy sets.
var adminBuilt verdicts[*queryPlan]

// checkedAdmin is the set's admin decision planned and checked against
// topdown (checkAdminPlan), once per set.
func checkedAdmin(ctx context.Context, ps *PolicySet) (*queryPlan, error) {
	return adminBuilt.get(ctx, ps.ID, func() (*queryPlan, error) {
		p, err := buildPlan(ctx, ps, adminEntrypoint)
		if err != nil {
			return nil, err
		}
		inputs, err := adminTestInputs(ctx, ps)
		if err != nil {
			return nil, err
		}
		return p, checkAdminPlan(ctx, ps, p, inputs)
	})
}

// checkAdminPlan evaluates every input with topdown and with p and fails
// on the first answer that differs, when there are too few inputs, or when
// some rule the admin decision depends on (an ID in a METADATA title) gives
// a reason in none of topdown's answers: the plan is only checked where the
// inputs reach. Where topdown has no answer (an error, or undefined: the
// admin API then refuses), the plan must not allow.
func checkAdminPlan(ctx context.Context, ps *PolicySet, p *queryPlan, inputs []ast.Value) error {
	if len(inputs) < adminCheckMin {
		return fmt.Errorf("admin plan: the set's tests give %d distinct admin inputs, fewer than the %d its check needs", len(inputs), adminCheckMin)
	}
	now := time.Now()
	reached := map[string]bool{}
	for i, in := range inputs {
		want, werr := topdownAdmin(ctx, ps, in)
		reasonRules(want, reached)
		got, gerr := p.eval(ctx, in, now)
		if gerr == nil && got == nil {
			gerr = errAdminUndefined
		}
		switch {
		case werr != nil:
			if gerr == nil {
				if v, err := parseVerdictValue(got); err == nil && v.Allow {
					return fmt.Errorf("admin plan: test input %d: topdown refuses (%v), the plan allows", i, werr)
				}
			}
		case gerr != nil:
			return fmt.Errorf("admin plan: test input %d: %w", i, gerr)
		case got.Compare(want) != 0:
			return fmt.Errorf("admin plan: test input %d: the plan answers %v, topdown %v", i, got, want)
		}
	}
	var missed []string
	for _, id := range reachableRuleIDs(ps.compiler, ast.MustParseRef(AdminQuery)) {
		if !reached[id] {
			missed = append(missed, id)
		}
	}
	if len(missed) > 0 {
		return fmt.Errorf("admin plan: no test input of the set gives a reason of rule %s (a rule ID the decision depends on), so the plan is not checked there", strings.Join(missed, ", "))
	}
	return nil
}

// reasonRules adds to rules the rule of every reason of an admin answer,
// read as the admin API reads it (parseVerdictValue); nothing for an
// answer it would refuse.
func reasonRules(answer ast.Value, rules map[string]bool) {
	if answer == nil {
		return
	}
	v, err := parseVerdictValue(answer)
	if err != nil {
		return
	}
	for _, r := range v.Reasons {
		rules[r.Rule] = true
	}
}

// reachableRuleIDs are the rule IDs (METADATA titles, as ruleIDsOf reads
// them) of the rules that the rules of entry, with their else branches,
// depend on, directly or not: the rules whose reasons its answers can
// give. It errs on the side of asking too much: a titled rule the decision
// only reads as a condition is asked for too (the plan is then refused and
// topdown serves, logged), as is every titled rule under a ref the
// decision looks up with a variable key.
func reachableRuleIDs(c *ast.Compiler, entry ast.Ref) []string {
	seen := map[*ast.Rule]bool{}
	todo := c.GetRules(entry)
	for len(todo) > 0 {
		r := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[r] {
			continue
		}
		seen[r] = true
		if r.Else != nil { // an else is a node of its own, linked only from the rules that refer to r
			todo = append(todo, r.Else)
		}
		for d := range c.Graph.Dependencies(r) {
			if dr, ok := d.(*ast.Rule); ok && !seen[dr] {
				todo = append(todo, dr)
			}
		}
	}
	ids := map[string]bool{}
	as := c.GetAnnotationSet()
	if as == nil {
		return nil
	}
	for _, a := range as.Flatten() {
		if r := a.GetRule(); r != nil && seen[r] {
			if id, ok := ruleIDOf(a.Annotations); ok {
				ids[id] = true
			}
		}
	}
	return sortedRuleIDs(ids)
}

// errAdminUndefined is a plan's evaluation of the admin decision that gave
// no answer.
var errAdminUndefined = errors.New("admin plan: the decision is undefined")

// topdownAdmin is topdown's admin decision over in, as a value; an error
// when it fails or is undefined.
func topdownAdmin(ctx context.Context, ps *PolicySet, in ast.Value) (ast.Value, error) {
	rs, err := ps.admin.Eval(ctx, rego.EvalParsedInput(in))
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, errors.New("the decision is undefined")
	}
	return ast.InterfaceToValue(rs[0].Expressions[0].Value)
}

// adminTestInputs runs the set's tests and collects, once each, the inputs
// with which they evaluated the admin decision.
func adminTestInputs(ctx context.Context, ps *PolicySet) ([]ast.Value, error) {
	h := &inputHarvest{pkg: "data.adgang.admin", rule: "decision", seen: ast.NewValueMap()}
	// The verdicts were had when the set was loaded: only the inputs count.
	if err := runPolicyTests(ctx, ps.modules, ps.docs, h, func(*tester.Result) {}); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return h.out, nil
}

// inputHarvest is a query tracer that keeps the input of every entry into
// one rule (pkg.rule), once each.
type inputHarvest struct {
	pkg, rule string
	mu        sync.Mutex
	seen      *ast.ValueMap
	out       []ast.Value
}

func (h *inputHarvest) Enabled() bool               { return true }
func (h *inputHarvest) Config() topdown.TraceConfig { return topdown.TraceConfig{} }

func (h *inputHarvest) TraceEvent(evt topdown.Event) {
	if evt.Op != topdown.EnterOp {
		return
	}
	r, ok := evt.Node.(*ast.Rule)
	if !ok || r.Module == nil || r.Head.Ref().String() != h.rule || r.Module.Package.Path.String() != h.pkg {
		return
	}
	in := evt.Input()
	if in == nil || !in.IsGround() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen.Get(in.Value) == nil {
		h.seen.Put(in.Value, ast.Boolean(true))
		h.out = append(h.out, in.Value)
	}
}

// attachAdmin plans and checks the set's admin decision when the engine's
// evaluator is plan (attachEvaluators); topdown answers meanwhile, and for
// good when the check refuses the plan (logged).
func (e *Engine) attachAdmin(ps *PolicySet) {
	if e.cfg.LoginEvaluator != EvaluatorPlan || !ps.hasAdmin || e.bg.Err() != nil {
		return
	}
	p, err := checkedAdmin(e.bg, ps)
	if err != nil {
		if e.bg.Err() == nil {
			e.log.Warn().Err(err).Str("policy", ps.ID).Msg("admin decisions use topdown: the plan is not used for this policy set")
		}
		return
	}
	ps.adminPlan.Store(p)
	e.log.Info().Str("policy", ps.ID).Msg("admin decisions use the plan evaluator")
}

// AdminEvaluator is what evaluates admin decisions of this set now:
// "plan" once its plan passed the check, else "topdown".
func (ps *PolicySet) AdminEvaluator() string {
	if ps.adminPlan.Load() != nil {
		return EvaluatorPlan
	}
	return EvaluatorTopdown
}

// checkAdminPlanned answers an admin decision with the set's plan; ok is
// false when there is none or it failed (topdown then answers).
func (e *Engine) checkAdminPlanned(ctx context.Context, ps *PolicySet, input ast.Value) (v *Verdict, ok bool) {
	p := ps.adminPlan.Load()
	if p == nil {
		return nil, false
	}
	// topdown evaluates admin decisions at the wall clock, and so does the plan.
	val, err := p.eval(ctx, input, time.Now())
	if err == nil && val == nil {
		err = errAdminUndefined
	}
	if err == nil {
		if v, err = parseVerdictValue(val); err == nil {
			v.Policy = ps.ID
			return v, true
		}
	}
	e.log.Error().Err(err).Msg("planned admin evaluation failed; topdown evaluates this decision")
	e.metrics.adminFallbacks.Inc()
	return nil, false
}

// parseVerdictValue is parseVerdict of an answer as an ast value.
func parseVerdictValue(v ast.Value) (*Verdict, error) {
	x, err := ast.JSON(v)
	if err != nil {
		return nil, err
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, errors.New("decision is not an object")
	}
	return parseVerdictMap(m)
}
