package planvm

import (
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// A spread call is a built-in call whose argument is an array or set
// literal the plan makes only for that call — sprintf's argument list, the
// set of sets given to union — or another built-in's answer, as in
// sort(object.keys(o)). The literal (or inner call) is the statement just
// before the call, and its local is read nowhere else in the function, so
// the built-in can read the literal's elements (the inner call's
// arguments) where they are instead of a collection made of them (three
// to twelve allocations).
//
// A spread answers exactly as the built-in over the made collection would,
// or declines (nil), and then the collection is made and the built-in
// called as without the fusion: errors and undefined answers are always
// the built-in's own (TestSpreadMatchesBuiltin).
type spread struct {
	kind opcode // the fused literal it takes: opMakeArrayN or opMakeSetN, or opBuiltin
	from string // opBuiltin: the inner built-in
	arg  int    // which argument the literal is
	fn   func(vm *VM, fp int, call *stmt, items []*ast.Term) *ast.Term
}

var spreads = map[string]spread{
	ast.Sprintf.Name: {opMakeArrayN, "", 1, spreadSprintf},
	ast.Union.Name:   {opMakeSetN, "", 0, spreadUnion},
	ast.Sort.Name:    {opBuiltin, ast.ObjectKeys.Name, 0, spreadSortKeys},
}

// spreadSortKeys is sort(object.keys(o)) for an object o: its keys, which
// an object holds sorted and unique, as the array.
func spreadSortKeys(vm *VM, _ int, _ *stmt, items []*ast.Term) *ast.Term {
	if obj, ok := items[0].Value.(ast.Object); ok {
		return vm.term(ast.NewArray(obj.Keys()...))
	}
	return nil
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
	walkStmts(blocks, func(s *stmt) {
		uses[s.target]++
		for _, o := range append([]operand{s.a, s.b, s.c}, append(s.args, s.items...)...) {
			if o.konst == nil {
				uses[o.local]++
			}
		}
	})
	var join func(bs []*block)
	join = func(bs []*block) {
		for _, b := range bs {
			out := b.stmts[:0]
			for i := 0; i < len(b.stmts); i++ {
				mk := b.stmts[i]
				join(mk.blocks)
				if n := spreadable(b.stmts[i:], uses); n > 0 {
					call := b.stmts[i+n-1]
					out = append(out, stmt{op: opSpread, target: call.target, seq: &block{stmts: slices.Clone(b.stmts[i : i+n])},
						spread: spreads[call.biName].fn, loc: call.loc})
					i += n - 1
					continue
				}
				out = append(out, mk)
			}
			b.stmts = out
		}
	}
	join(blocks)
}

// spreadable: how many statements from stmts[0] make a spread call (0:
// none) — the literal or inner call, an optional copy of its local to
// another (as the planner makes for an inner call), and the call. Nothing
// else may mention the literal's local or its copy: each has two mentions,
// its making and its reading.
func spreadable(stmts []stmt, uses map[int]int) int {
	mk, n, arg := &stmts[0], 1, stmts[0].target
	if uses[arg] != 2 {
		return 0
	}
	if n < len(stmts) && stmts[n].op == opAssignVar && stmts[n].a.konst == nil && stmts[n].a.local == arg {
		arg = stmts[n].target
		if n++; uses[arg] != 2 {
			return 0
		}
	}
	if n == len(stmts) {
		return 0
	}
	call := &stmts[n]
	sp, ok := spreads[call.biName]
	if !ok || call.op != opBuiltin || mk.op != sp.kind || sp.arg >= len(call.args) || (sp.kind == opBuiltin && mk.biName != sp.from) {
		return 0
	}
	if a := call.args[sp.arg]; a.konst != nil || a.local != arg || call.target == arg || call.target == mk.target {
		return 0
	}
	return n + 1
}

// execSpread runs a spread call, or else its literal and its call.
func (vm *VM) execSpread(fp int, s *stmt) int {
	mk, call := &s.seq.stmts[0], &s.seq.stmts[len(s.seq.stmts)-1]
	items := vm.spreadItems[:0]
	defined := true
	from := mk.items
	if mk.op == opBuiltin {
		from = mk.args
	}
	for _, o := range from {
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
	return vm.run(fp, s.seq)
}

// foldConstants makes each fused literal whose elements are all constants
// (a set like {"active", "new"}, which the planner builds on every
// evaluation) a constant built once: the same term for every evaluation.
// Only a literal whose local no add statement of the function targets is
// folded, so nothing ever changes the shared value.
func foldConstants(blocks []*block) {
	added := map[int]bool{}
	walkStmts(blocks, func(s *stmt) {
		switch s.op {
		case opArrayAppend, opObjectInsert, opObjectInsertOnce, opSetAdd:
			added[s.target] = true
		}
	})
	// A local copied to one that is added to is added to as well.
	for changed := true; changed; {
		changed = false
		walkStmts(blocks, func(s *stmt) {
			if (s.op == opAssignVar || s.op == opAssignVarOnce) && s.a.konst == nil && added[s.target] && !added[s.a.local] {
				added[s.a.local], changed = true, true
			}
		})
	}
	walkStmts(blocks, func(s *stmt) {
		if (s.op != opMakeArrayN && s.op != opMakeSetN && s.op != opMakeObjectN) || added[s.target] {
			return
		}
		terms := make([]*ast.Term, len(s.items))
		for i, o := range s.items {
			if o.konst == nil {
				return
			}
			terms[i] = o.konst
		}
		var v ast.Value
		switch s.op {
		case opMakeArrayN:
			v = ast.NewArray(terms...)
		case opMakeSetN:
			v = ast.NewSet(terms...)
		default:
			items := make([][2]*ast.Term, 0, len(terms)/2)
			for i := 0; i < len(terms); i += 2 {
				items = append(items, [2]*ast.Term{terms[i], terms[i+1]})
			}
			v = ast.NewObject(items...)
		}
		// Shared by every VM of the program: sorted before any reads it.
		*s = stmt{op: opConst, target: s.target, konst: Presorted(ast.NewTerm(v)), loc: s.loc}
	})
}

// walkStmts calls f on every statement of blocks, nested ones included,
// and on the statements a spread call joined (which it falls back to).
func walkStmts(blocks []*block, f func(*stmt)) {
	for _, b := range blocks {
		for i := range b.stmts {
			s := &b.stmts[i]
			f(s)
			walkStmts(s.blocks, f)
			if s.seq != nil {
				walkStmts([]*block{s.seq}, f)
			}
		}
	}
}

// walk calls f on every statement of the program (walkStmts).
func (p *Program) walk(f func(*stmt)) {
	walkStmts(p.entry, f)
	for _, fn := range p.funcs {
		walkStmts(fn.blocks, f)
	}
}
