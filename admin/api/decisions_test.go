package api_test

import (
	"net/http"
	"testing"
)

// TestDecisionsScope: an auditor lists only its own organisations'
// decisions (A1), gets 404 for another organisation's, and superadmin
// sees all; bad query parameters are 400.
func TestDecisionsScope(t *testing.T) {
	e := newEnv(t)
	own, other := e.newDecision(cvrA), e.newDecision(cvrB)
	ids := func(r resp) map[string]bool {
		out := map[string]bool{}
		list, _ := r.body["decisions"].([]any)
		for _, d := range list {
			out[str(dig(d.(map[string]any), "decision_id"))] = true
		}
		return out
	}
	if r := e.do("auditor", "GET", "/v1/decisions", nil); r.status != http.StatusOK || !ids(r)[own] || ids(r)[other] {
		t.Errorf("auditor of A lists %s", r)
	}
	if r := e.do("superadmin", "GET", "/v1/decisions", nil); r.status != http.StatusOK || !ids(r)[own] || !ids(r)[other] {
		t.Errorf("superadmin lists %s", r)
	}
	if r := e.do("auditor", "GET", "/v1/decisions/"+other, nil); r.status != http.StatusNotFound {
		t.Errorf("auditor of A reads B's decision: %s", r)
	}
	if r := e.do("org-admin", "GET", "/v1/decisions", nil); r.status != http.StatusForbidden {
		t.Errorf("org-admin lists decisions: %s", r)
	}
	for _, q := range []string{"limit=0", "limit=1001", "allow=maybe", "from=yesterday", "cvr=123", "page_token=!!", "user_id=x/y"} {
		if r := e.do("superadmin", "GET", "/v1/decisions?"+q, nil); r.status != http.StatusBadRequest {
			t.Errorf("%s: %s", q, r)
		}
	}
	r := e.do("superadmin", "GET", "/v1/decisions?limit=1", nil)
	next := str(r.body["next_page_token"])
	if r.status != http.StatusOK || len(ids(r)) != 1 || next == "" {
		t.Fatalf("page 1: %s", r)
	}
	r2 := e.do("superadmin", "GET", "/v1/decisions?limit=1&page_token="+next, nil)
	for id := range ids(r2) {
		if ids(r)[id] {
			t.Errorf("page 2 repeats %s", id)
		}
	}
}
