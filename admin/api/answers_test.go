package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// TestAnswerFieldNames (issue 18 point 4): a knock answers first_at and
// last_at (and, for compatibility, first and last); an org without
// SE-numbers or P-units answers [] for them, never null.
func TestAnswerFieldNames(t *testing.T) {
	e := newEnv(t)
	e.newKnock(cvrA)
	bare := e.freshCVR()
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: bare, Name: "Bare", Type: store.OrgInstitution})
	})
	r := e.do("org-admin", "GET", "/v1/orgs/"+cvrA+"/knocks", nil)
	ks, _ := r.body["knocks"].([]any)
	if r.status != http.StatusOK || len(ks) != 1 {
		t.Fatalf("knocks: %s", r)
	}
	for _, f := range []string{"first_at", "last_at", "first", "last"} {
		v := str(dig(ks[0], f))
		if _, err := time.Parse(time.RFC3339, v); err != nil || !strings.HasSuffix(v, "Z") {
			t.Errorf("knock %s = %q, want an RFC 3339 UTC time", f, v)
		}
	}
	r = e.do("superadmin", "GET", "/v1/orgs/"+bare, nil)
	if !strings.Contains(string(r.raw), `"se_numbers":[]`) || !strings.Contains(string(r.raw), `"p_units":[]`) {
		t.Fatalf("org without SE-numbers: %s", r)
	}
}

// TestAcceptKnockOfAnotherOrgsUser: a knock whose UUID has since become a
// user of another organisation is refused with a clear conflict, and
// nothing changes.
func TestAcceptKnockOfAnotherOrgsUser(t *testing.T) {
	e := newEnv(t)
	taken := e.newUser(cvrB)
	id := uuid.NewString()
	now := time.Now()
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		return tx.PutKnock(&store.Knock{ID: id, Org: cvrA, SubjectID: taken, UUID: taken, Name: "Taken", First: now, Last: now, Count: 1})
	})
	before := e.snap()
	r := e.do("org-admin", "POST", "/v1/knocks/"+id+"/accept", nil)
	msg := str(dig(r.body, "error", "message"))
	if r.status != http.StatusConflict || !strings.Contains(msg, "another organisation") {
		t.Fatalf("accept: %s; want 409 saying the id is a user of another organisation", r)
	}
	e.unchanged(t, before)
}
