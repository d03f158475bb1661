package store

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// TestTablesStaySmallAtEveryLevel: tables that compactions write into the
// deeper levels are no larger than the base table size. Badger's default
// doubles the size with every level, and a table is built in a buffer of
// twice its size, several at once: at 1M users that was most of the
// server's live heap during a compaction (badgerOptions).
func TestTablesStaySmallAtEveryLevel(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), NoSync: true, CPRKey: make([]byte, 32), Logger: zerolog.Nop(), GCInterval: -1}
	// 64 MB of incompressible values kept in the tables (below Badger's
	// value threshold).
	val := make([]byte, 16<<10)
	for range 1 {
		st, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for batch := range 32 {
			wb := st.db.NewWriteBatch()
			for i := range 128 {
				if _, err := rand.Read(val); err != nil {
					t.Fatal(err)
				}
				if err := wb.Set(fmt.Appendf(nil, "zz/test/%05d/%05d", batch, i), val); err != nil {
					t.Fatal(err)
				}
			}
			if err := wb.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Close(); err != nil { // flushes the memtable
			t.Fatal(err)
		}
	}
	// A base level of 1 MB instead of 10: 64 MB then spans the levels a
	// 1M-user store's 5 GB do (the deepest level 10× the one above it,
	// and so on up to the base level).
	opts := badgerOptions(cfg).WithBaseLevelSize(1 << 20)
	db, err := badger.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Flatten(2); err != nil { // every table into one level
		t.Fatal(err)
	}
	base, levels := opts.BaseTableSize, map[int]int{}
	for _, l := range db.Levels() {
		if l.Level > 0 && l.TargetFileSize > base {
			t.Errorf("level %d builds tables of %d bytes, over the base table size %d", l.Level, l.TargetFileSize, base)
		}
	}
	for _, ti := range db.Tables() {
		levels[ti.Level]++
		info, err := os.Stat(filepath.Join(opts.Dir, fmt.Sprintf("%06d.sst", ti.ID)))
		if err != nil {
			t.Fatal(err)
		}
		// A table closes once it passes the target size: one block over.
		if limit := base + base/8; ti.Level > 0 && info.Size() > limit {
			t.Errorf("table %d at level %d is %d bytes, over %d (base table size %d)", ti.ID, ti.Level, info.Size(), limit, base)
		}
	}
	if len(levels) != 1 || levels[0] > 0 {
		t.Fatalf("tables by level %v: the data did not end in one level below 0", levels)
	}
	t.Logf("tables by level: %v", levels)
}
