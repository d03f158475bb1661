package api_test

import (
	"net/http"
	"testing"
)

// TestBodiesNotRead: an optional body may be absent, and the certificate
// deletion never reads its body (TestBadInput has the bodies refused).
func TestBodiesNotRead(t *testing.T) {
	e := newEnv(t)
	if r := e.do("user-admin", "POST", "/v1/users/"+e.newUser(cvrA)+"/inactivate", nil); r.status != http.StatusOK {
		t.Fatalf("inactivate without a body: %s", r)
	}
	if r := e.do("user-admin", "DELETE", "/v1/certificates/nosuch", `{`); r.status != http.StatusNotFound {
		t.Fatalf("certificate deletion with a malformed body: %s, want 404 (body not read)", r)
	}
}
