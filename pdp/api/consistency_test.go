package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/adgang/adgang/pdp"
)

// The consistency token (SPEC §8): a decision asked at a revision the node
// has applied answers at that revision or later; one it has not reached
// within --min-revision-wait answers 503 revision_not_reached, never an
// older answer; a malformed token is 400.
func TestMinRevision(t *testing.T) {
	e := newEnv(t, pdp.Config{MinRevisionWait: 50 * time.Millisecond})
	now := e.st.Revision()
	login := pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"}
	cases := []struct {
		name   string
		path   string
		header string
		body   uint64 // min_revision in the login body
		want   int
		code   string
	}{
		{"body reached", "/v1/decisions/login", "", now, 200, ""},
		{"header reached", "/v1/decisions/login", strconv.FormatUint(now, 10), 0, 200, ""},
		{"body ahead", "/v1/decisions/login", "", now + 5, 503, "revision_not_reached"},
		{"header ahead", "/v1/decisions/login", strconv.FormatUint(now+1, 10), 0, 503, "revision_not_reached"},
		{"header ahead, privileges", "/v1/privileges", strconv.FormatUint(now+1, 10), 0, 503, "revision_not_reached"},
		{"body ahead, privileges", "/v1/privileges", "", now + 1, 503, "revision_not_reached"},
		{"header ahead, data API", "/v1/data/adgang/login/allow", strconv.FormatUint(now+1, 10), 0, 503, "revision_not_reached"},
		{"header ahead, AuthZEN", "/access/v1/evaluation", strconv.FormatUint(now+1, 10), 0, 503, "revision_not_reached"},
		{"malformed header", "/v1/decisions/login", "soon", 0, 400, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := login
			req.MinRevision = tc.body
			raw, _ := json.Marshal(req)
			if tc.path == "/v1/data/adgang/login/allow" {
				raw, _ = json.Marshal(map[string]any{"input": login})
			}
			hr, _ := http.NewRequest(http.MethodPost, e.srv.URL+tc.path, bytes.NewReader(raw))
			hr.Header.Set("Content-Type", "application/json")
			if tc.header != "" {
				hr.Header.Set("Adgang-Min-Revision", tc.header)
			}
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Revision uint64 `json:"revision"`
				Error    struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.want || body.Error.Code != tc.code {
				t.Fatalf("status %d code %q, want %d %q", resp.StatusCode, body.Error.Code, tc.want, tc.code)
			}
			if tc.want == 200 && tc.path == "/v1/decisions/login" && body.Revision < now {
				t.Fatalf("answer at revision %d, older than the token %d", body.Revision, now)
			}
		})
	}
}
