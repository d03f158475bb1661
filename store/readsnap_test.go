package store

import (
	"context"
	"testing"
	"time"
)

// TestLoginViewSharedSnapshot: login reads of one store state share one
// Badger read transaction, and every write a login read must see — a
// revision, or last-login times, which have none — makes the next read
// take a new one; Close discards the last.
func TestLoginViewSharedSnapshot(t *testing.T) {
	st, cvr := viewStore(t)
	ctx := context.Background()
	const uid = "00000000-0000-4000-8000-000000000001"
	_, err := st.Update(ctx, "t", func(tx *Tx) error {
		if err := tx.CreateOrg(&Org{CVR: cvr, Name: "O", Type: OrgInstitution}); err != nil {
			return err
		}
		return tx.CreateUser(&User{ID: uid, Org: cvr, Name: "before", Kind: KindEmployee, Status: StatusActive})
	})
	if err != nil {
		t.Fatal(err)
	}
	view := func() (*LoginView, *readSnap) {
		t.Helper()
		v, err := st.LoginView(ctx, cvr, uid, "")
		if err != nil || v.User == nil {
			t.Fatalf("LoginView: %v, %+v", err, v)
		}
		return v, st.snap.Load()
	}
	_, first := view()
	if _, again := view(); again != first || first == nil {
		t.Fatalf("two reads of one state: snapshots %p and %p, want one shared", first, again)
	}
	if n := first.refs.Load(); n != 1 {
		t.Fatalf("current snapshot with no read in flight counts %d uses, want 1", n)
	}

	steps := []struct {
		name  string
		write func() error
		check func(v *LoginView) bool
	}{
		{"an update (a revision)", func() error {
			_, err := st.Update(ctx, "t", func(tx *Tx) error {
				u, err := tx.GetUser(uid)
				if err != nil {
					return err
				}
				u.Name = "after"
				return tx.UpdateUser(u)
			})
			return err
		}, func(v *LoginView) bool { return v.User.Name == "after" }},
		{"last-login times (no revision)", func() error {
			return st.TouchLogins(ctx, map[string]time.Time{uid: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)})
		}, func(v *LoginView) bool { return v.User.LastLogin != nil && v.User.LastLogin.Day() == 1 }},
	}
	prev := first
	for _, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if n := prev.refs.Load(); n != 0 {
			t.Errorf("after %s the earlier snapshot counts %d uses, want 0 (discarded)", s.name, n)
		}
		v, sn := view()
		if !s.check(v) {
			t.Fatalf("after %s the login read shows %+v", s.name, v.User)
		}
		if sn == prev {
			t.Fatalf("after %s the login read kept the earlier snapshot", s.name)
		}
		prev = sn
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if n := prev.refs.Load(); n != 0 || st.snap.Load() != nil {
		t.Fatalf("after Close the snapshot counts %d uses (current %p), want discarded", n, st.snap.Load())
	}
}

// TestSharedSnapshotLetGoWhenOld: a snapshot stays current for at most
// snapMaxAge, also when nothing is written (an idle store must not keep a
// Badger transaction open: Badger keeps every version newer than it).
func TestSharedSnapshotLetGoWhenOld(t *testing.T) {
	old := snapMaxAge
	snapMaxAge = 20 * time.Millisecond
	defer func() { snapMaxAge = old }()
	st, cvr := viewStore(t)
	ctx := context.Background()
	if _, err := st.LoginView(ctx, cvr, "00000000-0000-4000-8000-000000000001", ""); err != nil {
		t.Fatal(err)
	}
	sn := st.snap.Load()
	if sn == nil {
		t.Fatal("no current snapshot after a login read")
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.snap.Load() == sn && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if cur, n := st.snap.Load(), sn.refs.Load(); cur == sn || n != 0 {
		t.Fatalf("after %v idle the snapshot is still current (%v) or counts %d uses, want let go and discarded", snapMaxAge, cur == sn, n)
	}
	if _, err := st.LoginView(ctx, cvr, "00000000-0000-4000-8000-000000000001", ""); err != nil {
		t.Fatal(err)
	}
	if cur := st.snap.Load(); cur == nil || cur == sn {
		t.Fatalf("the next read after the let-go made no new snapshot")
	}
}
