package planvm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/rego"
)

// plan plans entrypoint "t/p" of a module.
func plan(t testing.TB, module string) (*ir.Policy, error) {
	t.Helper()
	m, err := ast.ParseModuleWithOpts("p.rego", module, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle.Bundle{Data: map[string]any{}, Modules: []bundle.ModuleFile{{Path: "p.rego", URL: "p.rego", Parsed: m, Raw: []byte(module)}}}
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

// evalTopdown evaluates data.t.p with OPA's interpreter: nil when undefined.
func evalTopdown(t testing.TB, module string, input ast.Value, now time.Time) (ast.Value, error) {
	t.Helper()
	r := rego.New(rego.Query("data.t.p"), rego.Module("p.rego", module), rego.ParsedInput(input), rego.Time(now))
	rs, err := r.Eval(context.Background())
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, nil
	}
	return ast.InterfaceToValue(rs[0].Expressions[0].Value)
}

// TestEvalMatchesTopdown: each construct the planner emits evaluates as
// OPA's interpreter evaluates it, over inputs that make it defined,
// undefined, true and false.
func TestEvalMatchesTopdown(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
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
		{"strings by index", "p := input.names[1]"},
		{"membership", "p := 2 in input.xs"},
		{"multiple outputs conflict", "p := y if some y in input.xs"},
		{"time", "p := time.now_ns()"},
		{"undefined everywhere", "p := input.missing"},
		{"rule chain with memo", "a := count(input.xs)\nb := a + a\np := [a, b]"},
	} {
		module := "package t\n" + tc.rules
		pl, _ := plan(t, module)
		prog, err := Compile(pl, "t/p")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		vm := NewVM(prog)
		for _, in := range inputs {
			input := ast.MustParseTerm(in).Value
			want, werr := evalTopdown(t, module, input, now)
			got, gerr := vm.Eval(context.Background(), input, nil, now)
			if (werr != nil) != (gerr != nil) {
				t.Errorf("%s, input %s: error %v, topdown %v", tc.name, in, gerr, werr)
				continue
			}
			if werr != nil {
				continue
			}
			if (want == nil) != (got == nil) || (want != nil && want.Compare(asJSON(t, got)) != 0) {
				t.Errorf("%s, input %s: got %v, topdown %v", tc.name, in, got, want)
			}
		}
	}
}

// asJSON is v as the rego package answers it: sets become sorted arrays.
func asJSON(t *testing.T, v ast.Value) ast.Value {
	t.Helper()
	x, err := ast.JSON(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ast.InterfaceToValue(x)
	if err != nil {
		t.Fatal(err)
	}
	return out
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
