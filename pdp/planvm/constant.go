package planvm

import (
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
)

// A constant rule is a rule whose value depends on neither the input nor
// data nor the clock: its body reads only constants, other constant rules
// and deterministic built-ins. The planner plans it like any rule, so the
// value was computed anew by every evaluation — e.g. adgang.admin's
// _needs_target, the union of four literal sets, was a fifth of an admin
// decision's evaluation. The first evaluation that computes it without an
// error keeps a copy of the value (or its being undefined) in the
// function; every later evaluation, of any VM of the program, takes that.
// A built-in's error makes its expression undefined (as in topdown), so
// that too is the same in every evaluation.

// Presorted sorts the keys of every object and set in t and returns t: a
// term shared by concurrent evaluations must be, as an object or set sorts
// its keys on first iteration (under a sync.Once) while a copy, a union or
// an intersection reads them unguarded — a union could then miss an
// element. After this every read finds them sorted. Nil stays nil.
func Presorted(t *ast.Term) *ast.Term {
	if t == nil {
		return nil
	}
	switch v := t.Value.(type) {
	case ast.Object:
		v.Foreach(func(k, x *ast.Term) { Presorted(k); Presorted(x) })
	case ast.Set:
		v.Foreach(func(x *ast.Term) { Presorted(x) })
	case *ast.Array:
		v.Foreach(func(x *ast.Term) { Presorted(x) })
	}
	return t
}

// constValue is a constant rule's value, kept once computed; v is nil
// when the rule is undefined.
type constValue struct{ v *ast.Term }

// markConstants sets function.constant on the rules (functions of exactly
// input and data) of p that are constant. A rule is constant when no
// statement of it mentions its input or data local except as an argument
// of a call of a constant rule (every rule is called with both), it calls
// only constant rules, and every built-in it calls is deterministic.
// Recursion, which the planner never emits for rules, counts as not
// constant.
func markConstants(p *ir.Policy, funcs map[string]*function) {
	if p.Funcs == nil {
		return
	}
	byName := make(map[string]*ir.Func, len(p.Funcs.Funcs))
	for _, f := range p.Funcs.Funcs {
		byName[f.Name] = f
	}
	const (
		unknown = iota
		visiting
		constant
		varying
	)
	state := make(map[string]int, len(byName))
	var isConst func(name string) bool
	isConst = func(name string) bool {
		switch state[name] {
		case constant:
			return true
		case visiting, varying:
			return false
		}
		f := byName[name]
		if f == nil || len(f.Params) != 2 {
			state[name] = varying
			return false
		}
		state[name] = visiting
		params := map[ir.Local]bool{f.Params[0]: true, f.Params[1]: true}
		ok := constBlocks(f.Blocks, params, byName, isConst)
		state[name] = varying
		if ok {
			state[name] = constant
		}
		return ok
	}
	for name, fn := range funcs {
		fn.constant = isConst(name)
	}
}

// constBlocks reports whether blocks read none of params other than as the
// arguments of calls of constant rules, and call only constant rules and
// deterministic built-ins.
func constBlocks(blocks []*ir.Block, params map[ir.Local]bool, funcs map[string]*ir.Func, isConst func(string) bool) bool {
	for _, b := range blocks {
		for _, s := range b.Stmts {
			if !constStmt(s, params, funcs, isConst) {
				return false
			}
		}
	}
	return true
}

func constStmt(s ir.Stmt, params map[ir.Local]bool, funcs map[string]*ir.Func, isConst func(string) bool) bool {
	switch s := s.(type) {
	case *ir.CallStmt:
		if _, ok := funcs[s.Func]; ok {
			return isConst(s.Func) // its arguments are the caller's input and data
		}
		if !deterministic(s.Func) {
			return false
		}
		for _, a := range s.Args {
			if mentions(reflect.ValueOf(a), params) {
				return false
			}
		}
		return !params[s.Result]
	case *ir.BlockStmt:
		return constBlocks(s.Blocks, params, funcs, isConst)
	case *ir.ScanStmt:
		return !params[s.Source] && !params[s.Key] && !params[s.Value] && constBlocks([]*ir.Block{s.Block}, params, funcs, isConst)
	case *ir.NotStmt:
		return constBlocks([]*ir.Block{s.Block}, params, funcs, isConst)
	case *ir.WithStmt: // refused by Compile; never constant
		return false
	}
	return !mentions(reflect.ValueOf(s), params)
}

// deterministic reports whether built-in name gives the same answer for
// the same arguments and does nothing else: an OPA built-in not marked
// non-deterministic, other than those that print or trace or read the
// clock unmarked.
func deterministic(name string) bool {
	decl, ok := ast.BuiltinMap[name]
	if !ok || decl.Nondeterministic {
		return false
	}
	switch name {
	case ast.Print.Name, ast.InternalPrint.Name, ast.Trace.Name,
		// Not marked non-deterministic by OPA, but they verify the chain's
		// validity at the wall clock.
		ast.CryptoX509ParseAndVerifyCertificates.Name, ast.CryptoX509ParseAndVerifyCertificatesWithOptions.Name:
		return false
	}
	return true
}

// mentions reports whether v (a statement, an operand or one of their
// fields) holds one of locals, whether it reads or writes it; nested
// blocks are not looked into (constStmt walks them).
func mentions(v reflect.Value, locals map[ir.Local]bool) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return false
		}
		return mentions(v.Elem(), locals)
	case reflect.Struct:
		if _, ok := v.Interface().(ir.Block); ok {
			return false
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && mentions(v.Field(i), locals) {
				return true
			}
		}
	case reflect.Slice:
		if v.Type().Elem() == reflect.TypeFor[*ir.Block]() {
			return false
		}
		for i := range v.Len() {
			if mentions(v.Index(i), locals) {
				return true
			}
		}
	case reflect.Int:
		if v.Type() == reflect.TypeFor[ir.Local]() {
			return locals[ir.Local(v.Int())]
		}
	}
	return false
}
