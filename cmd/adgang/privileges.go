package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/adgang/adgang/pdp"
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

// privilegesFlags is the parsed command line of `adgang privileges parse`.
type privilegesFlags struct {
	file   string // the privilege list: a path, or "-" for standard input
	asJSON bool
	org    string // check in this organisation on a running server; "": offline
	user   string // with org: check the grants for this user
	admin  *adminFlags
}

// runPrivileges implements `adgang privileges parse`.
func runPrivileges(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f, err := parsePrivilegesFlags(args, stdout, stderr)
	if err != nil {
		return helpDone(err)
	}
	data, err := readPrivilegeList(f.file, stdin)
	if err != nil {
		return err
	}
	var res *privilegesCheck
	if f.org == "" {
		res, err = privilegesOffline(data)
	} else {
		res, err = f.checkOnServer(ctx, data)
	}
	if err != nil {
		return err
	}
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.print(stdout)
}

// parsePrivilegesFlags parses the command line after "parse"; FILE may
// come before or after the flags. A bad argument is a usageError; -h
// prints the usage to stdout and returns flag.ErrHelp.
func parsePrivilegesFlags(args []string, stdout, stderr io.Writer) (*privilegesFlags, error) {
	if len(args) == 0 || args[0] != "parse" {
		return nil, usageError(privilegesUsage)
	}
	f := &privilegesFlags{}
	fs := flag.NewFlagSet("privileges parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.asJSON, "json", false, "print JSON {grants, refused}")
	fs.StringVar(&f.org, "org", "", "check the list in this organisation on a running server")
	fs.StringVar(&f.user, "user", "", "with --org: check the grants for this user of the organisation")
	f.admin = addAdminFlags(fs)
	files, err := parseArgs(fs, args[1:], stdout, func(w io.Writer) { fmt.Fprint(w, privilegesUsage) },
		func(error) error { return usageError(privilegesUsage) })
	switch {
	case err != nil:
		return nil, err
	case len(files) != 1:
		return nil, usageError(privilegesUsage)
	}
	f.file = files[0]
	return f, nil
}

// readPrivilegeList reads the file ("-": stdin), one byte more than a
// privilege list may have, so an overlong one is refused as such.
func readPrivilegeList(file string, stdin io.Reader) ([]byte, error) {
	in, _, closeIn, err := openInput(file, stdin)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	return io.ReadAll(io.LimitReader(in, pdp.MaxPrivilegeList+1))
}

// privilegesOffline reads the list against the default rights catalogue.
func privilegesOffline(data []byte) (*privilegesCheck, error) {
	list, err := pdp.PrivilegeListFromBody(data)
	if err != nil {
		return nil, err
	}
	var rights []*store.Right
	for _, r := range store.DefaultRights() {
		rights = append(rights, &r)
	}
	res := &privilegesCheck{}
	res.Grants, res.Refused = pdp.GrantsOfPrivileges(list, rights)
	return res, nil
}

// checkOnServer asks a running server's privileges:check route of the
// organisation f.org.
func (f *privilegesFlags) checkOnServer(ctx context.Context, data []byte) (*privilegesCheck, error) {
	token := f.admin.adminToken()
	if token == "" {
		return nil, usageError("adgang privileges parse --org: give --token or ADGANG_TOKEN\n")
	}
	c, err := newAPIClient("privileges", f.admin.addr, token)
	if err != nil {
		return nil, usageError(fmt.Sprintf("adgang privileges parse: --admin-addr: %v\n", err))
	}
	path := "/v1/orgs/" + url.PathEscape(f.org) + "/privileges:check"
	if f.user != "" {
		path += "?user_id=" + url.QueryEscape(f.user)
	}
	body, err := c.post(ctx, path, "application/xml", data, 16<<20)
	if err != nil {
		return nil, err
	}
	res := &privilegesCheck{}
	if err := json.Unmarshal(body, res); err != nil {
		return nil, fmt.Errorf("privileges: read the answer: %w", err)
	}
	return res, nil
}

// print writes the grants and refusals as a table and a count line.
func (res *privilegesCheck) print(stdout io.Writer) error {
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
