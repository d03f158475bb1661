package planvm

import (
	"context"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestSpreadMatchesBuiltin: a spread call (sprintf over an argument list,
// union over a set of sets) answers as topdown does, over inputs it takes
// itself and inputs it hands back to the built-in (numbers, undefined
// elements, items that are not sets); a literal that is read again is not
// joined.
func TestSpreadMatchesBuiltin(t *testing.T) {
	inputs := []string{
		`{}`,
		`{"a": "x", "b": "y", "sa": ["p", "q"], "sb": [], "sc": ["q", "r"], "o": {"q": 1, "z": 2, "p": 3}}`,
		`{"a": 1, "b": "y", "sa": [], "sb": [], "sc": [], "o": {}}`,
		`{"a": "x", "b": {"k": 1}, "sa": ["p"], "sb": ["p"], "sc": [1], "o": {"x": {"y": 1}}}`,
		`{"a": "%v", "b": "", "sa": [[1], "p"], "sb": [{"o": 1}], "sc": [], "o": "not an object"}`,
	}
	sets := "sa := {x | some x in input.sa}\nsb := {x | some x in input.sb}\nsc := {x | some x in input.sc}\n"
	for _, tc := range []struct {
		name, rules string
		spreads     int // opSpread statements the program must hold at least
	}{
		{"sprintf of inputs", `p := sprintf("%v and %s, 100%%", [input.a, input.b])`, 1},
		{"sprintf in a comprehension", `p := {sprintf("%v-%v", [x, input.b]) | some x in input.sa}`, 1},
		{"sprintf with a bad format", `p := sprintf("%d %v", [input.a, input.b])`, 1},
		{"sprintf, too few verbs", `p := sprintf("%v", [input.a, input.b])`, 1},
		{"union of rule sets", sets + "p := union({sa, sb, sc})", 1},
		{"union, one non-empty", sets + "p := union({sb, sa})", 1},
		{"union of empty sets", sets + "p := union({sb, sb})", 1},
		{"union with a non-set", sets + "p := union({sa, input.sa})", 1},
		{"union result used again", sets + "u := union({sa, sc})\np := [u, count(u), u | {\"z\"}]", 1},
		{"sort of object keys", "p := sort(object.keys(input.o))", 1},
		{"sort of keys of several types", "p := sort(object.keys({1: input.a, \"b\": 2, [1]: 3, input.b: 4}))", 1},
		{"object keys read again", "p := [k, sort(k)] if k := object.keys(input.o)", 0},
		{"object.remove of a set", sets + "p := object.remove(input.o, sa)", 0},
		{"object.remove of nothing", sets + "p := object.remove(input.o, sb)", 0},
		{"object.remove of an array", "p := object.remove(input.o, input.sa)", 0},
		{"literal read again", `p := [s, a] if { a := [input.a, input.b]; s := sprintf("%v %v", a) }`, 0},
		{"set literal read again", sets + "p := [u, ss] if { ss := {sa, sc}; u := union(ss) }", 0},
	} {
		module := "package t\n" + tc.rules
		prog := compileRules(t, tc.name, module)
		if n := countSpreads(prog); n < tc.spreads || (tc.spreads == 0 && n != 0) {
			t.Errorf("%s: %d spread calls, want %d", tc.name, n, tc.spreads)
		}
		matchesTopdown(t, tc.name, module, NewVM(prog), inputs, 1)
	}
	if emptySet.Len() != 0 {
		t.Fatalf("the shared empty set was changed: %v", emptySet)
	}
}

func countSpreads(prog *Program) int {
	n := 0
	prog.walk(func(s *stmt) {
		if s.op == opSpread {
			n++
		}
	})
	return n
}

// TestFoldConstants: a literal of constants is one term shared by every
// evaluation, and answers as topdown does; a literal that is added to
// later is not folded.
func TestFoldConstants(t *testing.T) {
	for _, tc := range []struct {
		name, rules string
		folded      bool
	}{
		{"set of constants", `p := input.s in {"active", "new"}`, true},
		{"array of constants", `p := ["x", "a"] == input.a`, true},
		{"object of constants", `p := object.get({"new": "y", "b": "z"}, input.s, "none")`, true},
		{"literal with an input element", `p := {"active", input.s}`, false},
	} {
		module := "package t\n" + tc.rules
		prog := compileRules(t, tc.name, module)
		consts := 0
		prog.walk(func(s *stmt) {
			if s.op == opConst {
				switch s.konst.Value.(type) {
				case ast.Set, ast.Object, *ast.Array:
					consts++
				}
			}
		})
		if (consts > 0) != tc.folded {
			t.Errorf("%s: %d folded literals, want folded %v", tc.name, consts, tc.folded)
		}
		// Twice over each input: a second evaluation sees the same constants.
		matchesTopdown(t, tc.name, module, NewVM(prog), []string{`{}`, `{"s": "new", "a": ["x", "a"]}`, `{"s": "b", "a": []}`, `{"s": "gone"}`}, 2)
	}
}

// compileRules plans and compiles module's t/p.
func compileRules(t *testing.T, name, module string) *Program {
	t.Helper()
	pl, err := plan(t, module)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	prog, err := Compile(pl, "t/p")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return prog
}

// matchesTopdown evaluates vm over each input (times times) and compares
// with topdown: the same error or none, the same value or undefined.
func matchesTopdown(t *testing.T, name, module string, vm *VM, inputs []string, times int) {
	t.Helper()
	now := time.Unix(1_800_000_000, 0)
	for _, in := range inputs {
		input := ast.MustParseTerm(in).Value
		want, werr := evalTopdown(t, module, map[string]any{}, input, now)
		for range times {
			got, gerr := vm.Eval(context.Background(), input, nil, now)
			if (werr != nil) != (gerr != nil) {
				t.Errorf("%s, input %s: error %v, topdown %v", name, in, gerr, werr)
			} else if werr == nil && ((want == nil) != (got == nil) || (want != nil && want.Compare(got) != 0)) {
				t.Errorf("%s, input %s: got %v, topdown %v", name, in, got, want)
			}
		}
	}
}
