package api_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// TestLastLoginGranularity: an allowed login is recorded when the user's
// recorded one is LoginGranularity old or older (the first login, and the
// first after that long); the logins in between, answered from the
// decision cache or computed, write nothing, so a sidecar asked on every
// request does not rewrite each active user's record every second.
func TestLastLoginGranularity(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cache int
	}{{"cached", 0}, {"uncached", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			var clock atomic.Int64
			clock.Store(t0.UnixNano())
			e := newEnv(t, pdp.Config{LoginFlushInterval: 5 * time.Millisecond, LoginGranularity: time.Hour, CacheSize: tc.cache,
				Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
			login := func(name string, at time.Duration) {
				t.Helper()
				clock.Store(t0.Add(at).UnixNano())
				if d, _ := e.login(pdp.LoginRequest{Subject: subj(name, cvrA), Right: eks}); !d.Allow {
					t.Fatalf("%s: %+v", name, d)
				}
			}
			lastLogin := func(name string) time.Time {
				var u *store.User
				_ = e.st.View(context.Background(), func(tx *store.Tx) error { var err error; u, err = tx.GetUser(uid[name]); return err })
				if u == nil || u.LastLogin == nil {
					return time.Time{}
				}
				return *u.LastLogin
			}
			login("alice", 0)
			waitFor(t, "alice's first login recorded", func() bool { return lastLogin("alice").Equal(t0) })
			for _, at := range []time.Duration{time.Minute, 30 * time.Minute, 59 * time.Minute} {
				login("alice", at)
			}
			// Bob's first login is queued after Alice's later ones: once it
			// is written, any of hers queued before it is written too (one
			// writer, in order).
			login("bob", 59*time.Minute)
			waitFor(t, "bob's login recorded", func() bool { return !lastLogin("bob").IsZero() })
			if got := lastLogin("alice"); !got.Equal(t0) {
				t.Errorf("alice's last login %v after logins within the hour, want %v (unchanged)", got, t0)
			}
			login("alice", 61*time.Minute)
			waitFor(t, "alice's login an hour later recorded", func() bool { return lastLogin("alice").Equal(t0.Add(61 * time.Minute)) })

			// A user still new with a login recorded a moment ago (its
			// activation failed): its next login is queued all the same,
			// and activates it.
			if _, err := e.st.Update(context.Background(), "test", func(tx *store.Tx) error {
				u, err := tx.GetUser(uid["bob"])
				if err != nil {
					return err
				}
				at := t0.Add(61 * time.Minute)
				u.Status, u.LastLogin = store.StatusNew, &at
				return tx.UpdateUser(u)
			}); err != nil {
				t.Fatal(err)
			}
			login("bob", 62*time.Minute)
			waitFor(t, "bob, new, activated by a login within the hour", func() bool {
				var u *store.User
				_ = e.st.View(context.Background(), func(tx *store.Tx) error { var err error; u, err = tx.GetUser(uid["bob"]); return err })
				return u != nil && u.Status == store.StatusActive
			})
		})
	}
}
