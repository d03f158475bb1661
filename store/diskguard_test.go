package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

// TestMinFreeDiskRefusesWrites: with less free space than MinFreeDisk
// every write is refused with insufficient_storage and changes nothing,
// reads go on, and a dry run (a write that fails on purpose) still works.
// (The test cannot fill this machine's disk: it asks for more free space
// than any disk has; TestServeFullDisk fills a real one.)
func TestMinFreeDiskRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	key := []byte("0123456789abcdef-key")
	st, err := store.Open(store.Config{Dir: dir, CPRKey: key, Logger: zerolog.Nop(), GCInterval: -1, MinFreeDisk: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error { return tx.PutMeta("k", 1) }); err != nil {
		t.Fatalf("write with room to spare: %v", err)
	}
	_ = st.Close()

	st, err = store.Open(store.Config{Dir: dir, CPRKey: key, Logger: zerolog.Nop(), GCInterval: -1, MinFreeDisk: 1 << 62})
	if err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	defer st.Close()
	rev := st.Revision()
	_, err = st.Update(ctx, "test", func(tx *store.Tx) error { return tx.PutMeta("k", 2) })
	if store.ErrorCode(err) != store.EInsufficientStorage {
		t.Fatalf("write on a full disk = %v, want insufficient_storage", err)
	}
	if err := st.TouchLogins(ctx, map[string]time.Time{"00000000-0000-4000-8000-000000000001": time.Now()}); store.ErrorCode(err) != store.EInsufficientStorage {
		t.Fatalf("TouchLogins on a full disk = %v, want insufficient_storage", err)
	}
	dryRun := errors.New("dry run")
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error { return dryRun }); !errors.Is(err, dryRun) {
		t.Fatalf("dry run on a full disk = %v", err)
	}
	if st.Revision() != rev {
		t.Fatalf("revision %d after refused writes, want %d", st.Revision(), rev)
	}
	var v int
	if err := st.View(ctx, func(tx *store.Tx) error { return tx.GetMeta("k", &v) }); err != nil || v != 1 {
		t.Fatalf("read on a full disk: %v %v", v, err)
	}
}
