package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestTopField: the driver's check reads the top-level key only — a
// nested object's key of the same name, a string that contains it or a key
// written with escapes never stand for it. (What follows the key is not
// looked at here: wire.ask checks that the whole answer is valid JSON, see
// TestWireAnswers.)
func TestTopField(t *testing.T) {
	for _, c := range []struct {
		body string
		want string // "" when not found
	}{
		{`{"decision_id":"x","allow":true,"reasons":[]}`, "true"},
		{` { "allow" : false } `, "false"},
		{`{"reasons":[{"allow":true}],"allow":false}`, "false"},
		{`{"obligations":{"allow":true}}`, ""},
		{`{"message":"\"allow\":true","allow":false}`, "false"},
		{`{"message":"a \\","allow":true}`, "true"},
		{`{"allo\u0077":true}`, ""},
		{`{"rights":["a","b"],"n":12.5e3,"x":null,"allow":true}`, "true"},
		{`{"result":{"allow":true,"rights":[]}}`, ""},
		{`{"allow":true`, "true"},
		{`{"allow":`, ""},
		{`{"reasons":[{"allow":true}`, ""},
		{`[{"allow":true}]`, ""},
		{`{}`, ""},
		{``, ""},
	} {
		got, ok := topField([]byte(c.body), "allow")
		if c.want == "" && ok || c.want != "" && string(got) != c.want {
			t.Errorf("topField(%s) = %q, %v; want %q", c.body, got, ok, c.want)
		}
	}
	for _, c := range []struct {
		body  string
		allow bool
		err   bool
	}{
		{`{"result":{"allow":true}}`, true, false},
		{`{"result":{"rights":{"allow":true},"allow":false}}`, false, false},
		{`{"result":{"rights":[]}}`, false, true},
		{`{"allow":true}`, false, true},
		{`{"result":{"allow":"true"}}`, false, true},
	} {
		got, err := opaAllow([]byte(c.body))
		if got != c.allow || (err != nil) != c.err {
			t.Errorf("opaAllow(%s) = %v, %v; want %v, error %v", c.body, got, err, c.allow, c.err)
		}
	}
}

// TestWireAnswers: the hand-spoken client reads every way a Go or OPA
// server answers — a length, chunks, a closed connection, an error status —
// and goes on over a new connection after the server closed one, sending
// each request's body unchanged.
func TestWireAnswers(t *testing.T) {
	var conns atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/decisions/login", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			!strings.Contains(string(body), `"id":"u-1"`) {
			http.Error(w, "bad request "+string(body), http.StatusBadRequest)
			return
		}
		allow := r.URL.Query().Get("allow") != "no"
		answer := fmt.Sprintf(`{"decision_id":"d","reasons":[{"allow":%v}],"allow":%v}`, !allow, allow)
		switch r.URL.Query().Get("how") {
		case "chunked":
			w.(http.Flusher).Flush() // headers out before the body: chunked
			_, _ = io.WriteString(w, answer[:10])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, answer[10:])
		case "close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, answer)
		case "big": // past the server's buffer: chunked, several chunks
			_, _ = io.WriteString(w, `{"pad":"`+strings.Repeat("x", 20_000)+`",`+answer[1:])
		case "broken": // the decision, then not JSON
			_, _ = io.WriteString(w, `{"decision_id":"d","allow":true,"rights":[}`)
		case "status":
			http.Error(w, `{"error":{"code":"unavailable"}}`, http.StatusServiceUnavailable)
		default:
			_, _ = io.WriteString(w, answer)
		}
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	r := &Request{SubjectID: "u-1", CVR: "12345678", Service: "svc"}
	ctx := context.Background()
	w, err := newWire(srv.URL + "/v1/decisions/login")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query     string
		allow     bool
		err       string
		wantConns int64 // connections opened so far
	}{
		{"", true, "", 1},
		{"?allow=no", false, "", 1},
		{"?how=chunked", true, "", 1},
		{"?how=big&allow=no", false, "", 1},
		{"?how=status", false, "status 503", 1},
		{"?how=broken", false, "not JSON", 1},
		{"?how=close", true, "", 1},
		{"", true, "", 2}, // a new connection after the server's close
		{"?how=chunked&allow=no", false, "", 2},
	} {
		w.path = "/v1/decisions/login" + c.query // one wire for the whole table, as a load worker has
		tg := &target{name: "adgang", url: srv.URL, body: adgangBody, allow: adgangAllow}
		got, err := w.ask(ctx, tg, r)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.query, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.query, err)
		case got != c.allow:
			t.Errorf("%s: allow %v, want %v", c.query, got, c.allow)
		}
		if n := conns.Load(); n != c.wantConns {
			t.Errorf("%s: %d connections opened, want %d", c.query, n, c.wantConns)
		}
	}
	// A request body the handler refuses comes back as its status.
	w.path = "/v1/decisions/login"
	defer w.close()
	bad := &target{name: "adgang", body: func(dst []byte, _ *Request) []byte { return append(dst, `{}`...) }, allow: adgangAllow}
	if _, err := w.ask(ctx, bad, r); err == nil || !strings.Contains(err.Error(), "status 400") {
		t.Errorf("refused body: %v", err)
	}
	if _, err := newWire("https://example.org/"); err == nil {
		t.Error("https accepted")
	}
}
