package api_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adgang/adgang/pdp"
)

// TestOPATypeScriptSDK drives the decision listener with the official OPA
// TypeScript SDK, @styra/opa, unchanged (installed into
// .tools/node by `make tools`, which `make test` runs first): evaluate,
// evaluateDefault (POST /, the login decision) and evaluateBatch
// (POST /v1/batch/data: all-success 200, mixed 207).
func TestOPATypeScriptSDK(t *testing.T) {
	modules, err := filepath.Abs(filepath.Join("..", "..", ".tools", "node", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "@styra", "opa", "package.json")); err != nil {
		t.Fatalf("@styra/opa is needed: run `make tools`: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed for the OPA SDK test: %v", err)
	}
	e := newEnv(t, pdp.Config{Policies: pdp.Source{Extra: []string{filepath.Join("testdata", "opadiff")}}})
	logins, _ := json.Marshal(map[string]pdp.LoginRequest{
		"alice": {Subject: subj("alice", cvrA), Service: "eksamensdatabasen"},
		"frank": {Subject: subj("frank", cvrA), Service: "eksamensdatabasen"}, // D3: inactive
	})
	cmd := exec.Command(node, filepath.Join("testdata", "opasdk", "check.cjs"), e.srv.URL, string(logins))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s%s", err, out, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	str := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, tc := range []struct{ key, want string }{
		{"evaluate", `true`},
		{"evaluateDenied", `false`},
		{"evaluateNoInput", `3`},
		{"evaluateIndex", `"bob"`},
		{"evaluateBatch", `{"alice":true,"frank":false}`},
	} {
		if s := str(got[tc.key]); s != tc.want {
			t.Errorf("%s = %s, want %s", tc.key, s, tc.want)
		}
	}
	if d, _ := got["evaluateDefault"].(map[string]any); d["allow"] != true || !strings.Contains(str(d["rights"]), "eksamensdatabasen.view") {
		t.Errorf("evaluateDefault (the login decision at POST /) = %s", str(got["evaluateDefault"]))
	}
	mixed, _ := got["evaluateBatchMixed"].(map[string]any)
	if bad, _ := mixed["bad"].(map[string]any); bad["code"] != "internal_error" || bad["httpStatusCode"] != "500" {
		t.Errorf("evaluateBatch mixed: bad = %s", str(mixed["bad"]))
	}
	if v := mixed["ok"]; v != nil { // undefined: JSON.stringify leaves it out
		t.Errorf("evaluateBatch mixed: ok (undefined) = %s", str(v))
	}
	if r, _ := got["evaluateBatchRejectMixed"].(map[string]any); !strings.Contains(str(r), "error") {
		t.Errorf("evaluateBatch rejectMixed = %s, want a rejection", str(r))
	}
}
