package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

const (
	cvrA = "12345674"
	cvrB = "55133018"
	pA1  = "1000000001"
	pA2  = "1000000002"
)

func uid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

var ctx = context.Background()

func mustUpdate(t *testing.T, st *store.Store, fn func(tx *store.Tx) error) uint64 {
	t.Helper()
	rev, err := st.Update(ctx, "test", fn)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	return rev
}

func seedOrgs(t *testing.T, st *store.Store) {
	t.Helper()
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateOrg(&store.Org{CVR: cvrA, Name: "A", Type: store.OrgInstitution,
			PUnits: []store.PUnit{{PNumber: pA1, Name: "Main"}, {PNumber: pA2}}, SENumbers: []string{"29190003"}}); err != nil {
			return err
		}
		return tx.CreateOrg(&store.Org{CVR: cvrB, Name: "B", Type: store.OrgAKasse})
	})
}

func newUser(n int, mut func(*store.User)) *store.User {
	u := &store.User{ID: uid(n), Org: cvrA, Name: fmt.Sprintf("User %d", n), Email: fmt.Sprintf("u%d@example.dk", n),
		Username: fmt.Sprintf("user%d", n), Kind: store.KindEmployee, Status: store.StatusActive, PNumber: pA1}
	if mut != nil {
		mut(u)
	}
	return u
}

func view(t *testing.T, st *store.Store, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := st.View(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func TestUniqueIndexConflicts(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*store.User)
	}{
		{"same id", func(u *store.User) { u.ID = uid(1); u.Email, u.Username = "x@x.dk", "x" }},
		{"email, other case", func(u *store.User) { u.Email = "U1@Example.DK" }},
		{"username", func(u *store.User) { u.Username = "USER1" }},
		{"legacy id", func(u *store.User) { u.LegacyID = "CVR:12345674-RID:1" }},
		{"CPR hash", func(u *store.User) { u.CPRHash = "hash-1" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.Open(t)
			seedOrgs(t, st)
			mustUpdate(t, st, func(tx *store.Tx) error {
				return tx.CreateUser(newUser(1, func(u *store.User) { u.LegacyID = "CVR:12345674-RID:1"; u.CPRHash = "hash-1" }))
			})
			rev := st.Revision()
			_, err := st.Update(ctx, "test", func(tx *store.Tx) error {
				u := newUser(2, nil)
				tc.mut(u)
				return tx.CreateUser(u)
			})
			var se *store.Error
			if !errors.As(err, &se) || se.Code != store.EConflict || se.Rule != "A12" || se.ReasonCode() != "duplicate" {
				t.Fatalf("err = %v, want conflict A12 duplicate", err)
			}
			if st.Revision() != rev {
				t.Fatalf("revision moved on a refused write")
			}
			view(t, st, func(tx *store.Tx) error {
				if _, err := tx.GetUser(uid(2)); !store.IsNotFound(err) && tc.name != "same id" {
					t.Errorf("refused user stored: %v", err)
				}
				return nil
			})
		})
	}
	t.Run("duplicate org", func(t *testing.T) {
		st := storetest.Open(t)
		seedOrgs(t, st)
		_, err := st.Update(ctx, "t", func(tx *store.Tx) error { return tx.CreateOrg(&store.Org{CVR: cvrA}) })
		if store.ErrorCode(err) != store.EConflict {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestIndexesFollowUpdatesAndDeletes(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateUser(newUser(1, nil)) })
	mustUpdate(t, st, func(tx *store.Tx) error {
		u, err := tx.GetUser(uid(1))
		if err != nil {
			return err
		}
		u.Email, u.Username, u.PNumber, u.Org = "new@example.dk", "newname", "", cvrB
		return tx.UpdateUser(u)
	})
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.UserByEmail("u1@example.dk"); !store.IsNotFound(err) {
			t.Errorf("old email still indexed: %v", err)
		}
		if u, err := tx.UserByEmail("NEW@example.dk"); err != nil || u.ID != uid(1) {
			t.Errorf("new email: %v %v", u, err)
		}
		if u, err := tx.UserByUsername("newname"); err != nil || u.ID != uid(1) {
			t.Errorf("new username: %v", err)
		}
		if us, _, _ := tx.ListUsers(cvrA, "", 0); len(us) != 0 {
			t.Errorf("still listed in the old org: %d", len(us))
		}
		if us, _, _ := tx.ListUsers(cvrB, "", 0); len(us) != 1 {
			t.Errorf("not listed in the new org")
		}
		return nil
	})
	// The freed email can be taken by someone else.
	mustUpdate(t, st, func(tx *store.Tx) error {
		return tx.CreateUser(newUser(2, func(u *store.User) { u.Email = "u1@example.dk" }))
	})
	// Delete removes indexes, direct grants and memberships; history stays.
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateGroup(&store.Group{ID: "grp", Org: cvrA, Name: "G"}); err != nil {
			return err
		}
		if err := tx.AddMember("grp", uid(2)); err != nil {
			return err
		}
		return tx.CreateGrant(&store.Grant{ID: "g1", Right: "imi.case_worker", HolderType: store.HolderUser,
			HolderID: uid(2), Org: cvrA, Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}})
	})
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteUser(uid(2)) })
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.UserByEmail("u1@example.dk"); !store.IsNotFound(err) {
			t.Errorf("email index left behind")
		}
		if _, err := tx.GetGrant("g1"); !store.IsNotFound(err) {
			t.Errorf("direct grant left behind")
		}
		if m, _ := tx.Members("grp"); len(m) != 0 {
			t.Errorf("membership left behind: %v", m)
		}
		if h, _ := tx.History(uid(2), time.Time{}, time.Time{}, "", 200); len(h) < 3 || h[0].Type != "user.delete" {
			t.Errorf("history after delete: %+v", h)
		}
		return nil
	})
}

// TestRevisionAndAuditAtomicity: every Update bumps the revision by one
// and writes its audit events; a failing Update leaves no trace.
func TestRevisionAndAuditAtomicity(t *testing.T) {
	st := storetest.Open(t)
	r0 := st.Revision()
	if r0 == 0 {
		t.Fatal("seeded store at revision 0")
	}
	seedOrgs(t, st)
	if st.Revision() != r0+1 {
		t.Fatalf("revision %d, want %d", st.Revision(), r0+1)
	}
	var before []store.AuditEvent
	view(t, st, func(tx *store.Tx) (err error) { before, err = tx.AuditSince(0); return })

	boom := errors.New("boom")
	_, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		tx.Audit(store.AuditEvent{Type: "custom"})
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if st.Revision() != r0+1 {
		t.Fatal("failed update moved the revision")
	}
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.GetUser(uid(1)); !store.IsNotFound(err) {
			t.Error("failed update left a user")
		}
		after, _ := tx.AuditSince(0)
		if len(after) != len(before) {
			t.Errorf("failed update left audit events: %d → %d", len(before), len(after))
		}
		return nil
	})
	rev := mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateUser(newUser(1, nil)) })
	if rev != r0+2 {
		t.Fatalf("revision %d", rev)
	}
	view(t, st, func(tx *store.Tx) error {
		evs, _ := tx.AuditSince(r0 + 1)
		if len(evs) != 1 || evs[0].Revision != rev || evs[0].Type != "user.create" || evs[0].Actor != "test" || evs[0].UserID != uid(1) {
			t.Errorf("audit = %+v", evs)
		}
		return nil
	})
}

func TestReopenKeepsDataAndLocksDirectory(t *testing.T) {
	dir := t.TempDir()
	open := func() (*store.Store, error) {
		return store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, Logger: zerolog.Nop()})
	}
	st, err := open()
	if err != nil {
		t.Fatal(err)
	}
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateUser(newUser(1, nil)) })
	rev := st.Revision()

	if _, err := open(); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second open = %v, want a clear lock error", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	st2, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if st2.Revision() != rev {
		t.Fatalf("revision %d after reopen, want %d", st2.Revision(), rev)
	}
	view(t, st2, func(tx *store.Tx) error {
		if u, err := tx.UserByEmail("u1@example.dk"); err != nil || u.Name != "User 1" {
			t.Errorf("user after reopen: %v %v", u, err)
		}
		rights, _ := tx.ListRights()
		if len(rights) != len(store.DefaultRights()) {
			t.Errorf("rights seeded again or lost: %d", len(rights))
		}
		return nil
	})
}

func TestSystemGroupsFollowPUnits(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		g, err := tx.SystemGroup(pA1)
		if err != nil {
			return err
		}
		return tx.CreateGrant(&store.Grant{ID: "sys-grant", Right: "imi.case_worker", HolderType: store.HolderGroup,
			HolderID: g.ID, Org: cvrA, Scope: store.Scope{Type: store.ScopeP, Value: pA1}})
	})
	view(t, st, func(tx *store.Tx) error {
		g, err := tx.SystemGroup(pA1)
		if err != nil || g.Kind != store.GroupSystem || g.Name != "Main" {
			t.Fatalf("system group %+v %v", g, err)
		}
		if m, _ := tx.Members(g.ID); len(m) != 1 || m[0] != uid(1) {
			t.Errorf("members %v", m)
		}
		groups, _ := tx.ListGroups(cvrA)
		if len(groups) != 2 {
			t.Errorf("groups %d, want one per P-unit", len(groups))
		}
		return nil
	})
	_, err := st.Update(ctx, "t", func(tx *store.Tx) error { return tx.AddMember("sys-"+pA1, uid(1)) })
	var se *store.Error
	if !errors.As(err, &se) || se.Rule != "A13" {
		t.Fatalf("manual system membership = %v, want A13", err)
	}
	// Removing the P-unit removes its system group and the group's grants.
	mustUpdate(t, st, func(tx *store.Tx) error {
		o, _ := tx.GetOrg(cvrA)
		o.PUnits = o.PUnits[1:]
		return tx.UpdateOrg(o)
	})
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.SystemGroup(pA1); !store.IsNotFound(err) {
			t.Errorf("system group of a removed P-unit: %v", err)
		}
		if _, err := tx.GetGrant("sys-grant"); !store.IsNotFound(err) {
			t.Errorf("grant of a removed system group survived")
		}
		return nil
	})
}

func TestLoginView(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, func(u *store.User) { u.LegacyID = "CVR:12345674-RID:42" })); err != nil {
			return err
		}
		if err := tx.CreateGroup(&store.Group{ID: "grp", Org: cvrA, Name: "G"}); err != nil {
			return err
		}
		if err := tx.AddMember("grp", uid(1)); err != nil {
			return err
		}
		for _, g := range []*store.Grant{
			{ID: "d1", Right: "eksamensdatabasen.view", HolderType: store.HolderUser, HolderID: uid(1), Org: cvrA, Scope: store.Scope{Type: "p", Value: pA1}},
			{ID: "c1", Right: "imi.case_worker", HolderType: store.HolderGroup, HolderID: "grp", Org: cvrA, Scope: store.Scope{Type: "cvr", Value: cvrA}},
			{ID: "s1", Right: "amp.sagsbehandler", HolderType: store.HolderGroup, HolderID: "sys-" + pA1, Org: cvrA, Scope: store.Scope{Type: "p", Value: pA1}},
		} {
			if err := tx.CreateGrant(g); err != nil {
				return err
			}
		}
		return tx.PutCertificate(&store.Certificate{Serial: "S1", Org: cvrA, Status: store.CertRevoked})
	})
	for _, subject := range []string{uid(1), "CVR:12345674-RID:42"} {
		v, err := st.LoginView(ctx, cvrA, subject, "S1")
		if err != nil {
			t.Fatal(err)
		}
		src := map[string]string{}
		for _, g := range v.Grants {
			src[g.ID] = g.Source
		}
		if v.User == nil || v.Org == nil || v.Certificate == nil || v.Revision != st.Revision() ||
			src["d1"] != "direct" || src["c1"] != "grp" || src["s1"] != "sys-"+pA1 || len(src) != 3 {
			t.Fatalf("login view for %s: user=%v org=%v cert=%v grants=%v", subject, v.User != nil, v.Org != nil, v.Certificate, src)
		}
	}
	v, err := st.LoginView(ctx, "12345682", uid(99), "")
	if err != nil || v.User != nil || v.Org != nil || len(v.Grants) != 0 {
		t.Fatalf("unknown subject: %+v %v", v, err)
	}
}

func TestSubscribe(t *testing.T) {
	st := storetest.Open(t)
	ch, cancel := st.Subscribe(4)
	defer cancel()
	seedOrgs(t, st)
	select {
	case c := <-ch:
		if c.Revision != st.Revision() || len(c.Events) == 0 || c.Events[0].Type != "org.create" {
			t.Fatalf("change %+v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change published")
	}
}

func TestEncryptionAtRest(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, EncryptionKey: key, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		return tx.CreateUser(newUser(1, func(u *store.User) { u.Name = "Plaintext Person" }))
	})
	st.Close()
	if found := grepDir(t, dir, "Plaintext Person"); found != "" {
		t.Fatalf("plain name on disk in %s despite encryption", found)
	}
	if _, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, Logger: zerolog.Nop()}); err == nil {
		t.Fatal("opened an encrypted store without the key")
	}
	st2, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, EncryptionKey: key, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	view(t, st2, func(tx *store.Tx) error {
		if u, err := tx.GetUser(uid(1)); err != nil || u.Name != "Plaintext Person" {
			t.Errorf("user after reopen with key: %v", err)
		}
		return nil
	})
}

// grepDir returns the first file under dir containing needle.
func grepDir(t *testing.T, dir, needle string) string {
	t.Helper()
	found := ""
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(needle)) {
			found = path
		}
		return nil
	})
	return found
}

// TestNoPlainCPROnDisk stores CPR users the way the admin API does and
// greps every file of the data directory for the numbers.
func TestNoPlainCPROnDisk(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	seedOrgs(t, st)
	cprs := []string{"0101901234", "3112851111", "6102034455"}
	mustUpdate(t, st, func(tx *store.Tx) error {
		for i, raw := range cprs {
			cpr, err := store.ParseCPR(raw)
			if err != nil {
				return err
			}
			u := newUser(i+1, func(u *store.User) {
				u.CPRHash, u.CPRMasked, u.CPRLinked = st.HashCPR(cpr), store.MaskCPR(cpr), true
			})
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, st, func(tx *store.Tx) error {
		u, err := tx.UserByCPRHash(cvrA, st.HashCPR(cprs[0]))
		if err != nil || u.ID != uid(1) || u.CPRMasked != "010190-****" {
			t.Errorf("look-up by CPR hash: %+v %v", u, err)
		}
		return nil
	})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range cprs {
		for _, form := range []string{c, c[:6] + "-" + c[6:]} {
			if f := grepDir(t, dir, form); f != "" {
				t.Errorf("plain CPR %s found in %s", form[:6]+"-****", f)
			}
		}
	}
}

// TestRecordCacheInWriteTransactions: organisations are read through the
// decoded-record cache in write transactions too. A transaction sees its
// own pending change at once (never the cached committed record), and
// what a reader changes in an organisation it read — committed, rolled
// back or not written at all — never reaches later reads.
func TestRecordCacheInWriteTransactions(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	name := func() string {
		var n string
		view(t, st, func(tx *store.Tx) error {
			o, err := tx.GetOrg(cvrA)
			if err == nil {
				n = o.Name + "/" + fmt.Sprint(len(o.PUnits))
			}
			return err
		})
		return n
	}
	if got := name(); got != "A/2" { // and cached
		t.Fatalf("org A: %s", got)
	}
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.PutMeta("other", 1) }) // A's version is now below any read timestamp

	// Changed and not written, in a write and in a read transaction: nothing kept.
	mustUpdate(t, st, func(tx *store.Tx) error {
		o, err := tx.GetOrg(cvrA)
		if err != nil {
			return err
		}
		o.Name, o.PUnits[0].PNumber, o.PUnits = "scribbled", "9999999999", append(o.PUnits, store.PUnit{PNumber: "1"})
		return tx.PutMeta("other", 2)
	})
	view(t, st, func(tx *store.Tx) error {
		o, err := tx.GetOrg(cvrA)
		if err == nil {
			o.Name, o.SENumbers[0] = "scribbled", "x"
		}
		return err
	})
	if got := name(); got != "A/2" {
		t.Fatalf("org A after callers changed their copies: %s, want A/2", got)
	}

	// Written: the transaction reads its own change; a rollback keeps the committed one.
	errRollback := errors.New("rollback")
	rename := func(to string, result error) error {
		_, err := st.Update(ctx, "test", func(tx *store.Tx) error {
			o, err := tx.GetOrg(cvrA)
			if err != nil {
				return err
			}
			o.Name = to
			if err := tx.UpdateOrg(o); err != nil {
				return err
			}
			if again, err := tx.GetOrg(cvrA); err != nil || again.Name != to {
				t.Errorf("the transaction's own change to %q read back as %+v, %v", to, again, err)
			}
			return result
		})
		return err
	}
	if err := rename("renamed", errRollback); !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if got := name(); got != "A/2" {
		t.Fatalf("org A after a rolled-back rename: %s, want A/2", got)
	}
	if err := rename("renamed", nil); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "renamed/2" { // cached at the version the next write reads at
		t.Fatalf("org A after a rename: %s, want renamed/2", got)
	}
	// The last commit wrote A: its version is the next transaction's read
	// timestamp, which that transaction's own pending write of A carries too.
	if err := rename("again", nil); err != nil {
		t.Fatal(err)
	}
}

// TestTokenCacheInWriteTransactions: a token read, rotated, deleted and
// created again inside one write transaction is read back as it stands in
// that transaction, and what a caller changes in a token it read is never
// read again.
func TestTokenCacheInWriteTransactions(t *testing.T) {
	st := storetest.Open(t)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mustUpdate(t, st, func(tx *store.Tx) error {
		return tx.PutToken(&store.Token{ID: "tok1", Hash: "hash1", Superadmin: true, ExpiresAt: &exp})
	})
	view(t, st, func(tx *store.Tx) error { // cached
		tok, err := tx.TokenByHash("hash1")
		if err == nil {
			*tok.ExpiresAt = time.Time{}
			tok.Superadmin = false
		}
		return err
	})
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.PutMeta("other", 1) })
	mustUpdate(t, st, func(tx *store.Tx) error {
		tok, err := tx.GetToken("tok1")
		if err != nil || !tok.Superadmin || !tok.ExpiresAt.Equal(exp) {
			t.Fatalf("token after a reader changed its copy: %+v, %v", tok, err)
		}
		tok.Hash = "hash2" // rotate
		if err := tx.PutToken(tok); err != nil {
			return err
		}
		if got, err := tx.TokenByHash("hash2"); err != nil || got.ID != "tok1" {
			t.Errorf("rotated token by its new hash: %+v, %v", got, err)
		}
		if _, err := tx.TokenByHash("hash1"); !store.IsNotFound(err) {
			t.Errorf("rotated token by its old hash: %v, want not found", err)
		}
		if err := tx.DeleteToken("tok1"); err != nil {
			return err
		}
		if _, err := tx.GetToken("tok1"); !store.IsNotFound(err) {
			t.Errorf("deleted token read back: %v, want not found", err)
		}
		if err := tx.PutToken(&store.Token{ID: "tok1", Hash: "hash3"}); err != nil {
			return err
		}
		if got, err := tx.GetToken("tok1"); err != nil || got.Hash != "hash3" || got.Superadmin {
			t.Errorf("re-created token read back: %+v, %v", got, err)
		}
		return nil
	})
	view(t, st, func(tx *store.Tx) error {
		if got, err := tx.TokenByHash("hash3"); err != nil || got.Superadmin || got.ExpiresAt != nil {
			t.Errorf("token after the transaction: %+v, %v", got, err)
		}
		for _, h := range []string{"hash1", "hash2"} {
			if _, err := tx.TokenByHash(h); !store.IsNotFound(err) {
				t.Errorf("token by %s after the transaction: %v, want not found", h, err)
			}
		}
		return nil
	})
}
