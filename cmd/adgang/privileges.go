package main

import (
	"bytes"
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
	"text/tabwriter"

	"github.com/adgang/adgang/pdp"
	pdpapi "github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

const privilegesUsage = `usage: adgang privileges parse FILE [--json] [--org CVR [--admin-addr ADDR] [--token TOKEN] [--user ID]]

Reads a NemLog-in privilege list (OIO BPP 1.2 PrivilegeList: the XML, or its
base64 as in Privileges_intermediate; FILE - is stdin) and prints the grants
it corresponds to.

Without --org the list is read offline against the default rights
catalogue (privilege urn:dk:adgang:<right id>). With --org it is checked by
a running server (POST /v1/orgs/CVR/privileges:check, token ADGANG_TOKEN):
its catalogue, and the adgang.admin rules (A3, A4, A6, A7, A11 …) say which
grants could be made in that organisation. Nothing is changed.
`

// privilegesCheck is the answer of privileges:check (and of the offline
// read, without a revision).
type privilegesCheck struct {
	Revision uint64                 `json:"revision,omitempty"`
	Grants   []pdp.PrivilegeGrant   `json:"grants"`
	Refused  []pdp.PrivilegeRefusal `json:"refused"`
}

// runPrivileges implements `adgang privileges parse`.
func runPrivileges(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "parse" {
		return usageError(privilegesUsage)
	}
	fs := flag.NewFlagSet("privileges parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON {grants, refused}")
	org := fs.String("org", "", "check the list in this organisation on a running server")
	user := fs.String("user", "", "with --org: check the grants for this user of the organisation")
	adminAddr := fs.String("admin-addr", envOr("ADGANG_ADMIN_ADDR", "127.0.0.1:8182"), "admin API address, host:port or http(s)://host:port (env ADGANG_ADMIN_ADDR)")
	token := fs.String("token", "", "admin API token (default: env ADGANG_TOKEN)")
	// FILE may come before or after the flags.
	var file string
	rest := args[1:]
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, privilegesUsage)
				return nil
			}
			return usageError(privilegesUsage)
		}
		rest = fs.Args()
		if len(rest) > 0 {
			if file != "" {
				return usageError(privilegesUsage)
			}
			file, rest = rest[0], rest[1:]
		}
	}
	if file == "" {
		return usageError(privilegesUsage)
	}
	var in io.Reader = stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, pdp.MaxPrivilegeList+1))
	if err != nil {
		return err
	}
	var res privilegesCheck
	if *org == "" {
		list, err := pdp.PrivilegeListFromBody(data)
		if err != nil {
			return err
		}
		var rights []*store.Right
		for _, r := range store.DefaultRights() {
			rights = append(rights, &r)
		}
		res.Grants, res.Refused = pdp.GrantsOfPrivileges(list, rights)
	} else {
		if *token == "" {
			*token = os.Getenv("ADGANG_TOKEN")
		}
		if *token == "" {
			return usageError("adgang privileges parse --org: give --token or ADGANG_TOKEN\n")
		}
		base, err := adminBaseURL(*adminAddr)
		if err != nil {
			return usageError(fmt.Sprintf("adgang privileges parse: --admin-addr: %v\n", err))
		}
		target := base + "/v1/orgs/" + url.PathEscape(*org) + "/privileges:check"
		if *user != "" {
			target += "?user_id=" + url.QueryEscape(*user)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		req.Header.Set("Content-Type", "application/xml")
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("privileges: %w", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if resp.StatusCode != http.StatusOK {
			var eb pdpapi.ErrorBody
			if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
				return fmt.Errorf("privileges: %s: %s (%s)", resp.Status, eb.Error.Message, eb.Error.Code)
			}
			return fmt.Errorf("privileges: the server answered %s", resp.Status)
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return fmt.Errorf("privileges: read the answer: %w", err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tRIGHT\tSCOPE\tVALUE\tDETAIL")
	for _, g := range res.Grants {
		fmt.Fprintf(tw, "grant\t%s\t%s\t%s\t%s\n", g.Right, g.Scope.Type, g.Scope.Value, g.Privilege)
	}
	for _, r := range res.Refused {
		what := r.Code
		if r.Rule != "" {
			what += " (" + r.Rule + ")"
		}
		right := r.Right
		if right == "" {
			right = "-"
		}
		fmt.Fprintf(tw, "refused\t%s\t%s\t\t%s: %s\n", right, r.Scope, what, strings.TrimSpace(r.Message))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d grants, %d refused\n", len(res.Grants), len(res.Refused))
	return nil
}
