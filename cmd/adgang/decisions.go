package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
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

// runDecisions implements `adgang decisions`: it asks the admin API of a
// running server (GET /v1/decisions, GET /v1/decisions/{id}) and prints
// one line per decision, or the server's JSON with --json.
func runDecisions(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("decisions", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	userID := fs.String("user-id", "", "only decisions about this user")
	cvr := fs.String("cvr", "", "only decisions of this organisation")
	from := fs.String("from", "", "only decisions at or after this time (RFC 3339 or YYYY-MM-DD)")
	to := fs.String("to", "", "only decisions at or before this time (a date includes the whole day)")
	allow := fs.String("allow", "", "only allowed (true) or denied (false) decisions")
	limit := fs.String("limit", "", "page size (1-1000, default 100)")
	all := fs.Bool("all", false, "follow next_page_token to the last page")
	asJSON := fs.Bool("json", false, "print the server's JSON answers")
	adminAddr := fs.String("admin-addr", envOr("ADGANG_ADMIN_ADDR", "127.0.0.1:8182"), "admin API address, host:port or http(s)://host:port (env ADGANG_ADMIN_ADDR)")
	token := fs.String("token", "", "admin API token (default: env ADGANG_TOKEN)")
	bad := func(format string, a ...any) error {
		return usageError(fmt.Sprintf("adgang decisions: "+format+"\n%s", append(a, decisionsUsage)...))
	}
	var ids []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, decisionsUsage+"\nFlags:\n")
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return nil
			}
			return bad("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		ids, args = append(ids, fs.Arg(0)), fs.Args()[1:]
	}
	if len(ids) > 1 {
		return bad("at most one decision ID")
	}
	if *token == "" {
		*token = os.Getenv("ADGANG_TOKEN")
	}
	if *token = strings.TrimSpace(*token); *token == "" {
		return bad("a token is required: --token or env ADGANG_TOKEN")
	}
	base, err := adminBaseURL(*adminAddr)
	if err != nil {
		return bad("--admin-addr: %v", err)
	}
	get := func(target string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("decisions: %w", err)
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("decisions: %w", err)
		}
		if res.StatusCode != http.StatusOK {
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
				return nil, fmt.Errorf("decisions: %s: %s (%s)", res.Status, e.Error.Message, e.Error.Code)
			}
			return nil, fmt.Errorf("decisions: %s", res.Status)
		}
		return raw, nil
	}
	if len(ids) == 1 {
		raw, err := get(base + "/v1/decisions/" + url.PathEscape(ids[0]))
		if err != nil {
			return err
		}
		_, err = stdout.Write(raw)
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"user_id": *userID, "cvr": *cvr, "from": *from, "to": *to, "allow": *allow, "limit": *limit} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for {
		raw, err := get(base + "/v1/decisions?" + q.Encode())
		if err != nil {
			return err
		}
		var page struct {
			Decisions []storedDecision `json:"decisions"`
			Next      string           `json:"next_page_token"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("decisions: read the answer: %w", err)
		}
		if *asJSON {
			if _, err := stdout.Write(raw); err != nil {
				return err
			}
		} else {
			for _, d := range page.Decisions {
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
				fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Time, d.DecisionID, result, d.Path, orDash(d.CVR), orDash(d.UserID), orDash(strings.Join(reasons, ",")))
			}
		}
		if !*all || page.Next == "" {
			return nil
		}
		q.Set("page_token", page.Next)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
