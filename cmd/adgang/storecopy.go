package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/pg"
)

const storeUsage = `Usage: adgang store copy --from SRC --to DST

Moves a store whole, at one revision, between the embedded Badger store
and a fleet's PostgreSQL system of record, and checks the copy: every
kind of key is counted and checksummed on both sides.

SRC and DST are badger:DIR (a Badger directory: DATA/badger of a stopped
server; a copy goes into a new, empty one) or a postgres:// URL (a copy
goes into an empty database; the fleet's nodes then start with empty
--data directories and load it). ADGANG_ENCRYPTION_KEY applies to Badger
stores encrypted at rest. The CPR key stays the store's: every node
started on the copy needs the same key.
`

func runStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "copy" {
		return usageError(storeUsage)
	}
	fs := flag.NewFlagSet("store copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the store to copy: badger:DIR or postgres://…")
	to := fs.String("to", "", "where to copy it: badger:DIR (new or empty) or postgres://… (empty)")
	fs.Usage = func() { fmt.Fprint(stderr, storeUsage, "\nFlags:\n"); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		return usageError(storeUsage)
	}
	var key []byte
	if k := os.Getenv("ADGANG_ENCRYPTION_KEY"); k != "" {
		var err error
		if key, err = hex.DecodeString(k); err != nil {
			return errors.New("ADGANG_ENCRYPTION_KEY must be hex-encoded (16, 24 or 32 bytes)")
		}
	}
	src, err := openEndpoint(ctx, *from, key)
	if err != nil {
		return err
	}
	defer src.close()
	dst, err := openEndpoint(ctx, *to, key)
	if err != nil {
		return err
	}
	defer dst.close()
	return copyStore(ctx, src, dst, stdout, stderr)
}

// endpoint is one side of a copy.
type endpoint struct {
	name string
	dir  string  // badger:DIR
	log  *pg.Log // postgres://…
	key  []byte
}

func openEndpoint(ctx context.Context, s string, key []byte) (*endpoint, error) {
	switch {
	case strings.HasPrefix(s, "badger:") && len(s) > len("badger:"):
		return &endpoint{name: s, dir: strings.TrimPrefix(s, "badger:"), key: key}, nil
	case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
		l, err := pg.Open(ctx, s)
		if err != nil {
			return nil, err
		}
		return &endpoint{name: "postgres", log: l}, nil
	}
	return nil, fmt.Errorf("%q: a store is badger:DIR or a postgres:// URL", s)
}

func (e *endpoint) close() {
	if e.log != nil {
		e.log.Close()
	}
}

// export reads every key of the store in key order.
func (e *endpoint) export(ctx context.Context, fn func(k, v []byte) error) (uint64, []byte, error) {
	if e.log != nil {
		return e.log.Export(ctx, fn)
	}
	return store.ExportDir(e.dir, e.key, fn)
}

// create writes a whole store into the (empty) endpoint.
func (e *endpoint) create(ctx context.Context, fill func(put func(k, v []byte) error) (uint64, []byte, error)) error {
	if e.log != nil {
		return e.log.Import(ctx, fill)
	}
	return store.CreateDir(e.dir, e.key, fill)
}

// copyStore copies src into dst, streaming, then reads dst back and
// compares the counts and checksums of every kind of key.
func copyStore(ctx context.Context, src, dst *endpoint, stdout, stderr io.Writer) error {
	var want store.KindSums
	var rev uint64
	n := 0
	err := dst.create(ctx, func(put func(k, v []byte) error) (uint64, []byte, error) {
		var check []byte
		var err error
		rev, check, err = src.export(ctx, func(k, v []byte) error {
			want.Add(k, v)
			if n++; n%100_000 == 0 {
				fmt.Fprintf(stderr, "copied %d keys…\n", n)
			}
			return put(k, v)
		})
		return rev, check, err
	})
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src.name, dst.name, err)
	}
	var got store.KindSums
	if _, _, err := dst.export(ctx, func(k, v []byte) error { got.Add(k, v); return nil }); err != nil {
		return fmt.Errorf("read the copy back: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "kind\tkeys\tchecksum (sha-256)\tcopy")
	gotList := map[string]store.KindSum{}
	for _, k := range got.List() {
		gotList[k.Kind] = k
	}
	for _, k := range want.List() {
		ok := "ok"
		if gotList[k.Kind] != k {
			ok = "DIFFERS"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", k.Kind, k.Count, k.Sum[:16], ok)
	}
	tw.Flush()
	if !want.Equal(&got) {
		return fmt.Errorf("the copy in %s differs from the source: see the table above", dst.name)
	}
	fmt.Fprintf(stdout, "copied %d keys at revision %d from %s to %s; every kind verified\n", n, rev, src.name, dst.name)
	return nil
}
