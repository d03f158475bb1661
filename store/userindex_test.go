package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

const ixCVR = "12345674"

// ixUsers are the users of the login index tests, called a, ab, b, c.
var ixUsers = []string{ixA, ixAB, ixB, ixC}

const (
	ixA  = "00000000-0000-4000-8000-00000000000a"
	ixAB = "00000000-0000-4000-8000-0000000000ab"
	ixB  = "00000000-0000-4000-8000-00000000000b"
	ixC  = "00000000-0000-4000-8000-00000000000c"
)

func openIndexStore(t *testing.T, dir string) *Store {
	t.Helper()
	st, err := Open(Config{Dir: dir, NoSync: true, CPRKey: make([]byte, 32), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// reopenIndexStore closes st and opens dir again (closed when the test
// ends), and checks that Open rebuilt the index wantBuilds times and that
// the records of users agree with the indexes.
func reopenIndexStore(t *testing.T, st *Store, dir string, wantBuilds int, users []string) *Store {
	t.Helper()
	st.Close()
	st = openIndexStore(t, dir)
	t.Cleanup(func() { st.Close() })
	if st.userIndexBuilds != wantBuilds {
		t.Errorf("reopened: rebuilt the index %d times, want %d", st.userIndexBuilds, wantBuilds)
	}
	checkIndexAgrees(t, st, users)
	return st
}

func ixUpdate(t *testing.T, st *Store, fn func(tx *Tx) error) {
	t.Helper()
	if _, err := st.Update(context.Background(), "t", fn); err != nil {
		t.Fatal(err)
	}
}

func ixGrant(id, user string) *Grant {
	return &Grant{ID: id, Right: "amp.sagsbehandler", HolderType: HolderUser, HolderID: user, Org: ixCVR,
		Scope: Scope{Type: ScopeCVR, Value: ixCVR}}
}

// seedIndexStore makes the organisation, the users, and groups g1, g2.
func seedIndexStore(t *testing.T, st *Store) {
	t.Helper()
	ixUpdate(t, st, func(tx *Tx) error {
		if err := tx.CreateOrg(&Org{CVR: ixCVR, Name: "A", Type: OrgInstitution}); err != nil {
			return err
		}
		for _, u := range ixUsers {
			if err := tx.CreateUser(&User{ID: u, Org: ixCVR, Name: u, Kind: KindEmployee, Status: StatusActive}); err != nil {
				return err
			}
		}
		for _, g := range []string{"g1", "g2"} {
			if err := tx.CreateGroup(&Group{ID: g, Org: ixCVR, Name: g, Kind: GroupCustom}); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkIndexAgrees fails unless every user's login index record holds
// exactly what the two indexes it stands for hold, absent when both are
// empty, and login reads give the same grants and groups either way.
func checkIndexAgrees(t *testing.T, st *Store, users []string) {
	t.Helper()
	if !st.userIndex.Load() {
		t.Fatal("the user login index is not in use")
	}
	if err := st.View(context.Background(), func(tx *Tx) error {
		for _, u := range users {
			grants, groups := tx.keys(prefixGrantByUser+u+"/"), tx.keys(prefixGroupByMember+u+"/")
			raw, err := tx.getRaw(prefixUserLoginIndex+u, "index")
			if IsNotFound(err) {
				if len(grants)+len(groups) > 0 {
					t.Errorf("user %s: no index record, but grants %v, groups %v", u, grants, groups)
				}
				continue
			} else if err != nil {
				return err
			}
			ig, im, err := decodeUserIndex(raw)
			if err != nil {
				return err
			}
			if len(grants)+len(groups) == 0 || !slices.Equal(ig, grants) || !slices.Equal(im, groups) {
				t.Errorf("user %s: index record grants %v groups %v; indexes: grants %v groups %v", u, ig, im, grants, groups)
			}
			refs, custom, err := tx.userRefs(u)
			if err != nil {
				return err
			}
			if !slices.Equal(keyRefIDs(refs), grants) || !slices.Equal(custom, groups) {
				t.Errorf("user %s: login read found grants %v groups %v", u, keyRefIDs(refs), custom)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestUserLoginIndexKeptByWrites: every write that changes a user's
// direct grants or custom groups leaves the user's login index record
// equal to the two indexes, across creates, deletes, group deletion and
// user deletion, and across a reopen.
func TestUserLoginIndexKeptByWrites(t *testing.T) {
	dir := t.TempDir()
	st := openIndexStore(t, dir)
	defer func() { st.Close() }()
	seedIndexStore(t, st)
	checkIndexAgrees(t, st, ixUsers)
	steps := []struct {
		name string
		fn   func(tx *Tx) error
	}{
		{"grants to a and a-b", func(tx *Tx) error {
			for i, u := range []string{ixA, ixAB, ixA} {
				if err := tx.CreateGrant(ixGrant(fmt.Sprintf("gr%d", i), u)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"memberships", func(tx *Tx) error {
			for _, m := range [][2]string{{"g1", ixA}, {"g2", ixA}, {"g1", ixB}, {"g2", ixAB}} {
				if err := tx.AddMember(m[0], m[1]); err != nil {
					return err
				}
			}
			return nil
		}},
		{"delete a grant", func(tx *Tx) error { return tx.DeleteGrant("gr0") }},
		{"leave a group", func(tx *Tx) error { return tx.RemoveMember("g1", ixB) }},
		{"delete a group", func(tx *Tx) error { return tx.DeleteGroup("g2") }},
		{"grant and delete in one write", func(tx *Tx) error {
			if err := tx.CreateGrant(ixGrant("gr9", ixC)); err != nil {
				return err
			}
			return tx.DeleteGrant("gr9")
		}},
		{"many changes to many users in one write", func(tx *Tx) error {
			for i, u := range ixUsers {
				for j := range 3 {
					if err := tx.CreateGrant(ixGrant(fmt.Sprintf("bulk-%d-%d", i, j), u)); err != nil {
						return err
					}
				}
				if err := tx.AddMember("g1", u); err != nil && !IsNotFound(err) {
					return err
				}
				if err := tx.DeleteGrant(fmt.Sprintf("bulk-%d-1", i)); err != nil {
					return err
				}
			}
			return tx.RemoveMember("g1", ixC)
		}},
		{"delete a user", func(tx *Tx) error { return tx.DeleteUser(ixA) }},
	}
	for _, s := range steps {
		ixUpdate(t, st, s.fn)
		checkIndexAgrees(t, st, ixUsers)
		if t.Failed() {
			t.Fatalf("after %q", s.name)
		}
	}
	reopenIndexStore(t, st, dir, 0, ixUsers) // the writes kept the index: no rebuild
}

// TestUserLoginIndexOffIsRebuilt: writes made while the index is not in
// use (a rebuild put off for lack of disk space) keep no records and do
// not set the marker, so the next Open rebuilds it exact.
func TestUserLoginIndexOffIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	st := openIndexStore(t, dir)
	seedIndexStore(t, st)
	ixUpdate(t, st, func(tx *Tx) error { return tx.CreateGrant(ixGrant("gr1", ixA)) })
	st.userIndex.Store(false)
	ixUpdate(t, st, func(tx *Tx) error {
		if err := tx.DeleteGrant("gr1"); err != nil {
			return err
		}
		return tx.AddMember("g1", ixB)
	})
	reopenIndexStore(t, st, dir, 1, ixUsers)
}

// TestUserLoginIndexNotReadInWrites: a write transaction reads its own
// grant and membership changes (its index records are only rewritten at
// the commit).
func TestUserLoginIndexNotReadInWrites(t *testing.T) {
	st := openIndexStore(t, t.TempDir())
	defer st.Close()
	seedIndexStore(t, st)
	ixUpdate(t, st, func(tx *Tx) error {
		if err := tx.CreateGrant(ixGrant("gr1", ixA)); err != nil {
			return err
		}
		return tx.AddMember("g1", ixA)
	})
	ixUpdate(t, st, func(tx *Tx) error {
		if err := tx.CreateGrant(ixGrant("gr2", ixA)); err != nil {
			return err
		}
		if err := tx.RemoveMember("g1", ixA); err != nil {
			return err
		}
		u, err := tx.GetUser(ixA)
		if err != nil {
			return err
		}
		grants, groups, err := tx.effectiveGrantsAndGroups(u, 0)
		if err != nil {
			return err
		}
		var ids []string
		for _, g := range grants {
			ids = append(ids, g.ID)
		}
		if !slices.Equal(ids, []string{"gr1", "gr2"}) || len(groups) != 0 {
			t.Errorf("in the write: grants %v groups %v, want [gr1 gr2] and none", ids, groups)
		}
		return nil
	})
}

// TestUserLoginIndexRebuilt: Open rebuilds the index when its marker does
// not show the store's revision: after a write by a version that did not
// keep it (simulated: an index entry and a revision written around it),
// after an interrupted rebuild (no marker), and with a stale record of a
// user that has nothing left.
func TestUserLoginIndexRebuilt(t *testing.T) {
	cases := []struct {
		name string
		edit func(txn *badger.Txn, rev uint64) error
	}{
		{"write by an earlier version", func(txn *badger.Txn, rev uint64) error {
			if err := txn.Set([]byte(prefixGroupByMember+ixC+"/g1"), nil); err != nil {
				return err
			}
			if err := txn.Delete([]byte(prefixGrantByUser + ixAB + "/gr1")); err != nil {
				return err
			}
			var rb [8]byte
			binary.BigEndian.PutUint64(rb[:], rev+1)
			return txn.Set([]byte(keyRevision), rb[:])
		}},
		{"interrupted rebuild", func(txn *badger.Txn, _ uint64) error {
			if err := txn.Delete([]byte(keyUserLoginIndex)); err != nil {
				return err
			}
			return txn.Set([]byte(prefixGroupByMember+ixC+"/g1"), nil)
		}},
		{"stale record", func(txn *badger.Txn, _ uint64) error {
			if err := txn.Delete([]byte(keyUserLoginIndex)); err != nil {
				return err
			}
			return txn.Set([]byte(prefixUserLoginIndex+ixB), encodeUserIndex([]string{"gone"}, nil))
		}},
		// Ids that are prefixes of one another (no user id is, but the
		// rebuild must not depend on it): "a-b/" sorts before "a/", though
		// "a" sorts before "a-b".
		{"ids that are prefixes of others", func(txn *badger.Txn, _ uint64) error {
			if err := txn.Delete([]byte(keyUserLoginIndex)); err != nil {
				return err
			}
			for _, k := range []string{prefixGrantByUser + "a/x", prefixGroupByMember + "a/g1",
				prefixGroupByMember + "a-b/g2", prefixGroupByMember + "a-a/g3"} {
				if err := txn.Set([]byte(k), nil); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			st := openIndexStore(t, dir)
			seedIndexStore(t, st)
			ixUpdate(t, st, func(tx *Tx) error {
				for i, u := range []string{ixA, ixAB, ixA} {
					if err := tx.CreateGrant(ixGrant(fmt.Sprintf("gr%d", i), u)); err != nil {
						return err
					}
				}
				return tx.AddMember("g1", ixA)
			})
			rev := st.Revision()
			if err := st.db.Update(func(txn *badger.Txn) error { return c.edit(txn, rev) }); err != nil {
				t.Fatal(err)
			}
			reopenIndexStore(t, st, dir, 1, append([]string{"a", "a-b", "a-a"}, ixUsers...))
		})
	}
}

// TestUserLoginIndexVersionsGrants: a grant deleted and made again under
// the same id with other content is read with its new content (the grant
// cache is keyed by the index record's version).
func TestUserLoginIndexVersionsGrants(t *testing.T) {
	st := openIndexStore(t, t.TempDir())
	defer st.Close()
	seedIndexStore(t, st)
	ixUpdate(t, st, func(tx *Tx) error { return tx.CreateGrant(ixGrant("gr", ixA)) })
	readScope := func() string {
		v, err := st.LoginView(context.Background(), ixCVR, ixA, "")
		if err != nil || len(v.Grants) != 1 {
			t.Fatalf("login view: %v, %+v", err, v)
		}
		return v.Grants[0].Scope.Type
	}
	if got := readScope(); got != ScopeCVR {
		t.Fatalf("scope %q", got)
	}
	ixUpdate(t, st, func(tx *Tx) error {
		if err := tx.DeleteGrant("gr"); err != nil {
			return err
		}
		g := ixGrant("gr", ixA)
		g.Scope = Scope{Type: ScopeSE, Value: "29190003"}
		return tx.CreateGrant(g)
	})
	if got := readScope(); got != ScopeSE {
		t.Errorf("after the grant was made again: scope %q, want %q", got, ScopeSE)
	}
}

// TestUserLoginIndexCodec: records read back as written; damaged ones are
// refused, never read as fewer grants.
func TestUserLoginIndexCodec(t *testing.T) {
	for _, c := range []struct{ grants, groups []string }{
		{[]string{"g1"}, nil}, {nil, []string{"x", "y"}}, {[]string{"a", "", "ccc"}, []string{"z"}},
	} {
		b := encodeUserIndex(c.grants, c.groups)
		g, m, err := decodeUserIndex(b)
		if err != nil || !slices.Equal(g, c.grants) || len(m) != len(c.groups) || !slices.Equal(m, c.groups) {
			t.Errorf("%v %v: read back %v %v, %v", c.grants, c.groups, g, m, err)
		}
		for n := range len(b) {
			if _, _, err := decodeUserIndex(b[:n]); err == nil {
				t.Errorf("%v %v: a record cut to %d bytes was read", c.grants, c.groups, n)
			}
		}
		if _, _, err := decodeUserIndex(append(b, 0)); err == nil {
			t.Errorf("a record with a trailing byte was read")
		}
	}
}

// TestUserLoginIndexFullDisk: a store that needs the index rebuilt but
// has too little free disk space opens all the same, and its login reads
// scan the two indexes instead.
func TestUserLoginIndexFullDisk(t *testing.T) {
	dir := t.TempDir()
	st := openIndexStore(t, dir)
	seedIndexStore(t, st)
	ixUpdate(t, st, func(tx *Tx) error { return tx.CreateGrant(ixGrant("gr", ixA)) })
	if err := st.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(keyUserLoginIndex)) }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err := Open(Config{Dir: dir, NoSync: true, CPRKey: make([]byte, 32), Logger: zerolog.Nop(), GCInterval: -1, MinFreeDisk: 1 << 62})
	if err != nil {
		t.Fatalf("open with a full disk: %v", err)
	}
	defer st.Close()
	if st.userIndex.Load() || st.userIndexBuilds != 0 {
		t.Fatalf("index in use %v, rebuilt %d times: want neither on a full disk", st.userIndex.Load(), st.userIndexBuilds)
	}
	v, err := st.LoginView(context.Background(), ixCVR, ixA, "")
	if err != nil || len(v.Grants) != 1 || v.Grants[0].ID != "gr" {
		t.Fatalf("login read without the index: %v, %+v", err, v)
	}
}

// TestUserLoginIndexDamagedRecord: a damaged record is never read as
// fewer grants: the read that finds it, and every later one, scans; a
// write touching it succeeds; the next Open rebuilds the index.
func TestUserLoginIndexDamagedRecord(t *testing.T) {
	for _, firstRead := range []bool{true, false} {
		t.Run(fmt.Sprintf("found by a read first: %v", firstRead), func(t *testing.T) {
			dir := t.TempDir()
			st := openIndexStore(t, dir)
			seedIndexStore(t, st)
			ixUpdate(t, st, func(tx *Tx) error {
				if err := tx.CreateGrant(ixGrant("gr1", ixA)); err != nil {
					return err
				}
				return tx.CreateGrant(ixGrant("gr2", ixB))
			})
			if err := st.db.Update(func(txn *badger.Txn) error {
				return txn.Set([]byte(prefixUserLoginIndex+ixA), []byte{userIndexVersion, 9})
			}); err != nil {
				t.Fatal(err)
			}
			if firstRead {
				v, err := st.LoginView(context.Background(), ixCVR, ixA, "")
				if err != nil || len(v.Grants) != 1 || v.Grants[0].ID != "gr1" {
					t.Fatalf("read of the damaged record: %v, %+v", err, v)
				}
			}
			ixUpdate(t, st, func(tx *Tx) error { return tx.CreateGrant(ixGrant("gr3", ixA)) })
			if st.userIndex.Load() {
				t.Fatal("the index is still in use after a damaged record was found")
			}
			v, err := st.LoginView(context.Background(), ixCVR, ixA, "")
			if err != nil || len(v.Grants) != 2 {
				t.Fatalf("read after the write: %v, %+v", err, v)
			}
			reopenIndexStore(t, st, dir, 1, ixUsers)
		})
	}
}
