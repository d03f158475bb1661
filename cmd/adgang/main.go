// Command adgang is Adgang's single binary: the decision and admin
// listeners (`adgang serve`), the policy tools (`adgang policy test|check`)
// and the administrator's commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `adgang — policy-driven authorization for Danish user administration

Usage:
  adgang serve [flags] [PATH…]      start the decision (and admin) listeners
  adgang policy test [DIR]          run the Rego policy tests (default: the embedded set)
  adgang policy check [DIR]         compile a policy set and report errors with file:line
  adgang token create --superadmin  make an admin API token (server stopped; --user ID for a user's token)
  adgang import FILE --org CVR --mode create|update|delete
                                    import users from a CSV file (- is stdin) through
                                    the admin API (token: ADGANG_TOKEN; -h for flags)
  adgang privileges parse FILE      read a NemLog-in privilege list (OIO BPP) into the grants
                                    it corresponds to (--org CVR: checked by a running server)
  adgang decisions [ID] [--user-id ID] [--cvr CVR] [--from T] [--to T] [--allow B]
                                    the stored decision log (auditor token; -h for flags)
  adgang decide [flags]             ask the decision API for a login decision (-h for flags)
  adgang store copy --from SRC --to DST
                                    move a store whole between badger:DIR and postgres://…
                                    (servers stopped; verified by counts and checksums)
  adgang version                    print the version, commit, Go and OPA versions (also --version)

Run 'adgang serve -h' for the server's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprint(os.Stderr, ue.Error())
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "adgang:", err)
		os.Exit(1)
	}
}

type usageError string

func (u usageError) Error() string { return string(u) }

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(usage)
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "policy":
		return runPolicy(ctx, args[1:], stdout)
	case "token":
		return runToken(ctx, args[1:], stdout, stderr)
	case "import":
		return runImport(ctx, args[1:], stdout, stderr)
	case "privileges":
		return runPrivileges(ctx, args[1:], os.Stdin, stdout, stderr)
	case "decisions":
		return runDecisions(ctx, args[1:], stdout, stderr)
	case "decide":
		return runDecide(ctx, args[1:], stdout, stderr)
	case "store":
		return runStore(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprint(stdout, versionInfo())
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError(fmt.Sprintf("unknown command %q\n\n%s", args[0], usage))
}
