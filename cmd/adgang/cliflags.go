package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// adminFlags are the flags every client of the admin API has.
type adminFlags struct {
	addr  string // --admin-addr as given: host:port or http(s)://…
	token string // --token; never printed
}

// addAdminFlags registers --admin-addr (default env ADGANG_ADMIN_ADDR) and
// --token on fs. The token has no env default on the flag itself:
// PrintDefaults would show it; adminToken reads the env after parsing.
func addAdminFlags(fs *flag.FlagSet) *adminFlags {
	f := &adminFlags{}
	fs.StringVar(&f.addr, "admin-addr", envOr("ADGANG_ADMIN_ADDR", "127.0.0.1:8182"), "admin API address, host:port or http(s)://host:port (env ADGANG_ADMIN_ADDR)")
	fs.StringVar(&f.token, "token", "", "admin API token (default: env ADGANG_TOKEN)")
	return f
}

// adminToken is --token, else env ADGANG_TOKEN, without surrounding
// space; empty when neither is set.
func (f *adminFlags) adminToken() string {
	if f.token == "" {
		return strings.TrimSpace(os.Getenv("ADGANG_TOKEN"))
	}
	return strings.TrimSpace(f.token)
}

// parseArgs parses args with fs and returns the positional arguments,
// which may come before, after or between the flags; after "--" every
// argument is positional. On -h it prints help to stdout and returns
// flag.ErrHelp; any other parse error is returned as bad makes it (the
// command's usage error).
func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer, help func(io.Writer), bad func(error) error) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help(stdout)
				return nil, err
			}
			return nil, bad(err)
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// helpWithFlags is the help of parseArgs that prints usage and then the
// flags of fs.
func helpWithFlags(fs *flag.FlagSet, usage string) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprint(w, usage+"\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// helpDone is err, except that flag.ErrHelp (help was printed) is nil.
func helpDone(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
