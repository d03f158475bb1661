package admin

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestTokenCacheExact: an API token's caller is kept between requests
// (tokenCache), and every write that changes what authentication read —
// the token revoked or rotated, its user's CPR link or its user deleted —
// shows on the very next request; expiry is checked on every use; writes
// elsewhere keep the entry.
func TestTokenCacheExact(t *testing.T) {
	ctx := context.Background()
	var now atomic.Pointer[time.Time]
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
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
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}
