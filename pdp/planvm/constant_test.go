package planvm

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestConstantRules: a rule that reads neither the input nor data nor the
// clock is computed once per program and then taken by every evaluation;
// every other rule is computed by each. The answers are topdown's either
// way, evaluated twice over each input.
func TestConstantRules(t *testing.T) {
	inputs := []string{`{}`, `{"s": "a"}`, `{"s": "c"}`, `{"s": "z"}`}
	for _, tc := range []struct {
		name, rules string
		constant    []string // the rules marked constant
		varying     []string // the rules not
	}{
		{"union of literal sets", "c := {\"a\", \"b\"} | {\"c\"}\np := input.s in c", []string{"c"}, []string{"p"}},
		{"a constant over a constant", "a := {\"a\"}\nb := a | {\"c\"}\np := input.s in b", []string{"a", "b"}, []string{"p"}},
		{"reads the input", "c := {input.s} | {\"x\"}\np := count(c)", nil, []string{"c", "p"}},
		{"over a rule that reads the input", "a := input.s\nb := {a, \"x\"}\np := count(b)", nil, []string{"a", "b", "p"}},
		{"reads the clock", "c := time.now_ns()\np := c > 0", nil, []string{"c", "p"}},
		{"undefined", "c := x if {\n\tx := 1\n\tx > 2\n}\np := object.get({\"v\": c}, \"v\", \"none\") if input.s\nelse := \"no input\"", []string{"c"}, []string{"p"}},
		{"sprintf over constants", "c := sprintf(\"%v-%v\", [\"a\", count({1, 2})])\np := concat(\"/\", [c, object.get(input, \"s\", \"\")])", []string{"c"}, []string{"p"}},
	} {
		module := "package t\n" + tc.rules
		prog := compileRules(t, tc.name, module)
		marked := map[string]bool{}
		for _, f := range prog.funcs {
			marked[f.name[strings.LastIndex(f.name, ".")+1:]] = f.constant
		}
		for _, r := range tc.constant {
			if !marked[r] {
				t.Errorf("%s: rule %s not marked constant", tc.name, r)
			}
		}
		for _, r := range tc.varying {
			if marked[r] {
				t.Errorf("%s: rule %s marked constant", tc.name, r)
			}
		}
		matchesTopdown(t, tc.name, module, NewVM(prog), inputs, 2)
		for _, f := range prog.funcs {
			if f.constant && f.konst.Load() == nil {
				t.Errorf("%s: constant rule %s evaluated but its value not kept", tc.name, f.name)
			}
		}
	}
}

// TestDataRuleNotConstant: a rule over a data document varies with it.
func TestDataRuleNotConstant(t *testing.T) {
	pl, err := planWith(t, "package t\nc := data.d | {\"x\"}\np := count(c)", map[string]any{"d": []any{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(pl, "t/p")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range prog.funcs {
		if f.constant {
			t.Errorf("rule %s over data marked constant", f.name)
		}
	}
}

// TestConstantKeptAcrossReuse: the kept value owns its terms — evaluations
// that reuse their terms (EvalRead) and evaluations of other VMs at the
// same time leave it as it was.
func TestConstantKeptAcrossReuse(t *testing.T) {
	module := "package t\nc := {\"k\": {\"a\", \"b\"} | {\"c\"}, \"n\": count([1, 2, 3])}\np := {\"c\": c, \"xs\": [sprintf(\"%v!\", [x]) | some x in input.xs], \"in\": object.get(input, \"s\", \"\") in c.k}"
	prog := compileRules(t, "kept", module)
	want := ast.MustParseTerm(`{"k": {"a", "b", "c"}, "n": 3}`).Value
	now := time.Unix(1_800_000_000, 0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			vm := NewVM(prog)
			for i := range 200 {
				in := ast.MustParseTerm(`{"xs": ["a", "b", "c", "d", "e"], "s": "b"}`).Value
				if i%2 == g%2 {
					in = ast.MustParseTerm(`{"xs": []}`).Value
				}
				err := vm.EvalRead(context.Background(), in, nil, now, func(v ast.Value) error {
					got := v.(ast.Object).Get(ast.InternedTerm("c"))
					if got == nil || got.Value.Compare(want) != 0 {
						t.Errorf("evaluation %d of VM %d: c = %v, want %v", i, g, got, want)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, f := range prog.funcs {
		if strings.HasSuffix(f.name, ".c") {
			if k := f.konst.Load(); k == nil || k.v.Value.Compare(want) != 0 {
				t.Fatalf("kept value of c: %v", k)
			}
			return
		}
	}
	t.Fatal("no rule c in the program")
}

// TestSharedValuesSortedBeforeUse: a set every VM of a program shares (a
// kept constant rule's value, a folded literal) is sorted before it is
// shared. A set sorts its keys at its first iteration (under a sync.Once)
// while a union reads them unguarded: two VMs at the first use of a fresh
// program, one iterating and one uniting, would race (the race detector
// reports it) and the union could miss elements.
func TestSharedValuesSortedBeforeUse(t *testing.T) {
	var elems []string
	for i := range 40 {
		elems = append(elems, fmt.Sprintf("%q", fmt.Sprintf("e%02d", i)))
	}
	lit := "{" + strings.Join(elems, ", ") + "}"
	module := "package t\nc := " + lit + "\n" +
		"f(s) := count(s | {input.s}) if input.m == \"u\"\n" +
		"f(s) := count([y | some y in s]) if input.m == \"i\"\n" +
		"f(s) := count(s) if input.m == \"k\"\n" + // keeps c without iterating it
		"p := f(c) if input.w == \"rule\"\n" +
		"p := f(s) if {\n\tinput.w == \"literal\"\n\ts := " + lit + "\n}\n"
	pl, err := plan(t, module)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	eval := func(prog *Program, in string) (ast.Value, error) {
		return NewVM(prog).Eval(context.Background(), ast.MustParseTerm(in).Value, nil, now)
	}
	for round := range 100 {
		prog, err := Compile(pl, "t/p")
		if err != nil {
			t.Fatal(err)
		}
		w := "literal"
		if round%2 == 0 {
			w = "rule"
			if v, err := eval(prog, `{"w": "rule", "m": "k"}`); err != nil || v.Compare(ast.InternedTerm(40).Value) != 0 {
				t.Fatalf("keeping c: %v %v", v, err)
			}
		}
		var wg sync.WaitGroup
		for _, tc := range []struct {
			m    string
			want int
		}{{"u", 41}, {"i", 40}} {
			wg.Go(func() {
				in := fmt.Sprintf(`{"w": %q, "m": %q, "s": "zz"}`, w, tc.m)
				got, err := eval(prog, in)
				if err != nil || got == nil || got.Compare(ast.InternedTerm(tc.want).Value) != 0 {
					t.Errorf("round %d, input %s: %v %v, want %d", round, in, got, err, tc.want)
				}
			})
		}
		wg.Wait()
	}
}
