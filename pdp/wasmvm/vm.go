// Package wasmvm runs OPA policies compiled to WebAssembly (opa build -t
// wasm) in wazero, a WebAssembly runtime written in Go. The compiled
// policy is a plan of the same Rego: the rules stay in policies/, and OPA's
// own built-in implementations serve the built-ins the module does not
// carry (sprintf, time.now_ns).
package wasmvm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Module is a compiled OPA Wasm policy. Instances made from it are
// independent; each evaluates one decision at a time.
type Module struct {
	rt          wazero.Runtime
	compiled    wazero.CompiledModule
	entrypoints map[string]int32
	builtins    map[int32]string
}

type instanceKey struct{}

// Compile compiles the policy module (policy.wasm of an OPA Wasm bundle).
func Compile(ctx context.Context, policy []byte) (*Module, error) {
	bin, err := ownMemory(policy)
	if err != nil {
		return nil, fmt.Errorf("wasm policy: %w", err)
	}
	rt := wazero.NewRuntime(ctx)
	m := &Module{rt: rt}
	if err := m.hostFunctions(ctx); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	if m.compiled, err = rt.CompileModule(ctx, bin); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm policy: %w", err)
	}
	in, err := m.instantiate(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	defer in.Close()
	if err := in.readJSON(ctx, "entrypoints", &m.entrypoints); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	var builtins map[string]int32
	if err := in.readJSON(ctx, "builtins", &builtins); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	m.builtins = make(map[int32]string, len(builtins))
	for name, id := range builtins {
		if topdown.GetBuiltin(name) == nil {
			rt.Close(ctx)
			return nil, fmt.Errorf("wasm policy needs built-in %s, which OPA does not have", name)
		}
		m.builtins[id] = name
	}
	return m, nil
}

// Entrypoint returns the id of an entrypoint ("adgang/login/decision").
func (m *Module) Entrypoint(name string) (int32, bool) {
	id, ok := m.entrypoints[name]
	return id, ok
}

// Close releases the runtime and every instance.
func (m *Module) Close(ctx context.Context) error { return m.rt.Close(ctx) }

// Instance is one instantiated policy with its own memory. It is not safe
// for concurrent use.
type Instance struct {
	m        *Module
	mod      api.Module
	mem      api.Memory
	eval     api.Function
	exports  map[string]api.Function // other exports, each with its own call engine
	ctx      context.Context
	stack    [7]uint64
	dataAddr uint32
	heapBase uint32 // the heap pointer after the data: reset before each evaluation
	builtins []topdown.BuiltinFunc
	bctx     topdown.BuiltinContext
	now      time.Time
	out      []byte // a built-in's answer as text, reused
}

// NewInstance instantiates the module with data, the JSON of the data
// documents the policy reads (nil: {}).
func (m *Module) NewInstance(ctx context.Context, data []byte) (*Instance, error) {
	in, err := m.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		if in.dataAddr, err = in.parse(in.ctx, "opa_json_parse", data); err != nil {
			in.Close()
			return nil, err
		}
		if in.heapBase, err = in.call1(in.ctx, "opa_heap_ptr_get"); err != nil {
			in.Close()
			return nil, err
		}
	}
	for id, name := range m.builtins {
		for int(id) >= len(in.builtins) {
			in.builtins = append(in.builtins, nil)
		}
		in.builtins[id] = topdown.GetBuiltin(name)
	}
	return in, nil
}

func (m *Module) instantiate(ctx context.Context) (*Instance, error) {
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return nil, fmt.Errorf("wasm policy: %w", err)
	}
	in := &Instance{m: m, mod: mod, mem: mod.Memory(), eval: mod.ExportedFunction("opa_eval"), exports: map[string]api.Function{}}
	in.ctx = context.WithValue(context.Background(), instanceKey{}, in)
	if major, minor := global(mod, "opa_wasm_abi_version"), global(mod, "opa_wasm_abi_minor_version"); major != 1 || minor < 2 || in.eval == nil {
		mod.Close(ctx)
		return nil, fmt.Errorf("wasm policy: ABI %d.%d, need 1.2 or later", major, minor)
	}
	if in.dataAddr, err = in.parse(in.ctx, "opa_json_parse", []byte("{}")); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	if in.heapBase, err = in.call1(in.ctx, "opa_heap_ptr_get"); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	return in, nil
}

// Close releases the instance.
func (in *Instance) Close() error { return in.mod.Close(context.Background()) }

// ErrUndefined is returned when the entrypoint has no value for the input.
var ErrUndefined = errors.New("wasm policy: result undefined")

// Eval evaluates an entrypoint over a JSON input and returns its value in
// Rego's text form (sets stay sets), valid until the next call.
func (in *Instance) Eval(entrypoint int32, input []byte, now time.Time) ([]byte, error) {
	in.now = now
	in.bctx = topdown.BuiltinContext{}
	inputAddr := in.heapBase
	if need := uint64(inputAddr) + uint64(len(input)); need > uint64(in.mem.Size()) {
		if _, ok := in.mem.Grow(uint32((need-uint64(in.mem.Size()))/65536 + 1)); !ok {
			return nil, errors.New("wasm policy: out of memory for the input")
		}
	}
	if !in.mem.Write(inputAddr, input) {
		return nil, errors.New("wasm policy: input write failed")
	}
	s := in.stack[:]
	s[0], s[1], s[2], s[3], s[4], s[5], s[6] = 0, uint64(entrypoint), uint64(in.dataAddr), uint64(inputAddr), uint64(len(input)), uint64(inputAddr)+uint64(len(input)), 1
	if err := in.eval.CallWithStack(in.ctx, s); err != nil {
		return nil, fmt.Errorf("wasm policy: %w", err)
	}
	out, err := in.cstring(uint32(s[0]))
	if err != nil {
		return nil, err
	}
	// The result set in Rego's form: {{"result": value}}, or set() when
	// undefined.
	out = bytes.TrimSpace(out)
	const head = `{{"result": `
	if !bytes.HasPrefix(out, []byte(head)) || !bytes.HasSuffix(out, []byte("}}")) {
		if string(out) == "set()" {
			return nil, ErrUndefined
		}
		return nil, fmt.Errorf("wasm policy: unexpected result %.80q", out)
	}
	return out[len(head) : len(out)-2], nil
}

func (in *Instance) cstring(addr uint32) ([]byte, error) {
	size := in.mem.Size()
	if addr >= size {
		return nil, errors.New("wasm policy: address out of memory")
	}
	b, _ := in.mem.Read(addr, size-addr)
	n := bytes.IndexByte(b, 0)
	if n < 0 {
		return nil, errors.New("wasm policy: unterminated string")
	}
	return b[:n], nil
}

func (in *Instance) call1(ctx context.Context, name string, args ...uint64) (uint32, error) {
	f := in.exports[name]
	if f == nil {
		if f = in.mod.ExportedFunction(name); f == nil {
			return 0, fmt.Errorf("wasm policy: no export %s", name)
		}
		in.exports[name] = f
	}
	// A stack per call depth: a built-in's calls nest inside opa_eval's.
	var stack [4]uint64
	copy(stack[:], args)
	if err := f.CallWithStack(ctx, stack[:]); err != nil {
		return 0, fmt.Errorf("wasm policy: %s: %w", name, err)
	}
	if len(f.Definition().ResultTypes()) == 0 {
		return 0, nil
	}
	return uint32(stack[0]), nil
}

// parse copies text into the module's heap and parses it with fn
// (opa_json_parse or opa_value_parse), returning the value's address.
func (in *Instance) parse(ctx context.Context, fn string, text []byte) (uint32, error) {
	p, err := in.call1(ctx, "opa_malloc", uint64(len(text)))
	if err != nil {
		return 0, err
	}
	if !in.mem.Write(p, text) {
		return 0, errors.New("wasm policy: write out of memory")
	}
	addr, err := in.call1(ctx, fn, uint64(p), uint64(len(text)))
	if err != nil {
		return 0, err
	}
	if addr == 0 {
		return 0, fmt.Errorf("wasm policy: %s failed on %.80q", fn, text)
	}
	return addr, nil
}

// readJSON calls an export that returns a value (entrypoints, builtins)
// and decodes its JSON form into v.
func (in *Instance) readJSON(ctx context.Context, name string, v any) error {
	addr, err := in.call1(in.ctx, name)
	if err != nil {
		return err
	}
	str, err := in.call1(in.ctx, "opa_json_dump", uint64(addr))
	if err != nil {
		return err
	}
	b, err := in.cstring(str)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("wasm policy: %s: %w", name, err)
	}
	return nil
}

func global(mod api.Module, name string) int32 {
	g := mod.ExportedGlobal(name)
	if g == nil {
		return -1
	}
	return int32(g.Get())
}

// hostFunctions defines the imports of an OPA Wasm module: abort, println
// and the built-in dispatchers opa_builtin0..4.
func (m *Module) hostFunctions(ctx context.Context) error {
	i32 := api.ValueTypeI32
	b := m.rt.NewHostModuleBuilder("env")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		in := ctx.Value(instanceKey{}).(*Instance)
		msg, _ := in.cstring(uint32(stack[0]))
		panic(fmt.Errorf("policy aborted: %s", msg))
	}), []api.ValueType{i32}, nil).Export("opa_abort")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {}),
		[]api.ValueType{i32}, nil).Export("opa_println")
	for n := 0; n <= 4; n++ {
		params := make([]api.ValueType, n+2)
		for i := range params {
			params[i] = i32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			in := ctx.Value(instanceKey{}).(*Instance)
			addr, err := in.builtin(ctx, int32(stack[0]), stack[2:2+n])
			if err != nil {
				panic(err)
			}
			stack[0] = uint64(addr)
		}), params, []api.ValueType{i32}).Export("opa_builtin" + strconv.Itoa(n))
	}
	_, err := b.Instantiate(ctx)
	return err
}

// builtin runs OPA's implementation of a built-in the module does not
// carry over arguments read from the module's heap.
func (in *Instance) builtin(ctx context.Context, id int32, argAddrs []uint64) (uint32, error) {
	if id < 0 || int(id) >= len(in.builtins) || in.builtins[id] == nil {
		return 0, fmt.Errorf("unknown built-in %d", id)
	}
	args := make([]*ast.Term, len(argAddrs))
	for i, a := range argAddrs {
		str, err := in.call1(ctx, "opa_value_dump", a)
		if err != nil {
			return 0, err
		}
		text, err := in.cstring(str)
		if err != nil {
			return 0, err
		}
		if args[i], err = ParseValue(text); err != nil {
			return 0, fmt.Errorf("built-in %s argument: %w", in.m.builtins[id], err)
		}
	}
	if in.bctx.Context == nil {
		in.bctx = topdown.BuiltinContext{Context: ctx, Time: ast.NumberTerm(json.Number(strconv.FormatInt(in.now.UnixNano(), 10)))}
	}
	var out *ast.Term
	if err := in.builtins[id](in.bctx, args, func(t *ast.Term) error { out = t; return nil }); err != nil {
		return 0, fmt.Errorf("built-in %s: %w", in.m.builtins[id], err)
	}
	if out == nil {
		return 0, nil
	}
	if s, ok := out.Value.(ast.String); ok && utf8.ValidString(string(s)) {
		// sprintf's answer: its JSON form, without a quoted copy first.
		in.out = AppendJSONString(in.out[:0], string(s))
		return in.parse(ctx, "opa_json_parse", in.out)
	}
	return in.parse(ctx, "opa_value_parse", []byte(out.String()))
}

// AppendJSONString appends s, valid UTF-8, as a JSON string.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
