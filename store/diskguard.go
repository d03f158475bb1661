package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// diskGuard refuses writes while the file system that holds the store has
// less than min bytes free. Badger maps memory onto its files, so writing
// into a full file system kills the process with SIGBUS instead of
// returning an error: the guard keeps a margin so that never happens.
//
// The check is one statfs system call, made on every write (writes are
// serialised and fsynced, so it costs nothing measurable beside them); a
// cached answer could let a write through into a disk that filled up in
// between.
type diskGuard struct {
	dir string
	min uint64
	log func(low bool, free uint64)

	mu  sync.Mutex
	low bool // the last check found too little space
}

// check returns an insufficient_storage *Error when less than g.min bytes
// are free. A guard with min 0, or on a platform without statfs, passes.
func (g *diskGuard) check() error {
	if g == nil || g.min == 0 {
		return nil
	}
	free, ok := freeBytes(g.dir)
	if !ok {
		return nil // unknown: Badger's own error handling applies
	}
	low := free < g.min
	g.mu.Lock()
	changed := low != g.low
	g.low = low
	g.mu.Unlock()
	if changed && g.log != nil {
		g.log(low, free)
	}
	if low {
		return &Error{Code: EInsufficientStorage, Message: fmt.Sprintf(
			"the data directory's disk has %s free, below the minimum of %s: writes are refused until space is freed",
			formatBytes(free), formatBytes(g.min))}
	}
	return nil
}

// flushRoom is the free space Close wants before Badger flushes the
// memtable into a table: twice what the write-ahead log files (*.mem, the
// memtable's contents) take on disk, plus 1 MiB. With less, Close leaves
// the memtable in the write-ahead log, which the next Open replays.
func flushRoom(dir string) uint64 {
	need := uint64(1 << 20)
	wals, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	for _, w := range wals {
		if fi, err := os.Stat(w); err == nil {
			need += 2 * allocatedBytes(fi)
		}
	}
	return need
}

// formatBytes writes n as a size for messages (GiB, MiB, KiB, B).
func formatBytes(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
