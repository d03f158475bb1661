package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/adgang/adgang/store"
)

// TestBootstrapOncePerStore: a bootstrap token that was revoked does not
// come back on a restart with ADGANG_BOOTSTRAP_TOKEN still set, although
// no token is left in the store.
func TestBootstrapOncePerStore(t *testing.T) {
	const boot = "bootstrap-token-for-tests-0123456789"
	dir := t.TempDir()
	m := startMain(t, Config{DataDir: dir, BootstrapToken: boot})
	s, out := call(t, "GET", m.AdminURL+"/v1/tokens", boot, "")
	toks, _ := out["tokens"].([]any)
	if s != http.StatusOK || len(toks) != 1 {
		t.Fatalf("tokens: %d %v", s, out)
	}
	id, _ := toks[0].(map[string]any)["id"].(string)
	if s, out := call(t, "DELETE", m.AdminURL+"/v1/tokens/"+id, boot, ""); s != http.StatusOK {
		t.Fatalf("revoke the bootstrap token: %d %v", s, out)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := startMain(t, Config{DataDir: dir, BootstrapToken: boot})
	if s, out := call(t, "GET", m2.AdminURL+"/v1/rights", boot, ""); s != http.StatusUnauthorized {
		t.Fatalf("revoked bootstrap token after a restart: %d %v, want 401", s, out)
	}
	var tokens []*store.Token
	_ = m2.Store.View(context.Background(), func(tx *store.Tx) (err error) { tokens, err = tx.ListTokens(); return })
	if len(tokens) != 0 {
		t.Fatalf("%d tokens after the restart, want none", len(tokens))
	}
}
