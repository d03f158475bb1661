package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/pdp"
)

// editFile rewrites one file of a policy directory.
func editFile(t *testing.T, dir, name string, edit func(string) string) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out := edit(string(b))
	if out == string(b) {
		t.Fatalf("edit of %s changed nothing", name)
	}
	if err := os.WriteFile(p, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dropTests removes every test_<id>_… rule from a Rego test file.
func dropTests(id string) func(string) string {
	re := regexp.MustCompile(`(?ms)^test_` + strings.ToLower(id) + `_\w* if \{\n.*?^\}\n`)
	return func(s string) string { return re.ReplaceAllString(s, "") }
}

// dropMetadata removes the METADATA block of every rule titled id.
func dropMetadata(id string) func(string) string {
	re := regexp.MustCompile(`(?m)^# METADATA\n# title: ` + id + ` [^\n]*\n(?:#[^\n]*\n)*`)
	return func(s string) string { return re.ReplaceAllString(s, "") }
}

// allowAllLogin is a login package that allows everyone.
const allowAllLogin = `package adgang.login

decision := {"allow": true, "rights": [], "reasons": []}
`

// TestPolicyTestGate: a policy directory replacing the serving set must
// pass a test_<ID>_… test for every rule ID the serving (embedded) set
// decides. Deleting one rule's tests, also together with its METADATA, or
// deleting the tests and allowing every login, is refused, naming the
// untested IDs; the full set is accepted; extra paths need no tests.
func TestPolicyTestGate(t *testing.T) {
	ids, err := pdp.ServingRuleIDs()
	if err != nil || len(ids) < 20 {
		t.Fatalf("serving rule IDs %v, %v", ids, err)
	}
	for _, want := range []string{"D1", "D12", "A10", "L8", "M17"} {
		if !strings.Contains(" "+strings.Join(ids, " ")+" ", " "+want+" ") {
			t.Fatalf("serving rule IDs %v lack %s", ids, want)
		}
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		refused []string // IDs the error must name; nil: accepted
	}{
		{"full set", func(*testing.T, string) {}, nil},
		{"one rule's tests deleted", func(t *testing.T, dir string) {
			editFile(t, dir, "login_test.rego", dropTests("D12"))
		}, []string{"D12"}},
		{"tests and METADATA of a rule deleted", func(t *testing.T, dir string) {
			editFile(t, dir, "login_test.rego", dropTests("D12"))
			editFile(t, dir, "login.rego", dropMetadata("D12"))
		}, []string{"D12"}},
		{"admin rule untested", func(t *testing.T, dir string) {
			editFile(t, dir, "admin_test.rego", dropTests("A10"))
			editFile(t, dir, "admin.rego", dropMetadata("A10"))
			// the lifecycle's own A10 rules (the jobs keep the last admin)
			editFile(t, dir, "lifecycle_test.rego", dropTests("A10"))
			editFile(t, dir, "lifecycle.rego", dropMetadata("A10"))
		}, []string{"A10"}},
		{"all tests deleted, allow-all login", func(t *testing.T, dir string) {
			matches, _ := filepath.Glob(filepath.Join(dir, "*_test.rego"))
			for _, m := range matches {
				if err := os.Remove(m); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "login.rego"), []byte(allowAllLogin), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"D1", "D2", "A2", "L8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyPolicies(t)
			c.prepare(t, dir)
			ps, err := pdp.LoadPolicySet(context.Background(), pdp.Source{Dir: dir})
			if c.refused == nil {
				if err != nil {
					t.Fatalf("full set refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted (%d tests): the gate was bypassed", ps.Tests)
			}
			for _, id := range c.refused {
				if !regexp.MustCompile(`\b` + id + `\b`).MatchString(err.Error()) {
					t.Errorf("error does not name %s: %v", id, err)
				}
			}
		})
	}
	// Extra paths beside the embedded set only need to compile.
	extra := filepath.Join(t.TempDir(), "todo.rego")
	if err := os.WriteFile(extra, []byte("package todo\n\ndecision := {\"allow\": false}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pdp.LoadPolicySet(context.Background(), pdp.Source{Extra: []string{extra}}); err != nil {
		t.Fatalf("untested extra path refused: %v", err)
	}
}

// TestPolicyGateReloadDegraded: an untested set written over the watched
// directory is refused on reload; the previous set keeps serving and
// /health answers 200 "degraded" with the reason, until a tested set is
// back.
func TestPolicyGateReloadDegraded(t *testing.T) {
	dir := copyPolicies(t)
	e := newEnv(t, pdp.Config{Policies: pdp.Source{Dir: dir}, WatchInterval: 20 * time.Millisecond})
	firstID := e.eng.Policy().ID
	if status, h := e.health(); status != http.StatusOK || h["status"] != "ok" {
		t.Fatalf("health before: %d %v", status, h)
	}
	testFile := filepath.Join(dir, "login_test.rego")
	orig, err := os.ReadFile(testFile)
	if err != nil {
		t.Fatal(err)
	}
	editFile(t, dir, "login_test.rego", dropTests("D12"))
	editFile(t, dir, "login.rego", dropMetadata("D12"))
	waitFor(t, "reload refusal", func() bool { return strings.Contains(e.eng.PolicyError(), "D12") })
	if e.eng.Policy().ID != firstID {
		t.Fatal("an untested set replaced the serving one")
	}
	status, h := e.health()
	reasons, _ := h["reasons"].([]any)
	policy, _ := h["policy"].(map[string]any)
	if status != http.StatusOK || h["status"] != "degraded" || len(reasons) != 1 ||
		!strings.Contains(reasons[0].(string), "D12") || policy["status"] != "refused" {
		t.Fatalf("health with a refused set on disk: %d %v", status, h)
	}
	if err := os.WriteFile(testFile, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	// login.rego still lacks D12's METADATA: the gate reads the IDs from
	// the serving set, so with D12's tests back the set is accepted.
	waitFor(t, "recovery", func() bool { return e.eng.PolicyError() == "" })
	if status, h := e.health(); status != http.StatusOK || h["status"] != "ok" || len(h["reasons"].([]any)) != 0 {
		t.Fatalf("health after recovery: %d %v", status, h)
	}
}
