package planvm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// plan plans entrypoint "t/p" of a module.
func plan(t testing.TB, module string) (*ir.Policy, error) {
	return planWith(t, module, map[string]any{})
}

// planWith plans entrypoint "t/p" of a module over data documents.
func planWith(t testing.TB, module string, data map[string]any) (*ir.Policy, error) {
	t.Helper()
	m, err := ast.ParseModuleWithOpts("p.rego", module, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle.Bundle{Data: data, Modules: []bundle.ModuleFile{{Path: "p.rego", URL: "p.rego", Parsed: m, Raw: []byte(module)}}}
	c := compile.New().WithTarget(compile.TargetPlan).WithEntrypoints("t/p").WithBundle(b)
	if err := c.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	var p ir.Policy
	if err := json.Unmarshal(c.Bundle().PlanModules[0].Raw, &p); err != nil {
		t.Fatal(err)
	}
	return &p, nil
}

// evalTopdown evaluates data.t.p with OPA's interpreter, as an ast value
// (sets stay sets): nil when undefined.
func evalTopdown(t testing.TB, module string, data map[string]any, input ast.Value, now time.Time) (ast.Value, error) {
	t.Helper()
	c := ast.MustCompileModulesWithOpts(map[string]string{"p.rego": module}, ast.CompileOpts{ParserOptions: ast.ParserOptions{RegoVersion: ast.RegoV1}})
	ctx := context.Background()
	store := inmem.NewFromObject(data)
	txn := storage.NewTransactionOrDie(ctx, store)
	defer store.Abort(ctx, txn)
	q := topdown.NewQuery(ast.MustParseBody("x = data.t.p")).WithCompiler(c).WithStore(store).WithTransaction(txn).
		WithInput(ast.NewTerm(input)).WithTime(now)
	rs, err := q.Run(ctx)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return rs[0][ast.Var("x")].Value, nil
}

// TestEvalMatchesTopdown: each construct the planner emits evaluates as
// OPA's interpreter evaluates it, over inputs that make it defined,
// undefined, true and false.
func TestEvalMatchesTopdown(t *testing.T) {
	inputs := []string{
		`{}`,
		`{"x": 1, "xs": [1, 2, 3], "o": {"a": 1, "b": 2}, "s": "abc"}`,
		`{"x": 2, "xs": [], "o": {}, "s": ""}`,
		`{"x": "1", "xs": [3, 1, 3], "o": {"a": {"b": true}}, "s": 7}`,
		`{"x": 5, "xs": ["a", "b"], "o": {"c": [1, 2]}, "names": ["ann", "bo"]}`,
	}
	for _, tc := range []struct{ name, rules string }{
		{"complete with default", "default p := false\np if input.x == 1"},
		{"else chain", "p := \"one\" if input.x == 1\nelse := \"two\" if input.x == 2\nelse := \"other\""},
		{"negation", "p if not input.x == 1"},
		{"negation of undefined", "p if not input.nothing.here"},
		{"partial set", "p contains y if { some y in input.xs; y > 1 }"},
		{"partial object", "p[k] := v if { some k, v in input.o }"},
		{"array comprehension", "p := [z | some y in input.xs; z := y * 2]"},
		{"set comprehension over object", "p := {k | some k, _ in input.o}"},
		{"object comprehension", "p := {y: true | some y in input.xs}"},
		{"nested iteration with early exit", "p if { some y in input.xs; some z in input.xs; y != z }"},
		{"every", "p if { every y in input.xs { is_number(y) } }"},
		{"function with arguments", "f(a, b) := a + b\np := f(input.x, 1)"},
		{"function with several bodies", "f(a) := \"n\" if is_number(a)\nf(a) := \"s\" if is_string(a)\np := f(input.x)"},
		{"sprintf and sort", "p := sprintf(\"%v-%v\", [input.x, sort(input.xs)])"},
		{"object.get and union", "p := object.union(input.o, {\"z\": object.get(input.o, \"a\", 0)})"},
		{"count and comparisons", "p := count(input.xs) >= 2"},
		{"array patterns", "p := a if [a, _] := input.xs"},
		{"ref into nested objects", "p := input.o.a.b"},
		{"array by index", "p := input.names[1]"},
		{"string key from input", "p := {input.s: 1}"},
		{"duplicate set literal", "p := {input.x, input.x, 1}"},
		{"empty comprehensions, then one that is not", "a := {y | some y in input.none}\nb := {k: 1 | some k in input.none}\nc := {y | some y in input.xs}\np := [a, b, c, {y | some y in input.none}]"},
		{"ref head partial set", "p[k] contains v if { some k, v in input.o }"},
		{"object key conflict", "p[k] := v if { some v in input.xs; k := \"same\" }"},
		{"function conflict", "f(x) := 1 if x\nf(x) := 2 if x\np := f(true) if input.x"},
		{"built-in error under not", "p if not to_number(input.s) == 1"},
		{"built-in error is undefined", "p := to_number(input.s)"},
		{"membership", "p := 2 in input.xs"},
		{"multiple outputs conflict", "p := y if some y in input.xs"},
		{"time", "p := time.now_ns()"},
		{"undefined everywhere", "p := input.missing"},
		{"rule chain with memo", "a := count(input.xs)\nb := a + a\np := [a, b]"},
	} {
		module := "package t\n" + tc.rules
		matchesTopdown(t, tc.name, module, NewVM(compileRules(t, tc.name, module)), inputs, 1)
	}
	if emptySet.Len() != 0 || emptyObject.Len() != 0 {
		t.Fatalf("the shared empty values were changed: %v %v", emptySet, emptyObject)
	}
}

// TestEvalWithData: rules reading data documents read the data given to
// Eval, as topdown reads its store.
func TestEvalWithData(t *testing.T) {
	data := map[string]any{"cfg": map[string]any{"limit": 2, "names": []any{"ann", "bo"}}}
	module := "package t\np := [n | some n in data.cfg.names; count(input.xs) >= data.cfg.limit]"
	pl, _ := planWith(t, module, data)
	prog, err := Compile(pl, "t/p")
	if err != nil {
		t.Fatal(err)
	}
	dv, err := ast.InterfaceToValue(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, in := range []string{`{"xs": [1, 2]}`, `{"xs": [1]}`} {
		input := ast.MustParseTerm(in).Value
		want, werr := evalTopdown(t, module, data, input, now)
		got, gerr := NewVM(prog).Eval(context.Background(), input, dv, now)
		if werr != nil || gerr != nil || (want == nil) != (got == nil) || (want != nil && want.Compare(got) != 0) {
			t.Errorf("input %s: got %v (%v), topdown %v (%v)", in, got, gerr, want, werr)
		}
	}
}

// TestConflictIsAnError: a complete rule with two values fails the
// evaluation, as in topdown; it never picks one.
func TestConflictIsAnError(t *testing.T) {
	module := "package t\np := y if some y in input.xs"
	pl, _ := plan(t, module)
	prog, err := Compile(pl, "t/p")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewVM(prog).Eval(context.Background(), ast.MustParseTerm(`{"xs": [1, 2]}`).Value, nil, time.Now())
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("got %v, want a conflict", err)
	}
}

// TestCompileRefuses: a plan using what the VM does not carry is refused,
// so that its caller keeps another evaluator.
func TestCompileRefuses(t *testing.T) {
	for _, tc := range []struct{ name, rules, want string }{
		{"with", "q := input.x\np := r if { r := q with input.x as 1 }", "WithStmt"},
		{"non-deterministic built-in", "p := rand.intn(\"a\", 10)", "non-deterministic"},
		{"object merge (nested ref heads)", "p.a[k] := v if { some k, v in input.o }\np.b := 1", "ObjectMergeStmt"},
		{"walk (a relation)", "p := [x | walk(input, x)]", "relation"},
		{"http.send", "p := http.send({\"method\": \"get\", \"url\": \"http://x\"})", "non-deterministic"},
	} {
		pl, _ := plan(t, "package t\n"+tc.rules)
		_, err := Compile(pl, "t/p")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	pl, _ := plan(t, "package t\np := 1")
	if _, err := Compile(pl, "t/q"); err == nil {
		t.Error("a missing entrypoint compiled")
	}
}

// TestCapacityHints: a set or object the plan grows add by add is made,
// once an evaluation has built it, at the size it reached, so later
// evaluations allocate less; the answer is the same either way, and a
// hint never passes maxHint.
func TestCapacityHints(t *testing.T) {
	module := "package t\np := {\"s\": {x | some x in input.xs}, \"o\": {x: true | some x in input.xs}}"
	pl, _ := plan(t, module)
	prog, err := Compile(pl, "t/p")
	if err != nil {
		t.Fatal(err)
	}
	in := ast.MustParseTerm(`{"xs": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]}`).Value
	want, err := evalTopdown(t, module, map[string]any{}, in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	vm := NewVM(prog)
	eval := func() {
		got, err := vm.Eval(context.Background(), in, nil, time.Now())
		if err != nil || got.Compare(want) != 0 {
			t.Fatalf("got %v, %v; want %v", got, err, want)
		}
	}
	var hints []*atomic.Int32
	prog.walk(func(s *stmt) {
		if s.hint != nil {
			hints = append(hints, s.hint)
		}
	})
	if len(hints) == 0 {
		t.Fatal("no statement has a hint")
	}
	cold := testing.AllocsPerRun(20, func() {
		for _, h := range hints {
			h.Store(0)
		}
		eval()
	})
	warm := testing.AllocsPerRun(20, eval)
	if warm >= cold {
		t.Errorf("allocations with learned hints %v, without %v: want fewer", warm, cold)
	}
	big := ast.NewArray()
	for i := range 3 * maxHint {
		big = big.Append(ast.InternedTerm(i))
	}
	if _, err := vm.Eval(context.Background(), ast.NewObject(ast.Item(ast.InternedTerm("xs"), ast.NewTerm(big))), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, h := range hints {
		if h.Load() > maxHint {
			t.Errorf("hint %d past maxHint", h.Load())
		}
	}
}

func BenchmarkEval(b *testing.B) {
	module := "package t\np := {\"n\": count(ys), \"ys\": ys}\nys := {sprintf(\"%v\", [y]) | some y in input.xs; y > 1}"
	pl, _ := plan(b, module)
	prog, err := Compile(pl, "t/p")
	if err != nil {
		b.Fatal(err)
	}
	vm := NewVM(prog)
	in := ast.MustParseTerm(`{"xs": [1, 2, 3, 4, 5, 6]}`).Value
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vm.Eval(context.Background(), in, nil, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEvalReadReusesTerms: EvalRead hands read the value Eval returns,
// evaluation after evaluation on one VM (its terms' memory reused), and
// allocates less than Eval for it.
func TestEvalReadReusesTerms(t *testing.T) {
	module := "package t\np := {\"n\": count(input.xs), \"objs\": [{\"x\": x, \"s\": sprintf(\"%v!\", [x])} | some x in input.xs], \"t\": time.now_ns()}"
	pl, err := plan(t, module)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(pl, "t/p")
	if err != nil {
		t.Fatal(err)
	}
	vm, ref := NewVM(prog), NewVM(prog)
	now := time.Unix(1_800_000_000, 0)
	var kept []string
	for i, in := range []string{`{"xs": ["a", "b"]}`, `{"xs": ["c"]}`, `{"xs": []}`, `{"xs": ["d", "e", "f"]}`} {
		input := ast.MustParseTerm(in).Value
		want, err := ref.Eval(context.Background(), input, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := vm.EvalRead(context.Background(), input, nil, now, func(v ast.Value) error {
			if v == nil || v.Compare(want) != 0 {
				t.Errorf("input %d: read %v, Eval %v", i, v, want)
			}
			kept = append(kept, v.String()) // a Go string: may be kept
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if kept[0] != `{"n": 2, "objs": [{"s": "a!", "x": "a"}, {"s": "b!", "x": "b"}], "t": 1800000000000000000}` {
		t.Errorf("the first answer, kept as a string, changed: %s", kept[0])
	}
	input := ast.MustParseTerm(`{"xs": ["a", "b", "c", "d"]}`).Value
	evalAllocs := testing.AllocsPerRun(50, func() { _, _ = vm.Eval(context.Background(), input, nil, now) })
	readAllocs := testing.AllocsPerRun(50, func() {
		_ = vm.EvalRead(context.Background(), input, nil, now, func(ast.Value) error { return nil })
	})
	if readAllocs >= evalAllocs {
		t.Errorf("EvalRead allocates %.0f, Eval %.0f: its terms are not reused", readAllocs, evalAllocs)
	}
}
