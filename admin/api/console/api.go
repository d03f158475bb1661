package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// apiError is an admin API refusal as the console shows it: the rule's
// ID and message when a rule refused ("A3: LSS må ikke tildeles").
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Rule    string `json:"rule,omitempty"`
}

// Error is "RULE: message", or the message alone.
func (e *apiError) Error() string {
	if e.Rule != "" {
		return e.Rule + ": " + e.Message
	}
	return e.Message
}

// recorder is the minimal ResponseWriter an in-process API call needs.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header is the answer's header.
func (r *recorder) Header() http.Header { return r.header }

// Write keeps the answer's body.
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// WriteHeader keeps the first status.
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// call is one admin API request made with the session's token. body is
// JSON-encoded unless it is a rawBody. The answer's status and bytes
// come back; a status ≥ 400 is returned as *apiError.
func (c *Console) call(orig *http.Request, s *session, method, path string, q url.Values, body any) (*recorder, error) {
	u := path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case rawBody:
		rd, ctype = bytes.NewReader(b.data), b.contentType
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(orig.Context(), method, u, rd)
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = orig.RemoteAddr
	req.Host = orig.Host
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		return rec, decodeAPIError(rec)
	}
	return rec, nil
}

// rawBody is a request body sent as is (a CSV file).
type rawBody struct {
	data        []byte
	contentType string
}

func decodeAPIError(rec *recorder) *apiError {
	var env struct {
		Error apiError `json:"error"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &env); err != nil || env.Error.Message == "" {
		return &apiError{Status: rec.status, Code: "http_" + fmt.Sprint(rec.status), Message: http.StatusText(rec.status)}
	}
	env.Error.Status = rec.status
	return &env.Error
}

// get calls a GET route and decodes its JSON answer into out.
func (c *Console) get(r *http.Request, s *session, path string, q url.Values, out any) error {
	rec, err := c.call(r, s, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

// send calls a writing route; out may be nil.
func (c *Console) send(r *http.Request, s *session, method, path string, q url.Values, body, out any) error {
	rec, err := c.call(r, s, method, path, q, body)
	if err != nil {
		return err
	}
	if out == nil || rec.body.Len() == 0 {
		return nil
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

// asAPIError turns any error into what a page shows.
func asAPIError(err error) *apiError {
	if err == nil {
		return nil
	}
	if e, ok := err.(*apiError); ok {
		return e
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
}
