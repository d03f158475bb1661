package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/pg"
	"github.com/adgang/adgang/store/pgtest"
	"github.com/adgang/adgang/store/storetest"
)

// adgang store copy moves a store whole from Badger into PostgreSQL and
// back: a fleet node started on the copy holds the same data, the copy
// back is key for key the source (counts and checksums per kind), and a
// copy into a database or directory that is not empty is refused.
func TestStoreCopy(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "badger")
	st, err := store.Open(store.Config{Dir: src, NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		if err := tx.CreateOrg(&store.Org{CVR: fleetCVR, Name: "Gymnasium C", Type: store.OrgInstitution}); err != nil {
			return err
		}
		for i := range 50 {
			if err := tx.CreateUser(&store.User{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Org: fleetCVR,
				Name: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("c%d@example.dk", i), Kind: store.KindEmployee, Status: store.StatusActive}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rev := st.Revision()
	st.Close()
	var want store.KindSums
	if _, _, err := store.ExportDir(src, nil, func(k, v []byte) error { want.Add(k, v); return nil }); err != nil {
		t.Fatal(err)
	}

	dsn := pgtest.NewDatabase(t)
	var out bytes.Buffer
	if err := run(ctx, []string{"store", "copy", "--from", "badger:" + src, "--to", dsn}, &out, &out); err != nil {
		t.Fatalf("copy to postgres: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "every kind verified") || strings.Contains(out.String(), "DIFFERS") {
		t.Fatalf("copy report:\n%s", out.String())
	}

	// A fleet node started on the copy holds the data, at the same revision.
	l, err := pg.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	node, err := store.Open(store.Config{Dir: t.TempDir(), NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1, Log: l})
	if err != nil {
		t.Fatalf("node on the copy: %v", err)
	}
	if node.Revision() != rev {
		t.Fatalf("node at revision %d, source at %d", node.Revision(), rev)
	}
	if err := node.View(ctx, func(tx *store.Tx) error { _, err := tx.GetUser("00000000-0000-4000-8000-000000000049"); return err }); err != nil {
		t.Fatalf("user on the node: %v", err)
	}
	node.Close()

	back := filepath.Join(t.TempDir(), "badger")
	out.Reset()
	if err := run(ctx, []string{"store", "copy", "--from", dsn, "--to", "badger:" + back}, &out, &out); err != nil {
		t.Fatalf("copy back: %v\n%s", err, out.String())
	}
	var got store.KindSums
	if _, _, err := store.ExportDir(back, nil, func(k, v []byte) error { got.Add(k, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if !want.Equal(&got) {
		t.Fatalf("round trip differs:\n%v\n%v", want.List(), got.List())
	}
	reopened, err := store.Open(store.Config{Dir: back, NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatalf("the copy back does not open with the same CPR key: %v", err)
	}
	reopened.Close()

	if err := run(ctx, []string{"store", "copy", "--from", "badger:" + src, "--to", dsn}, &out, &out); err == nil {
		t.Fatal("a copy into a database that holds a store was not refused")
	}
	if err := run(ctx, []string{"store", "copy", "--from", dsn, "--to", "badger:" + back}, &out, &out); err == nil {
		t.Fatal("a copy into a directory that is not empty was not refused")
	}
}
