package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
)

const decisionsUsage = "usage: adgang decisions [ID] [--user-id ID] [--cvr CVR] [--from T] [--to T] [--allow true|false] [--limit N] [--all] [--json] [--admin-addr URL] [--token TOKEN]\n" +
	"Lists the stored decision log (newest first) of a server run with --decision-log-store on, or shows decision ID.\n" +
	"T is RFC 3339 or YYYY-MM-DD. Needs an auditor or superadmin token.\n"

// storedDecision is the part of a stored decision the listing prints.
type storedDecision struct {
	DecisionID string `json:"decision_id"`
	Time       string `json:"time"`
	Path       string `json:"path"`
	UserID     string `json:"user_id"`
	CVR        string `json:"cvr"`
	Allow      bool   `json:"allow"`
	Reasons    []struct {
		Code string `json:"code"`
		Rule string `json:"rule"`
		Info bool   `json:"info"`
	} `json:"reasons"`
}

// decisionsFlags is the parsed command line of `adgang decisions`.
type decisionsFlags struct {
	id     string             // the one decision to show, or "" to list
	query  map[string]*string // the list's filters by query parameter
	all    bool               // follow next_page_token to the last page
	asJSON bool               // print the server's JSON answers
	admin  *adminFlags
}

// runDecisions implements `adgang decisions`: it asks the admin API of a
// running server (GET /v1/decisions, GET /v1/decisions/{id}) and prints
// one line per decision, or the server's JSON with --json.
func runDecisions(ctx context.Context, args []string, stdout, _ io.Writer) error {
	f, err := parseDecisionsFlags(args, stdout)
	if err != nil {
		return helpDone(err)
	}
	token := f.admin.adminToken()
	if token == "" {
		return badDecisions("a token is required: --token or env ADGANG_TOKEN")
	}
	c, err := newAPIClient("decisions", f.admin.addr, token)
	if err != nil {
		return badDecisions("--admin-addr: %v", err)
	}
	if f.id != "" {
		raw, err := c.get(ctx, "/v1/decisions/"+url.PathEscape(f.id), 64<<20)
		if err != nil {
			return err
		}
		_, err = stdout.Write(raw)
		return err
	}
	return listDecisions(ctx, c, f, stdout)
}

// badDecisions is a usage error of `adgang decisions`.
func badDecisions(format string, a ...any) error {
	return usageError(fmt.Sprintf("adgang decisions: "+format+"\n%s", append(a, decisionsUsage)...))
}

// parseDecisionsFlags parses the command line; the ID may come before,
// after or between the flags. A bad argument is a usageError; -h prints
// the usage to stdout and returns flag.ErrHelp.
func parseDecisionsFlags(args []string, stdout io.Writer) (*decisionsFlags, error) {
	fs := flag.NewFlagSet("decisions", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &decisionsFlags{query: map[string]*string{}}
	for _, q := range []struct{ param, flag, usage string }{
		{"user_id", "user-id", "only decisions about this user"},
		{"cvr", "cvr", "only decisions of this organisation"},
		{"from", "from", "only decisions at or after this time (RFC 3339 or YYYY-MM-DD)"},
		{"to", "to", "only decisions at or before this time (a date includes the whole day)"},
		{"allow", "allow", "only allowed (true) or denied (false) decisions"},
		{"limit", "limit", "page size (1-1000, default 100)"},
	} {
		f.query[q.param] = fs.String(q.flag, "", q.usage)
	}
	fs.BoolVar(&f.all, "all", false, "follow next_page_token to the last page")
	fs.BoolVar(&f.asJSON, "json", false, "print the server's JSON answers")
	f.admin = addAdminFlags(fs)
	ids, err := parseArgs(fs, args, stdout, helpWithFlags(fs, decisionsUsage), func(err error) error { return badDecisions("%v", err) })
	switch {
	case err != nil:
		return nil, err
	case len(ids) > 1:
		return nil, badDecisions("at most one decision ID")
	case len(ids) == 1:
		f.id = ids[0]
	}
	return f, nil
}

// listDecisions prints the pages of GET /v1/decisions: the first, or
// with --all every one.
func listDecisions(ctx context.Context, c *apiClient, f *decisionsFlags, stdout io.Writer) error {
	q := url.Values{}
	for k, v := range f.query {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	for {
		var page struct {
			Decisions []storedDecision `json:"decisions"`
			Next      string           `json:"next_page_token"`
		}
		raw, err := c.getJSON(ctx, "/v1/decisions?"+q.Encode(), 64<<20, &page)
		if err != nil {
			return err
		}
		if f.asJSON {
			if _, err := stdout.Write(raw); err != nil {
				return err
			}
		} else {
			for _, d := range page.Decisions {
				fmt.Fprintln(stdout, d.line())
			}
		}
		if !f.all || page.Next == "" {
			return nil
		}
		q.Set("page_token", page.Next)
	}
}

// line is the decision as one tab-separated line: time, ID, result, path,
// organisation, user and the reasons that are not informational.
func (d *storedDecision) line() string {
	result := "deny"
	if d.Allow {
		result = "allow"
	}
	var reasons []string
	for _, r := range d.Reasons {
		if !r.Info {
			reasons = append(reasons, r.Rule+":"+r.Code)
		}
	}
	return strings.Join([]string{d.Time, d.DecisionID, result, d.Path, orDash(d.CVR), orDash(d.UserID), orDash(strings.Join(reasons, ","))}, "\t")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
