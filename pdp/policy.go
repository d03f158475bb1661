package pdp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/adgang/adgang/policies"
)

// Entrypoints of the default policy set.
const (
	LoginQuery    = "data.adgang.login.decision"
	AdminQuery    = "data.adgang.admin.decision"
	PasswordQuery = "data.adgang.password.decision"
)

// Source says where a policy set comes from.
type Source struct {
	// Dir is a directory of .rego (and data) files; "" means the embedded
	// default set (package policies).
	Dir string
	// Extra are further Rego and JSON/YAML data files or directories loaded
	// beside the set, the way `opa run PATH…` takes them.
	Extra []string
	// SkipTests disables running the set's Rego tests before accepting it.
	SkipTests bool
}

// PolicySet is one compiled, tested policy revision with its prepared
// queries. It is immutable once built and shared by all requests.
type PolicySet struct {
	// ID identifies the revision: a hash of every module and data file.
	ID string
	// LoadedAt is when the set was accepted.
	LoadedAt time.Time
	// Tests is the number of Rego tests that passed when the set was accepted.
	Tests int

	compiler *ast.Compiler
	store    storage.Store
	modules  map[string]*ast.Module
	docs     map[string]any
	// compiled evaluates the login decision once the engine's evaluator is
	// plan or wasm and the set's compiled login passed checkLoginCompiled;
	// nil: topdown alone.
	compiled atomic.Pointer[attachedLogin]
	// adminPlan evaluates the admin decision once the engine's evaluator
	// is plan and the plan passed checkAdminPlan; nil: topdown.
	adminPlan atomic.Pointer[queryPlan]
	// attached is closed once an engine's background compilation and checks
	// of the set are over (Engine.WaitSettled).
	attached chan struct{}

	login, admin, password          rego.PreparedEvalQuery
	loginBody                       ast.Body // compiled LoginQuery for evalLogin
	hasLogin, hasAdmin, hasPassword bool

	mu       sync.Mutex
	prepared map[string]*rego.PreparedEvalQuery // data API paths prepared on first use
}

// LoadPolicySet reads, compiles and (unless src.SkipTests) tests a policy
// set. A set that does not parse, compile or pass its own tests is refused
// with an error naming file:line; nothing is returned in that case. A set
// must also pass a test_<ID>_… test for every rule ID of the embedded
// default set (CheckRuleTests); extra paths need no tests of their own.
func LoadPolicySet(ctx context.Context, src Source) (*PolicySet, error) {
	modules, docs, digest, err := readSource(src)
	if err != nil {
		return nil, err
	}
	compiler := ast.NewCompiler().WithEnablePrintStatements(false)
	compiler.Compile(copyModules(modules))
	if compiler.Failed() {
		return nil, fmt.Errorf("policy does not compile: %w", compiler.Errors)
	}
	store := inmem.NewFromObjectWithOpts(docs, inmem.OptRoundTripOnWrite(false))
	// OPA sorts an object's keys lazily, on first use, without a lock:
	// settle that here, before goroutines share the set's modules (the
	// compiled evaluators' plans print and copy them).
	for _, m := range modules {
		_ = m.String()
	}

	ps := &PolicySet{
		ID:       digest,
		LoadedAt: time.Now().UTC(),
		compiler: compiler,
		store:    store,
		modules:  modules,
		docs:     docs,
		prepared: map[string]*rego.PreparedEvalQuery{},
		attached: make(chan struct{}),
	}
	if !src.SkipTests {
		n, err := testOnce(ctx, digest, modules, docs)
		if err != nil {
			return nil, err
		}
		ps.Tests = n
	}
	if ps.login, ps.hasLogin, err = ps.prepareIfDefined(ctx, LoginQuery); err != nil {
		return nil, err
	}
	if ps.hasLogin {
		if err := ps.compileLogin(); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", LoginQuery, err)
		}
	}
	if ps.admin, ps.hasAdmin, err = ps.prepareIfDefined(ctx, AdminQuery); err != nil {
		return nil, err
	}
	if ps.password, ps.hasPassword, err = ps.prepareIfDefined(ctx, PasswordQuery); err != nil {
		return nil, err
	}
	return ps, nil
}

// HasRule reports whether the set defines something at the data reference
// (e.g. "data.adgang.login.decision").
func (ps *PolicySet) HasRule(query string) bool {
	ref, err := ast.ParseRef(query)
	if err != nil {
		return false
	}
	return len(ps.compiler.GetRulesForVirtualDocument(ref)) > 0 || len(ps.compiler.GetRulesWithPrefix(ref)) > 0
}

func (ps *PolicySet) prepareIfDefined(ctx context.Context, query string) (rego.PreparedEvalQuery, bool, error) {
	if !ps.HasRule(query) {
		return rego.PreparedEvalQuery{}, false, nil
	}
	pq, err := ps.prepare(ctx, query)
	if err != nil {
		return rego.PreparedEvalQuery{}, false, err
	}
	return pq, true, nil
}

func (ps *PolicySet) prepare(ctx context.Context, query string) (rego.PreparedEvalQuery, error) {
	pq, err := rego.New(
		rego.Query(query),
		rego.Compiler(ps.compiler),
		rego.Store(ps.store),
	).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("prepare %s: %w", query, err)
	}
	return pq, nil
}

// query returns the prepared query for a data reference, preparing and
// caching it on first use.
func (ps *PolicySet) query(ctx context.Context, ref string) (*rego.PreparedEvalQuery, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if pq, ok := ps.prepared[ref]; ok {
		return pq, nil
	}
	pq, err := ps.prepare(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(ps.prepared) < 1024 { // bound the cache: refs come from clients
		ps.prepared[ref] = &pq
	}
	return &pq, nil
}

// readSource loads modules and data documents, and a digest of them.
func readSource(src Source) (map[string]*ast.Module, map[string]any, string, error) {
	var base *loader.Result
	var err error
	if src.Dir == "" {
		base, err = loader.NewFileLoader().WithFS(policies.FS).WithProcessAnnotation(true).
			Filtered([]string{"."}, regoAndDataOnly)
	} else {
		if _, statErr := os.Stat(src.Dir); statErr != nil {
			return nil, nil, "", fmt.Errorf("policy directory: %w", statErr)
		}
		base, err = loader.NewFileLoader().WithProcessAnnotation(true).
			Filtered([]string{src.Dir}, regoAndDataOnly)
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("load policies: %w", err)
	}
	modules := map[string]*ast.Module{}
	raw := map[string][]byte{}
	for name, f := range base.Modules {
		key := name
		if src.Dir == "" {
			key = "embedded:" + name
		}
		modules[key] = f.Parsed
		raw[key] = f.Raw
	}
	docs := base.Documents
	if len(src.Extra) > 0 {
		extra, err := loader.NewFileLoader().WithProcessAnnotation(true).Filtered(src.Extra, regoAndDataOnly)
		if err != nil {
			return nil, nil, "", fmt.Errorf("load extra paths: %w", err)
		}
		for name, f := range extra.Modules {
			if _, dup := modules[name]; dup {
				return nil, nil, "", fmt.Errorf("module %s loaded twice", name)
			}
			modules[name] = f.Parsed
			raw[name] = f.Raw
		}
		if docs, err = mergeDocs(docs, extra.Documents); err != nil {
			return nil, nil, "", err
		}
	}
	if len(modules) == 0 {
		return nil, nil, "", errors.New("policy set has no .rego modules")
	}
	return modules, docs, digestOf(raw, docs), nil
}

// regoAndDataOnly skips everything but .rego, .json, .yaml and .yml files
// (editor backups, READMEs and hidden files are ignored).
func regoAndDataOnly(abspath string, info fs.FileInfo, _ int) bool {
	if info.IsDir() {
		return strings.HasPrefix(info.Name(), ".") && info.Name() != "." && info.Name() != ".."
	}
	if strings.HasPrefix(info.Name(), ".") {
		return true
	}
	switch filepath.Ext(abspath) {
	case ".rego", ".json", ".yaml", ".yml":
		return false
	}
	return true
}

func digestOf(raw map[string][]byte, docs map[string]any) string {
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(raw[n]))
		h.Write(raw[n])
	}
	fmt.Fprintf(h, "%v", docs) // fmt sorts map keys
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// mergeDocs deep-merges b into a; a conflicting leaf is an error.
func mergeDocs(a, b map[string]any) (map[string]any, error) {
	if a == nil {
		a = map[string]any{}
	}
	for k, bv := range b {
		av, ok := a[k]
		if !ok {
			a[k] = bv
			continue
		}
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if !aok || !bok {
			return nil, fmt.Errorf("data document conflict at %q", k)
		}
		merged, err := mergeDocs(am, bm)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", k, err)
		}
		a[k] = merged
	}
	return a, nil
}

func copyModules(in map[string]*ast.Module) map[string]*ast.Module {
	out := make(map[string]*ast.Module, len(in))
	for k, m := range in {
		out[k] = m.Copy()
	}
	return out
}

// TestResult is one Rego test outcome.
type TestResult struct {
	Package  string        `json:"package"`
	Name     string        `json:"name"`
	Location string        `json:"location"`
	Pass     bool          `json:"pass"`
	Fail     bool          `json:"fail"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
}

// RunTests runs every test_ rule of the source with OPA's tester and
// returns the results in a stable order.
func RunTests(ctx context.Context, src Source) ([]TestResult, error) {
	modules, docs, _, err := readSource(src)
	if err != nil {
		return nil, err
	}
	return runTestsResults(ctx, modules, docs)
}

// runTestsChecked runs the tests and fails unless every one passes.
func runTestsChecked(ctx context.Context, modules map[string]*ast.Module, docs map[string]any) ([]TestResult, error) {
	results, err := runTestsResults(ctx, modules, docs)
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, r := range results {
		if !r.Pass {
			msg := r.Package + "." + r.Name + " at " + r.Location
			if r.Error != "" {
				msg += ": " + r.Error
			}
			failed = append(failed, msg)
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("policy tests fail (%d of %d): %s", len(failed), len(results), strings.Join(failed, "; "))
	}
	return results, nil
}

func runTestsResults(ctx context.Context, modules map[string]*ast.Module, docs map[string]any) ([]TestResult, error) {
	var out []TestResult
	err := runPolicyTests(ctx, modules, docs, nil, func(r *tester.Result) {
		tr := TestResult{
			Package:  strings.TrimPrefix(r.Package, "data."),
			Name:     r.Name,
			Pass:     r.Pass(),
			Fail:     r.Fail,
			Duration: r.Duration,
		}
		if r.Location != nil {
			tr.Location = fmt.Sprintf("%s:%d", r.Location.File, r.Location.Row)
		}
		if r.Error != nil {
			tr.Error = r.Error.Error()
		}
		out = append(out, tr)
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Check parses and compiles a source without running tests and returns
// every error with its file:line, for `adgang policy check`.
func Check(src Source) error {
	modules, _, _, err := readSource(src)
	if err != nil {
		return err
	}
	c := ast.NewCompiler()
	c.Compile(modules)
	if c.Failed() {
		return c.Errors
	}
	return nil
}

// passed remembers, by digest, the policy sets whose tests passed in this
// process: a set with the same modules and data is the same set, so it is
// not tested again (every test server, and every reload of an unchanged
// directory, would otherwise rerun the whole suite). A failed set is not
// remembered and is tested again each time.
var passed sync.Map // digest → number of tests

// testOnce runs the set's tests and the rule-ID gate (CheckRuleTests),
// or answers a previous pass of a set with the same digest.
func testOnce(ctx context.Context, digest string, modules map[string]*ast.Module, docs map[string]any) (int, error) {
	if n, ok := passed.Load(digest); ok {
		return n.(int), nil
	}
	results, err := runTestsChecked(ctx, modules, docs)
	if err != nil {
		return 0, err
	}
	if err := CheckRuleTests(results); err != nil {
		return 0, err
	}
	passed.Store(digest, len(results))
	return len(results), nil
}

// runPolicyTests runs the tests of modules over docs, with tracer (nil:
// none) seeing every evaluation, and hands each result to each.
func runPolicyTests(ctx context.Context, modules map[string]*ast.Module, docs map[string]any, tracer topdown.QueryTracer, each func(*tester.Result)) error {
	store := inmem.NewFromObjectWithOpts(docs, inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return err
	}
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().
		SetStore(store).
		SetModules(copyModules(modules)).
		SetTimeout(30*time.Second).
		SetCoverageQueryTracer(tracer).
		RunTests(ctx, txn)
	if err != nil {
		return fmt.Errorf("policy tests do not compile: %w", err)
	}
	for r := range ch {
		each(r)
	}
	return nil
}
