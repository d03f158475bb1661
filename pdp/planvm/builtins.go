package planvm

import (
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// shortcuts wrap OPA's implementation of a built-in with a shorter path for
// the operands policies pass most often; every other call goes to OPA's
// implementation unchanged. A shortcut must answer exactly as OPA's does
// where it answers at all (TestShortcutsMatchOPA).
var shortcuts = map[string]func(topdown.BuiltinFunc) topdown.BuiltinFunc{
	ast.Sprintf.Name:      sprintfShortcut,
	ast.ObjectRemove.Name: objectRemoveShortcut,
}

// objectRemoveShortcut answers object.remove(obj, keys) for a set of keys
// itself: with obj when it has none of them (an empty obj included), the
// same value without the copy OPA's implementation makes, and otherwise
// with an object made at once of the items that stay (OPA's inserts them
// one by one: ten allocations against six for the login policy's valid
// grants).
//
//go:noinline
func objectRemoveShortcut(opa topdown.BuiltinFunc) topdown.BuiltinFunc {
	return func(bctx topdown.BuiltinContext, ops []*ast.Term, iter func(*ast.Term) error) error {
		if len(ops) == 2 {
			if obj, ok := ops[0].Value.(ast.Object); ok {
				if keys, ok := ops[1].Value.(ast.Set); ok {
					if !hasAnyKey(obj, keys) {
						return iter(ops[0])
					}
					return iter(ast.NewTerm(objectWithout(obj, keys)))
				}
			}
		}
		return opa(bctx, ops, iter)
	}
}

// objectWithout is obj without the keys in keys.
func objectWithout(obj ast.Object, keys ast.Set) ast.Object {
	ks := obj.Keys()
	items := make([][2]*ast.Term, 0, len(ks))
	for _, k := range ks {
		if !keys.Contains(k) {
			items = append(items, [2]*ast.Term{k, obj.Get(k)})
		}
	}
	return ast.NewObject(items...)
}

func hasAnyKey(obj ast.Object, keys ast.Set) bool {
	if obj.Len() == 0 {
		return false
	}
	for _, k := range keys.Slice() {
		if obj.Get(k) != nil {
			return true
		}
	}
	return false
}

// sprintfShortcut formats sprintf(format, args) itself when the format
// has only %v, %s and %% verbs and every argument is a string, one per
// verb: the messages of reasons. OPA's implementation boxes each argument
// and goes through fmt (8 allocations per message against 3 here).
//
// Not inlined, so that every wrapper it makes is the one closure
// (TestCompileUsesShortcuts compares them).
//
//go:noinline
func sprintfShortcut(opa topdown.BuiltinFunc) topdown.BuiltinFunc {
	return func(bctx topdown.BuiltinContext, ops []*ast.Term, iter func(*ast.Term) error) error {
		if len(ops) == 2 {
			if s, ok := sprintfStrings(ops[0].Value, ops[1].Value); ok {
				return iter(ast.StringTerm(s))
			}
		}
		return opa(bctx, ops, iter)
	}
}

// sprintfStrings is fmt.Sprintf(format, args...) for a string format with
// only %v, %s and %% verbs and an array of exactly as many strings as it
// has %v and %s verbs; false for anything else.
func sprintfStrings(format, args ast.Value) (string, bool) {
	a, ok := args.(*ast.Array)
	if !ok {
		return "", false
	}
	return sprintfElems(format, a)
}

// elems is what sprintfElems reads its arguments from: an *ast.Array, or
// the terms a spread call would have made one of.
type elems interface {
	Len() int
	Elem(int) *ast.Term
}

// termList is a slice of terms read as an array.
type termList []*ast.Term

func (l termList) Len() int             { return len(l) }
func (l termList) Elem(i int) *ast.Term { return l[i] }

// sprintfElems is sprintfStrings over the elements of a.
func sprintfElems[A elems](format ast.Value, a A) (string, bool) {
	f, ok := format.(ast.String)
	if !ok {
		return "", false
	}
	n, used := 0, 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			n++
			continue
		}
		if i++; i == len(f) {
			return "", false
		}
		switch f[i] {
		case '%':
			n++
		case 'v', 's':
			if used == a.Len() {
				return "", false
			}
			s, ok := a.Elem(used).Value.(ast.String)
			if !ok {
				return "", false
			}
			n += len(s)
			used++
		default:
			return "", false
		}
	}
	if used != a.Len() {
		return "", false
	}
	var b strings.Builder
	b.Grow(n)
	used, lit := 0, 0 // lit: the start of the literal text not yet written
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		b.WriteString(string(f[lit:i]))
		if i++; f[i] == '%' {
			b.WriteByte('%')
		} else {
			b.WriteString(string(a.Elem(used).Value.(ast.String)))
			used++
		}
		lit = i + 1
	}
	b.WriteString(string(f[lit:]))
	return b.String(), true
}
