package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
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

// adminBaseURL turns --admin-addr (host:port or an http(s) URL, possibly
// with a path prefix) into a base URL without a trailing slash.
func adminBaseURL(addr string) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want host:port or http(s)://host:port")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// openInput opens a command's FILE argument ("-": stdin) for streaming.
// size is the number of bytes left to read when known (a regular file),
// else -1.
func openInput(name string, stdin io.Reader) (body io.Reader, size int64, closeFn func(), err error) {
	if name == "-" {
		size = -1
		if fh, ok := stdin.(*os.File); ok {
			size = remaining(fh)
		}
		// The HTTP client closes a body it can close: not our stdin.
		return io.NopCloser(stdin), size, func() {}, nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	if fi, err := fh.Stat(); err == nil && fi.IsDir() {
		fh.Close()
		return nil, 0, nil, fmt.Errorf("%s is a directory", name)
	}
	return fh, remaining(fh), func() { _ = fh.Close() }, nil
}

// remaining is the number of bytes from fh's offset to its end when fh is
// a regular file, else -1 (a pipe or terminal: sent chunked).
func remaining(fh *os.File) int64 {
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return -1
	}
	off, err := fh.Seek(0, io.SeekCurrent)
	if err != nil || off > fi.Size() {
		return -1
	}
	return fi.Size() - off
}
