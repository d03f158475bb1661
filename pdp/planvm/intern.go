package planvm

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// interned holds the string terms shared by the policy input's builder,
// the plans' constants and the answer's reader: an object look-up by a
// constant key then finds the key by pointer (ast's object.Get compares
// the key terms' pointers before their values).
var interned sync.Map // string -> *ast.Term

// Intern returns the one shared term of s. Intern only a fixed vocabulary
// (object keys known in advance): the table is never emptied. Shared terms
// are never changed.
func Intern(s string) *ast.Term {
	if t, ok := interned.Load(s); ok {
		return t.(*ast.Term)
	}
	t, _ := interned.LoadOrStore(s, ast.StringTerm(s))
	return t.(*ast.Term)
}

// stringTerm is s's interned term if there is one, else a new term.
func stringTerm(s string) *ast.Term {
	if t, ok := interned.Load(s); ok {
		return t.(*ast.Term)
	}
	return ast.StringTerm(s)
}
