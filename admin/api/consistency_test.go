package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
)

// The admin API's reads take the consistency token too (SPEC §8): at a
// revision this node has applied they answer; at one it has not reached
// they answer 503 revision_not_reached (after --min-revision-wait) rather
// than older data; a malformed token is 400. Writes ignore the header.
func TestAdminMinRevision(t *testing.T) {
	e := newEnv(t)
	now := e.st.Revision()
	cases := []struct {
		name, method, header string
		want                 int
		code                 string
	}{
		{"reached", "GET", strconv.FormatUint(now, 10), 200, ""},
		{"ahead", "GET", strconv.FormatUint(now+5, 10), 503, "revision_not_reached"},
		{"malformed", "GET", "later", 400, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.ts.URL+"/v1/orgs", nil)
			req.Header.Set("Authorization", "Bearer "+e.tokens["superadmin"])
			req.Header.Set("Adgang-Min-Revision", tc.header)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != tc.want || body.Error.Code != tc.code {
				t.Fatalf("status %d %q, want %d %q", res.StatusCode, body.Error.Code, tc.want, tc.code)
			}
		})
	}
}
