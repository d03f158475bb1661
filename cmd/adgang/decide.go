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

// runDecide implements `adgang decide`.
func runDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decide", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("decision-addr", envOr("ADGANG_DECISION_ADDR", "127.0.0.1:8181"), "decision API address, host:port or http(s)://host:port (env ADGANG_DECISION_ADDR)")
	input := fs.String("input", "", "file holding the JSON login request (- is stdin); instead of the subject flags")
	path := fs.String("path", "", "ask the OPA Data API at this path (e.g. adgang/login/allow) with the request as input; default: POST /v1/decisions/login")
	var req struct {
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
	fs.StringVar(&req.Subject.ID, "subject-id", "", "the user's UUID")
	fs.StringVar(&req.Subject.CVR, "cvr", "", "the CVR number the user logs in as")
	fs.StringVar(&req.Subject.PNumber, "subject-p-number", "", "the user's own P-number, if the identity carries one")
	fs.StringVar(&req.Subject.Kind, "kind", "employee", "subject kind: employee, function_certificate, …")
	fs.BoolVar(&req.Subject.CPRLinked, "cpr-linked", true, "the identity is linked to a CPR number")
	fs.StringVar(&req.Service, "service", "", "the service asked for")
	fs.StringVar(&req.Right, "right", "", "one right of the service only")
	fs.StringVar(&req.PNumber, "p-number", "", "the P-unit the right is asked for")
	fs.Usage = func() { fmt.Fprint(stderr, decideUsage+"\nFlags:\n"); fs.PrintDefaults() }
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, decideUsage+"\nFlags:\n")
		fs.PrintDefaults()
		return nil
	}
	if err := fs.Parse(args); err != nil {
		return usageError(fmt.Sprintf("adgang decide: %v\n", err))
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("adgang decide: unexpected argument %q\n%s", fs.Arg(0), decideUsage))
	}
	var body []byte
	switch {
	case *input != "":
		var err error
		if *input == "-" {
			body, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		} else {
			body, err = os.ReadFile(*input)
		}
		if err != nil {
			return fmt.Errorf("decide: --input: %w", err)
		}
		if !json.Valid(body) {
			return fmt.Errorf("decide: --input %s is not JSON", *input)
		}
	case req.Subject.ID == "" || req.Subject.CVR == "" || req.Service == "":
		return usageError("adgang decide: give --subject-id, --cvr and --service, or --input FILE\n" + decideUsage)
	default:
		body, _ = json.Marshal(req)
	}
	base, err := adminBaseURL(*addr) // the same host:port or URL rules as --admin-addr
	if err != nil {
		return usageError(fmt.Sprintf("adgang decide: --decision-addr: %v\n", err))
	}
	target := base + "/v1/decisions/login"
	if *path != "" {
		target = base + "/v1/data/" + strings.Trim(*path, "/")
		body = append(append([]byte(`{"input":`), body...), '}')
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	if tok := os.Getenv("ADGANG_DECISION_TOKEN"); tok != "" {
		hreq.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return fmt.Errorf("decide: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("decide: read the answer: %w", err)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, raw, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(raw)
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, strings.TrimSpace(pretty.String()))
		return errors.New("decide: the decision API answered " + resp.Status)
	}
	fmt.Fprintln(stdout, strings.TrimSpace(pretty.String()))
	return nil
}
