package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/adgang/adgang/admin/api"
)

// TestOpenAPIListsEveryRoute walks the router and the OpenAPI document:
// every route served is documented, every documented route is served, and
// every route of the authorisation matrix is one of them.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	e := newEnv(t)
	router, ok := e.h.(*mux.Router)
	if !ok {
		t.Fatalf("Handler is %T, not a *mux.Router", e.h)
	}
	served := map[string]bool{}
	err := router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := r.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := r.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			served[m+" "+path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("served but not documented: %v; documented but not served: %v", missing, extra)
	}
	for _, rc := range routeCases {
		if !served[rc.method+" "+rc.route] {
			t.Errorf("matrix route %s %s is not served", rc.method, rc.route)
		}
	}
	if len(routeCases) != len(served) {
		t.Errorf("the matrix covers %d routes, the router serves %d", len(routeCases), len(served))
	}
	t.Logf("%d routes served and documented", len(served))

	r := e.do("none", "GET", "/openapi.json", nil)
	if r.status != http.StatusOK || !bytes.Equal(r.raw, api.OpenAPI()) {
		t.Errorf("GET /openapi.json: %d, %d bytes", r.status, len(r.raw))
	}
}
