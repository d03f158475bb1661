package store_test

import (
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// countingGuard is a store.CPRGuard that counts its calls and refuses
// once refuse is set.
type countingGuard struct {
	allows, duplicates int
	refuse             bool
}

var errGuard = errors.New("guard refused")

func (g *countingGuard) Allow() error {
	g.allows++
	if g.refuse {
		return errGuard
	}
	return nil
}

func (g *countingGuard) Duplicate() { g.duplicates++ }

// TestCPRIndexPerOrg: a CPR number is unique within an organisation only.
// The same number in another organisation is no conflict and no look-up
// of one organisation sees the other's user; within one it is A12. The
// guard is asked before each check of a newly set number and told of
// each duplicate.
func TestCPRIndexPerOrg(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	h := st.HashCPR("0101901234")
	withCPR := func(org string) func(*store.User) {
		return func(u *store.User) { u.Org, u.CPRHash, u.PNumber = org, h, "" }
	}
	g := &countingGuard{}
	mustUpdate(t, st, func(tx *store.Tx) error {
		tx.GuardCPR(g)
		if err := tx.CreateUser(newUser(1, withCPR(cvrA))); err != nil {
			return err
		}
		return tx.CreateUser(newUser(2, withCPR(cvrB))) // same person, other org
	})
	if g.allows != 2 || g.duplicates != 0 {
		t.Errorf("guard after two creates: %+v", g)
	}
	var dup error
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		tx.GuardCPR(g)
		dup = tx.CreateUser(newUser(3, withCPR(cvrA)))
		return dup
	}); err == nil {
		t.Fatal("a second user of org A with the same CPR number was stored")
	}
	wantCode(t, dup, store.EConflict, "A12")
	if !store.IsCPRDuplicate(dup) {
		t.Errorf("IsCPRDuplicate(%v) = false", dup)
	}
	if g.allows != 3 || g.duplicates != 1 {
		t.Errorf("guard after a duplicate: %+v", g)
	}
	// Moving user 2 into org A clashes there, like a create.
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		u, err := tx.GetUser(uid(2))
		if err != nil {
			return err
		}
		u.Org = cvrA
		return tx.UpdateUser(u)
	}); !store.IsCPRDuplicate(err) {
		t.Errorf("moving a user onto a CPR number of its new org: %v", err)
	}
	// A refusing guard refuses before the check: no duplicate reported.
	g.refuse = true
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		tx.GuardCPR(g)
		return tx.CreateUser(newUser(4, withCPR(cvrA)))
	}); !errors.Is(err, errGuard) {
		t.Errorf("refusing guard: %v", err)
	}
	if g.duplicates != 1 {
		t.Errorf("a refused check counted a duplicate: %+v", g)
	}
	// Changes that keep a user's number are not checked again.
	mustUpdate(t, st, func(tx *store.Tx) error {
		tx.GuardCPR(g)
		u, err := tx.GetUser(uid(1))
		if err != nil {
			return err
		}
		u.Name = "Renamed"
		return tx.UpdateUser(u)
	})
	view(t, st, func(tx *store.Tx) error {
		for org, want := range map[string]string{cvrA: uid(1), cvrB: uid(2)} {
			if u, err := tx.UserByCPRHash(org, h); err != nil || u.ID != want {
				t.Errorf("UserByCPRHash(%s): %v %v, want %s", org, u, err, want)
			}
		}
		if _, err := tx.UserByCPRHash("29190011", h); !store.IsNotFound(err) {
			t.Errorf("look-up in an org without the number: %v", err)
		}
		return nil
	})
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteUser(uid(1)) })
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.UserByCPRHash(cvrA, h); !store.IsNotFound(err) {
			t.Errorf("deleted user still indexed: %v", err)
		}
		if u, err := tx.UserByCPRHash(cvrB, h); err != nil || u.ID != uid(2) {
			t.Errorf("deleting org A's user touched org B's: %v %v", u, err)
		}
		return nil
	})
}

// TestCPRIndexMigration: a store written with the store-wide CPR index
// (ic/<hash>) gets the per-organisation index on open, loses the old
// keys, keeps its revision, and then takes the same person in another org.
func TestCPRIndexMigration(t *testing.T) {
	dir := t.TempDir()
	open := func() *store.Store {
		st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	seedOrgs(t, st)
	h1, h2 := st.HashCPR("0101901234"), st.HashCPR("3112851111")
	mustUpdate(t, st, func(tx *store.Tx) error {
		for _, u := range []*store.User{
			newUser(1, func(u *store.User) { u.CPRHash = h1 }),
			newUser(2, func(u *store.User) { u.Org, u.PNumber, u.CPRHash = cvrB, "", h2 }),
			newUser(3, nil),
		} {
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	rev := st.Revision()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Rewrite it as a store of the old format: store-wide keys, no mark.
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DropPrefix([]byte("ic/"), []byte("m/index/cpr-per-org")); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("ic/"+h1), []byte(uid(1))); err != nil {
			return err
		}
		return txn.Set([]byte("ic/"+h2), []byte(uid(2)))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st = open()
	view(t, st, func(tx *store.Tx) error {
		for _, c := range []struct{ org, h, want string }{{cvrA, h1, uid(1)}, {cvrB, h2, uid(2)}, {cvrA, h2, ""}, {cvrB, h1, ""}} {
			u, err := tx.UserByCPRHash(c.org, c.h)
			switch {
			case c.want == "" && !store.IsNotFound(err):
				t.Errorf("UserByCPRHash(%s) after migration: %v %v, want not found", c.org, u, err)
			case c.want != "" && (err != nil || u.ID != c.want):
				t.Errorf("UserByCPRHash(%s) after migration: %v %v, want %s", c.org, u, err, c.want)
			}
		}
		return nil
	})
	if st.Revision() != rev {
		t.Errorf("migration changed the revision: %d, want %d", st.Revision(), rev)
	}
	// The person of org A can now be a user of org B too; a second user
	// of org A with the number is still refused.
	mustUpdate(t, st, func(tx *store.Tx) error {
		return tx.CreateUser(newUser(4, func(u *store.User) { u.Org, u.PNumber, u.CPRHash = cvrB, "", h1 }))
	})
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		return tx.CreateUser(newUser(5, func(u *store.User) { u.CPRHash = h1 }))
	}); !store.IsCPRDuplicate(err) {
		t.Errorf("second user of org A with the number after migration: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// No old-format key is left, and the migration is not run again.
	db, err = badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var keys []string
	if err := db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte("ic/")
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, string(it.Item().Key()))
		}
		_, err := txn.Get([]byte("m/index/cpr-per-org"))
		return err
	}); err != nil {
		t.Fatalf("migration mark: %v", err)
	}
	want := map[string]bool{"ic/" + cvrA + "/" + h1: true, "ic/" + cvrB + "/" + h2: true, "ic/" + cvrB + "/" + h1: true}
	if len(keys) != len(want) {
		t.Errorf("CPR index keys %v, want %d", keys, len(want))
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("unexpected CPR index key %s", k)
		}
	}
}
