package store

import (
	"strings"

	"github.com/rs/zerolog"
)

// Every Badger table is a file held open (and mapped) while the store is
// open: ~800 at a million users (badgerOptions), and a compaction writes
// its new tables before it removes the old ones.

// fileLimitShort reports whether an open-file limit leaves too little room
// for a store of tables tables: the tables twice over (a compaction's new
// tables beside the old) and 1,024 for everything else the process opens
// (the value log, the memtables, HTTP connections).
func fileLimitShort(limit uint64, tables int) bool {
	return limit < uint64(2*tables)+1024
}

// warnFileLimit logs a warning when the process's open-file limit is short
// for the store's tables (fileLimitShort); the limit is read where the
// system has one.
func warnFileLimit(log zerolog.Logger, tables int) {
	limit, ok := openFileLimit()
	if !ok || !fileLimitShort(limit, tables) {
		return
	}
	log.Warn().Uint64("open_file_limit", limit).Int("tables", tables).
		Msg("the open-file limit is close to what the store holds open (one file per table; compactions add more while they run): raise it (systemd LimitNOFILE, ulimit -n) before the store grows, or opening a table will fail")
}

// tooManyFiles reports whether err is the system's refusal to open one
// more file. By its text: Badger wraps the error of a table it cannot
// open with %+v (y.Wrap), which keeps no chain for errors.Is(EMFILE).
func tooManyFiles(err error) bool {
	return err != nil && strings.Contains(err.Error(), "too many open files")
}
