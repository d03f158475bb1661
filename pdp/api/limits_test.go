package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/pdp/api"
)

// send posts raw bytes with optional headers and returns the status and
// the decoded error body (if the answer is one).
func (e *env) send(path string, body []byte, headers map[string]string) (int, api.ErrorBody) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	_ = json.Unmarshal(raw, &eb)
	return resp.StatusCode, eb
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// padded is a login request for alice whose JSON is exactly n bytes long
// (padded with whitespace after the object).
func padded(t *testing.T, n int) []byte {
	t.Helper()
	b, err := json.Marshal(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > n {
		t.Fatalf("request already %d bytes", len(b))
	}
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

// TestDecisionRouteBodyLimit (SPEC §8): every decision route refuses a
// body over 64 KiB with 413 too_large, counted after gzip decompression
// (a small gzip bomb is refused too); the refused request is neither
// decided, logged nor cached. A body at the limit, plain or gzipped, is
// served.
func TestDecisionRouteBodyLimit(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	over := padded(t, api.MaxDecisionBody+1)
	routes := []string{"/v1/decisions/login", "/v1/data/adgang/login/decision", "/v1/data/adgang/lib",
		"/v1/data", "/access/v1/evaluation", "/access/v1/evaluations", "/v1/authn/password", "/v1/no/such/route"}
	for _, path := range routes {
		for _, tc := range []struct {
			name    string
			body    []byte
			headers map[string]string
		}{
			{"plain", over, nil},
			{"gzip", gzipped(t, over), map[string]string{"Content-Encoding": "gzip"}},
			{"gzip bomb", gzipped(t, bytes.Repeat([]byte(" "), 16<<20)), map[string]string{"Content-Encoding": "gzip"}},
		} {
			logged := len(e.declog.String())
			n, _ := e.eng.CacheStats()
			status, eb := e.send(path, tc.body, tc.headers)
			if status != http.StatusRequestEntityTooLarge || eb.Error.Code != "too_large" {
				t.Errorf("%s %s: status %d code %q, want 413 too_large", path, tc.name, status, eb.Error.Code)
			}
			if len(e.declog.String()) != logged {
				t.Errorf("%s %s: a refused request reached the decision log", path, tc.name)
			}
			if m, _ := e.eng.CacheStats(); m != n {
				t.Errorf("%s %s: a refused request was cached (%d → %d entries)", path, tc.name, n, m)
			}
		}
	}
	at := padded(t, api.MaxDecisionBody)
	for _, tc := range []struct {
		name    string
		body    []byte
		headers map[string]string
	}{
		{"plain", at, nil},
		{"gzip", gzipped(t, at), map[string]string{"Content-Encoding": "gzip"}},
	} {
		if status, eb := e.send("/v1/decisions/login", tc.body, tc.headers); status != http.StatusOK {
			t.Errorf("body of exactly %d bytes (%s): status %d %+v", api.MaxDecisionBody, tc.name, status, eb)
		}
	}
	if status, _ := e.send("/v1/decisions/login", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}); status != http.StatusBadRequest {
		t.Errorf("malformed gzip: status %d, want 400", status)
	}
}

// TestDecisionIdentifierLimit (SPEC §8): an identifier or name field of a
// login, password or AuthZEN request longer than 256 bytes is refused with
// 400, is not logged and not cached; 256 bytes are accepted.
func TestDecisionIdentifierLimit(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	long, max := strings.Repeat("x", pdp.MaxIdentifier+1), strings.Repeat("x", pdp.MaxIdentifier)
	login := func(mut func(*pdp.LoginRequest)) pdp.LoginRequest {
		r := pdp.LoginRequest{Subject: subj("unknown", cvrA), Service: "eksamensdatabasen"}
		mut(&r)
		return r
	}
	az := func(mut func(*pdp.AZRequest)) pdp.AZRequest {
		r := pdp.AZRequest{
			Subject:  &pdp.AZEntity{Type: "user", ID: uid["alice"], Properties: map[string]any{"cvr": cvrA}},
			Resource: &pdp.AZEntity{Type: "service", ID: "eksamensdatabasen"},
			Action:   &pdp.AZAction{Name: "login"},
		}
		mut(&r)
		return r
	}
	tests := []struct {
		name string
		path string
		body any
		want int
	}{
		{"login name", "/v1/decisions/login", login(func(r *pdp.LoginRequest) { r.Subject.Name = long }), 400},
		{"login email", "/v1/decisions/login", login(func(r *pdp.LoginRequest) { r.Subject.Email = long + "@example.dk" }), 400},
		{"login service", "/v1/decisions/login", login(func(r *pdp.LoginRequest) { r.Service = long }), 400},
		{"login right", "/v1/decisions/login", login(func(r *pdp.LoginRequest) { r.Right = long }), 400},
		{"login auth method", "/v1/decisions/login", login(func(r *pdp.LoginRequest) { r.Subject.AuthMethod = long }), 400},
		{"login certificate", "/v1/decisions/login", login(func(r *pdp.LoginRequest) { r.Subject.CertificateSerial = long }), 400},
		{"data API login", "/v1/data/adgang/login/decision", map[string]any{"input": login(func(r *pdp.LoginRequest) { r.Subject.Name = long })}, 400},
		{"password username", "/v1/authn/password", pdp.PasswordRequest{Username: long, Password: "x"}, 400},
		{"authzen subject id", "/access/v1/evaluation", az(func(r *pdp.AZRequest) { r.Subject.ID = long }), 400},
		{"authzen resource id", "/access/v1/evaluation", az(func(r *pdp.AZRequest) { r.Resource.ID = long }), 400},
		{"authzen resource type", "/access/v1/evaluation", az(func(r *pdp.AZRequest) { r.Resource.Type = long }), 400},
		{"authzen action", "/access/v1/evaluation", az(func(r *pdp.AZRequest) { r.Action.Name = long }), 400},
		{"authzen name property", "/access/v1/evaluation", az(func(r *pdp.AZRequest) { r.Subject.Properties["name"] = long }), 400},
		{"authzen batch item", "/access/v1/evaluations", map[string]any{
			"subject": az(func(*pdp.AZRequest) {}).Subject, "action": map[string]string{"name": "login"},
			"evaluations": []any{
				map[string]any{"resource": map[string]string{"type": "service", "id": "eksamensdatabasen"}},
				map[string]any{"resource": map[string]string{"type": "service", "id": long}},
			}}, 400},
		{"login name at the limit", "/v1/decisions/login", login(func(r *pdp.LoginRequest) { r.Subject.Name = max; r.Service = max }), 200},
		{"authzen at the limit", "/access/v1/evaluation", az(func(r *pdp.AZRequest) { r.Resource.ID = max }), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logged := len(e.declog.String())
			n, _ := e.eng.CacheStats()
			var out map[string]any
			if got := e.post(tc.path, tc.body, &out); got != tc.want {
				t.Fatalf("status %d, want %d: %v", got, tc.want, out)
			}
			if tc.want != 400 {
				return
			}
			if len(e.declog.String()) != logged {
				t.Errorf("a refused request reached the decision log")
			}
			if m, _ := e.eng.CacheStats(); m != n {
				t.Errorf("a refused request was cached")
			}
		})
	}
}

// TestDecisionCacheByteBound: many distinct large-but-legal requests keep
// the decision cache under its byte bound (--decision-cache-bytes), by
// the cache's own accounting; it keeps caching.
func TestDecisionCacheByteBound(t *testing.T) {
	const bound = 64 << 10
	e := newEnv(t, pdp.Config{CacheBytes: bound})
	for i := range 300 {
		svc := fmt.Sprintf("%03d", i) + strings.Repeat("s", pdp.MaxIdentifier-3)
		s := pdp.Subject{ID: uuid.NewString(), CVR: cvrA, Kind: "employee", CPRLinked: true,
			AuthMethod: strings.Repeat("m", pdp.MaxIdentifier), CertificateSerial: strings.Repeat("c", pdp.MaxIdentifier)}
		if _, code := e.login(pdp.LoginRequest{Subject: s, Service: svc, Right: strings.Repeat("r", pdp.MaxIdentifier)}); code != http.StatusOK {
			t.Fatalf("request %d: status %d", i, code)
		}
		if n, b := e.eng.CacheStats(); b > bound || n == 0 {
			t.Fatalf("after %d requests the cache holds %d entries, %d bytes (bound %d)", i+1, n, b, bound)
		}
	}
	if n, _ := e.eng.CacheStats(); n < 10 {
		t.Errorf("a byte-bounded cache keeps too little: %d entries", n)
	}
}
