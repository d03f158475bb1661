package policies

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// parseAll parses every embedded module with annotations, keyed by file name.
func parseAll(t testing.TB) map[string]*ast.Module {
	t.Helper()
	srcs, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) == 0 {
		t.Fatal("no embedded .rego files")
	}
	mods := make(map[string]*ast.Module, len(srcs))
	for name, src := range srcs {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		mods[name] = m
	}
	return mods
}

// TestRego runs every Rego test of the embedded set with OPA's tester and
// fails if any fails, errors or is skipped, or if none ran.
func TestRego(t *testing.T) {
	mods := parseAll(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ch, err := tester.NewRunner().
		SetStore(inmem.New()).
		SetModules(mods).
		SetTimeout(30*time.Second).
		RaiseBuiltinErrors(true).
		RunTests(ctx, nil)
	if err != nil {
		t.Fatalf("run rego tests: %v", err)
	}
	var n, failed int
	for r := range ch {
		n++
		if !r.Pass() {
			failed++
			t.Errorf("%s.%s: fail=%v skip=%v err=%v (%v)", r.Package, r.Name, r.Fail, r.Skip, r.Error, r.Location)
		}
	}
	if n == 0 {
		t.Fatal("no Rego tests ran")
	}
	t.Logf("%d Rego tests, %d failed", n, failed)
}

// decisionPackages are the packages whose rules give reasons.
var decisionPackages = map[string]bool{
	"data.adgang.login":    true,
	"data.adgang.admin":    true,
	"data.adgang.password": true,
}

// apiRules are the entrypoint rules of those packages: they gather
// reasons, they do not make them.
var apiRules = map[string]bool{"decision": true, "allow": true, "reasons": true, "rights": true, "valid_until_ns": true}

var (
	ruleIDTitle = regexp.MustCompile(`^(D[0-9]+|A[0-9]+|L[0-9]+|M[0-9]+|C[0-9]+|fail_closed) \S`)
	seedName    = regexp.MustCompile(`^([0-9]{3}_[0-9a-f]{16}\.txt|SPEC\.md)$`)
	reasonFuncs = map[string]bool{"lib.reason": true, "lib.reason_with": true, "lib.info_reason": true}
)

// reasonRuleIDs returns the rule IDs (second argument) of every reason a
// rule builds with the lib helpers.
func reasonRuleIDs(r *ast.Rule) []string {
	var ids []string
	ast.WalkTerms(r, func(t *ast.Term) bool {
		call, ok := t.Value.(ast.Call)
		if !ok || len(call) < 3 || !reasonFuncs[call[0].String()] {
			return false
		}
		if s, ok := call[2].Value.(ast.String); ok {
			ids = append(ids, string(s))
		} else {
			ids = append(ids, "<not a constant>")
		}
		return false
	})
	return ids
}

// TestRuleMetadata: every public rule of login, admin and password, and
// every rule that builds a reason, has a METADATA block whose title starts
// with the rule ID the reason carries, a description and a seed.
func TestRuleMetadata(t *testing.T) {
	mods := parseAll(t)
	var list []*ast.Module
	for _, m := range mods {
		list = append(list, m)
	}
	as, errs := ast.BuildAnnotationSet(list)
	if len(errs) > 0 {
		t.Fatalf("annotations: %v", errs)
	}
	checked := 0
	for name, m := range mods {
		if strings.HasSuffix(name, "_test.rego") || !decisionPackages[m.Package.Path.String()] {
			continue
		}
		for _, r := range m.Rules {
			if r.Default {
				continue // a default value decides nothing
			}
			rn := r.Head.Ref().String()
			ids := reasonRuleIDs(r)
			if len(ids) == 0 && (strings.HasPrefix(rn, "_") || apiRules[rn]) {
				continue
			}
			if len(ids) > 0 && strings.HasPrefix(rn, "_") {
				t.Errorf("%s:%d: private rule %s builds a reason; reasons belong to named rules", name, r.Loc().Row, rn)
			}
			checked++
			var rule *ast.Annotations
			for _, a := range as.GetRuleScope(r) {
				if a.Scope == "rule" || a.Scope == "document" {
					rule = a
				}
			}
			if rule == nil {
				t.Errorf("%s:%d: rule %s has no METADATA block", name, r.Loc().Row, rn)
				continue
			}
			mt := ruleIDTitle.FindStringSubmatch(rule.Title)
			if mt == nil {
				t.Errorf("%s:%d: rule %s: title %q does not start with a rule ID", name, r.Loc().Row, rn, rule.Title)
				continue
			}
			for _, id := range ids {
				if id != mt[1] {
					t.Errorf("%s:%d: rule %s gives reasons of rule %s but its title says %s", name, r.Loc().Row, rn, id, mt[1])
				}
			}
			if strings.TrimSpace(rule.Description) == "" {
				t.Errorf("%s:%d: rule %s has no description", name, r.Loc().Row, rn)
			}
			seed, _ := rule.Custom["seed"].(string)
			if !seedName.MatchString(seed) {
				t.Errorf("%s:%d: rule %s: custom.seed %q is not a seed file name or SPEC.md", name, r.Loc().Row, rn, seed)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no rules checked")
	}
}

// TestRuleIDsCovered: every decision rule D1–D15 and admin rule A2–A13 of
// the specification is implemented by some rule whose title names it, and
// so is L8.
func TestRuleIDsCovered(t *testing.T) {
	mods := parseAll(t)
	titles := map[string]bool{}
	for name, m := range mods {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		for _, a := range m.Annotations {
			if mt := ruleIDTitle.FindStringSubmatch(a.Title); mt != nil {
				titles[mt[1]] = true
			}
		}
	}
	var want []string
	for i := 1; i <= 15; i++ {
		want = append(want, fmt.Sprintf("D%d", i))
	}
	for i := 2; i <= 13; i++ {
		want = append(want, fmt.Sprintf("A%d", i))
	}
	want = append(want, "L8")
	var missing []string
	for _, id := range want {
		if !titles[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("rule IDs without a METADATA title: %v", missing)
	}
}

// TestModules: every embedded file is returned, by its file name.
func TestModules(t *testing.T) {
	srcs, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lib.rego", "login.rego", "login_test.rego", "admin.rego", "admin_test.rego", "password.rego", "password_test.rego"} {
		if strings.TrimSpace(srcs[want]) == "" {
			t.Errorf("%s missing or empty", want)
		}
	}
	for name := range srcs {
		if !strings.HasSuffix(name, ".rego") {
			t.Errorf("unexpected embedded file %s", name)
		}
	}
}

// benchGrant is one grant of a benchmark input.
type benchGrant struct{ right, typ, value, source string }

// loginBenchInput is a realistic login input over the given grants (ids
// g01, g02, …) for an employee of CVR 12345674 with five P-units, asking
// about service eksamensdatabasen and target P-unit 1000000002.
func loginBenchInput(tb testing.TB, gs []benchGrant, expired ...int) ast.Value {
	tb.Helper()
	const cvr = "12345674"
	now := int64(1763899200000000000)
	grants := map[string]any{}
	for i, g := range gs {
		id := fmt.Sprintf("g%02d", i+1)
		exp := int64(0)
		for _, e := range expired {
			if e == i+1 {
				exp = now - 1
			}
		}
		grants[id] = map[string]any{"id": id, "right": g.right, "org": cvr,
			"scope": map[string]any{"type": g.typ, "value": g.value}, "source": g.source, "expires_at_ns": exp}
	}
	right := func(id, service string, flags map[string]any) map[string]any {
		r := map[string]any{"id": id, "service": service, "title": id, "forbidden": false, "deprecated": false,
			"no_group": false, "no_se": false, "require_cpr": false, "employees_only": false, "admin_role": ""}
		for k, v := range flags {
			r[k] = v
		}
		return r
	}
	rights := map[string]any{
		"eksamensdatabasen.view":   right("eksamensdatabasen.view", "eksamensdatabasen", map[string]any{"no_group": true, "no_se": true, "require_cpr": true, "employees_only": true}),
		"eksamensdatabasen.report": right("eksamensdatabasen.report", "eksamensdatabasen", nil),
		"eksamensdatabasen.admin":  right("eksamensdatabasen.admin", "eksamensdatabasen", map[string]any{"deprecated": true}),
		"amp.sagsbehandler":        right("amp.sagsbehandler", "amp", nil),
		"imi.case_worker":          right("imi.case_worker", "imi", nil),
	}
	pUnits := map[string]any{}
	for i := 1; i <= 5; i++ {
		pUnits[fmt.Sprintf("100000000%d", i)] = true
	}
	in := map[string]any{
		"subject": map[string]any{"id": "00000000-0000-4000-8000-000000000001", "cvr": cvr, "kind": "employee",
			"cpr_linked": true, "auth_method": "mitid"},
		"service":  "eksamensdatabasen",
		"p_number": "1000000002",
		"now_ns":   now,
		"user": map[string]any{"id": "00000000-0000-4000-8000-000000000001", "org": cvr, "kind": "employee",
			"status": "active", "cpr_linked": true, "p_number": "1000000001", "se_number": "", "password": nil},
		"org": map[string]any{"cvr": cvr, "p_units": pUnits, "se_numbers": map[string]any{"29190003": true},
			"settings": map[string]any{"allow_knock": true}},
		"grants":      grants,
		"rights":      rights,
		"certificate": nil,
	}
	v, err := ast.InterfaceToValue(in)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// typicalGrants is the decision service's benchmark user: 10 direct and 5
// group grants spread over three services, 5 of them for the asked one.
func typicalGrants() []benchGrant {
	rights := []string{"eksamensdatabasen.view", "amp.sagsbehandler", "imi.case_worker"}
	var gs []benchGrant
	for j := range 15 {
		src := "direct"
		if j >= 10 {
			src = fmt.Sprintf("grp-%d", j)
		}
		gs = append(gs, benchGrant{rights[j%3], "p", fmt.Sprintf("100000000%d", j%5+1), src})
	}
	return gs
}

// heavyGrants: all 15 grants on the asked service, with every kind of
// ignored grant (group, SE, expired, deprecated) and a CVR grant.
func heavyGrants() []benchGrant {
	gs := []benchGrant{
		{"eksamensdatabasen.view", "cvr", "12345674", "direct"},
		{"eksamensdatabasen.view", "p", "1000000001", "direct"},
		{"eksamensdatabasen.view", "p", "1000000002", "grp-1"},
		{"eksamensdatabasen.view", "se", "29190003", "direct"},
		{"eksamensdatabasen.report", "p", "1000000003", "direct"}, // expired
		{"eksamensdatabasen.report", "p", "1000000004", "direct"},
		{"eksamensdatabasen.report", "p", "1000000005", "grp-2"},
		{"eksamensdatabasen.admin", "cvr", "12345674", "direct"},
	}
	for i := range 7 {
		gs = append(gs, benchGrant{"eksamensdatabasen.report", "p", fmt.Sprintf("100000000%d", i%5+1), "grp-3"})
	}
	return gs
}

func prepareLogin(tb testing.TB) rego.PreparedEvalQuery {
	tb.Helper()
	mods := parseAll(tb)
	var opts []func(*rego.Rego)
	for name, m := range mods {
		if !strings.HasSuffix(name, "_test.rego") {
			opts = append(opts, rego.ParsedModule(m))
		}
	}
	opts = append(opts, rego.Query("data.adgang.login.decision"))
	pq, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return pq
}

// TestLoginBenchInput checks the benchmark inputs give the expected
// answers, so the benchmarks measure real decisions.
func TestLoginBenchInput(t *testing.T) {
	pq := prepareLogin(t)
	for _, tc := range []struct {
		name            string
		in              ast.Value
		rights, reasons int
	}{
		{"typical", loginBenchInput(t, typicalGrants()), 1, 1},
		{"heavy", loginBenchInput(t, heavyGrants(), 5), 2, 5},
	} {
		rs, err := pq.Eval(context.Background(), rego.EvalParsedInput(tc.in))
		if err != nil || len(rs) != 1 {
			t.Fatalf("%s: eval: %v %v", tc.name, rs, err)
		}
		d := rs[0].Expressions[0].Value.(map[string]any)
		if d["allow"] != true {
			t.Fatalf("%s: allow = %v: %v", tc.name, d["allow"], d["reasons"])
		}
		if n := len(d["rights"].([]any)); n != tc.rights {
			t.Errorf("%s: rights = %v", tc.name, d["rights"])
		}
		if n := len(d["reasons"].([]any)); n != tc.reasons {
			t.Errorf("%s: reasons = %v", tc.name, d["reasons"])
		}
	}
}

func benchLogin(b *testing.B, in ast.Value) {
	pq := prepareLogin(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pq.Eval(ctx, rego.EvalParsedInput(in)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginDecision is one login decision for the decision service's
// benchmark user (15 grants, 5 for the asked service): the hot path,
// target well under 50 µs/op.
func BenchmarkLoginDecision(b *testing.B) {
	benchLogin(b, loginBenchInput(b, typicalGrants()))
}

// BenchmarkLoginDecisionHeavy is a decision where all 15 grants concern the
// asked service and five of them are ignored and reported.
func BenchmarkLoginDecisionHeavy(b *testing.B) {
	benchLogin(b, loginBenchInput(b, heavyGrants(), 5))
}

// TestRuleIndex: README.md's rule index has a row for every rule ID of the
// SPEC (D1–D15, A1–A19, L1–L10), and names every Rego rule whose METADATA
// title carries an ID in that ID's row, so the index cannot fall behind.
func TestRuleIndex(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\| ([ADL]\d+) \| .* \| (.*) \|$`).FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = m[2]
	}
	for prefix, n := range map[string]int{"D": 15, "A": 19, "L": 10} {
		for i := 1; i <= n; i++ {
			if _, ok := rows[fmt.Sprintf("%s%d", prefix, i)]; !ok {
				t.Errorf("README.md's rule index has no row for %s%d", prefix, i)
			}
		}
	}
	srcs, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	title := regexp.MustCompile(`(?m)^# METADATA\n(?:#.*\n)*?# title: ([ADL]\d+)\b.*\n(?:#.*\n)*([a-z_][a-z0-9_]*)`)
	pkgOf := regexp.MustCompile(`(?m)^package (\S+)`)
	found := 0
	for name, src := range srcs {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		pkg := pkgOf.FindStringSubmatch(string(src))[1]
		for _, m := range title.FindAllStringSubmatch(string(src), -1) {
			found++
			want := "`" + pkg + "." + m[2] + "`"
			if !strings.Contains(rows[m[1]], want) {
				t.Errorf("%s: rule %s (%s) is not in README.md's row for %s", name, m[2], m[1], m[1])
			}
		}
	}
	if found < 44 {
		t.Errorf("only %d rules with an ID found in the policies", found)
	}
}
