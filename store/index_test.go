package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

func grantIDsOfRight(t *testing.T, st *store.Store, right string) []string {
	t.Helper()
	var ids []string
	view(t, st, func(tx *store.Tx) error {
		gs, err := tx.GrantsOfRight(right)
		if err != nil {
			return err
		}
		for _, g := range gs {
			ids = append(ids, g.ID)
		}
		return nil
	})
	slices.Sort(ids)
	return ids
}

// TestGrantsOfRightIndex checks the grants-by-right index follows grant
// creation and deletion (including deletion through the holder), and that
// a store written before the index existed gets it on open.
func TestGrantsOfRightIndex(t *testing.T) {
	dir := t.TempDir()
	open := func() *store.Store {
		st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	seedOrgs(t, st)
	gid := func(n int) string { return fmt.Sprintf("00000000-0000-4000-a000-%012d", n) }
	mustUpdate(t, st, func(tx *store.Tx) error {
		for n := 1; n <= 3; n++ {
			if err := tx.CreateUser(newUser(n, nil)); err != nil {
				return err
			}
		}
		for n, right := range []string{"amp.lba", "amp.lba", "amp.sagsbehandler", "amp.lba"} {
			if err := tx.CreateGrant(&store.Grant{ID: gid(n + 1), Right: right, HolderType: store.HolderUser,
				HolderID: uid(n%3 + 1), Org: cvrA, Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}}); err != nil {
				return err
			}
		}
		return nil
	})
	if got, want := grantIDsOfRight(t, st, "amp.lba"), []string{gid(1), gid(2), gid(4)}; !slices.Equal(got, want) {
		t.Fatalf("amp.lba grants %v, want %v", got, want)
	}
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteGrant(gid(2)) })
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteUser(uid(1)) }) // holds gid(1) and gid(4)
	if got := grantIDsOfRight(t, st, "amp.lba"); len(got) != 0 {
		t.Fatalf("amp.lba grants after deletes: %v", got)
	}
	if got, want := grantIDsOfRight(t, st, "amp.sagsbehandler"), []string{gid(3)}; !slices.Equal(got, want) {
		t.Fatalf("amp.sagsbehandler grants %v, want %v", got, want)
	}
	mustUpdate(t, st, func(tx *store.Tx) error {
		return tx.CreateGrant(&store.Grant{ID: gid(5), Right: "amp.lba", HolderType: store.HolderUser,
			HolderID: uid(2), Org: cvrA, Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}})
	})
	// Two mails, one sent: only the unsent one is pending after migration.
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.PutMail(&store.OutboxMail{ID: "waiting", To: "a@example.dk", Subject: "s", Secret: "x"}); err != nil {
			return err
		}
		if err := tx.PutMail(&store.OutboxMail{ID: "sent", To: "b@example.dk", Subject: "s"}); err != nil {
			return err
		}
		return tx.MarkMailSent("sent", tx.Now())
	})
	rev := st.Revision()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Make it a store from before the index: drop the index and its mark.
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DropPrefix([]byte("igr/"), []byte("imp/"), []byte("m/index/")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st = open()
	defer st.Close()
	if got, want := grantIDsOfRight(t, st, "amp.lba"), []string{gid(5)}; !slices.Equal(got, want) {
		t.Fatalf("amp.lba grants after migration %v, want %v", got, want)
	}
	if got, want := grantIDsOfRight(t, st, "amp.sagsbehandler"), []string{gid(3)}; !slices.Equal(got, want) {
		t.Fatalf("amp.sagsbehandler grants after migration %v, want %v", got, want)
	}
	if st.Revision() != rev {
		t.Errorf("migration changed the revision: %d, want %d", st.Revision(), rev)
	}
	if err := st.View(context.Background(), func(tx *store.Tx) error {
		ms, err := tx.PendingMail(0)
		if err != nil {
			return err
		}
		if len(ms) != 1 || ms[0].ID != "waiting" || ms[0].Secret != "x" {
			t.Errorf("pending mails after migration: %+v", ms)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
