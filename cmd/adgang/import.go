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
	"slices"
	"strconv"
	"strings"
)

const importUsage = "usage: adgang import FILE --org CVR --mode create|update|delete [--dry-run] [--atomic] [--json] [--admin-addr URL] [--token TOKEN]\n" +
	"FILE is a CSV file of the import template's 15 columns, or - for standard input.\n"

// importFlags is the parsed command line of `adgang import`.
type importFlags struct {
	file   string // a path, or "-" for standard input
	org    string
	mode   string
	dryRun bool
	atomic bool
	json   bool
	admin  *adminFlags
	token  string // --token or env ADGANG_TOKEN; never printed
}

// runImport implements `adgang import`: it streams a CSV file to the
// admin API's import route of a running server and prints the per-row
// report. It fails when any row was refused, so a script can tell.
// Its errors and usage go to main, which prints them on stderr.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr // rows sent, rate and ETA, on a terminal only
	}
	return importCSVTo(ctx, args, os.Stdin, stdout, progress)
}

// importCSV is runImport with standard input as a parameter (for tests).
func importCSV(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	return importCSVTo(ctx, args, stdin, stdout, nil)
}

// importCSVTo is importCSV that shows its progress on progress when that
// is not nil.
func importCSVTo(ctx context.Context, args []string, stdin io.Reader, stdout, progress io.Writer) error {
	f, err := parseImportFlags(args, stdout)
	if err != nil {
		return helpDone(err)
	}
	c, err := newAPIClient("import", f.admin.addr, f.token)
	if err != nil {
		return usageError(fmt.Sprintf("adgang import: --admin-addr: %v\n%s", err, importUsage))
	}
	body, size, closeBody, err := openInput(f.file, stdin)
	if err != nil {
		return err
	}
	defer closeBody()
	var pr *progressReader
	if progress != nil {
		pr = newProgressReader(body, size, progress)
		body = pr
	}
	resp, err := c.postImport(ctx, f, body, size)
	if pr != nil {
		pr.finish() // the report follows, on stdout
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return printImportAnswer(resp, f.json, stdout)
}

// postImport streams the CSV body (size bytes, -1 when unknown) to the
// import route of the organisation f.org.
func (c *apiClient) postImport(ctx context.Context, f *importFlags, body io.Reader, size int64) (*http.Response, error) {
	q := url.Values{}
	q.Set("mode", f.mode)
	q.Set("dry_run", strconv.FormatBool(f.dryRun))
	q.Set("atomic", strconv.FormatBool(f.atomic))
	req, err := c.request(ctx, http.MethodPost, "/v1/orgs/"+url.PathEscape(f.org)+"/imports?"+q.Encode(), "text/csv; charset=utf-8", body)
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return resp, nil
}

// printImportAnswer prints the import route's answer: the summary and a
// line per refused row, or with printJSON the server's JSON report. Its
// error says why the import did not succeed in full.
func printImportAnswer(resp *http.Response, printJSON bool, stdout io.Writer) error {
	isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	if resp.StatusCode != http.StatusOK {
		return importRefused(resp, isJSON, printJSON, stdout)
	}
	if !isJSON {
		return fmt.Errorf("import: the server answered %s with %q, not a JSON report", resp.Status, resp.Header.Get("Content-Type"))
	}
	var out io.Reader = resp.Body
	if printJSON {
		out = io.TeeReader(resp.Body, stdout)
	}
	rep, err := readImportReport(out, !printJSON, stdout)
	if err != nil {
		return fmt.Errorf("import: read the report: %w", err)
	}
	if printJSON {
		if _, err := io.Copy(stdout, resp.Body); err != nil { // the report's final newline
			return fmt.Errorf("import: read the report: %w", err)
		}
	} else {
		rep.printSummary(stdout)
	}
	return rep.err()
}

// parseImportFlags parses the command line; FILE may come before, after
// or between the flags. A missing or bad argument is a usageError; -h
// prints the usage to stdout and returns flag.ErrHelp.
func parseImportFlags(args []string, stdout io.Writer) (*importFlags, error) {
	f := &importFlags{}
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned as usageError, printed once by main
	fs.StringVar(&f.org, "org", "", "CVR number of the organisation the users are imported into (required)")
	fs.StringVar(&f.mode, "mode", "", "create, update or delete (required)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "check every row and report, store nothing")
	fs.BoolVar(&f.atomic, "atomic", false, "all or nothing: apply the rows only if every row passes")
	fs.BoolVar(&f.json, "json", false, "print the server's JSON report instead of the summary")
	f.admin = addAdminFlags(fs)
	bad := func(format string, a ...any) error {
		return usageError(fmt.Sprintf("adgang import: "+format+"\n%s", append(a, importUsage)...))
	}

	files, err := parseArgs(fs, args, stdout, helpWithFlags(fs, importUsage), func(err error) error { return bad("%v", err) })
	switch {
	case err != nil:
		return nil, err
	case len(files) == 0:
		return nil, bad("FILE is required")
	case len(files) > 1:
		return nil, bad("one FILE only, got %d", len(files))
	case f.org == "":
		return nil, bad("--org is required")
	case !slices.Contains([]string{"create", "update", "delete"}, f.mode):
		return nil, bad("--mode must be create, update or delete")
	}
	f.file = files[0]
	if f.token = f.admin.adminToken(); f.token == "" {
		return nil, bad("a token is required: --token or env ADGANG_TOKEN")
	}
	return f, nil
}

// importRefused is the error for a non-200 answer: the server's
// {error:{code,message,rule}} when it sent one.
func importRefused(resp *http.Response, isJSON, printJSON bool, stdout io.Writer) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if isJSON && printJSON {
		_, _ = stdout.Write(raw)
	}
	if d := newAPIError("import", resp.Status, raw).Detail; isJSON && d != nil {
		return fmt.Errorf("import refused (%s): %s", resp.Status, d)
	}
	return fmt.Errorf("import refused: the server answered %s", resp.Status)
}

// importReport is the head of the import route's answer (admin/imports.go,
// writeReport) and the count of rows seen; the rows themselves are not
// kept, so a report of 100k rows is read in bounded memory.
type importReport struct {
	Revision uint64         `json:"revision"`
	ImportID string         `json:"import_id"`
	Mode     string         `json:"mode"`
	DryRun   bool           `json:"dry_run"`
	Atomic   bool           `json:"atomic"`
	Applied  int            `json:"applied"`
	Summary  map[string]int `json:"summary"`
	Error    *errorDetail   `json:"error"`

	rows    int // rows in the report
	refused int // rows with status error
}

// importRow is one row of the report (admin's rowResult).
type importRow struct {
	Row    int          `json:"row"`
	Status string       `json:"status"`
	UserID string       `json:"user_id"`
	Error  *errorDetail `json:"error"`
}

// readImportReport decodes the report one row at a time, printing a line
// for each refused row to stdout when printRows is set.
func readImportReport(r io.Reader, printRows bool, stdout io.Writer) (*importReport, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	rep := &importReport{}
	head := map[string]any{"revision": &rep.Revision, "import_id": &rep.ImportID, "mode": &rep.Mode,
		"dry_run": &rep.DryRun, "atomic": &rep.Atomic, "applied": &rep.Applied, "summary": &rep.Summary, "error": &rep.Error}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if key != "rows" {
			dst, ok := head[key]
			if !ok {
				dst = new(json.RawMessage) // a field this client does not know
			}
			if err := dec.Decode(dst); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return nil, err
		}
		for dec.More() {
			var row importRow
			if err := dec.Decode(&row); err != nil {
				return nil, err
			}
			rep.rows++
			if row.Status != "error" {
				continue
			}
			rep.refused++
			if printRows {
				d := row.Error
				if d == nil {
					d = &errorDetail{Code: "error", Message: "refused"}
				}
				fmt.Fprintf(stdout, "row %d: %s\n", row.Row, d)
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	return rep, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, t)
	}
	return nil
}

// summaryOrder is the order of the statuses in the count line; others
// follow in the order of their names.
var summaryOrder = []string{"created", "would_create", "updated", "would_update", "deleted", "would_delete",
	"unchanged", "not_applied", "error"}

// printSummary prints the report's stop error, if any, and the count line.
func (rep *importReport) printSummary(w io.Writer) {
	if rep.Error != nil {
		fmt.Fprintf(w, "import stopped: %s\n", rep.Error)
	}
	keys := make([]string, 0, len(rep.Summary))
	for k := range rep.Summary {
		if !slices.Contains(summaryOrder, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range append(slices.Clone(summaryOrder), keys...) {
		if n := rep.Summary[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	counts := "no rows"
	if len(parts) > 0 {
		counts = strings.Join(parts, ", ")
	}
	switch {
	case rep.DryRun:
		fmt.Fprintf(w, "dry run: %s; nothing was stored\n", counts)
	case rep.Applied == 0:
		fmt.Fprintf(w, "%s; nothing was changed\n", counts)
	default:
		fmt.Fprintf(w, "%s; %d applied (import %s, revision %d)\n", counts, rep.Applied, rep.ImportID, rep.Revision)
	}
}

// err is the command's result: nil only when every row succeeded.
func (rep *importReport) err() error {
	switch {
	case rep.Error != nil:
		return fmt.Errorf("import stopped: %s", rep.Error)
	case rep.refused > 0 || rep.Summary["error"] > 0:
		n := max(rep.refused, rep.Summary["error"])
		msg := fmt.Sprintf("%d of %d rows refused", n, rep.rows)
		if rep.Atomic && rep.Applied == 0 && !rep.DryRun {
			msg += "; nothing was applied"
		}
		return errors.New(msg)
	case rep.Summary["not_applied"] > 0:
		return fmt.Errorf("%d rows not applied", rep.Summary["not_applied"])
	}
	return nil
}
