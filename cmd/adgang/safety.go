package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cprKeyFileName is the CPR key's file inside --data, made on first start
// when the key is given neither by ADGANG_CPR_KEY nor by --cpr-key-file.
const cprKeyFileName = "cpr.key"

// cprKeyFromEnv decodes ADGANG_CPR_KEY; nil when it is not set. The key is
// given one way only: the variable together with a key file is an error.
func cprKeyFromEnv(keyFile string) ([]byte, error) {
	k := os.Getenv("ADGANG_CPR_KEY")
	if k == "" {
		return nil, nil
	}
	if keyFile != "" {
		return nil, errors.New("give the CPR key one way: ADGANG_CPR_KEY or --cpr-key-file (ADGANG_CPR_KEY_FILE), not both")
	}
	key, err := hex.DecodeString(strings.TrimSpace(k))
	if err != nil || len(key) < 16 {
		return nil, errors.New("ADGANG_CPR_KEY must be at least 16 bytes, hex-encoded")
	}
	return key, nil
}

// readCPRKeyFile reads a CPR key file: hex, at least 16 bytes. It never
// creates one: a missing file is a mistake, not a first start.
func readCPRKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CPR key file: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("CPR key file %s: not a hex key of at least 16 bytes", path)
	}
	return key, nil
}

// loadCPRKey finds the CPR key of `adgang serve` when ADGANG_CPR_KEY is not
// set: --cpr-key-file, else <data>/cpr.key, created on the first start of
// a new store so that a plain `make run` works. A key inside the data directory is warned
// about: a copy of the directory would then give back every CPR number.
func (m *Main) loadCPRKey() ([]byte, error) {
	cfg := &m.Config
	path := cfg.CPRKeyFile
	var key []byte
	var err error
	if path != "" {
		key, err = readCPRKeyFile(path)
		if err == nil {
			if fi, serr := os.Stat(path); serr == nil && fi.Mode().Perm()&0o077 != 0 {
				m.Logger.Warn().Str("cpr_key_file", path).Str("mode", fi.Mode().Perm().String()).
					Msg("the CPR key file is readable by others than its owner: chmod 600 it")
			}
		}
	} else {
		path = filepath.Join(cfg.DataDir, cprKeyFileName)
		_, kerr := os.Stat(path)
		_, serr := os.Stat(filepath.Join(cfg.DataDir, "badger"))
		if errors.Is(kerr, os.ErrNotExist) && serr == nil {
			// A new key would not be the store's: it was started with
			// ADGANG_CPR_KEY or --cpr-key-file before.
			return nil, fmt.Errorf("no CPR key for the existing store in %q: give its key by ADGANG_CPR_KEY or --cpr-key-file", cfg.DataDir)
		}
		key, err = loadOrCreateKey(path)
	}
	if err != nil {
		return nil, err
	}
	if inDir(cfg.DataDir, path) {
		m.Logger.Warn().Str("cpr_key_file", path).
			Msg("the CPR key is inside the data directory: a copy of the directory gives back every stored CPR number; keep the key elsewhere (ADGANG_CPR_KEY or --cpr-key-file, see README \"Security\")")
	}
	return key, nil
}

// inDir reports whether path lies inside dir (symbolic links resolved
// where they exist).
func inDir(dir, path string) bool {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return p
	}
	rel, err := filepath.Rel(abs(dir), abs(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// parseDiskSize reads a size in bytes: a plain number, or one with a unit
// B, KiB, MiB, GiB or TiB (case-insensitive), e.g. 512MiB.
func parseDiskSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40}, {"b", 1}} {
		if strings.HasSuffix(strings.ToLower(t), u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n > (1<<63)/mult {
		return 0, fmt.Errorf("%q is not a size: give bytes or e.g. 512MiB, 1GiB", s)
	}
	return n * mult, nil
}

// shutdownGrace is how long Close lets in-flight requests finish;
// shutdownLimit bounds the whole shutdown beyond it.
const (
	shutdownGrace = 10 * time.Second
	shutdownLimit = shutdownGrace + 5*time.Second
)

// closeWithin runs m.Close but gives up after limit: a store whose
// directory vanished or turned unwritable can make Badger retry its last
// flush forever. Every acknowledged write is already in the synced
// write-ahead log, so exiting without the flush loses nothing.
func (m *Main) closeWithin(limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		m.Logger.Error().Dur("limit", limit).Msg("shutdown did not finish in time (is the data directory gone or unwritable?); exiting without a clean store close")
		return fmt.Errorf("shutdown did not finish within %s; the store was not closed cleanly (acknowledged writes are in its write-ahead log)", limit)
	}
}
