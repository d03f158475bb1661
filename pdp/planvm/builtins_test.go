package planvm

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// TestShortcutsMatchOPA: each built-in shortcut answers as OPA's own
// implementation on the operands it takes and on those it hands on, and
// takes the shortcut where it should.
func TestShortcutsMatchOPA(t *testing.T) {
	str := func(s ...string) *ast.Term {
		ts := make([]*ast.Term, len(s))
		for i := range s {
			ts[i] = ast.StringTerm(s[i])
		}
		return ast.ArrayTerm(ts...)
	}
	for _, c := range []struct {
		name     string
		format   *ast.Term
		args     *ast.Term
		shortcut bool // sprintfStrings answers itself
	}{
		{"reason message", ast.StringTerm("grant %v of %v comes through group %v; this right must be granted directly"), str("g1", "r.view", "grp"), true},
		{"percent s", ast.StringTerm("%s may never be used"), str("r.view"), true},
		{"escaped percent", ast.StringTerm("100%% of %v, %s%%"), str("x", "y"), true},
		{"no verbs", ast.StringTerm("plain"), str(), true},
		{"empty", ast.StringTerm(""), str(), true},
		{"verb first and last", ast.StringTerm("%v%v"), str("a", "b"), true},
		{"empty strings", ast.StringTerm("[%v][%s]"), str("", ""), true},
		{"unicode and invalid UTF-8", ast.StringTerm("æøå %v \xff"), str("Ærø\xfe"), true},
		{"quotes stay unquoted", ast.StringTerm("%v"), str(`a "b"`), true},
		{"too few args", ast.StringTerm("%v and %v"), str("a"), false},
		{"too many args", ast.StringTerm("%v"), str("a", "b"), false},
		{"trailing percent", ast.StringTerm("50%"), str(), false},
		{"number arg", ast.StringTerm("%v days"), ast.ArrayTerm(ast.IntNumberTerm(90)), false},
		{"float arg", ast.StringTerm("%v"), ast.ArrayTerm(ast.FloatNumberTerm(1.5)), false},
		{"object arg", ast.StringTerm("%v"), ast.ArrayTerm(ast.ObjectTerm(ast.Item(ast.StringTerm("a"), ast.IntNumberTerm(1)))), false},
		{"set arg", ast.StringTerm("%v"), ast.ArrayTerm(ast.SetTerm(ast.StringTerm("a"))), false},
		{"null arg", ast.StringTerm("%v"), ast.ArrayTerm(ast.NullTerm()), false},
		{"quoted verb", ast.StringTerm("%q"), str("a"), false},
		{"width", ast.StringTerm("%5s"), str("a"), false},
		{"d verb", ast.StringTerm("%d"), ast.ArrayTerm(ast.IntNumberTerm(7)), false},
		{"format not a string", ast.IntNumberTerm(1), str(), false},
		{"args not an array", ast.StringTerm("%v"), ast.SetTerm(ast.StringTerm("a")), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			opa := topdown.GetBuiltin(ast.Sprintf.Name)
			call := func(f topdown.BuiltinFunc) (*ast.Term, error) {
				var out *ast.Term
				err := f(topdown.BuiltinContext{}, []*ast.Term{c.format, c.args}, func(t *ast.Term) error { out = t; return nil })
				return out, err
			}
			want, werr := call(opa)
			got, gerr := call(sprintfShortcut(opa))
			if (werr != nil) != (gerr != nil) || (want == nil) != (got == nil) || (want != nil && !want.Equal(got)) {
				t.Fatalf("shortcut: %v, %v; OPA: %v, %v", got, gerr, want, werr)
			}
			if _, ok := sprintfStrings(c.format.Value, c.args.Value); ok != c.shortcut {
				t.Fatalf("sprintfStrings took the shortcut: %v, want %v", ok, c.shortcut)
			}
		})
	}
}

// TestCompileUsesShortcuts: a compiled plan calls sprintf through its
// shortcut (and answers as topdown does).
func TestCompileUsesShortcuts(t *testing.T) {
	module := "package t\n\np := sprintf(\"%v of %s: 100%%\", [input.a, input.b])\n"
	p, err := plan(t, module)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(p, "t/p")
	if err != nil {
		t.Fatal(err)
	}
	short := reflect.ValueOf(sprintfShortcut(nil)).Pointer()
	found := 0
	prog.walk(func(s *stmt) { // a spread call's joined statements included: its fallback
		if s.op == opBuiltin && s.biName == ast.Sprintf.Name {
			if reflect.ValueOf(s.bi).Pointer() != short {
				t.Errorf("sprintf at %s is not called through its shortcut", s.loc)
			}
			found++
		}
	})
	if found == 0 {
		t.Fatal("no sprintf call in the compiled plan")
	}
	in := ast.MustParseTerm(`{"a": "x", "b": "y"}`).Value
	now := time.Now()
	got, err := NewVM(prog).Eval(context.Background(), in, nil, now)
	want, werr := evalTopdown(t, module, map[string]any{}, in, now)
	if err != nil || werr != nil || got == nil || got.Compare(want) != 0 {
		t.Fatalf("plan %v (%v), topdown %v (%v)", got, err, want, werr)
	}
}
