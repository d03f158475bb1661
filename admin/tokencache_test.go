package admin

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestTokenCacheKeptPastFloor: an entry in use carries the revision it
// was last found exact at, so writes elsewhere of more things than the
// store's dependency table holds (here 16) do not make it read again.
func TestTokenCacheKeptPastFloor(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Config{Dir: t.TempDir(), NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(),
		GCInterval: -1, DepTableSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := storetest.LoadUsers(ctx, st, 4); err != nil {
		t.Fatal(err)
	}
	eng, err := pdp.New(ctx, st, pdp.Config{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	svc, err := New(ctx, Config{Store: st, Engine: eng, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	_, plain, err := CreateToken(ctx, st, "test", storetest.BenchUserID(1), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, plain); err != nil {
		t.Fatal(err)
	}
	svc.tokens.mu.Lock()
	e := svc.tokens.m[hashToken(plain)]
	svc.tokens.mu.Unlock()
	for i := range 100 {
		if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
			return tx.CreateUser(&store.User{ID: fmt.Sprintf("00000000-0000-4000-a000-%012d", i), Org: storetest.BenchOrg(0),
				Name: "filler", Email: fmt.Sprintf("filler%d@example.dk", i), Kind: store.KindEmployee, Status: store.StatusActive})
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, plain); err != nil {
			t.Fatal(err)
		}
		svc.tokens.mu.Lock()
		same := svc.tokens.m[hashToken(plain)] == e
		svc.tokens.mu.Unlock()
		if !same {
			t.Fatalf("write %d: the token was read again", i)
		}
	}
}

// TestTokenCacheExact: an API token's caller is kept between requests
// (tokenCache), and every write that changes what authentication read —
// the token revoked or rotated, its user's CPR link or its user deleted —
// shows on the very next request; expiry is checked on every use; writes
// elsewhere keep the entry.
func TestTokenCacheExact(t *testing.T) {
	ctx := context.Background()
	var now atomic.Pointer[time.Time]
	// The service's clock starts at the real time: a token's expiry is
	// checked against the real clock when it is made (CreateToken), so a
	// fixed date would turn the test red once it has passed.
	start := time.Now().UTC().Truncate(time.Second)
	now.Store(&start)
	clock := func() time.Time { return *now.Load() }
	st, svc, _ := newTestService(t, 20, clock, nil)
	user := storetest.BenchUserID(3)
	other := storetest.BenchUserID(4)

	type tok struct{ id, plain string }
	newToken := func(t *testing.T, userID string, superadmin bool, exp *time.Time) tok {
		id, plain, err := CreateToken(ctx, st, "test", userID, superadmin, exp)
		if err != nil {
			t.Fatal(err)
		}
		return tok{id, plain}
	}
	update := func(t *testing.T, fn func(tx *store.Tx) error) {
		t.Helper()
		if _, err := st.Update(ctx, "test", fn); err != nil {
			t.Fatal(err)
		}
	}
	auth := func(plain string) (*Caller, error) { return svc.Authenticate(ctx, plain) }
	mustAuth := func(t *testing.T, plain string) *Caller {
		t.Helper()
		c, err := auth(plain)
		if err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		return c
	}
	mustRefuse := func(t *testing.T, plain, msg string) {
		t.Helper()
		c, err := auth(plain)
		if err == nil || store.ErrorCode(err) != store.EUnauthorized {
			t.Fatalf("authenticate: got %+v, %v; want 401 %q", c, err, msg)
		}
		if e, ok := err.(*store.Error); !ok || e.Message != msg {
			t.Fatalf("authenticate: %v; want %q", err, msg)
		}
	}
	entry := func(plain string) *tokenEntry {
		svc.tokens.mu.Lock()
		defer svc.tokens.mu.Unlock()
		return svc.tokens.m[hashToken(plain)]
	}

	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"kept across writes elsewhere", func(t *testing.T) {
			tk := newToken(t, user, false, nil)
			mustAuth(t, tk.plain)
			e := entry(tk.plain)
			if e == nil {
				t.Fatal("no cache entry after a successful authentication")
			}
			update(t, func(tx *store.Tx) error {
				u, err := tx.GetUser(other)
				if err != nil {
					return err
				}
				u.CPRLinked = !u.CPRLinked // not neutral: a real change of another user
				return tx.UpdateUser(u)
			})
			mustAuth(t, tk.plain)
			if entry(tk.plain) != e {
				t.Fatal("a write of another user replaced the entry")
			}
		}},
		{"revoked", func(t *testing.T) {
			tk := newToken(t, user, false, nil)
			mustAuth(t, tk.plain)
			update(t, func(tx *store.Tx) error { return tx.DeleteToken(tk.id) })
			mustRefuse(t, tk.plain, "invalid token")
		}},
		{"rotated", func(t *testing.T) {
			tk := newToken(t, user, false, nil)
			mustAuth(t, tk.plain)
			const fresh = "adg_test_rotated_token_0123456789abcdef"
			update(t, func(tx *store.Tx) error {
				old, err := tx.GetToken(tk.id)
				if err != nil {
					return err
				}
				old.Hash = hashToken(fresh)
				return tx.PutToken(old)
			})
			mustRefuse(t, tk.plain, "invalid token")
			if c := mustAuth(t, fresh); c.TokenID() != tk.id {
				t.Fatalf("rotated token resolves to %q, want %q", c.TokenID(), tk.id)
			}
		}},
		{"user's CPR link changes", func(t *testing.T) {
			tk := newToken(t, user, false, nil)
			was := mustAuth(t, tk.plain).cprLinked
			update(t, func(tx *store.Tx) error {
				u, err := tx.GetUser(user)
				if err != nil {
					return err
				}
				u.CPRLinked = !was
				return tx.UpdateUser(u)
			})
			if got := mustAuth(t, tk.plain).cprLinked; got == was {
				t.Fatalf("cpr_linked still %v after the user's record changed", got)
			}
		}},
		{"user deleted", func(t *testing.T) {
			gone := storetest.BenchUserID(7)
			tk := newToken(t, gone, false, nil)
			mustAuth(t, tk.plain)
			update(t, func(tx *store.Tx) error { return tx.DeleteUser(gone) })
			mustRefuse(t, tk.plain, "invalid token")
		}},
		{"expires while cached", func(t *testing.T) {
			exp := clock().Add(time.Hour)
			tk := newToken(t, "", true, &exp)
			mustAuth(t, tk.plain)
			if entry(tk.plain) == nil {
				t.Fatal("no cache entry")
			}
			later := exp.Add(time.Second)
			now.Store(&later)
			defer now.Store(&start)
			mustRefuse(t, tk.plain, "token expired")
		}},
		{"caller not shared between requests", func(t *testing.T) {
			tk := newToken(t, user, false, nil)
			a, b := mustAuth(t, tk.plain), mustAuth(t, tk.plain)
			if a == b {
				t.Fatal("two requests got the same *Caller")
			}
		}},
		{"store closed", func(t *testing.T) {
			tk := newToken(t, "", true, nil)
			mustAuth(t, tk.plain)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if c, err := auth(tk.plain); err == nil || store.ErrorCode(err) != store.EInternal {
				t.Fatalf("authenticate on a closed store: %+v, %v; want an internal error", c, err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}
