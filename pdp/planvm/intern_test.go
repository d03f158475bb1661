package planvm

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestCompileSharesInternedKeys: a plan's constant strings are the
// interned terms where there are some (so look-ups by them match the
// input's keys by pointer), and new terms otherwise.
func TestCompileSharesInternedKeys(t *testing.T) {
	shared := Intern("interned_key_for_test")
	if Intern("interned_key_for_test") != shared {
		t.Fatal("Intern gave two terms for one string")
	}
	pl, err := plan(t, "package t\np := [input.interned_key_for_test, input.not_interned_for_test]")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(pl, "t/p")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]*ast.Term{}
	prog.walk(func(s *stmt) {
		if k := s.b.konst; s.op == opDot && k != nil {
			if str, ok := k.Value.(ast.String); ok {
				found[string(str)] = k
			}
		}
	})
	if found["interned_key_for_test"] != shared {
		t.Errorf("the plan's key is not the interned term: %p, %p", found["interned_key_for_test"], shared)
	}
	if k := found["not_interned_for_test"]; k == nil {
		t.Error("no look-up of the other key found")
	} else if _, ok := interned.Load("not_interned_for_test"); ok {
		t.Error("Compile interned a string")
	}
}
