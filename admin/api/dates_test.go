package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestDateFields (issue 18 point 2): every date-time field of a JSON body
// takes RFC 3339 or a plain date (00:00 Europe/Copenhagen), answers carry
// RFC 3339 UTC, and a bad value is a 400 naming the field and both forms.
func TestDateFields(t *testing.T) {
	e := newEnv(t)
	grantBody := func(exp any) map[string]any {
		return map[string]any{"right": eks, "scope": map[string]any{"type": "cvr", "value": cvrA}, "expires_at": exp}
	}
	for _, tc := range []struct {
		name       string
		path       func() string
		body       any
		status     int
		field      []string // path to the answered time
		want       string   // the answered time, or the field named in the error
		wantErrMsg bool
	}{
		{"deactivate until plain date", func() string { return "/v1/users/" + e.newUser(cvrA) + "/deactivate" },
			map[string]any{"until": "2099-01-15"}, http.StatusOK, []string{"user", "deactivated_until"}, "2099-01-14T23:00:00Z", false},
		{"deactivate until summer date", func() string { return "/v1/users/" + e.newUser(cvrA) + "/deactivate" },
			map[string]any{"until": "2099-07-01"}, http.StatusOK, []string{"user", "deactivated_until"}, "2099-06-30T22:00:00Z", false},
		{"deactivate until RFC 3339 with offset", func() string { return "/v1/users/" + e.newUser(cvrA) + "/deactivate" },
			map[string]any{"until": "2099-01-15T12:00:00+01:00"}, http.StatusOK, []string{"user", "deactivated_until"}, "2099-01-15T11:00:00Z", false},
		{"deactivate deactivated_until alias", func() string { return "/v1/users/" + e.newUser(cvrA) + "/deactivate" },
			map[string]any{"deactivated_until": "2099-01-15"}, http.StatusOK, []string{"user", "deactivated_until"}, "2099-01-14T23:00:00Z", false},
		{"deactivate until bad", func() string { return "/v1/users/" + e.newUser(cvrA) + "/deactivate" },
			map[string]any{"until": "15-01-2099"}, http.StatusBadRequest, nil, "until", true},
		{"grant expires_at plain date", func() string { return "/v1/users/" + e.newUser(cvrA) + "/grants" },
			grantBody("2099-03-28"), http.StatusCreated, []string{"grant", "expires_at"}, "2099-03-27T23:00:00Z", false},
		{"grant expires_at bad", func() string { return "/v1/users/" + e.newUser(cvrA) + "/grants" },
			grantBody("next year"), http.StatusBadRequest, nil, "expires_at", true},
		{"token expires_at plain date", func() string { return "/v1/tokens" },
			map[string]any{"expires_at": "2099-08-01"}, http.StatusCreated, []string{"expires_at"}, "2099-07-31T22:00:00Z", false},
		{"token expires_at bad", func() string { return "/v1/tokens" },
			map[string]any{"expires_at": "2099/10/31"}, http.StatusBadRequest, nil, "expires_at", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("org-admin", "POST", tc.path(), tc.body)
			if r.status != tc.status {
				t.Fatalf("status %s, want %d", r, tc.status)
			}
			if tc.wantErrMsg {
				msg := str(dig(r.body, "error", "message"))
				if !strings.HasPrefix(msg, tc.want+" must be an RFC 3339 time") || !strings.Contains(msg, "YYYY-MM-DD") || strings.Contains(msg, "parsing time") {
					t.Fatalf("message %q: want the field %s and both forms", msg, tc.want)
				}
				return
			}
			if got := str(dig(r.body, tc.field...)); got != tc.want {
				t.Fatalf("%v = %q, want %q (%s)", tc.field, got, tc.want, r)
			}
		})
	}
}

// TestDateQueryParams: query date-times take both forms, and a bad one is
// a 400 naming the parameter and both forms.
func TestDateQueryParams(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(cvrA)
	for _, tc := range []struct {
		name, path string
		status     int
		field      string
	}{
		{"history from/to dates", "/v1/users/" + u + "/history?from=2020-03-29&to=2099-10-31", http.StatusOK, ""},
		{"history to RFC 3339", "/v1/users/" + u + "/history?to=2099-10-31T10:00:00Z", http.StatusOK, ""},
		{"history from bad", "/v1/users/" + u + "/history?from=29.03.2020", http.StatusBadRequest, "from"},
		{"audit to bad", "/v1/orgs/" + cvrA + "/audit?to=2020-13-01", http.StatusBadRequest, "to"},
		{"login-activity not_since date", "/v1/orgs/" + cvrA + "/login-activity?not_since=2099-01-01", http.StatusOK, ""},
		{"login-activity not_since bad", "/v1/orgs/" + cvrA + "/login-activity?not_since=01-01-2099", http.StatusBadRequest, "not_since"},
		{"lifecycle at RFC 3339", "/v1/orgs/" + cvrA + "/lifecycle?at=2099-01-01T00:00:00%2B01:00", http.StatusOK, ""},
		{"lifecycle at bad", "/v1/orgs/" + cvrA + "/lifecycle?at=soon", http.StatusBadRequest, "at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("org-admin", "GET", tc.path, nil)
			if r.status != tc.status {
				t.Fatalf("status %s, want %d", r, tc.status)
			}
			if tc.field != "" {
				if msg := str(dig(r.body, "error", "message")); !strings.HasPrefix(msg, tc.field+" must be an RFC 3339 time") || !strings.Contains(msg, "YYYY-MM-DD") {
					t.Fatalf("message %q", msg)
				}
			}
		})
	}
}
