package api_test

import (
	"net/http"
	"testing"
)

// TestBodyAdapters: the route table's body adapters decode as the
// handlers did themselves: a required body must be there, an optional one
// may be absent, a route that takes no fields refuses any, and the
// certificate revocation and deletion never read a body.
func TestBodyAdapters(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(cvrA)
	cases := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"required body absent", "POST", "/v1/orgs/" + cvrA + "/groups", nil, http.StatusBadRequest},
		{"required body trailing data", "POST", "/v1/orgs/" + cvrA + "/groups", `{"name":"G"} {}`, http.StatusBadRequest},
		{"no fields taken", "POST", "/v1/users/" + u + "/confirm", `{"x":1}`, http.StatusBadRequest},
		{"optional body malformed", "POST", "/v1/users/" + u + "/inactivate", `{`, http.StatusBadRequest},
		{"optional body absent", "POST", "/v1/users/" + u + "/inactivate", nil, http.StatusOK},
		{"issue reads its body", "POST", "/v1/certificates/nosuch/issue", `{`, http.StatusBadRequest},
		{"delete reads no body", "DELETE", "/v1/certificates/nosuch", `{`, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do("user-admin", tc.method, tc.path, tc.body); r.status != tc.want {
				t.Fatalf("%s %s: %s, want %d", tc.method, tc.path, r, tc.want)
			}
		})
	}
}
