package pdp

import (
	"context"
	"reflect"
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

// TestAdminPlanCheckCatchesDifference: a plan of another policy (one A
// rule's verdict changed) answers differently from the set's topdown on
// some test input, and the check refuses it.
func TestAdminPlanCheckCatchesDifference(t *testing.T) {
	ctx := context.Background()
	ps := defaultSet(t)
	inputs, err := adminTestInputs(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	other := defaultSet(t)
	srcs, err := policies.Modules()
	if err != nil {
		t.Fatal(err)
	}
	// allow whatever the reasons: the plan then allows what topdown refuses
	src := strings.Replace(srcs["admin.rego"], "allow if count(lib.deny_reasons(_reasons)) == 0", "allow if true", 1)
	if src == srcs["admin.rego"] {
		t.Fatal("admin.rego no longer has the allow rule this test changes")
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
	p, err := buildPlan(ctx, other, adminEntrypoint)
	if err != nil {
		t.Fatal(err)
	}
	err = checkAdminPlan(ctx, ps, p, inputs)
	if err == nil || !strings.Contains(err.Error(), "topdown") {
		t.Fatalf("check of a different plan: %v, want a difference", err)
	}
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
