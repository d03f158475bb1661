package pdp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/policies"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// defaultSet is the embedded default policy set, its tests not run.
func defaultSet(t *testing.T) *PolicySet {
	t.Helper()
	ps, err := LoadPolicySet(context.Background(), Source{SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// buildCompiled compiles the set's login for evaluator (plan or wasm).
func buildCompiled(ctx context.Context, ps *PolicySet, evaluator string) (compiledLogin, error) {
	if evaluator == EvaluatorPlan {
		return buildLoginPlan(ctx, ps)
	}
	return buildLoginWasm(ctx, ps)
}

// TestLoginCompiledMatchesTopdown: the default set's login decision, as a
// plan run by planvm and compiled to Wasm, answers exactly as topdown on a
// large generated sample (the load-time check uses a smaller one).
func TestLoginCompiledMatchesTopdown(t *testing.T) {
	ctx := context.Background()
	ps := defaultSet(t)
	for _, ev := range []string{EvaluatorPlan, EvaluatorWasm} {
		t.Run(ev, func(t *testing.T) {
			c, err := buildCompiled(ctx, ps, ev)
			if err != nil {
				t.Fatal(err)
			}
			for seed := uint64(2); seed < 12; seed++ {
				if err := checkLoginCompiled(ctx, ps, c, seed, 500); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			}
		})
	}
}

// TestLoginSampleCoverage: the generated sample reaches allows and
// denies and the reasons of the login rules, so that the check above
// compares answers where the rules decide.
func TestLoginSampleCoverage(t *testing.T) {
	ctx := context.Background()
	ps := defaultSet(t)
	r := rand.New(rand.NewPCG(1, 0x61646761))
	now := time.Unix(1_800_000_000, 0)
	seen := map[string]int{}
	for range compiledCheckInputs {
		v, err := ps.evalLogin(ctx, sampleLoginInput(r, now))
		if err != nil {
			t.Fatal(err)
		}
		var d Decision
		if err := parseLoginValue(v, &d); err != nil {
			t.Fatal(err)
		}
		seen[fmt.Sprintf("allow=%v", d.Allow)]++
		for _, rs := range d.Reasons {
			seen[rs.Rule]++
		}
	}
	t.Log(seen)
	for _, k := range []string{"allow=true", "allow=false", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "D10",
		"D11", "D12", "D13", "D14", "D15", "L8"} {
		if seen[k] < 3 {
			t.Errorf("the sample reaches %s %d times of %d, want at least 3", k, seen[k], compiledCheckInputs)
		}
	}
}

// The organisation and user of oneUserStore.
const oneCVR, oneUID = "12345674", "00000000-0000-4000-8000-000000000001"

// oneUserStore is a store with one organisation and one active employee.
func oneUserStore(t *testing.T) *store.Store {
	t.Helper()
	st := storetest.Open(t)
	if _, err := st.Update(context.Background(), "test", func(tx *store.Tx) error {
		if err := tx.CreateOrg(&store.Org{CVR: oneCVR, Name: "A", Type: store.OrgInstitution}); err != nil {
			return err
		}
		return tx.CreateUser(&store.User{ID: oneUID, Org: oneCVR, Name: "u", Email: "u@example.dk", Kind: store.KindEmployee, Status: store.StatusActive})
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLoginEvaluators: the engine evaluates logins with the plan by
// default, with Wasm or topdown when configured, answers alike, refuses an
// unknown evaluator, and hands topdown an input the Wasm side cannot carry
// exactly (counted; the plan reads every input as topdown does).
func TestLoginEvaluators(t *testing.T) {
	ctx := context.Background()
	st := oneUserStore(t)
	evaluators := []string{"", EvaluatorWasm, EvaluatorTopdown}
	engines := enginesFor(t, st, evaluators...)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for ev, want := range map[string]string{"": EvaluatorPlan, EvaluatorWasm: EvaluatorWasm} {
		if err := engines[ev].WaitLoginEvaluator(wctx, want); err != nil {
			t.Fatal(err)
		}
	}
	// The verdicts for this set are cached now, so a (wrong) attach by the
	// topdown engine would take a moment, not a compile: 100 ms is ample.
	time.Sleep(100 * time.Millisecond)
	if ev := engines[EvaluatorTopdown].Policy().LoginEvaluator(); ev != EvaluatorTopdown {
		t.Fatalf("--login-evaluator topdown evaluates with %s", ev)
	}
	if _, err := New(ctx, st, Config{LoginEvaluator: "fast", Logger: zerolog.Nop(), WatchInterval: -1}); err == nil {
		t.Fatal("an unknown evaluator was accepted")
	}

	fallbacks := func(ev, name string) float64 {
		var m dto.Metric
		if err := engines[ev].metrics.loginFallbacks.WithLabelValues(name, "input").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	for _, tc := range []struct {
		name     string
		subject  Subject
		fallback bool // the Wasm engine hands it to topdown
	}{
		{"known user without grants (D1)", Subject{ID: oneUID, CVR: oneCVR, Kind: "employee"}, false},
		{"unknown identity (D2)", Subject{ID: "someone", CVR: oneCVR, Kind: "employee"}, false},
		{"unknown organisation", Subject{ID: oneUID, CVR: "87654321", Kind: "employee"}, false},
		{"invalid UTF-8 goes to topdown", Subject{ID: "bad\xff", CVR: oneCVR, Kind: "employee"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasmBefore, planBefore := fallbacks(EvaluatorWasm, EvaluatorWasm), fallbacks("", EvaluatorPlan)
			got := make([]*Decision, len(evaluators))
			for i, ev := range evaluators {
				got[i] = engines[ev].login(withQuiet(ctx), &LoginRequest{Subject: tc.subject, Service: "eksamensdatabasen"}, LoginQuery)
			}
			for i := range got[:2] {
				if got[i].Allow != got[2].Allow || !reflect.DeepEqual(got[i].Reasons, got[2].Reasons) || !reflect.DeepEqual(got[i].Rights, got[2].Rights) {
					t.Fatalf("%q answered %+v, topdown %+v", evaluators[i], got[i], got[2])
				}
			}
			if len(got[0].Reasons) == 0 || got[0].Reasons[0].Code == ReasonPolicyError {
				t.Fatalf("no policy answer: %+v", got[0])
			}
			if n := fallbacks(EvaluatorWasm, EvaluatorWasm) - wasmBefore; (n == 1) != tc.fallback {
				t.Fatalf("wasm fallbacks to topdown: %v, want fallback %v", n, tc.fallback)
			}
			if n := fallbacks("", EvaluatorPlan) - planBefore; n != 0 {
				t.Fatalf("plan fallbacks to topdown: %v", n)
			}
		})
	}
}

// TestLoginCompiledCheckCatchesDifference: the load-time check refuses a
// compiled login whose answers differ from the set's topdown answers (here:
// the plan and the Wasm of a set whose D7 reason says another rule).
func TestLoginCompiledCheckCatchesDifference(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{"login.rego", "lib.rego"} {
		raw, err := fs.ReadFile(policies.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "login.rego" {
			changed := strings.ReplaceAll(string(raw), `"rule": "D7"`, `"rule": "D7-changed"`)
			if changed == string(raw) {
				t.Fatal("login.rego has no D7 reason to change")
			}
			raw = []byte(changed)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ps := defaultSet(t)
	other, err := LoadPolicySet(ctx, Source{Dir: dir, SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{EvaluatorPlan, EvaluatorWasm} {
		c, err := buildCompiled(ctx, other, ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkLoginCompiled(ctx, ps, c, 1, compiledCheckInputs); err == nil {
			t.Fatalf("the check passed a %s login that answers differently", ev)
		}
		if err := checkLoginCompiled(ctx, other, c, 1, compiledCheckInputs); err != nil {
			t.Fatalf("the check refused the %s login of its own set: %v", ev, err)
		}
	}
}

// TestLoginPlanConcurrent: decisions evaluated at once on the pooled VMs
// of one plan, over inputs that share terms, answer as topdown each (run
// with -race in make test).
func TestLoginPlanConcurrent(t *testing.T) {
	ctx := context.Background()
	ps := defaultSet(t)
	p, err := buildLoginPlan(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 0x61646761))
	now := time.Unix(1_800_000_000, 0)
	inputs := make([]ast.Value, 40)
	wants := make([]ast.Value, len(inputs))
	for i := range inputs {
		inputs[i] = sampleLoginInput(r, now)
		if wants[i], err = ps.evalLogin(ctx, inputs[i]); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			for k := range 200 {
				i := (k*7 + w) % len(inputs)
				got, err := p.eval(ctx, inputs[i], now)
				if err != nil || (got == nil) != (wants[i] == nil) || (got != nil && got.Compare(wants[i]) != 0) {
					errs <- fmt.Errorf("input %d: %v (%v), topdown %v", i, got, err, wants[i])
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// failingLogin is a compiled login whose every evaluation fails.
type failingLogin struct{}

func (failingLogin) name() string { return EvaluatorPlan }
func (failingLogin) eval(context.Context, ast.Value, time.Time) (ast.Value, error) {
	return nil, errors.New("failing evaluator")
}
func (failingLogin) decide(context.Context, ast.Value, time.Time, *Decision) (error, error) {
	return errors.New("failing evaluator"), nil
}

// TestLoginCompiledErrorFallsBack: when the attached compiled login fails
// an evaluation, topdown answers that decision (the same answer as an
// engine without it) and the fallback is counted by evaluator and why.
func TestLoginCompiledErrorFallsBack(t *testing.T) {
	ctx := context.Background()
	st := oneUserStore(t)
	e, err := New(ctx, st, Config{LoginEvaluator: EvaluatorTopdown, CacheSize: -1, Logger: zerolog.Nop(), WatchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := func() *LoginRequest {
		return &LoginRequest{Subject: Subject{ID: oneUID, CVR: oneCVR, Kind: "employee"}, Service: "eksamensdatabasen"}
	}
	want := e.login(withQuiet(ctx), req(), LoginQuery)
	e.Policy().compiled.Store(&attachedLogin{failingLogin{}})
	got := e.login(withQuiet(ctx), req(), LoginQuery)
	if got.Allow != want.Allow || !reflect.DeepEqual(got.Reasons, want.Reasons) || len(got.Reasons) == 0 {
		t.Fatalf("with a failing compiled login: %+v, topdown alone %+v", got, want)
	}
	var m dto.Metric
	if err := e.metrics.loginFallbacks.WithLabelValues(EvaluatorPlan, "error").Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.GetCounter().GetValue() != 1 {
		t.Fatalf("fallbacks counted: %v, want 1", m.GetCounter().GetValue())
	}
}

// enginesFor starts an uncached engine over st for each evaluator (""
// is the default), closed with the test.
func enginesFor(t *testing.T, st *store.Store, evaluators ...string) map[string]*Engine {
	t.Helper()
	engines := map[string]*Engine{}
	for _, ev := range evaluators {
		e, err := New(context.Background(), st, Config{LoginEvaluator: ev, CacheSize: -1, Logger: zerolog.Nop(), WatchInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		engines[ev] = e
	}
	return engines
}
