package planvm

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// A spread call is a built-in call whose argument is an array or set
// literal the plan makes only for that call: sprintf's argument list, the
// set of sets given to union. The literal is made by the statement just
// before the call, and its local is read nowhere else in the function, so
// the built-in can read the literal's elements where they are instead of
// a collection made of them (three to five allocations a literal).
//
// A spread answers exactly as the built-in over the made collection would,
// or declines (nil), and then the collection is made and the built-in
// called as without the fusion: errors and undefined answers are always
// the built-in's own (TestSpreadMatchesBuiltin).
type spread struct {
	kind opcode // the fused literal it takes: opMakeArrayN or opMakeSetN
	arg  int    // which argument the literal is
	fn   func(vm *VM, fp int, call *stmt, items []*ast.Term) *ast.Term
}

var spreads = map[string]spread{
	ast.Sprintf.Name: {opMakeArrayN, 1, spreadSprintf},
	ast.Union.Name:   {opMakeSetN, 0, spreadUnion},
}

// spreadSprintf is sprintf(format, [items...]) for the formats and string
// arguments sprintfElems takes.
func spreadSprintf(vm *VM, fp int, call *stmt, items []*ast.Term) *ast.Term {
	format := vm.get(fp, call.args[0])
	if format == nil {
		return nil
	}
	s, ok := sprintfElems(format.Value, termList(items))
	if !ok {
		return nil
	}
	return vm.term(ast.String(s))
}

// spreadUnion is union({items...}) when every item is a set. A union with
// at most one non-empty set is that set (values are never changed once
// made); otherwise a new set of them all.
func spreadUnion(vm *VM, _ int, _ *stmt, items []*ast.Term) *ast.Term {
	var only *ast.Term
	n, nonEmpty := 0, 0
	for _, it := range items {
		s, ok := it.Value.(ast.Set)
		if !ok {
			return nil
		}
		if s.Len() > 0 {
			only = it
			n += s.Len()
			nonEmpty++
		}
	}
	switch nonEmpty {
	case 0:
		return vm.term(emptySet)
	case 1:
		return only
	}
	u := ast.NewSetWithCapacity(n)
	for _, it := range items {
		for _, e := range it.Value.(ast.Set).Slice() { // Foreach(u.Add) would allocate the method value
			u.Add(e)
		}
	}
	return vm.term(u)
}

// spreadCalls joins, in a function's blocks, each fused literal made only
// for a spread built-in's argument with that call into one opSpread
// statement. keep are locals read outside the statements (the function's
// parameters and return value): never joined.
func spreadCalls(blocks []*block, keep ...int) {
	uses := map[int]int{} // every mention of a local in any statement
	for _, k := range keep {
		uses[k] += 2
	}
	var count func(bs []*block)
	count = func(bs []*block) {
		for _, b := range bs {
			for i := range b.stmts {
				s := &b.stmts[i]
				uses[s.target]++
				for _, o := range append([]operand{s.a, s.b, s.c}, append(s.args, s.items...)...) {
					if o.konst == nil {
						uses[o.local]++
					}
				}
				count(s.blocks)
			}
		}
	}
	count(blocks)
	var join func(bs []*block)
	join = func(bs []*block) {
		for _, b := range bs {
			out := b.stmts[:0]
			for i := 0; i < len(b.stmts); i++ {
				mk := b.stmts[i]
				join(mk.blocks)
				if i+1 < len(b.stmts) && spreadable(&mk, &b.stmts[i+1], uses) {
					call := b.stmts[i+1]
					out = append(out, stmt{op: opSpread, target: call.target, pair: []stmt{mk, call},
						spread: spreads[call.biName].fn, loc: call.loc})
					i++
					continue
				}
				out = append(out, mk)
			}
			b.stmts = out
		}
	}
	join(blocks)
}

// spreadable: mk makes the literal call spreads, and nothing else mentions
// the literal's local (its making and the call's argument are its two).
func spreadable(mk, call *stmt, uses map[int]int) bool {
	sp, ok := spreads[call.biName]
	if !ok || call.op != opBuiltin || mk.op != sp.kind || sp.arg >= len(call.args) {
		return false
	}
	a := call.args[sp.arg]
	return a.konst == nil && a.local == mk.target && uses[mk.target] == 2 && call.target != mk.target
}

// execSpread runs a spread call, or else its literal and its call.
func (vm *VM) execSpread(fp int, s *stmt) int {
	mk, call := &s.pair[0], &s.pair[1]
	items := vm.spreadItems[:0]
	defined := true
	for _, o := range mk.items {
		v := vm.get(fp, o)
		if v == nil {
			defined = false
			break
		}
		items = append(items, v)
	}
	var v *ast.Term
	if defined {
		v = s.spread(vm, fp, call, items)
	}
	clear(items)
	vm.spreadItems = items
	if v != nil {
		vm.stack[fp+s.target] = v
		return -1
	}
	if r := vm.exec(fp, mk); r >= 0 {
		return r
	}
	return vm.exec(fp, call)
}
