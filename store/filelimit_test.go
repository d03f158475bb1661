//go:build unix

package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

const fileLimitDirEnv, fileLimitEnv = "ADGANG_FILELIMIT_DIR", "ADGANG_FILELIMIT"

// TestFileLimitChild is the child of TestFileLimit: it lowers its own
// open-file limit, opens the store and prints what Open logged and
// returned.
func TestFileLimitChild(t *testing.T) {
	dir := os.Getenv(fileLimitDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestFileLimit")
	}
	limit, err := strconv.ParseUint(os.Getenv(fileLimitEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	l.Cur = min(limit, l.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	st, err := Open(Config{Dir: dir, NoSync: true, CPRKey: make([]byte, 32), Logger: zerolog.New(os.Stdout), GCInterval: -1})
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	fmt.Println("OPENED")
	st.Close()
}

// TestFileLimit: a store opened under an open-file limit short of its
// tables (fileLimitShort) opens with a warning that says what to raise;
// under a limit too low to open them it fails with an error that says so;
// under the usual limit it says nothing.
func TestFileLimit(t *testing.T) {
	if os.Getenv(fileLimitDirEnv) != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	cfg := Config{Dir: dir, NoSync: true, CPRKey: make([]byte, 32), Logger: zerolog.Nop(), GCInterval: -1}
	writeTables(t, cfg, 32)
	// Tables of 2 MB at every level: enough of them from 64 MB.
	opts := badgerOptions(cfg)
	opts.TableSizeMultiplier = 1
	db, err := badger.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Flatten(2); err != nil { // the two memtables' tables into ~34
		t.Fatal(err)
	}
	tables := len(db.Tables())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if tables < 30 {
		t.Fatalf("%d tables: too few to reach the low limit", tables)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		limit uint64
		want  []string // in the child's output
		not   string
	}{
		{"too low to open", 24, []string{"ERROR", "raise the open-file limit"}, "OPENED"},
		{"short", 300, []string{"the open-file limit is close", `"open_file_limit":300`, "OPENED"}, "ERROR"},
		{"usual", l.Max, []string{"OPENED"}, "open-file limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.limit > l.Max || (c.name == "usual" && fileLimitShort(l.Max, 40)) {
				t.Skipf("this machine's hard open-file limit is %d", l.Max)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestFileLimitChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), fileLimitDirEnv+"="+dir, fileLimitEnv+"="+strconv.FormatUint(c.limit, 10))
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			_ = cmd.Run() // the child reports on its output
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("limit %d: output lacks %q:\n%s", c.limit, w, out.String())
				}
			}
			if strings.Contains(out.String(), c.not) {
				t.Errorf("limit %d: output has %q:\n%s", c.limit, c.not, out.String())
			}
		})
	}
}

// TestFileLimitShort: the room a store needs is its tables twice over
// and 1,024 more.
func TestFileLimitShort(t *testing.T) {
	for _, c := range []struct {
		limit  uint64
		tables int
		short  bool
	}{
		{1024, 0, false},
		{1023, 0, true},
		{2704, 840, false}, // a million users
		{2048, 840, true},
		{4096, 8400, true}, // ten million
	} {
		if got := fileLimitShort(c.limit, c.tables); got != c.short {
			t.Errorf("limit %d, %d tables: short %v, want %v", c.limit, c.tables, got, c.short)
		}
	}
}

// writeTables writes batches of 2 MB (128 incompressible values of 16 kB,
// below Badger's value threshold) under random keys into a store at cfg,
// and closes it. Every flushed memtable overlaps the tables below it, so
// compactions merge them into new tables of the level's target size (keys
// written in order would be moved down as they are, whatever the target).
func writeTables(t *testing.T, cfg Config, batches int) {
	t.Helper()
	st, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	val, key := make([]byte, 16<<10), make([]byte, 8)
	for range batches {
		wb := st.db.NewWriteBatch()
		for range 128 {
			if _, err := rand.Read(val); err != nil {
				t.Fatal(err)
			}
			if _, err := rand.Read(key); err != nil {
				t.Fatal(err)
			}
			if err := wb.Set([]byte("zz/test/"+hex.EncodeToString(key)), val); err != nil {
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
