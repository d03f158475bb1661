package pdp

import (
	"context"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/adgang/adgang/policies"
)

// TestAdminPlanMatchesTopdown: the default set's tests give the admin
// decision enough distinct inputs, the plan answers each as topdown, and
// the set is served with the plan.
func TestAdminPlanMatchesTopdown(t *testing.T) {
	ctx := context.Background()
	ps := defaultSet(t)
	inputs, err := adminTestInputs(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d distinct admin inputs from the tests", len(inputs))
	if len(inputs) < 100 {
		t.Fatalf("the default set's tests give %d admin inputs; expected well over 100 (141 admin tests)", len(inputs))
	}
	p, err := buildPlan(ctx, ps, adminEntrypoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkAdminPlan(ctx, ps, p, inputs); err != nil {
		t.Fatal(err)
	}
	if err := checkAdminPlan(ctx, ps, p, inputs[:adminCheckMin-1]); err == nil {
		t.Error("a check on too few inputs passed")
	}
}

// TestAdminPlanCheckNeedsEveryRuleIDReached: the check refuses a plan
// when no test input gives a reason of some rule ID the decision depends
// on; rules off the decision's path (A15: the first user's rights) are not
// asked for.
func TestAdminPlanCheckNeedsEveryRuleIDReached(t *testing.T) {
	ctx := context.Background()
	ps := defaultSet(t)
	ids := reachableRuleIDs(ps.compiler, ast.MustParseRef(AdminQuery))
	t.Logf("rule IDs the admin decision depends on: %v", ids)
	for _, want := range []string{"A2", "A7", "A10", "A13", "C1"} {
		if !slices.Contains(ids, want) {
			t.Errorf("rule IDs the admin decision depends on: %v, want %s among them", ids, want)
		}
	}
	if slices.Contains(ids, "A15") {
		t.Errorf("rule IDs the admin decision depends on: %v, A15 among them (first_user_rights, another entrypoint)", ids)
	}
	inputs, err := adminTestInputs(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	p, err := buildPlan(ctx, ps, adminEntrypoint)
	if err != nil {
		t.Fatal(err)
	}
	missedIn := regexp.MustCompile(`gives a reason of rule ([A-Z0-9, ]+) \(`)
	for _, rule := range []string{"A10", "C1"} {
		var without []ast.Value // the inputs whose answer gives no reason of rule
		for _, in := range inputs {
			want, err := topdownAdmin(ctx, ps, in)
			if err != nil {
				t.Fatal(err)
			}
			rules := map[string]bool{}
			if reasonRules(want, rules); !rules[rule] {
				without = append(without, in)
			}
		}
		if len(without) == len(inputs) {
			t.Fatalf("no test input gives a reason of %s", rule)
		}
		err := checkAdminPlan(ctx, ps, p, without)
		var missed []string
		if err != nil {
			if m := missedIn.FindStringSubmatch(err.Error()); m != nil {
				missed = strings.Split(m[1], ", ")
			}
		}
		if !slices.Equal(missed, []string{rule}) {
			t.Errorf("check without the inputs reaching %s: %v, want it refused naming %s only", rule, err, rule)
		}
	}
}

// TestReachableRuleIDs: the rule IDs of what a decision depends on, through
// else branches of the decision itself, other rules, functions and other
// packages; not those of rules it does not refer to.
func TestReachableRuleIDs(t *testing.T) {
	modules := map[string]string{
		"p.rego": `package adgang.admin

import data.adgang.lib

decision := {"reasons": r1} if {
	input.a
} else := {"reasons": r2} if {
	input.b
} else := {"reasons": lib.more}

# METADATA
# title: A90 first
r1 contains {"rule": "A90"} if input.x

# METADATA
# title: A91 through an else
r2 contains {"rule": "A91"} if _f(input.y)

# METADATA
# title: A92 a function
_f(x) if x == 1

# METADATA
# title: A94 another entrypoint
other := 1
`,
		"lib.rego": `package adgang.lib

# METADATA
# title: A93 in another package
more contains {"rule": "A93"} if input.z
`,
	}
	c := ast.MustCompileModulesWithOpts(modules, ast.CompileOpts{ParserOptions: ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1}})
	if got, want := reachableRuleIDs(c, ast.MustParseRef(AdminQuery)), []string{"A90", "A91", "A92", "A93"}; !slices.Equal(got, want) {
		t.Fatalf("reachable rule IDs %v, want %v", got, want)
	}
}

// TestAdminPlanCheckCatchesDifference: the plan of another admin policy
// fails the check against the set's topdown, without a panic: one that
// allows whatever the reasons (it allows what topdown refuses), and one
// whose decision is undefined for some action (where topdown answers).
func TestAdminPlanCheckCatchesDifference(t *testing.T) {
	ctx := context.Background()
	ps := defaultSet(t)
	inputs, err := adminTestInputs(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"allows regardless", "allow if count(lib.deny_reasons(_reasons)) == 0", "allow if true", "topdown"},
		{"undefined for user.create", "decision := {\"allow\": allow, \"reasons\": reasons}",
			"decision := {\"allow\": allow, \"reasons\": reasons} if input.action != \"user.create\"", "undefined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkAdminPlan(ctx, ps, changedAdminPlan(t, tc.old, tc.new), inputs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("check of a different plan: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestAdminPlanFallsBack: a serving plan that has no answer for an input
// hands that decision to topdown, which answers it (and it is counted).
func TestAdminPlanFallsBack(t *testing.T) {
	ctx := context.Background()
	st := oneUserStore(t)
	engines := enginesFor(t, st, EvaluatorPlan, EvaluatorTopdown)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	e := engines[EvaluatorPlan]
	if err := e.WaitAdminEvaluator(wctx, EvaluatorPlan); err != nil {
		t.Fatal(err)
	}
	e.Policy().adminPlan.Store(changedAdminPlan(t, "decision := {\"allow\": allow, \"reasons\": reasons}",
		"decision := {\"allow\": allow, \"reasons\": reasons} if input.action != \"user.create\""))
	in := map[string]any{"action": "user.create", "actor": map[string]any{"superadmin": true, "id": "token:t", "roles": []any{}},
		"user": map[string]any{"org": oneCVR, "kind": "employee"}}
	got, want := e.CheckAdmin(ctx, in), engines[EvaluatorTopdown].CheckAdmin(ctx, in)
	if !reflect.DeepEqual(got, want) || len(got.Reasons) == 0 && !got.Allow {
		t.Fatalf("plan engine %+v, topdown engine %+v", got, want)
	}
	var m dto.Metric
	if err := e.metrics.adminFallbacks.Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Fatalf("admin fallbacks: %v %v, want 1", m.GetCounter().GetValue(), err)
	}
}

// changedAdminPlan plans the default set with old replaced by new in
// admin.rego.
func changedAdminPlan(t *testing.T, old, new string) *queryPlan {
	t.Helper()
	other := defaultSet(t)
	srcs, err := policies.Modules()
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(srcs["admin.rego"], old, new, 1)
	if src == srcs["admin.rego"] {
		t.Fatalf("admin.rego no longer has %q", old)
	}
	changed, err := ast.ParseModuleWithOpts("admin.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	replaced := false
	for path := range other.modules {
		if strings.HasSuffix(path, ":admin.rego") || path == "admin.rego" {
			other.modules[path], replaced = changed, true
		}
	}
	if !replaced {
		t.Fatal("no admin.rego in the default set")
	}
	p, err := buildPlan(context.Background(), other, adminEntrypoint)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAdminEvaluators: an engine on the plan evaluator serves admin
// decisions from the plan once checked (Health says so) and answers them
// as a topdown engine does, refusals and their reasons included; an
// engine on topdown keeps admin decisions on topdown.
func TestAdminEvaluators(t *testing.T) {
	ctx := context.Background()
	st := oneUserStore(t)
	engines := enginesFor(t, st, EvaluatorPlan, EvaluatorTopdown)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := engines[EvaluatorPlan].WaitAdminEvaluator(wctx, EvaluatorPlan); err != nil {
		t.Fatal(err)
	}
	if ev := engines[EvaluatorPlan].Health(ctx).Policy.AdminEvaluator; ev != EvaluatorPlan {
		t.Fatalf("/health names admin evaluator %q, want plan", ev)
	}
	time.Sleep(100 * time.Millisecond) // a (wrong) attach by the topdown engine would be done by now
	if ev := engines[EvaluatorTopdown].Health(ctx).Policy.AdminEvaluator; ev != EvaluatorTopdown {
		t.Fatalf("the topdown engine evaluates admin decisions with %s", ev)
	}
	inputs, err := adminTestInputs(ctx, defaultSet(t))
	if err != nil {
		t.Fatal(err)
	}
	refusals := 0
	for i, in := range inputs {
		x, err := ast.JSON(in)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := x.(map[string]any)
		if !ok {
			continue // CheckAdmin takes objects only
		}
		got, want := engines[EvaluatorPlan].CheckAdmin(ctx, m), engines[EvaluatorTopdown].CheckAdmin(ctx, m)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("input %d: plan engine %+v, topdown engine %+v", i, got, want)
		}
		if !got.Allow {
			refusals++
		}
	}
	if refusals == 0 || refusals == len(inputs) {
		t.Fatalf("%d of %d inputs refused: the comparison needs both answers", refusals, len(inputs))
	}
	var m dto.Metric
	if err := engines[EvaluatorPlan].metrics.adminFallbacks.Write(&m); err != nil || m.GetCounter().GetValue() != 0 {
		t.Fatalf("admin fallbacks: %v %v, want 0", m.GetCounter().GetValue(), err)
	}
}
