package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
)

// jwtEnv is the admin fixture with JWT bearer tokens switched on.
func jwtEnv(t *testing.T) (*env, *jwtKeys) {
	t.Helper()
	e := newEnv(t)
	keys := newJWTKeys(t)
	srv, err := admin.New(context.Background(), admin.Config{Store: e.st, Engine: e.eng, Logger: zerolog.Nop(),
		JWKSFile: keys.file, JWTIssuer: "https://idp.example.dk", JWTAudience: "adgang-admin"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(handlerOf(srv, e.eng, zerolog.Nop()))
	t.Cleanup(func() { ts.Close(); srv.Close() })
	e.ts = ts
	return e, keys
}

// TestJWTCritHeader: RFC 7515 §4.1.11 — a JWS whose protected header has
// a "crit" list naming an extension Adgang does not understand is
// rejected (401), even when it is otherwise valid and well signed.
func TestJWTCritHeader(t *testing.T) {
	e, keys := jwtEnv(t)
	sign := func(crit []string) string {
		tok, err := jwt.NewBuilder().Issuer("https://idp.example.dk").Audience([]string{"adgang-admin"}).Subject(oaA).
			IssuedAt(time.Now()).Expiration(time.Now().Add(5 * time.Minute)).Build()
		if err != nil {
			t.Fatal(err)
		}
		h := jws.NewHeaders()
		if crit != nil {
			if err := h.Set(jws.CriticalKey, crit); err != nil {
				t.Fatal(err)
			}
			for _, c := range crit {
				_ = h.Set(c, true)
			}
		}
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), keys.rsa, jws.WithProtectedHeaders(h)))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}
	for _, c := range []struct {
		name   string
		crit   []string
		status int
	}{
		{"no crit", nil, http.StatusOK},
		{"unknown crit extension", []string{"urn:example:must-understand"}, http.StatusUnauthorized},
		{"two unknown crit extensions", []string{"x-a", "x-b"}, http.StatusUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := e.do("raw:"+sign(c.crit), "GET", "/v1/orgs/"+cvrA+"/users", nil); r.status != c.status {
				t.Fatalf("got %s, want %d", r, c.status)
			}
		})
	}
}

// TestJWTMintedTokenExpiry: an API token minted with a JWT expires no
// later than the JWT itself: without expires_at, or with a later one, it
// is capped to the JWT's exp (and the answer says so); an earlier
// expires_at is kept. The capped token stops working when the JWT would.
func TestJWTMintedTokenExpiry(t *testing.T) {
	e, keys := jwtEnv(t)
	jwtExp := time.Now().Add(10 * time.Minute).Truncate(time.Second).UTC()
	tok := signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Expiration(jwtExp) })
	earlier := time.Now().Add(5 * time.Minute).Truncate(time.Second).UTC()
	for _, c := range []struct {
		name       string
		body       map[string]any
		wantExp    time.Time
		wantCapped bool
	}{
		{"no expires_at", map[string]any{}, jwtExp, true},
		{"later expires_at", map[string]any{"expires_at": time.Now().Add(365 * 24 * time.Hour).Format(time.RFC3339)}, jwtExp, true},
		{"earlier expires_at", map[string]any{"expires_at": earlier.Format(time.RFC3339)}, earlier, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("raw:"+tok, "POST", "/v1/tokens", c.body)
			if r.status != http.StatusCreated {
				t.Fatalf("create token: %s", r)
			}
			got, err := time.Parse(time.RFC3339, str(r.body["expires_at"]))
			if err != nil {
				t.Fatalf("expires_at %v: %v (%s)", r.body["expires_at"], err, r)
			}
			if !got.Equal(c.wantExp) {
				t.Errorf("expires_at %v, want %v", got, c.wantExp)
			}
			if capped, _ := r.body["expires_at_capped"].(bool); capped != c.wantCapped {
				t.Errorf("expires_at_capped %v, want %v (%s)", r.body["expires_at_capped"], c.wantCapped, r)
			}
		})
	}
	// The stored expiry is what authentication checks: a token minted
	// with a JWT that has already run out is refused, not kept alive.
	short := signJWT(t, keys.rsa, jwa.RS256(), func(b *jwt.Builder) { b.Expiration(time.Now().Add(2 * time.Second)) })
	r := e.do("raw:"+short, "POST", "/v1/tokens", map[string]any{})
	if r.status != http.StatusCreated {
		t.Fatalf("create token: %s", r)
	}
	var rec struct {
		ExpiresAt *time.Time `json:"expires_at"`
	}
	_ = e.st.View(context.Background(), func(tx *storeTx) error {
		ts, _ := tx.ListTokens()
		for _, t := range ts {
			if t.ID == str(r.body["id"]) {
				rec.ExpiresAt = t.ExpiresAt
			}
		}
		return nil
	})
	if rec.ExpiresAt == nil || rec.ExpiresAt.After(time.Now().Add(3*time.Second)) {
		t.Fatalf("stored token expiry %v is not capped to the JWT's", rec.ExpiresAt)
	}
}
