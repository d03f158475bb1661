package pdp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/compile"

	"github.com/adgang/adgang/pdp/wasmvm"
)

// The login decision can be evaluated by the same policy compiled to
// WebAssembly (OPA's Wasm target: a plan of the Rego, not other rules) and
// run in wazero. It answers like topdown, at a fraction of the
// allocations: docs/decision-path.md. Topdown stays the reference:
//   - a set is compiled to Wasm only after it loaded and passed its tests;
//   - before it serves, the Wasm plan must give topdown's answer on every
//     input of a generated sample (checkLoginWasm), or topdown serves alone;
//   - an input the Wasm side cannot carry exactly (a set, invalid UTF-8)
//     and any Wasm error are evaluated by topdown instead.

// Login evaluators (Config.LoginEvaluator, --login-evaluator).
const (
	EvaluatorWasm    = "wasm"
	EvaluatorTopdown = "topdown"
	EvaluatorPlan    = "plan"
)

// loginEntrypoint is LoginQuery as a Wasm entrypoint.
const loginEntrypoint = "adgang/login/decision"

// loginWasm is a policy set's login decision compiled to Wasm, with a pool
// of instances (each evaluates one decision at a time).
type loginWasm struct {
	mod   *wasmvm.Module
	entry int32
	data  []byte // the set's data documents as JSON
	idle  chan *wasmInstance
}

type wasmInstance struct {
	*wasmvm.Instance
	enc jsonEncoder // the input's JSON, in a reused buffer
}

// errNotWasm marks an input the Wasm side would not read exactly as
// topdown does; topdown evaluates it.
var errNotWasm = errors.New("input not representable for the wasm evaluator")

// buildLoginWasm compiles the set's login decision to Wasm. It fails for a
// set whose login uses what the Wasm target lacks; topdown then serves.
func buildLoginWasm(ctx context.Context, ps *PolicySet) (*loginWasm, error) {
	c := compile.New().WithTarget(compile.TargetWasm).WithEntrypoints(loginEntrypoint).WithBundle(loginBundle(ps))
	if err := c.Build(ctx); err != nil {
		return nil, fmt.Errorf("compile %s to wasm: %w", LoginQuery, err)
	}
	out := c.Bundle()
	if len(out.WasmModules) != 1 {
		return nil, fmt.Errorf("compile %s to wasm: %d modules", LoginQuery, len(out.WasmModules))
	}
	mod, err := wasmvm.Compile(ctx, out.WasmModules[0].Raw)
	if err != nil {
		return nil, err
	}
	entry, ok := mod.Entrypoint(loginEntrypoint)
	if !ok {
		return nil, fmt.Errorf("wasm module has no entrypoint %s", loginEntrypoint)
	}
	w := &loginWasm{mod: mod, entry: entry, idle: make(chan *wasmInstance, 64)}
	if len(ps.docs) > 0 {
		if w.data, err = json.Marshal(ps.docs); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *loginWasm) name() string { return EvaluatorWasm }

// eval evaluates the login decision over input, as evalLogin does.
func (w *loginWasm) eval(ctx context.Context, input ast.Value, now time.Time) (ast.Value, error) {
	var v ast.Value
	err := w.run(ctx, input, now, func(text []byte) error {
		t, err := wasmvm.ParseValue(text)
		if err == nil {
			v = t.Value
		}
		return err
	})
	if errors.Is(err, wasmvm.ErrUndefined) {
		return nil, nil // parseLoginValue refuses it: fail closed, as topdown
	}
	return v, err
}

// decide evaluates the login decision over input into d, as evalLogin and
// parseLoginValue do; perr is the answer's shape.
func (w *loginWasm) decide(ctx context.Context, input ast.Value, now time.Time, d *Decision) (err, perr error) {
	err = w.run(ctx, input, now, func(text []byte) error {
		if readWasmDecision(text, d) {
			return nil
		}
		t, err := wasmvm.ParseValue(text)
		if err != nil {
			return err
		}
		perr = parseLoginValue(t.Value, d)
		return nil
	})
	if errors.Is(err, wasmvm.ErrUndefined) {
		return nil, parseLoginValue(nil, d)
	}
	return err, perr
}

// run evaluates the login entrypoint over input on an idle instance and
// hands the answer's text to read before the instance is used again.
func (w *loginWasm) run(ctx context.Context, input ast.Value, now time.Time, read func([]byte) error) error {
	var in *wasmInstance
	select {
	case in = <-w.idle:
	default:
		inst, err := w.mod.NewInstance(ctx, w.data)
		if err != nil {
			return err
		}
		in = &wasmInstance{Instance: inst}
	}
	buf, err := in.enc.encode(input)
	if err != nil {
		w.put(in)
		return err
	}
	text, err := in.Eval(w.entry, buf, now)
	if err != nil && !errors.Is(err, wasmvm.ErrUndefined) {
		in.Close() // a trapped instance is not used again
		return err
	}
	if err == nil {
		err = read(text)
	}
	w.put(in)
	return err
}

// wasmDecision is the login answer's shape with exact types. An answer
// that does not fit it (a set, a field of another type) is read the
// general way, as an ast.Value by parseLoginValue, which gives it the same
// meaning; one that fits reads here to the same Decision with a fraction of
// the allocations.
type wasmDecision struct {
	Allow      *bool       `json:"allow"`
	Knock      *bool       `json:"knock"`
	ValidUntil json.Number `json:"valid_until_ns"`
	Rights     []struct {
		Right string `json:"right"`
		Scope *struct {
			All       *bool    `json:"all"`
			CVR       string   `json:"cvr"`
			PNumbers  []string `json:"p_numbers"`
			SENumbers []string `json:"se_numbers"`
		} `json:"scope"`
	} `json:"rights"`
	Reasons []Reason `json:"reasons"`
}

// readWasmDecision reads text into d when it has wasmDecision's shape.
func readWasmDecision(text []byte, d *Decision) bool {
	var w wasmDecision
	if json.Unmarshal(text, &w) != nil || w.Allow == nil {
		return false
	}
	d.Allow = *w.Allow
	d.knock = w.Knock != nil && *w.Knock
	d.validUntil = time.Time{}
	if w.ValidUntil != "" {
		if ns, err := w.ValidUntil.Int64(); err == nil && ns > 0 {
			d.validUntil = time.Unix(0, ns)
		}
	}
	d.Rights = make([]RightScope, len(w.Rights))
	for i, r := range w.Rights {
		d.Rights[i].Right = r.Right
		if sc := r.Scope; sc != nil {
			d.Rights[i].Scope = Scope{All: sc.All != nil && *sc.All, CVR: sc.CVR, PNumbers: nonNil(sc.PNumbers), SENumbers: nonNil(sc.SENumbers)}
		}
	}
	d.Reasons = w.Reasons
	if d.Reasons == nil {
		d.Reasons = []Reason{}
	}
	finishLogin(d)
	return true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (w *loginWasm) put(in *wasmInstance) {
	select {
	case w.idle <- in:
	default:
		in.Close()
	}
}

// jsonEncoder writes an input as JSON into a reused buffer. Sets (which
// JSON turns into arrays), non-string object keys and strings that are not
// valid UTF-8 (which JSON would alter) are refused with errNotWasm.
type jsonEncoder struct {
	b      []byte
	itemFn func(k, v *ast.Term) error // e.item, bound once: no closure per object
}

func (e *jsonEncoder) encode(v ast.Value) ([]byte, error) {
	if e.itemFn == nil {
		e.itemFn = e.item
	}
	e.b = e.b[:0]
	err := e.value(v)
	return e.b, err
}

func (e *jsonEncoder) value(v ast.Value) error {
	switch x := v.(type) {
	case ast.Null:
		e.b = append(e.b, "null"...)
	case ast.Boolean:
		if x {
			e.b = append(e.b, "true"...)
		} else {
			e.b = append(e.b, "false"...)
		}
	case ast.Number:
		e.b = append(e.b, x...)
	case ast.String:
		return e.str(string(x))
	case *ast.Array:
		e.b = append(e.b, '[')
		for i := 0; i < x.Len(); i++ {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			if err := e.value(x.Elem(i).Value); err != nil {
				return err
			}
		}
		e.b = append(e.b, ']')
	case ast.Object:
		e.b = append(e.b, '{')
		if err := x.Iter(e.itemFn); err != nil {
			return err
		}
		e.b = append(e.b, '}')
	default:
		return errNotWasm
	}
	return nil
}

// item writes one member of an object; a comma first unless it is the
// object's first.
func (e *jsonEncoder) item(k, v *ast.Term) error {
	ks, ok := k.Value.(ast.String)
	if !ok {
		return errNotWasm
	}
	if e.b[len(e.b)-1] != '{' {
		e.b = append(e.b, ',')
	}
	if err := e.str(string(ks)); err != nil {
		return err
	}
	e.b = append(e.b, ':')
	return e.value(v.Value)
}

func (e *jsonEncoder) str(s string) error {
	var err error
	e.b, err = appendJSONString(e.b, s)
	return err
}

func appendJSONString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, errNotWasm
	}
	return wasmvm.AppendJSONString(b, s), nil
}
