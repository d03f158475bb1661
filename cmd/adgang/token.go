package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

// runToken implements `adgang token create`: it opens the store directly
// (so the server must be stopped: Badger allows one process) and prints a
// new admin API token, shown this once.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && wantsHelp(args[:1]) {
		fmt.Fprint(stdout, "usage: adgang token create [--superadmin] [--user ID] [--expires 720h] [--data DIR] [--cpr-key-file FILE]\n")
		return nil
	}
	if len(args) == 0 || args[0] != "create" {
		return usageError("usage: adgang token create [--superadmin] [--user ID] [--expires 720h] [--data DIR] [--cpr-key-file FILE]\n")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("ADGANG_DATA", "./data"), "data directory (env ADGANG_DATA)")
	super := fs.Bool("superadmin", false, "a superadmin token (all organisations)")
	user := fs.String("user", "", "make the token act as this user (with its admin roles)")
	expires := fs.Duration("expires", 0, "expire after this long (default: never)")
	keyFile := fs.String("cpr-key-file", envOr("ADGANG_CPR_KEY_FILE", ""), "the server's CPR key file, if it has one; or env ADGANG_CPR_KEY (env ADGANG_CPR_KEY_FILE)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *super == (*user != "") {
		return errors.New("give exactly one of --superadmin and --user ID")
	}
	// The store must exist: a mistyped --data would otherwise get a new,
	// empty store holding nothing but this token.
	if _, err := os.Stat(filepath.Join(*data, "badger")); err != nil {
		return fmt.Errorf("no store in data directory %q (%w): give --data the directory of a stopped `adgang serve`", *data, err)
	}
	key, err := cliCPRKey(*data, *keyFile)
	if err != nil {
		return err
	}
	st, err := store.Open(store.Config{Dir: filepath.Join(*data, "badger"), CPRKey: key, Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	defer st.Close()
	var exp *time.Time
	if *expires > 0 {
		t := time.Now().Add(*expires).UTC()
		exp = &t
	}
	id, token, err := admin.CreateToken(ctx, st, "cli", *user, *super, exp)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "id:    %s\ntoken: %s\n(shown once; use it as 'Authorization: Bearer <token>')\n", id, token)
	return nil
}

// cliCPRKey finds the CPR key for a command that opens the store of a
// stopped server: ADGANG_CPR_KEY, --cpr-key-file, or <data>/cpr.key. It
// never makes a key; the store checks that the key is its own.
func cliCPRKey(data, keyFile string) ([]byte, error) {
	key, err := cprKeyFromEnv(keyFile)
	switch {
	case err != nil || key != nil:
		return key, err
	case keyFile != "":
		return readCPRKeyFile(keyFile)
	}
	key, err = readCPRKeyFile(filepath.Join(data, cprKeyFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("no CPR key: give the server's key by ADGANG_CPR_KEY or --cpr-key-file")
	}
	return key, err
}
