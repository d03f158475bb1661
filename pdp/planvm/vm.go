// Package planvm evaluates a policy's query plan — OPA's intermediate
// representation (IR), the same plan OPA's Wasm target compiles
// (compile.TargetPlan) — over OPA's own ast values, in Go. The plan is
// the policy in imperative form: the rules stay in Rego and are planned by
// OPA; built-in functions are OPA's topdown built-ins, so their answers are
// OPA's. Nothing is decided here that the plan does not say.
//
// The semantics follow OPA's Wasm compiler (internal/compiler/wasm), the
// reference interpreter of the IR: every block is one level of nesting, a
// statement that is undefined leaves its block, BreakStmt{Index: n} leaves
// n+1 levels, a scan's body is the loop level inside the scan's own block,
// and functions of exactly (input, data) are memoised per evaluation.
//
// A plan that uses what this interpreter does not carry (with, dynamic
// calls, object merges, relations, non-deterministic built-ins other than
// time.now_ns) is refused by Compile: its caller keeps another evaluator.
package planvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/builtins"
)

// Program is a compiled plan of one entrypoint. It is immutable but for
// the values of its constant rules, kept by the first evaluation that
// computes each (constant.go); VMs made from it evaluate one decision at a
// time each.
type Program struct {
	funcs   []*function
	entry   []*block // the entrypoint plan's blocks
	nlocals int      // the plan's locals
}

type function struct {
	name    string
	idx     int
	params  []int
	ret     int
	blocks  []*block
	nlocals int
	memo    bool // a rule: exactly (input, data), memoised per evaluation
	// constant: a rule whose value depends on neither input, data nor the
	// clock (constant.go); its value, once computed, is in konst.
	constant bool
	konst    atomic.Pointer[constValue]
}

type block struct{ stmts []stmt }

type opcode uint8

const (
	opReturn opcode = iota
	opCall
	opBuiltin
	opBlock
	opBreak
	opDot
	opLen
	opScan
	opNot
	opAssignInt
	opAssignVar
	opAssignVarOnce
	opResetLocal
	opConst // MakeNull, MakeNumberInt, MakeNumberRef: an immutable constant
	opMakeArray
	opMakeObject
	opMakeSet
	opEqual
	opNotEqual
	opIsArray
	opIsObject
	opIsSet
	opIsDefined
	opIsUndefined
	opArrayAppend
	opObjectInsert
	opObjectInsertOnce
	opSetAdd
	opResultSetAdd
	opNop
	// Made by fuse: a Make statement and the inserts that follow it at
	// once, built in one allocation of the collection's parts.
	opMakeArrayN
	opMakeObjectN
	opMakeSetN
	// A result {"result": x} made and added at once: x is the answer.
	opResultValue
	// Made by spreadCalls: a literal and the built-in call it is made for.
	opSpread
)

// operand is a local or a constant.
type operand struct {
	local int
	konst *ast.Term // non-nil: this constant
}

type stmt struct {
	op     opcode
	now    bool // a call of time.now_ns (made the time term first)
	a, b   operand
	c      operand // ObjectInsert's value
	target int
	n      int // break index, array capacity
	blocks []*block
	fn     *function
	bi     topdown.BuiltinFunc
	biName string
	args   []operand
	konst  *ast.Term
	loc    string
	items  []operand // fused: elements, or keys and values alternating
	// hint (SetAdd, ObjectInsert): the size the collections this
	// statement starts had at the end of earlier evaluations, so a new one
	// is made at that capacity instead of growing add by add.
	hint *atomic.Int32
	// opSpread: the statements it joins (the literal or inner call, a
	// copy of its local, the call), run as a block when the spread
	// declines, and the built-in's spread implementation.
	seq    *block
	spread func(vm *VM, fp int, call *stmt, items []*ast.Term) *ast.Term
}

// maxHint bounds a capacity hint: one evaluation with a large collection
// must not make every later one allocate as much.
const maxHint = 64

// Empty collections are shared until something is added: most sets and
// objects a plan makes (a partial set per reason rule, comprehensions over
// nothing) stay empty. A Make statement gives a fresh term holding the
// shared empty value; the first add puts a collection of its own in that
// term, so every local holding the term sees it, as with Wasm's in-place
// values. The shared values are never changed.
var (
	emptySet    = ast.NewSet()
	emptyObject = ast.NewObject()
)

// ErrConflict is a rule that produced more than one value (OPA's
// "complete rules must not produce multiple outputs").
var ErrConflict = errors.New("plan: conflicting values")

// retSignal is what a ReturnLocalStmt hands up through the blocks.
const retSignal = 1 << 30

// Compile compiles the plan of entrypoint (its name in the policy's plans,
// e.g. "adgang/login/decision") or refuses a policy it cannot evaluate
// exactly.
func Compile(p *ir.Policy, entrypoint string) (*Program, error) {
	if p == nil || p.Plans == nil || p.Static == nil {
		return nil, errors.New("plan: empty policy")
	}
	c := &compiler{p: p, funcs: map[string]*function{}, strs: make([]*ast.Term, len(p.Static.Strings))}
	for i, s := range p.Static.Strings {
		c.strs[i] = stringTerm(s.Value)
	}
	prog := &Program{}
	if p.Funcs != nil {
		for i, f := range p.Funcs.Funcs {
			fn := &function{name: f.Name, idx: i, params: make([]int, len(f.Params)), ret: int(f.Return), memo: len(f.Params) == 2}
			for j, l := range f.Params {
				fn.params[j] = int(l)
			}
			c.funcs[f.Name] = fn
			prog.funcs = append(prog.funcs, fn)
		}
		for i, f := range p.Funcs.Funcs {
			fn := prog.funcs[i]
			c.max = fn.ret
			for _, l := range fn.params {
				c.max = max(c.max, l)
			}
			var err error
			if fn.blocks, err = c.blocks(f.Blocks); err != nil {
				return nil, fmt.Errorf("plan: function %s: %w", f.Name, err)
			}
			fn.nlocals = c.max + 1
			foldConstants(fn.blocks)
			spreadCalls(fn.blocks, append([]int{fn.ret}, fn.params...)...)
		}
		markConstants(p, c.funcs)
	}
	for _, pl := range p.Plans.Plans {
		if pl.Name != entrypoint {
			continue
		}
		c.max = int(ir.Data)
		var err error
		if prog.entry, err = c.blocks(pl.Blocks); err != nil {
			return nil, fmt.Errorf("plan %s: %w", pl.Name, err)
		}
		prog.nlocals = c.max + 1
		foldConstants(prog.entry)
		spreadCalls(prog.entry)
		return prog, nil
	}
	return nil, fmt.Errorf("plan: no entrypoint %s", entrypoint)
}

type compiler struct {
	p     *ir.Policy
	funcs map[string]*function
	strs  []*ast.Term
	max   int // the highest local of the function being compiled
}

func (c *compiler) local(l ir.Local) int {
	c.max = max(c.max, int(l))
	return int(l)
}

func (c *compiler) operand(o ir.Operand) (operand, error) {
	val := o.Value
	switch v := val.(type) { // a plan read from JSON holds pointers
	case *ir.Local:
		val = *v
	case *ir.StringIndex:
		val = *v
	case *ir.Bool:
		val = *v
	}
	switch v := val.(type) {
	case ir.Local:
		return operand{local: c.local(v)}, nil
	case ir.StringIndex:
		if int(v) < 0 || int(v) >= len(c.strs) {
			return operand{}, fmt.Errorf("string index %d out of range", v)
		}
		return operand{konst: c.strs[v]}, nil
	case ir.Bool:
		return operand{konst: ast.InternedTerm(bool(v))}, nil
	}
	return operand{}, fmt.Errorf("operand %T", o.Value)
}

func (c *compiler) blocks(bs []*ir.Block) ([]*block, error) {
	out := make([]*block, len(bs))
	for i, b := range bs {
		var err error
		if out[i], err = c.block(b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *compiler) block(b *ir.Block) (*block, error) {
	out := &block{stmts: make([]stmt, 0, len(b.Stmts))}
	for _, s := range b.Stmts {
		st, err := c.stmt(s)
		if err != nil {
			if loc := s.GetLocation(); loc != nil {
				return nil, fmt.Errorf("row %d: %w", loc.Row, err)
			}
			return nil, err
		}
		out.stmts = append(out.stmts, st)
	}
	out.stmts = fuse(out.stmts)
	return out, nil
}

// fuse joins a MakeArray, MakeObject or MakeSet and the appends, inserts
// or adds into it that directly follow it into one statement: the same
// collection, built at once. An object is fused only over constant keys
// that differ (ast.NewObject does not merge equal keys), and no value may
// be the collection itself.
func fuse(stmts []stmt) []stmt {
	out := stmts[:0]
	for i := 0; i < len(stmts); i++ {
		st := stmts[i]
		var add opcode
		switch st.op {
		case opMakeArray:
			add = opArrayAppend
		case opMakeObject:
			add = opObjectInsert
		case opMakeSet:
			add = opSetAdd
		default:
			out = append(out, st)
			continue
		}
		var items []operand
		keys := map[string]bool{}
		j := i + 1
		for ; j < len(stmts); j++ {
			n := stmts[j]
			if n.op != add || n.target != st.target || (n.a.konst == nil && n.a.local == st.target) {
				break
			}
			if add != opObjectInsert {
				items = append(items, n.a)
				continue
			}
			if n.a.konst == nil {
				break
			}
			k, ok := n.a.konst.Value.(ast.String)
			if !ok || keys[string(k)] || (n.c.konst == nil && n.c.local == st.target) {
				break
			}
			keys[string(k)] = true
			items = append(items, n.a, n.c)
		}
		if len(items) == 0 {
			out = append(out, st)
			continue
		}
		if j < len(stmts) && st.op == opMakeObject && len(items) == 2 && items[0].konst.Value.Compare(ast.String("result")) == 0 &&
			stmts[j].op == opResultSetAdd && stmts[j].a.local == st.target {
			// The entrypoint's answer: no object is needed around it. The
			// object's local is not read after (a plan's last statement).
			out = append(out, stmt{op: opResultValue, a: items[1], loc: st.loc})
			i = j
			continue
		}
		st.op, st.items = map[opcode]opcode{opMakeArray: opMakeArrayN, opMakeObject: opMakeObjectN, opMakeSet: opMakeSetN}[st.op], items
		out = append(out, st)
		i = j - 1
	}
	return out
}

func (c *compiler) stmt(s ir.Stmt) (stmt, error) {
	var st stmt
	var err error
	switch x := s.(type) {
	case *ir.CallStmt:
		st, err = c.callStmt(x)
	case *ir.ReturnLocalStmt, *ir.BlockStmt, *ir.BreakStmt, *ir.ScanStmt, *ir.NotStmt:
		st, err = c.controlStmt(s)
	case *ir.AssignIntStmt, *ir.AssignVarStmt, *ir.AssignVarOnceStmt, *ir.ResetLocalStmt, *ir.MakeNullStmt,
		*ir.MakeNumberIntStmt, *ir.MakeNumberRefStmt, *ir.MakeArrayStmt, *ir.MakeObjectStmt, *ir.MakeSetStmt:
		st, err = c.assignStmt(s)
	default:
		st, err = c.operandStmt(s)
	}
	if loc := s.GetLocation(); loc != nil {
		st.loc = fmt.Sprintf("row %d col %d", loc.Row, loc.Col)
	}
	return st, err
}

// callStmt compiles a call of a planned function or of a built-in; the
// built-ins it refuses are listed in the package comment.
func (c *compiler) callStmt(s *ir.CallStmt) (stmt, error) {
	st := stmt{target: c.local(s.Result), args: make([]operand, len(s.Args))}
	for i, a := range s.Args {
		var err error
		if st.args[i], err = c.operand(a); err != nil {
			return st, err
		}
	}
	if fn, ok := c.funcs[s.Func]; ok {
		if len(s.Args) != len(fn.params) {
			return st, fmt.Errorf("call of %s with %d arguments, want %d", s.Func, len(s.Args), len(fn.params))
		}
		st.op, st.fn = opCall, fn
		return st, nil
	}
	decl, ok := ast.BuiltinMap[s.Func]
	impl := topdown.GetBuiltin(s.Func)
	switch {
	case !ok || impl == nil:
		return st, fmt.Errorf("unknown function %s", s.Func)
	case decl.Relation:
		return st, fmt.Errorf("relation %s is not supported", s.Func)
	case decl.Nondeterministic && s.Func != ast.NowNanos.Name:
		return st, fmt.Errorf("non-deterministic built-in %s is not supported", s.Func)
	case s.Func == ast.Print.Name || s.Func == ast.InternalPrint.Name:
		return st, fmt.Errorf("built-in %s is not supported", s.Func)
	}
	if short, ok := shortcuts[s.Func]; ok {
		impl = short(impl)
	}
	st.op, st.bi, st.biName, st.now = opBuiltin, impl, s.Func, s.Func == ast.NowNanos.Name
	return st, nil
}

// controlStmt compiles return, nested blocks, break, scan and not.
func (c *compiler) controlStmt(s ir.Stmt) (stmt, error) {
	switch s := s.(type) {
	case *ir.ReturnLocalStmt:
		return stmt{op: opReturn, a: operand{local: c.local(s.Source)}}, nil
	case *ir.BlockStmt:
		bs, err := c.blocks(s.Blocks)
		return stmt{op: opBlock, blocks: bs}, err
	case *ir.BreakStmt:
		return stmt{op: opBreak, n: int(s.Index)}, nil
	case *ir.ScanStmt:
		st := stmt{op: opScan, a: operand{local: c.local(s.Source)}, b: operand{local: c.local(s.Key)}, c: operand{local: c.local(s.Value)}}
		b, err := c.block(s.Block)
		st.blocks = []*block{b}
		return st, err
	case *ir.NotStmt:
		b, err := c.block(s.Block)
		return stmt{op: opNot, blocks: []*block{b}}, err
	}
	return stmt{}, fmt.Errorf("statement %T is not supported", s)
}

// assignStmt compiles assignments, resets and the making of constants and
// empty collections.
func (c *compiler) assignStmt(s ir.Stmt) (stmt, error) {
	switch s := s.(type) {
	case *ir.AssignIntStmt:
		return stmt{op: opAssignInt, target: c.local(s.Target), konst: ast.IntNumberTerm(int(s.Value))}, nil
	case *ir.AssignVarStmt:
		a, err := c.operand(s.Source)
		return stmt{op: opAssignVar, target: c.local(s.Target), a: a}, err
	case *ir.AssignVarOnceStmt:
		a, err := c.operand(s.Source)
		return stmt{op: opAssignVarOnce, target: c.local(s.Target), a: a}, err
	case *ir.ResetLocalStmt:
		return stmt{op: opResetLocal, target: c.local(s.Target)}, nil
	case *ir.MakeNullStmt:
		return stmt{op: opConst, target: c.local(s.Target), konst: ast.InternedNullTerm}, nil
	case *ir.MakeNumberIntStmt:
		return stmt{op: opConst, target: c.local(s.Target), konst: ast.IntNumberTerm(int(s.Value))}, nil
	case *ir.MakeNumberRefStmt:
		if s.Index < 0 || s.Index >= len(c.strs) {
			return stmt{}, fmt.Errorf("number index %d out of range", s.Index)
		}
		text := c.p.Static.Strings[s.Index].Value
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return stmt{}, fmt.Errorf("number %q: %w", text, err)
		}
		return stmt{op: opConst, target: c.local(s.Target), konst: ast.NumberTerm(json.Number(text))}, nil
	case *ir.MakeArrayStmt:
		return stmt{op: opMakeArray, target: c.local(s.Target), n: int(s.Capacity)}, nil
	case *ir.MakeObjectStmt:
		return stmt{op: opMakeObject, target: c.local(s.Target)}, nil
	case *ir.MakeSetStmt:
		return stmt{op: opMakeSet, target: c.local(s.Target)}, nil
	}
	return stmt{}, fmt.Errorf("statement %T is not supported", s)
}

// operandStmt compiles look-ups, tests, adds to collections and results.
func (c *compiler) operandStmt(s ir.Stmt) (stmt, error) {
	var st stmt
	var x, y, z ir.Operand // the operands read into a, b and c
	switch s := s.(type) {
	case *ir.DotStmt:
		st, x, y = stmt{op: opDot, target: c.local(s.Target)}, s.Source, s.Key
	case *ir.LenStmt:
		st, x = stmt{op: opLen, target: c.local(s.Target)}, s.Source
	case *ir.EqualStmt:
		st, x, y = stmt{op: opEqual}, s.A, s.B
	case *ir.NotEqualStmt:
		st, x, y = stmt{op: opNotEqual}, s.A, s.B
	case *ir.IsArrayStmt:
		st, x = stmt{op: opIsArray}, s.Source
	case *ir.IsObjectStmt:
		st, x = stmt{op: opIsObject}, s.Source
	case *ir.IsSetStmt:
		st, x = stmt{op: opIsSet}, s.Source
	case *ir.IsDefinedStmt:
		return stmt{op: opIsDefined, a: operand{local: c.local(s.Source)}}, nil
	case *ir.IsUndefinedStmt:
		return stmt{op: opIsUndefined, a: operand{local: c.local(s.Source)}}, nil
	case *ir.ArrayAppendStmt:
		st, x = stmt{op: opArrayAppend, target: c.local(s.Array)}, s.Value
	case *ir.ObjectInsertStmt:
		st, x, z = stmt{op: opObjectInsert, target: c.local(s.Object), hint: new(atomic.Int32)}, s.Key, s.Value
	case *ir.ObjectInsertOnceStmt:
		st, x, z = stmt{op: opObjectInsertOnce, target: c.local(s.Object), hint: new(atomic.Int32)}, s.Key, s.Value
	case *ir.SetAddStmt:
		st, x = stmt{op: opSetAdd, target: c.local(s.Set), hint: new(atomic.Int32)}, s.Value
	case *ir.ResultSetAddStmt:
		return stmt{op: opResultSetAdd, a: operand{local: c.local(s.Value)}}, nil
	case *ir.NopStmt:
		return stmt{op: opNop}, nil
	default:
		return st, fmt.Errorf("statement %T is not supported", s)
	}
	var errs [3]error
	for i, o := range []struct {
		from ir.Operand
		to   *operand
	}{{x, &st.a}, {y, &st.b}, {z, &st.c}} {
		if o.from.Value != nil {
			*o.to, errs[i] = c.operand(o.from)
		}
	}
	return st, errors.Join(errs[:]...)
}

// VM evaluates a Program. It is not safe for concurrent use; keep one per
// goroutine (a pool).
type VM struct {
	p           *Program
	stack       []*ast.Term // locals of the active frames
	sp          int
	high        int // the stack's high-water mark in this evaluation
	memo        []*ast.Term
	done        []bool
	result      []*ast.Term
	values      []*ast.Term // answers of opResultValue
	bctx        topdown.BuiltinContext
	cache       builtins.Cache
	args        [8][]*ast.Term // built-in argument buffers by arity
	out         *ast.Term
	ret         *ast.Term // the value of the last ReturnLocalStmt
	iterFn      func(*ast.Term) error
	err         error
	terms       []ast.Term // the current chunk new terms are taken from
	scans       []*scanner // scan states by nesting depth, reused
	depth       int
	items       [][2]*ast.Term // scratch for opMakeObjectN
	elems       []*ast.Term    // scratch for opMakeSetN
	spreadItems []*ast.Term    // scratch for opSpread
	grown       []grown        // the collections execAdd started, for their hints
	chunks      [][]ast.Term   // the term chunks this evaluation took (term)
	spare       [][]ast.Term   // cleared chunks for the next (EvalRead)
	now         time.Time      // the time of time.now_ns
}

// grown is a collection an add statement started, and that statement's
// capacity hint.
type grown struct {
	c    interface{ Len() int }
	hint *atomic.Int32
}

// termChunk is how many terms one allocation gives. Chunks are not reused
// after Eval (an answer may hold their terms); after EvalRead they are.
// across evaluations: an answer may hold their terms.
const termChunk = 64

// maxSpare bounds the chunks a VM keeps for reuse between evaluations.
const maxSpare = 8

// term returns a new term holding v.
func (vm *VM) term(v ast.Value) *ast.Term {
	if len(vm.terms) == 0 {
		if n := len(vm.spare); n > 0 {
			vm.terms, vm.spare = vm.spare[n-1], vm.spare[:n-1]
		} else {
			vm.terms = make([]ast.Term, termChunk)
		}
		vm.chunks = append(vm.chunks, vm.terms)
	}
	t := &vm.terms[0]
	vm.terms = vm.terms[1:]
	t.Value = v
	return t
}

// NewVM returns a VM for p.
func NewVM(p *Program) *VM {
	vm := &VM{p: p, memo: make([]*ast.Term, len(p.funcs)), done: make([]bool, len(p.funcs)), cache: builtins.Cache{}}
	vm.iterFn = func(t *ast.Term) error { vm.out = t; return nil }
	return vm
}

// Eval evaluates the entrypoint over input and data (nil: {}) with now as
// the time of time.now_ns. It returns the entrypoint's value, nil when it
// is undefined.
func (vm *VM) Eval(ctx context.Context, input, data ast.Value, now time.Time) (ast.Value, error) {
	defer vm.release(false)
	return vm.eval(ctx, input, data, now)
}

// EvalRead is Eval with the entrypoint's value (nil: undefined) handed to
// read instead of returned; read's error is EvalRead's. read must keep no
// term or collection of the value (the Go strings and numbers it holds it
// may): once read has returned, the VM reuses the memory of the value's
// terms for its next evaluation.
func (vm *VM) EvalRead(ctx context.Context, input, data ast.Value, now time.Time, read func(ast.Value) error) error {
	recycle := false
	defer func() { vm.release(recycle) }()
	v, err := vm.eval(ctx, input, data, now)
	if err != nil {
		return err
	}
	err = read(v)
	recycle = true // read returned: nothing of v is kept
	return err
}

func (vm *VM) eval(ctx context.Context, input, data ast.Value, now time.Time) (ast.Value, error) {
	if data == nil {
		data = ast.NewObject()
	}
	// The time term of time.now_ns is made when a call needs it (most
	// evaluations read the input's clock instead).
	vm.now, vm.bctx = now, topdown.BuiltinContext{Context: ctx, Cache: vm.cache}
	for i := range vm.done {
		vm.memo[i], vm.done[i] = nil, false
	}
	vm.result, vm.values, vm.err, vm.sp, vm.high, vm.depth = vm.result[:0], vm.values[:0], nil, 0, 0, 0
	base := vm.push(vm.p.nlocals)
	if input != nil { // no input: the input local stays undefined
		vm.stack[base+int(ir.Input)] = vm.term(input)
	}
	vm.stack[base+int(ir.Data)] = vm.term(data)
	for _, b := range vm.p.entry {
		if r := vm.run(base, b); r > 0 {
			break
		}
	}
	if vm.err != nil {
		return nil, vm.err
	}
	if len(vm.values) > 0 && len(vm.result) == 0 {
		if len(vm.values) > 1 {
			return nil, fmt.Errorf("plan: %d results", len(vm.values))
		}
		return vm.values[0].Value, nil
	}
	switch len(vm.result) + len(vm.values) {
	case 0:
		return nil, nil
	case 1:
		obj, ok := vm.result[0].Value.(ast.Object)
		if !ok || obj.Len() != 1 {
			return nil, fmt.Errorf("plan: result %v", vm.result[0])
		}
		if r := obj.Get(ast.InternedTerm("result")); r != nil {
			return r.Value, nil
		}
	}
	return nil, fmt.Errorf("plan: %d results", len(vm.result)+len(vm.values))
}

// release drops the evaluation's values so that a pooled VM holds nothing,
// after raising the capacity hints to the sizes of what this evaluation
// built. recycle: no term of the evaluation is referred to any more, so
// its chunks are cleared and kept for the next.
func (vm *VM) release(recycle bool) {
	for _, c := range vm.chunks {
		if recycle && len(vm.spare) < maxSpare {
			c = c[:cap(c)]
			clear(c)
			vm.spare = append(vm.spare, c)
		}
	}
	clear(vm.chunks)
	vm.chunks = vm.chunks[:0]
	for _, g := range vm.grown {
		if n := int32(min(g.c.Len(), maxHint)); n > g.hint.Load() {
			g.hint.Store(n)
		}
	}
	clear(vm.grown)
	vm.grown = vm.grown[:0]
	clear(vm.stack[:vm.high])
	clear(vm.memo)
	clear(vm.result)
	clear(vm.values)
	vm.out = nil
	vm.bctx = topdown.BuiltinContext{}
	vm.terms = nil
	for _, sc := range vm.scans {
		sc.body = nil
	}
	clear(vm.cache)
	for _, a := range vm.args {
		clear(a)
	}
	clear(vm.items[:cap(vm.items)])
	clear(vm.elems[:cap(vm.elems)])
}

func (vm *VM) push(n int) int {
	base := vm.sp
	vm.sp += n
	if vm.sp > len(vm.stack) {
		vm.stack = append(vm.stack, make([]*ast.Term, vm.sp-len(vm.stack)+64)...)
	}
	clear(vm.stack[base:vm.sp])
	vm.high = max(vm.high, vm.sp)
	return base
}

// run runs a block's statements; it returns the label (relative to the
// block that holds the statements) a statement left by, or -1 when all ran.
func (vm *VM) run(fp int, b *block) int {
	for i := range b.stmts {
		// The copies and resets of locals, half of the statements a
		// plan runs, without a call.
		switch s := &b.stmts[i]; s.op {
		case opAssignVar:
			vm.stack[fp+s.target] = vm.get(fp, s.a)
		case opResetLocal:
			vm.stack[fp+s.target] = nil
		default:
			if r := vm.exec(fp, s); r >= 0 {
				return r
			}
		}
	}
	return -1
}

func (vm *VM) get(fp int, o operand) *ast.Term {
	if o.konst != nil {
		return o.konst
	}
	return vm.stack[fp+o.local]
}

// exec runs one statement: -1 when it is defined and execution goes on,
// else the label to leave by (0: the enclosing block) or retSignal. The
// control statements are here; the others, by kind, in the exec* below.
func (vm *VM) exec(fp int, s *stmt) int {
	switch s.op {
	case opReturn:
		vm.ret = vm.stack[fp+s.a.local]
		return retSignal
	case opCall, opBuiltin:
		var v *ast.Term
		if s.op == opCall {
			v = vm.call(fp, s)
		} else {
			v = vm.builtin(fp, s)
		}
		if vm.err != nil {
			return retSignal // the evaluation has failed: leave everything
		}
		if v == nil {
			return 0
		}
		vm.stack[fp+s.target] = v
	case opBlock:
		for _, b := range s.blocks {
			if r := vm.run(fp, b); r >= retSignal {
				return r
			} else if r > 0 {
				return r - 1
			}
		}
	case opBreak:
		return s.n
	case opScan:
		return vm.scan(fp, s)
	case opNot:
		switch r := vm.run(fp, s.blocks[0]); {
		case r == -1:
			return 0
		case r == 0:
			return -1
		case r >= retSignal:
			return r
		default:
			return r - 1
		}
	case opDot, opLen, opEqual, opNotEqual, opIsArray, opIsObject, opIsSet, opIsDefined, opIsUndefined:
		return vm.execTest(fp, s)
	case opArrayAppend, opObjectInsert, opObjectInsertOnce, opSetAdd:
		return vm.execAdd(fp, s)
	case opMakeArrayN, opMakeObjectN, opMakeSetN, opResultValue, opResultSetAdd:
		return vm.execMake(fp, s)
	case opSpread:
		return vm.execSpread(fp, s)
	default:
		return vm.execAssign(fp, s)
	}
	return -1
}

// execAssign runs the statements that cannot be undefined: assignments,
// and the making of constants and empty collections (run does the copies
// and resets of locals itself).
func (vm *VM) execAssign(fp int, s *stmt) int {
	switch s.op {
	case opAssignInt, opConst:
		vm.stack[fp+s.target] = s.konst
	case opAssignVarOnce:
		v := vm.get(fp, s.a)
		if old := vm.stack[fp+s.target]; old != nil && (v == nil || old.Value.Compare(v.Value) != 0) {
			return vm.fail(fmt.Errorf("%w (%s)", ErrConflict, s.loc))
		}
		vm.stack[fp+s.target] = v
	case opMakeArray:
		vm.stack[fp+s.target] = vm.term(ast.NewArrayWithCapacity(s.n))
	case opMakeObject:
		vm.stack[fp+s.target] = vm.term(emptyObject)
	case opMakeSet:
		vm.stack[fp+s.target] = vm.term(emptySet)
	case opNop:
	}
	return -1
}

// execTest runs the look-ups and tests: 0 when undefined or false.
func (vm *VM) execTest(fp int, s *stmt) int {
	var v *ast.Term
	switch s.op {
	case opDot:
		if src, key := vm.get(fp, s.a), vm.get(fp, s.b); src != nil && key != nil {
			v = dot(src.Value, key)
		}
	case opLen:
		if src := vm.get(fp, s.a); src != nil {
			if n, ok := length(src.Value); ok {
				v = ast.InternedTerm(n)
			}
		}
	case opEqual, opNotEqual:
		a, b := vm.get(fp, s.a), vm.get(fp, s.b)
		if a == nil || b == nil || (a.Value.Compare(b.Value) == 0) != (s.op == opEqual) {
			return 0
		}
		return -1
	case opIsArray, opIsObject, opIsSet:
		if x := vm.get(fp, s.a); x == nil || !isKind(s.op, x.Value) {
			return 0
		}
		return -1
	case opIsDefined, opIsUndefined:
		if (vm.stack[fp+s.a.local] != nil) != (s.op == opIsDefined) {
			return 0
		}
		return -1
	}
	if v == nil {
		return 0
	}
	vm.stack[fp+s.target] = v
	return -1
}

func isKind(op opcode, v ast.Value) bool {
	switch op {
	case opIsArray:
		_, ok := v.(*ast.Array)
		return ok
	case opIsObject:
		_, ok := v.(ast.Object)
		return ok
	default:
		_, ok := v.(ast.Set)
		return ok
	}
}

// execAdd adds to a collection the plan made, in place: every local
// holding its term sees the change (a shared empty value is replaced by a
// collection of the term's own first).
func (vm *VM) execAdd(fp int, s *stmt) int {
	t := vm.stack[fp+s.target]
	switch s.op {
	case opArrayAppend:
		v := vm.get(fp, s.a)
		arr, ok := valueOf(t).(*ast.Array)
		if !ok || v == nil {
			return vm.fail(fmt.Errorf("plan: array append to %v (%s)", t, s.loc))
		}
		t.Value = arr.Append(v)
	case opObjectInsert, opObjectInsertOnce:
		k, v := vm.get(fp, s.a), vm.get(fp, s.c)
		obj, ok := valueOf(t).(ast.Object)
		if !ok || k == nil || v == nil {
			return vm.fail(fmt.Errorf("plan: object insert into %v (%s)", t, s.loc))
		}
		if s.op == opObjectInsertOnce {
			if old := obj.Get(k); old != nil && old.Value.Compare(v.Value) != 0 {
				return vm.fail(fmt.Errorf("%w: object key %v (%s)", ErrConflict, k, s.loc))
			}
		}
		if obj == emptyObject {
			obj = ast.NewObjectWithCapacity(int(s.hint.Load()))
			t.Value = obj
			vm.grown = append(vm.grown, grown{obj, s.hint})
		}
		obj.Insert(k, v)
	case opSetAdd:
		v := vm.get(fp, s.a)
		set, ok := valueOf(t).(ast.Set)
		if !ok || v == nil {
			return vm.fail(fmt.Errorf("plan: set add to %v (%s)", t, s.loc))
		}
		if set == emptySet {
			set = ast.NewSetWithCapacity(int(s.hint.Load()))
			t.Value = set
			vm.grown = append(vm.grown, grown{set, s.hint})
		}
		set.Add(v)
	}
	return -1
}

// execMake runs the fused statements (a collection made with what is
// added to it) and the answers.
func (vm *VM) execMake(fp int, s *stmt) int {
	switch s.op {
	case opMakeArrayN:
		elems := make([]*ast.Term, len(s.items))
		for i, o := range s.items {
			if elems[i] = vm.get(fp, o); elems[i] == nil {
				return vm.fail(fmt.Errorf("plan: array append of an undefined value (%s)", s.loc))
			}
		}
		vm.stack[fp+s.target] = vm.term(ast.NewArray(elems...))
	case opMakeObjectN:
		items := vm.items[:0]
		for i := 0; i < len(s.items); i += 2 {
			v := vm.get(fp, s.items[i+1])
			if v == nil {
				return vm.fail(fmt.Errorf("plan: object insert of an undefined value (%s)", s.loc))
			}
			items = append(items, [2]*ast.Term{s.items[i].konst, v})
		}
		vm.stack[fp+s.target] = vm.term(ast.NewObject(items...))
		clear(items)
		vm.items = items
	case opMakeSetN:
		elems := vm.elems[:0]
		for _, o := range s.items {
			v := vm.get(fp, o)
			if v == nil {
				return vm.fail(fmt.Errorf("plan: set add of an undefined value (%s)", s.loc))
			}
			elems = append(elems, v)
		}
		vm.stack[fp+s.target] = vm.term(ast.NewSet(elems...))
		clear(elems)
		vm.elems = elems
	case opResultValue:
		v := vm.get(fp, s.a)
		if v == nil {
			return vm.fail(fmt.Errorf("plan: object insert of an undefined value (%s)", s.loc))
		}
		vm.values = append(vm.values, v)
	case opResultSetAdd:
		if v := vm.stack[fp+s.a.local]; v != nil {
			vm.result = append(vm.result, v)
		}
	}
	return -1
}

// fail records an evaluation error and leaves every block: the whole
// evaluation fails.
func (vm *VM) fail(err error) int {
	if vm.err == nil {
		vm.err = err
	}
	return retSignal
}

func valueOf(t *ast.Term) ast.Value {
	if t == nil {
		return nil
	}
	return t.Value
}

// call calls a planned function; nil: undefined.
func (vm *VM) call(fp int, s *stmt) *ast.Term {
	fn := s.fn
	if fn.memo && vm.done[fn.idx] {
		return vm.memo[fn.idx]
	}
	if fn.constant {
		if k := fn.konst.Load(); k != nil {
			return k.v
		}
	}
	if vm.sp > 1<<20 {
		vm.fail(errors.New("plan: call depth exceeded"))
		return nil
	}
	nfp := vm.push(fn.nlocals)
	for i, a := range s.args {
		vm.stack[nfp+fn.params[i]] = vm.get(fp, a)
	}
	v := (*ast.Term)(nil)
	for i, b := range fn.blocks {
		r := vm.run(nfp, b)
		if r == retSignal {
			v = vm.ret
			break
		}
		// Every block but the last is a level of its own; the last is the
		// function's body, so any label out of it returns.
		if r > 0 || (r == 0 && i == len(fn.blocks)-1) {
			v = vm.stack[nfp+fn.ret]
			break
		}
	}
	vm.ret = nil
	vm.sp = nfp
	if vm.err != nil {
		return nil
	}
	if fn.memo {
		vm.memo[fn.idx], vm.done[fn.idx] = v, true
	}
	if fn.constant {
		// A copy: this evaluation's terms are reused by the next one
		// (EvalRead), and a value kept for every evaluation must own its;
		// sorted before any other VM can read it (Presorted).
		fn.konst.CompareAndSwap(nil, &constValue{v: Presorted(v.Copy())})
	}
	return v
}

// builtin calls OPA's implementation of a built-in; nil: undefined (as
// topdown, a built-in's error makes its expression undefined).
func (vm *VM) builtin(fp int, s *stmt) *ast.Term {
	n := len(s.args)
	var args []*ast.Term
	if n < len(vm.args) {
		if vm.args[n] == nil {
			vm.args[n] = make([]*ast.Term, n)
		}
		args = vm.args[n]
	} else {
		args = make([]*ast.Term, n)
	}
	for i, a := range s.args {
		if args[i] = vm.get(fp, a); args[i] == nil {
			return nil
		}
	}
	vm.out = nil
	if s.now && vm.bctx.Time == nil {
		vm.bctx.Time = ast.NumberTerm(json.Number(strconv.FormatInt(vm.now.UnixNano(), 10)))
	}
	err := s.bi(vm.bctx, args, vm.iterFn)
	clear(args)
	if err != nil {
		var halt topdown.Halt
		if errors.As(err, &halt) {
			vm.fail(fmt.Errorf("plan: %s: %w", s.biName, err))
		}
		return nil
	}
	return vm.out
}

var errStop = errors.New("stop")

// scanner is the state of one scan; the VM keeps one per nesting depth,
// with its iteration functions bound once.
type scanner struct {
	vm     *VM
	fp     int
	body   *block
	kl, vl int
	out    int
	kv     func(k, v *ast.Term) error
	elem   func(e *ast.Term) error
}

func (sc *scanner) step(k, v *ast.Term) error {
	vm := sc.vm
	vm.stack[sc.kl], vm.stack[sc.vl] = k, v
	switch r := vm.run(sc.fp, sc.body); {
	case r <= 0:
		return nil
	case r == 1:
	case r >= retSignal:
		sc.out = r
	default:
		sc.out = r - 2
	}
	return errStop
}

// scan runs the body for each element of the source: label 0 inside the
// body is the next element, 1 leaves the scan, more leaves beyond it.
func (vm *VM) scan(fp int, s *stmt) int {
	src := vm.stack[fp+s.a.local]
	if src == nil {
		return -1
	}
	if vm.depth == len(vm.scans) {
		sc := &scanner{vm: vm}
		sc.kv = sc.step
		sc.elem = func(e *ast.Term) error { return sc.step(e, e) }
		vm.scans = append(vm.scans, sc)
	}
	sc := vm.scans[vm.depth]
	vm.depth++
	sc.fp, sc.body, sc.kl, sc.vl, sc.out = fp, s.blocks[0], fp+s.b.local, fp+s.c.local, -1
	switch x := src.Value.(type) {
	case *ast.Array:
		for i := 0; i < x.Len(); i++ {
			if sc.step(ast.InternedTerm(i), x.Elem(i)) != nil {
				break
			}
		}
	case ast.Object:
		_ = x.Iter(sc.kv)
	case ast.Set:
		_ = x.Iter(sc.elem)
	}
	vm.depth--
	return sc.out
}

func dot(src ast.Value, key *ast.Term) *ast.Term {
	switch x := src.(type) {
	case ast.Object:
		return x.Get(key)
	case *ast.Array:
		n, ok := key.Value.(ast.Number)
		if !ok {
			return nil
		}
		i, ok := n.Int()
		if !ok || i < 0 || i >= x.Len() {
			return nil
		}
		return x.Elem(i)
	case ast.Set:
		if x.Contains(key) {
			return key
		}
	}
	return nil
}

func length(v ast.Value) (int, bool) {
	switch x := v.(type) {
	case *ast.Array:
		return x.Len(), true
	case ast.Object:
		return x.Len(), true
	case ast.Set:
		return x.Len(), true
	case ast.String:
		return len([]rune(string(x))), true
	}
	return 0, false
}
