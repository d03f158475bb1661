package pdp

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/adgang/adgang/store"
)

// TestDecisionAppendJSON checks the pre-encoded login answer is the same
// JSON document encoding/json gives for the Decision.
func TestDecisionAppendJSON(t *testing.T) {
	for _, d := range []Decision{
		{DecisionID: "d-1", Rights: []RightScope{}, Reasons: []Reason{}},
		{DecisionID: "00000000-0000-4000-8000-000000000001", Allow: true, Revision: 42, Policy: "abc",
			Rights: []RightScope{{Right: "eksamensdatabasen.view", Scope: Scope{All: true, CVR: "12345674",
				PNumbers: []string{"1000000001"}, SENumbers: []string{}}}},
			Reasons: []Reason{{Code: "grant_via_group", Rule: "D7", Message: `quotes " and <æøå> & \ slashes`,
				Right: "r", Grant: "g", Info: true}}},
	} {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d.encodeBody()
		c := d.compacted()
		if c.Rights != nil || !c.compact {
			t.Fatalf("compacted decision keeps its rights: %+v", c)
		}
		if err := c.expand(); err != nil {
			t.Fatal(err)
		}
		if a, b := jsonOf(t, c.Rights, c.Reasons), jsonOf(t, d.Rights, d.Reasons); a != b {
			t.Errorf("expand gave\n %+v %+v\nwant\n %+v %+v", c.Rights, c.Reasons, d.Rights, d.Reasons)
		}
		for range 2 { // encoded once, then reused
			got := d.AppendJSON(nil)
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatalf("AppendJSON gave invalid JSON %s: %v", got, err)
			}
			_ = json.Unmarshal(want, &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
			}
		}
	}
}

// TestDecisionCacheBounded checks the cache never holds more than its size
// and keeps serving the newest entry when full.
func TestDecisionCacheBounded(t *testing.T) {
	c := newDecisionCache(16, DefaultCacheBytes)
	ps := &PolicySet{}
	now := time.Now()
	view := &store.LoginView{Revision: 7}
	for i := range 100 {
		req := &LoginRequest{Subject: Subject{ID: fmt.Sprint(i), CVR: "12345674"}, Service: "s"}
		d := &Decision{Allow: true}
		d.encodeBody()
		c.put(req, view, ps, nil, now, d, 0)
		if n := len(c.entries); n > 16 {
			t.Fatalf("after %d puts the cache holds %d entries", i+1, n)
		}
		if c.get(req, 7, ps, nil, now, nil) == nil {
			t.Fatalf("entry %d not served right after put", i)
		}
		if c.get(req, 8, ps, nil, now, nil) != nil {
			t.Fatalf("entry %d served for another revision", i)
		}
	}
	if len(c.entries) < 16-16/8 {
		t.Errorf("a full cache dropped too much: %d entries left", len(c.entries))
	}
}

func jsonOf(t *testing.T, v ...any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDecisionCacheByteAccounting: replacing an entry does not count it
// twice, evicting keeps the byte count equal to the sum of the entries,
// and an answer too large for an eighth of the cache is not cached.
func TestDecisionCacheByteAccounting(t *testing.T) {
	c := newDecisionCache(1000, 16<<10)
	ps := &PolicySet{}
	now := time.Now()
	view := &store.LoginView{Revision: 1}
	put := func(id string, bodyLen int) {
		d := &Decision{Allow: true}
		d.encodeBody()
		d.body = append(d.body, make([]byte, bodyLen)...)
		c.put(&LoginRequest{Subject: Subject{ID: id, CVR: "12345674"}, Service: "s"}, view, ps, nil, now, d, 0)
	}
	put("a", 100)
	_, one := c.stats()
	for range 10 {
		put("a", 100)
	}
	if n, b := c.stats(); n != 1 || b != one {
		t.Fatalf("re-put: %d entries, %d bytes, want 1 and %d", n, b, one)
	}
	for i := range 200 {
		put(fmt.Sprint(i), 200)
		var sum int64
		for k, e := range c.entries {
			if e.size != sizeOf(&k, e) {
				t.Fatalf("entry size %d, recomputed %d", e.size, sizeOf(&k, e))
			}
			sum += e.size
		}
		if n, b := c.stats(); b != sum || b > 16<<10 || n == 0 {
			t.Fatalf("after %d puts: %d entries, %d bytes (sum %d, bound %d)", i+1, n, b, sum, 16<<10)
		}
	}
	n, b := c.stats()
	put("huge", 4<<10)
	if m, bb := c.stats(); m > n || bb > b {
		t.Errorf("an answer over an eighth of the cache was cached")
	}
}

// TestObjectOfEqualKeys: the grants' object made at once holds each key
// once, the last item's value, as inserts one by one would.
func TestObjectOfEqualKeys(t *testing.T) {
	k1, k2 := ast.StringTerm("g1"), ast.StringTerm("g2")
	for _, c := range []struct {
		name  string
		items [][2]*ast.Term
		want  string
	}{
		{"none", nil, `{}`},
		{"distinct", [][2]*ast.Term{{k1, ast.IntNumberTerm(1)}, {k2, ast.IntNumberTerm(2)}}, `{"g1": 1, "g2": 2}`},
		{"equal keys, distinct terms", [][2]*ast.Term{{k1, ast.IntNumberTerm(1)}, {k2, ast.IntNumberTerm(2)}, {ast.StringTerm("g1"), ast.IntNumberTerm(3)}}, `{"g1": 3, "g2": 2}`},
	} {
		got := objectOf(c.items)
		if want := ast.MustParseTerm(c.want).Value; got.Compare(want) != 0 || got.Len() != want.(ast.Object).Len() {
			t.Errorf("%s: %v, want %v", c.name, got, want)
		}
	}
}

// TestLoginInputOfKeepsNoTerms: an input built from a view its caller put
// together (a write transaction's records) leaves the shared term caches
// as they were; one from a store login view fills them.
func TestLoginInputOfKeepsNoTerms(t *testing.T) {
	e := &Engine{now: time.Now}
	e.rights.Store(&rightsIndex{byService: map[string][]string{"svc": {"svc.r"}}, byID: map[string]*ast.Term{"svc.r": ast.StringTerm("svc.r")}})
	view := func() *store.LoginView {
		return &store.LoginView{User: &store.User{ID: "u1", Org: "12345674"}, Org: &store.Org{CVR: "12345674"},
			Grants: []store.EffectiveGrant{{Grant: &store.Grant{ID: "g1", Right: "svc.r", Org: "12345674"}, Source: "direct"}}}
	}
	req := &LoginRequest{Subject: Subject{ID: "u1", CVR: "12345674"}, Service: "svc"}
	before := grantTermCache.n.Load() + orgTermCache.n.Load()
	in := e.loginInputOf(req, view())
	if n := grantTermCache.n.Load() + orgTermCache.n.Load(); n != before {
		t.Fatalf("loginInputOf kept %d terms", n-before)
	}
	if g, _ := in.Find(ast.MustParseRef("x.grants.g1.right")[1:]); g == nil || g.Compare(ast.String("svc.r")) != 0 {
		t.Fatalf("grant missing from the input: %v", in)
	}
	e.loginInput(req, view())
	if n := grantTermCache.n.Load() + orgTermCache.n.Load(); n != before+2 {
		t.Fatalf("loginInput kept %d terms, want 2", n-before)
	}
}
