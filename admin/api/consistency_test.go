package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
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

// TestAdminMinRevisionAuthenticatesAtIt: a read that waits for its
// consistency token is authenticated at that revision too: a token
// revoked by the write it waited for is refused (401), as on a node that
// had applied the revocation before the request came.
func TestAdminMinRevisionAuthenticatesAtIt(t *testing.T) {
	e := newEnv(t)
	plain := putTokenRecord(t, e.st, "", true, nil)
	get := func(minRev uint64) int {
		req, _ := http.NewRequest("GET", e.ts.URL+"/v1/orgs", nil)
		req.Header.Set("Authorization", "Bearer "+plain)
		req.Header.Set("Adgang-Min-Revision", strconv.FormatUint(minRev, 10))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get(e.st.Revision()); code != 200 {
		t.Fatalf("before the revocation: %d, want 200", code)
	}
	revoke := e.st.Revision() + 1
	got := make(chan int, 1)
	go func() { got <- get(revoke) }()
	time.Sleep(200 * time.Millisecond) // the read is waiting for revoke
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		toks, err := tx.ListTokens()
		if err != nil {
			return err
		}
		for _, tk := range toks {
			if tk.Hash == hashOf(plain) {
				return tx.DeleteToken(tk.ID)
			}
		}
		t.Error("token not found")
		return nil
	})
	if e.st.Revision() != revoke {
		t.Fatalf("the revocation is revision %d, want %d", e.st.Revision(), revoke)
	}
	if code := <-got; code != http.StatusUnauthorized {
		t.Fatalf("a read waiting for the revocation's revision: %d, want 401", code)
	}
}
