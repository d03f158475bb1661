package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// filledGrant has every field of Grant set, strings from str.
func filledGrant(t testing.TB, str func(field string) string) *Grant {
	t.Helper()
	g := &Grant{}
	fillEvery(t, g, str, func(f reflect.Value) bool {
		if _, ok := f.Interface().(Scope); !ok {
			return false
		}
		f.Set(reflect.ValueOf(Scope{Type: str("scope.type"), Value: str("scope.value")}))
		return true
	})
	return g
}

func grantJSON(t testing.TB, g *Grant) []byte {
	t.Helper()
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeGrantFast: a grant record with every field set in plain
// strings is read by the fast decoder, exactly as encoding/json reads it;
// a record it does not take (escapes, unknown or cased keys, a number
// where a string goes) is still read exactly, by encoding/json.
func TestDecodeGrantFast(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
		fast bool // the fast decoder must take it
	}{
		{"every field, plain strings", grantJSON(t, filledGrant(t, func(f string) string { return "v-" + f })), true},
		{"no optional fields", grantJSON(t, &Grant{ID: "g", Right: "r", HolderType: HolderUser, HolderID: "u", Org: "1", Scope: Scope{Type: ScopeCVR, Value: "1"}}), true},
		{"white space and nulls", []byte(" {\n \"id\" : \"g\" ,\"expires_at\":null, \"scope\": null, \"justification\": null} "), true},
		{"a scope given twice merges", []byte(`{"scope":{"type":"cvr","value":"1"},"scope":{"value":"2"}}`), true},
		{"expires_at given twice", []byte(`{"expires_at":"2026-01-02T03:04:05Z","expires_at":"2027-01-02T03:04:05+01:00"}`), true},
		{"non-ASCII", grantJSON(t, filledGrant(t, func(f string) string { return "Søren Æbelø " + f })), true},
		{"escapes", grantJSON(t, filledGrant(t, func(f string) string { return "a\"b\\c<&>\n" + f })), false},
		{"invalid UTF-8", []byte("{\"id\":\"a\xffb\"}"), false},
		{"unknown key", []byte(`{"id":"g","new_field":1}`), false},
		{"unknown scope key", []byte(`{"scope":{"type":"cvr","kind":"x"}}`), false},
		{"cased key", []byte(`{"ID":"g"}`), false},
		{"a number where a string goes", []byte(`{"org":12345678}`), false},
		{"trailing data", []byte(`{"id":"g"} x`), false},
	}
	for _, c := range cases {
		want := new(Grant)
		werr := json.Unmarshal(c.raw, want)
		fast, ok := decodeGrantFast(c.raw)
		if c.fast && !ok {
			t.Errorf("%s: the fast decoder refused it", c.name)
		}
		if !c.fast && ok {
			t.Errorf("%s: the fast decoder took a record it must leave to encoding/json", c.name)
		}
		if ok && (werr != nil || !reflect.DeepEqual(fast, want)) {
			t.Errorf("%s: fast decoder read\n%+v\nencoding/json (err %v)\n%+v", c.name, fast, werr, want)
		}
		got, err := decodeGrant(c.raw)
		if (err != nil) != (werr != nil) || (err == nil && !reflect.DeepEqual(got, want)) {
			t.Errorf("%s: decodeGrant %+v (err %v), encoding/json %+v (err %v)", c.name, got, err, want, werr)
		}
	}
}
