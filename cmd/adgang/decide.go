package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

const decideUsage = `usage: adgang decide [flags]

Asks a running decision API for a login decision and prints the answer,
as 'opa eval' lets a security team try a policy from the command line:

  adgang decide --subject-id UUID --cvr CVR --service eksamensdatabasen
  adgang decide --input request.json             # a login request body (- is stdin)
  adgang decide --path adgang/login/allow --input request.json   # the OPA Data API

With ADGANG_DECISION_TOKEN set, it is sent as the bearer token. The exit
status is 0 when the API answered (allow or deny), 1 when it did not.
`

// decideRequest is the login request the subject flags make.
type decideRequest struct {
	Subject struct {
		ID        string `json:"id"`
		CVR       string `json:"cvr"`
		PNumber   string `json:"p_number,omitempty"`
		Kind      string `json:"kind"`
		CPRLinked bool   `json:"cpr_linked"`
	} `json:"subject"`
	Service string `json:"service"`
	Right   string `json:"right,omitempty"`
	PNumber string `json:"p_number,omitempty"`
}

// decideFlags is the parsed command line of `adgang decide`.
type decideFlags struct {
	addr  string // --decision-addr as given
	input string // --input: a file, "-" for stdin, or "" for the subject flags
	path  string // --path: the OPA Data API path, or "" for the login route
	req   decideRequest
}

// runDecide implements `adgang decide`.
func runDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDecideFlags(args, stdout, stderr)
	if err != nil {
		return helpDone(err)
	}
	body, err := f.body()
	if err != nil {
		return err
	}
	c, err := newAPIClient("decide", f.addr, os.Getenv("ADGANG_DECISION_TOKEN")) // the same host:port or URL rules as --admin-addr
	if err != nil {
		return usageError(fmt.Sprintf("adgang decide: --decision-addr: %v\n", err))
	}
	target := "/v1/decisions/login"
	if f.path != "" {
		target = "/v1/data/" + strings.Trim(f.path, "/")
		body = append(append([]byte(`{"input":`), body...), '}')
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, raw, err := c.do(ctx, http.MethodPost, target, "application/json", bytes.NewReader(body), 16<<20)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, indentJSON(raw))
		return fmt.Errorf("decide: the decision API answered %s", resp.Status)
	}
	fmt.Fprintln(stdout, indentJSON(raw))
	return nil
}

// parseDecideFlags parses the command line. A bad argument is a
// usageError; -h prints the usage to stdout and returns flag.ErrHelp.
func parseDecideFlags(args []string, stdout, stderr io.Writer) (*decideFlags, error) {
	f := &decideFlags{}
	fs := flag.NewFlagSet("decide", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "decision-addr", envOr("ADGANG_DECISION_ADDR", "127.0.0.1:8181"), "decision API address, host:port or http(s)://host:port (env ADGANG_DECISION_ADDR)")
	fs.StringVar(&f.input, "input", "", "file holding the JSON login request (- is stdin); instead of the subject flags")
	fs.StringVar(&f.path, "path", "", "ask the OPA Data API at this path (e.g. adgang/login/allow) with the request as input; default: POST /v1/decisions/login")
	fs.StringVar(&f.req.Subject.ID, "subject-id", "", "the user's UUID")
	fs.StringVar(&f.req.Subject.CVR, "cvr", "", "the CVR number the user logs in as")
	fs.StringVar(&f.req.Subject.PNumber, "subject-p-number", "", "the user's own P-number, if the identity carries one")
	fs.StringVar(&f.req.Subject.Kind, "kind", "employee", "subject kind: employee, function_certificate, …")
	fs.BoolVar(&f.req.Subject.CPRLinked, "cpr-linked", true, "the identity is linked to a CPR number")
	fs.StringVar(&f.req.Service, "service", "", "the service asked for")
	fs.StringVar(&f.req.Right, "right", "", "one right of the service only")
	fs.StringVar(&f.req.PNumber, "p-number", "", "the P-unit the right is asked for")
	fs.Usage = func() { fmt.Fprint(stderr, decideUsage+"\nFlags:\n"); fs.PrintDefaults() }
	if wantsHelp(args) {
		helpWithFlags(fs, decideUsage)(stdout)
		return nil, flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		return nil, usageError(fmt.Sprintf("adgang decide: %v\n", err))
	}
	if fs.NArg() > 0 {
		return nil, usageError(fmt.Sprintf("adgang decide: unexpected argument %q\n%s", fs.Arg(0), decideUsage))
	}
	return f, nil
}

// body is the login request: the --input file's JSON, or the subject
// flags' request.
func (f *decideFlags) body() ([]byte, error) {
	if f.input == "" {
		if f.req.Subject.ID == "" || f.req.Subject.CVR == "" || f.req.Service == "" {
			return nil, usageError("adgang decide: give --subject-id, --cvr and --service, or --input FILE\n" + decideUsage)
		}
		return json.Marshal(f.req)
	}
	var body []byte
	var err error
	if f.input == "-" {
		body, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		body, err = os.ReadFile(f.input)
	}
	if err != nil {
		return nil, fmt.Errorf("decide: --input: %w", err)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("decide: --input %s is not JSON", f.input)
	}
	return body, nil
}
