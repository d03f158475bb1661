package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

// demoTokenFile is the file under --data that `serve --demo` writes the
// demo's superadmin token to (SPEC §8), so a newcomer can use the admin
// API at once: `T="Authorization: Bearer $(cat DIR/demo-admin-token)"`.
const demoTokenFile = "demo-admin-token"

// writeDemoToken makes a superadmin token for a store the demo data was
// just loaded into and writes it to DIR/demo-admin-token (mode 0600). It
// returns the file's path.
func writeDemoToken(ctx context.Context, st *store.Store, dir string) (string, error) {
	_, token, err := admin.CreateToken(ctx, st, "system:demo", "", true, nil)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, demoTokenFile)
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	_, werr := fh.WriteString(token + "\n")
	if err := errors.Join(werr, fh.Sync(), fh.Close(), os.Rename(tmp, path)); err != nil {
		return "", err
	}
	return path, nil
}
