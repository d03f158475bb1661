package console

import (
	"errors"
	"io"
	"net/http"
	"net/url"
)

// importData is the import page: the form, then a dry run's rows, then
// the committed report.
type importData struct {
	Mode    string
	Pending string // the id of the previewed file that can be committed
	Report  *importReport
	Errors  int
}

// importModes are the API's modes.
var importModes = map[string]bool{"create": true, "update": true, "delete": true}

// importPage shows the upload form ("Importér brugere").
func (c *Console) importPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.orgOf(w, r, s)
	if !ok {
		return
	}
	c.render(w, r, s, http.StatusOK, "import", &page{Org: o, Active: "import", Data: importData{Mode: "create"}})
}

// importDryRun runs the uploaded file as a dry run and keeps it in the
// session (memory only: it may hold CPR numbers) for the commit.
func (c *Console) importDryRun(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	o, ok := c.orgOf(w, r, s)
	if !ok {
		return
	}
	mode := r.PostFormValue("mode")
	d := importData{Mode: mode}
	body, err := uploaded(r)
	if err == nil && !importModes[mode] {
		err = &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: "mode"}
	}
	var rep importReport
	if err == nil {
		err = c.send(r, s, http.MethodPost, "/v1/orgs/"+url.PathEscape(cvr)+"/imports",
			url.Values{"mode": {mode}, "dry_run": {"true"}}, rawBody{data: body, contentType: "text/csv"}, &rep)
	}
	if err != nil {
		e := asAPIError(err)
		c.render(w, r, s, e.Status, "import", &page{Org: o, Active: "import", Error: e, Data: d})
		return
	}
	d.Report, d.Errors = &rep, rep.Summary["error"]
	d.Pending = randomID()
	c.sessions.update(s, func(s *session) {
		s.imports = map[string]pendingImport{d.Pending: {org: cvr, mode: mode, body: body}}
	})
	c.render(w, r, s, http.StatusOK, "import", &page{Org: o, Active: "import", Data: d})
}

// uploaded reads the form's file.
func uploaded(r *http.Request) ([]byte, error) {
	f, _, err := r.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the file is too large"}
		}
		return nil, &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: "choose a CSV file"}
	}
	defer f.Close()
	return io.ReadAll(f)
}

// importCommit imports the previewed file for real; rows that fail are
// reported, the others are applied (the API's non-atomic mode).
func (c *Console) importCommit(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	var p pendingImport
	var ok bool
	c.sessions.update(s, func(s *session) {
		p, ok = s.imports[r.PathValue("pid")]
		delete(s.imports, r.PathValue("pid"))
	})
	if !ok || p.org != cvr {
		c.back(w, r, s, "/console/orgs/"+url.PathEscape(cvr)+"/import", "",
			&apiError{Status: http.StatusNotFound, Code: "not_found", Message: translate(langOf(r, s), "import.gone")})
		return
	}
	o, _, err := c.loadOrg(r, s, cvr)
	if err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	var rep importReport
	err = c.send(r, s, http.MethodPost, "/v1/orgs/"+url.PathEscape(cvr)+"/imports",
		url.Values{"mode": {p.mode}}, rawBody{data: p.body, contentType: "text/csv"}, &rep)
	d := importData{Mode: p.mode}
	if err != nil {
		e := asAPIError(err)
		c.render(w, r, s, e.Status, "import", &page{Org: o, Active: "import", Error: e, Data: d})
		return
	}
	d.Report, d.Errors = &rep, rep.Summary["error"]
	c.render(w, r, s, http.StatusOK, "import", &page{Org: o, Active: "import", Data: d,
		Notice: translate(langOf(r, s), "import.committed")})
}

// importTemplate serves the API's CSV template as a download.
func (c *Console) importTemplate(w http.ResponseWriter, r *http.Request, s *session) {
	rec, err := c.call(r, s, http.MethodGet, "/v1/imports/template.csv", nil, nil)
	if err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="adgang-import.csv"`)
	_, _ = w.Write(rec.body.Bytes())
}
