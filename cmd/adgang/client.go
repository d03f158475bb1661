package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiClient is the set-up the CLI clients of a running server share
// (decide, decisions, import, privileges parse): the listener's base URL,
// the bearer token, and an HTTP client that reports a redirect instead of
// following it, since following would resend the token and a body that
// cannot be read twice.
type apiClient struct {
	cmd   string // the command, in front of its errors: "decisions"
	base  string // base URL without a trailing slash
	token string // sent as a bearer token when not empty; never printed
	http  *http.Client
}

// newAPIClient is the client of the listener at addr (host:port or an
// http(s) URL, see adminBaseURL) for the command cmd.
func newAPIClient(cmd, addr, token string) (*apiClient, error) {
	base, err := adminBaseURL(addr)
	if err != nil {
		return nil, err
	}
	return &apiClient{cmd: cmd, base: base, token: token, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// request is a request for path (below the base URL) that carries the
// token and, when body is not nil, contentType.
func (c *apiClient) request(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.cmd, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// do sends one request and returns the answer's status and body, read
// up to limit bytes, whatever the status.
func (c *apiClient) do(ctx context.Context, method, path, contentType string, body io.Reader, limit int64) (*http.Response, []byte, error) {
	req, err := c.request(ctx, method, path, contentType, body)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.cmd, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read the answer: %w", c.cmd, err)
	}
	return resp, raw, nil
}

// call is do for an answer that must be 200 OK: any other is an
// *apiError.
func (c *apiClient) call(ctx context.Context, method, path, contentType string, body io.Reader, limit int64) ([]byte, error) {
	resp, raw, err := c.do(ctx, method, path, contentType, body, limit)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, newAPIError(c.cmd, resp.Status, raw)
	}
	return raw, nil
}

// get is call for a GET of path.
func (c *apiClient) get(ctx context.Context, path string, limit int64) ([]byte, error) {
	return c.call(ctx, http.MethodGet, path, "", nil, limit)
}

// getJSON is get that also decodes the answer into v.
func (c *apiClient) getJSON(ctx context.Context, path string, limit int64, v any) ([]byte, error) {
	raw, err := c.get(ctx, path, limit)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("%s: read the answer: %w", c.cmd, err)
	}
	return raw, nil
}

// post is call for a POST of body to path.
func (c *apiClient) post(ctx context.Context, path, contentType string, body []byte, limit int64) ([]byte, error) {
	return c.call(ctx, http.MethodPost, path, contentType, bytes.NewReader(body), limit)
}

// apiError is an answer other than 200 OK: its status and the server's
// {error:{code,message,rule}} when the body is one.
type apiError struct {
	cmd    string
	Status string       // e.g. "403 Forbidden"
	Detail *errorDetail // nil when the body holds no error object
}

// newAPIError decodes the error object of a refused request's body.
func newAPIError(cmd, status string, body []byte) *apiError {
	e := &apiError{cmd: cmd, Status: status}
	var eb struct {
		Error *errorDetail `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
		e.Detail = eb.Error
	}
	return e
}

func (e *apiError) Error() string {
	if e.Detail != nil {
		return fmt.Sprintf("%s: %s: %s (%s)", e.cmd, e.Status, e.Detail.Message, e.Detail.Code)
	}
	return fmt.Sprintf("%s: the server answered %s", e.cmd, e.Status)
}

// errorDetail is the {code, message, rule} of the API's errors and of a
// refused import row (pdpapi.ErrorDetail on the wire).
type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Rule    string `json:"rule"`
}

func (d *errorDetail) String() string {
	if d.Rule != "" {
		return fmt.Sprintf("%s (%s): %s", d.Code, d.Rule, d.Message)
	}
	return fmt.Sprintf("%s: %s", d.Code, d.Message)
}

// indentJSON is raw indented when it is JSON, else raw as it is, without
// surrounding space.
func indentJSON(raw []byte) string {
	var pretty bytes.Buffer
	if json.Indent(&pretty, raw, "", "  ") != nil {
		return strings.TrimSpace(string(raw))
	}
	return strings.TrimSpace(pretty.String())
}
