package pdp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/ir"

	"github.com/adgang/adgang/pdp/planvm"
)

// The login decision can also be evaluated from OPA's query plan of the
// same policy (the IR that OPA's Wasm target compiles) by pdp/planvm, in Go
// over the input's ast values: no JSON on the way in or out, OPA's topdown
// built-ins. It is held to what the Wasm evaluator is held to: built only
// from a set that passed its tests, checked against topdown on a generated
// sample before it serves (checkLoginCompiled), topdown for whatever it
// refuses.

// queryPlan is a policy set's decision (login, or admin: adminplan.go) as
// a compiled plan, with a pool of VMs.
type queryPlan struct {
	prog *planvm.Program
	data ast.Value
	vms  sync.Pool
}

// buildLoginPlan plans the set's login decision. It fails for a set whose
// plan uses what planvm does not carry; another evaluator then serves.
func buildLoginPlan(ctx context.Context, ps *PolicySet) (*queryPlan, error) {
	return buildPlan(ctx, ps, loginEntrypoint)
}

// buildPlan plans the set's entrypoint (a rule's path, a/b/c).
func buildPlan(ctx context.Context, ps *PolicySet, entrypoint string) (*queryPlan, error) {
	c := compile.New().WithTarget(compile.TargetPlan).WithEntrypoints(entrypoint).WithBundle(loginBundle(ps))
	if err := c.Build(ctx); err != nil {
		return nil, fmt.Errorf("plan %s: %w", entrypoint, err)
	}
	out := c.Bundle()
	if len(out.PlanModules) != 1 {
		return nil, fmt.Errorf("plan %s: %d plans", entrypoint, len(out.PlanModules))
	}
	var policy ir.Policy
	if err := json.Unmarshal(out.PlanModules[0].Raw, &policy); err != nil {
		return nil, fmt.Errorf("plan %s: %w", entrypoint, err)
	}
	prog, err := planvm.Compile(&policy, entrypoint)
	if err != nil {
		return nil, err
	}
	p := &queryPlan{prog: prog, data: ast.NewObject()}
	if len(ps.docs) > 0 {
		if p.data, err = ast.InterfaceToValue(ps.docs); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// loginBundle is the set's modules (tests left out) and data as a bundle
// for OPA's compiler.
func loginBundle(ps *PolicySet) *bundle.Bundle {
	b := &bundle.Bundle{Data: ps.docs}
	for path, m := range ps.modules {
		if strings.HasSuffix(path, "_test.rego") {
			continue
		}
		b.Modules = append(b.Modules, bundle.ModuleFile{Path: path, URL: path, Parsed: m.Copy(), Raw: []byte(m.String())})
	}
	return b
}

func (p *queryPlan) name() string { return EvaluatorPlan }

// eval evaluates the planned decision over input, as topdown does. A
// panic in the VM or a built-in is an error (topdown then answers, or the
// check refuses the plan), never a crash of the request or the process.
func (p *queryPlan) eval(ctx context.Context, input ast.Value, now time.Time) (v ast.Value, err error) {
	err = p.withVM(func(vm *planvm.VM) (err error) {
		v, err = vm.Eval(ctx, input, p.data, now)
		return err
	})
	return v, err
}

// withVM runs f with a pooled VM. A panic in the VM or a built-in is an
// error (the VM is dropped, not pooled).
func (p *queryPlan) withVM(f func(*planvm.VM) error) (err error) {
	vm, _ := p.vms.Get().(*planvm.VM)
	if vm == nil {
		vm = planvm.NewVM(p.prog)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plan: panic: %v", r)
			return
		}
		p.vms.Put(vm)
	}()
	return f(vm)
}

// decide evaluates the login decision over input into d, as evalLogin and
// parseLoginValue do; perr is the answer's shape. parseLoginValue keeps
// only the answer's strings, so the VM reuses the answer's terms
// (planvm.VM.EvalRead).
func (p *queryPlan) decide(ctx context.Context, input ast.Value, now time.Time, d *Decision) (err, perr error) {
	err = p.withVM(func(vm *planvm.VM) error {
		return vm.EvalRead(ctx, input, p.data, now, func(v ast.Value) error {
			perr = parseLoginValue(v, d)
			return nil
		})
	})
	return err, perr
}
