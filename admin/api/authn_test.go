package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store/storetest"
)

func TestBootstrapAndTokens(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	if _, err := admin.Bootstrap(ctx, st, "short"); err == nil {
		t.Fatal("a short bootstrap token was accepted")
	}
	created, err := admin.Bootstrap(ctx, st, "bootstrap-secret-0123456789")
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	rev := st.Revision()
	created, err = admin.Bootstrap(ctx, st, "another-secret-0123456789")
	if err != nil || created || st.Revision() != rev {
		t.Fatalf("second bootstrap: created=%v err=%v revision %d→%d", created, err, rev, st.Revision())
	}
	if _, _, err := admin.CreateToken(ctx, st, "cli", "", false, nil); err == nil {
		t.Error("a token with neither user nor superadmin was made")
	}
	if _, _, err := admin.CreateToken(ctx, st, "cli", uuid.NewString(), false, nil); err == nil {
		t.Error("a token for an unknown user was made")
	}
	id, plain, err := admin.CreateToken(ctx, st, "cli", "", true, nil)
	if err != nil || id == "" || !strings.HasPrefix(plain, admin.TokenPrefix) || len(plain) < 40 {
		t.Fatalf("CreateToken: %q %q %v", id, plain, err)
	}
	// The plaintext is never stored: not in the token record, not in the
	// audit log.
	_ = st.View(ctx, func(tx *storeTx) error {
		tok, err := tx.GetToken(id)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Hash == plain || strings.Contains(tok.Hash, plain) {
			t.Error("token stored in plain")
		}
		evs, _ := tx.AuditSince(0)
		raw, _ := json.Marshal(evs)
		if strings.Contains(string(raw), plain) || strings.Contains(string(raw), "bootstrap-secret") {
			t.Error("token plaintext in the audit log")
		}
		return nil
	})
}

// TestTokenLifecycle: the bootstrap token works, tokens made through the
// API work at once, expired and revoked ones answer 401.
func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if created, err := admin.Bootstrap(ctx, e.st, "bootstrap-secret-0123456789"); err != nil || created {
		t.Fatalf("bootstrap on a store with tokens: %v %v", created, err)
	}
	r := e.do("org-admin", "POST", "/v1/tokens", map[string]any{"expires_at": timeIn(2500)})
	if r.status != http.StatusCreated || str(r.body["user_id"]) != oaA {
		t.Fatalf("own token: %s", r)
	}
	short, shortID := str(r.body["token"]), str(r.body["id"])
	if got := e.do("raw:"+short, "GET", "/v1/orgs/"+cvrA, nil); got.status != http.StatusOK {
		t.Fatalf("fresh token: %s", got)
	}
	// Others' tokens are not listed nor revocable by a non-superadmin.
	r = e.do("user-admin", "GET", "/v1/tokens", nil)
	for _, tok := range r.body["tokens"].([]any) {
		if str(dig(tok, "user_id")) != uaA {
			t.Errorf("user-admin sees another's token: %v", tok)
		}
		if _, ok := tok.(map[string]any)["token"]; ok {
			t.Error("a listed token shows its secret")
		}
	}
	if got := e.do("user-admin", "DELETE", "/v1/tokens/"+shortID, nil); got.status != http.StatusNotFound {
		t.Errorf("user-admin revokes org-admin's token: %s", got)
	}
	// Only a superadmin makes superadmin tokens or tokens for others.
	if got := e.do("org-admin", "POST", "/v1/tokens", map[string]any{"superadmin": true}); got.status != http.StatusForbidden || got.errRule() != "A14" {
		t.Errorf("org-admin makes a superadmin token: %s", got)
	}
	if got := e.do("user-admin", "POST", "/v1/tokens", map[string]any{"user_id": oaA}); got.status != http.StatusForbidden {
		t.Errorf("user-admin makes a token for its org-admin: %s", got)
	}
	if got := e.do("user-admin", "POST", "/v1/tokens", map[string]any{"user_id": oaB}); got.status != http.StatusNotFound {
		t.Errorf("user-admin makes a token for another org's user: %s", got)
	}
	waitFor(t, "the short token to expire", func() bool {
		return e.do("raw:"+short, "GET", "/v1/orgs/"+cvrA, nil).status == http.StatusUnauthorized
	})

	r = e.do("superadmin", "POST", "/v1/tokens", map[string]any{"superadmin": true})
	if r.status != http.StatusCreated {
		t.Fatalf("superadmin token: %s", r)
	}
	sa, saID := str(r.body["token"]), str(r.body["id"])
	if got := e.do("raw:"+sa, "POST", "/v1/orgs", map[string]any{"cvr": e.freshCVR(), "name": "X", "type": "company"}); got.status != http.StatusCreated {
		t.Fatalf("new superadmin token: %s", got)
	}
	if got := e.do("superadmin", "DELETE", "/v1/tokens/"+saID, nil); got.status != http.StatusOK {
		t.Fatalf("revoke: %s", got)
	}
	if got := e.do("raw:"+sa, "GET", "/v1/rights", nil); got.status != http.StatusUnauthorized || got.errCode() != "unauthorized" {
		t.Fatalf("revoked token: %s", got)
	}
	for _, bad := range []string{"raw:nonsense", "raw:" + sa + "x", "raw:Basic abc"} {
		if got := e.do(bad, "GET", "/v1/rights", nil); got.status != http.StatusUnauthorized {
			t.Errorf("%s: %s", bad, got)
		}
	}
}

type jwtKeys struct {
	rsa, ec, other jwk.Key
	file           string
}

func newJWTKeys(t *testing.T) *jwtKeys {
	t.Helper()
	mk := func(raw any, kid string) jwk.Key {
		k, err := jwk.Import(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Set(jwk.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
		return k
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ok, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := &jwtKeys{rsa: mk(rk, "rsa-1"), ec: mk(ek, "ec-1"), other: mk(ok, "rsa-1")}
	set := jwk.NewSet()
	for _, k := range []jwk.Key{keys.rsa, keys.ec} {
		pub, err := k.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		_ = set.AddKey(pub)
	}
	raw, _ := json.Marshal(set)
	keys.file = filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(keys.file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return keys
}

func signJWT(t *testing.T, key jwk.Key, alg jwa.SignatureAlgorithm, mut func(*jwt.Builder)) string {
	t.Helper()
	b := jwt.NewBuilder().Issuer("https://idp.example.dk").Audience([]string{"adgang-admin"}).Subject(oaA).
		IssuedAt(time.Now()).Expiration(time.Now().Add(5 * time.Minute))
	if mut != nil {
		mut(b)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// TestJWT: RS256 and ES256 tokens of the JWKS keys with the right issuer,
// audience and a stored user as sub act with that user's roles; anything
// else answers 401.
func TestJWT(t *testing.T) {
	e := newEnv(t)
	keys := newJWTKeys(t)
	if _, err := admin.New(context.Background(), admin.Config{Store: e.st, Engine: e.eng, JWKSFile: keys.file}); err == nil {
		t.Fatal("JWT without issuer and audience was accepted")
	}
	srv, err := admin.New(context.Background(), admin.Config{Store: e.st, Engine: e.eng, Logger: zerolog.Nop(),
		JWKSFile: keys.file, JWTIssuer: "https://idp.example.dk", JWTAudience: "adgang-admin"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(handlerOf(srv, e.eng, zerolog.Nop()))
	t.Cleanup(func() { ts.Close(); srv.Close() })
	e.ts = ts

	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://idp.example.dk","aud":"adgang-admin","sub":"`+oaA+`","exp":9999999999}`)) + "."
	cases := []struct {
		name   string
		token  string
		status int
	}{
		{"RS256", signJWT(t, keys.rsa, jwa.RS256(), nil), 200},
		{"ES256", signJWT(t, keys.ec, jwa.ES256(), nil), 200},
		{"user-admin sub", signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Subject(uaA) }), 200},
		{"other org's admin", signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Subject(oaB) }), 404},
		{"wrong issuer", signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Issuer("https://evil.example") }), 401},
		{"wrong audience", signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Audience([]string{"other"}) }), 401},
		{"expired", signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Expiration(time.Now().Add(-time.Hour)) }), 401},
		{"not yet valid", signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.NotBefore(time.Now().Add(time.Hour)) }), 401},
		{"unknown user", signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Subject(uuid.NewString()) }), 401},
		{"sub not a user id", signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Subject("admin") }), 401},
		{"signed by an unknown key", signJWT(t, keys.other, jwa.RS256(), nil), 401},
		{"RS512", signJWT(t, keys.rsa, jwa.RS512(), nil), 401},
		{"alg none", none, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("raw:"+c.token, "GET", "/v1/orgs/"+cvrA+"/users", nil)
			if r.status != c.status {
				t.Fatalf("got %s, want %d", r, c.status)
			}
		})
	}
	// A JWT caller is its user: its writes are audited as that user.
	tok := signJWT(t, keys.rsa, jwa.RS256(), nil)
	r := e.do("raw:"+tok, "POST", "/v1/orgs/"+cvrA+"/groups", map[string]any{"name": "Via JWT"})
	if r.status != http.StatusCreated {
		t.Fatalf("JWT write: %s", r)
	}
	var actor string
	_ = e.st.View(context.Background(), func(tx *storeTx) error {
		evs, _ := tx.OrgAudit(cvrA, time.Time{}, time.Time{}, "group.create", 1)
		if len(evs) == 1 {
			actor = evs[0].Actor
		}
		return nil
	})
	if actor != oaA {
		t.Errorf("audit actor %q, want %q", actor, oaA)
	}
}
