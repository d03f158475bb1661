package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// fillTime is the time fillEvery starts its times from.
var fillTime = time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("", 3600))

// fillEvery sets every field of the struct p points to: strings (and
// string kinds) from str, the other kinds stored records use to fixed
// values, and what extra sets (true: set). A field of a kind neither
// knows fails the test: teach it, and the fast decoder, the new field.
func fillEvery(t testing.TB, p any, str func(field string) string, extra func(f reflect.Value) bool) {
	t.Helper()
	v := reflect.ValueOf(p).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if f.Kind() == reflect.String {
			f.SetString(str(name))
			continue
		}
		switch f.Interface().(type) {
		case bool:
			f.SetBool(true)
		case time.Time:
			f.Set(reflect.ValueOf(fillTime.Add(time.Duration(i) * time.Hour)))
		case *time.Time:
			x := fillTime.Add(time.Duration(i) * time.Minute)
			f.Set(reflect.ValueOf(&x))
		case []string:
			f.Set(reflect.ValueOf([]string{str(name) + "1", str(name) + "2"}))
		case []byte:
			f.Set(reflect.ValueOf([]byte{0, 1, 2, 250}))
		default:
			if extra == nil || !extra(f) {
				t.Fatalf("%s.%s is of a kind this test does not fill: teach it and the fast decoder", v.Type().Name(), name)
			}
		}
	}
}

// filledUser has every field of User set, strings from str.
func filledUser(t testing.TB, str func(field string) string) *User {
	t.Helper()
	u := &User{}
	fillEvery(t, u, str, func(f reflect.Value) bool {
		if _, ok := f.Interface().(*Password); !ok {
			return false
		}
		f.Set(reflect.ValueOf(&Password{Hash: str("hash"), History: []string{"old"}, ChangedAt: fillTime, Temporary: true, Failures: 3, Blocked: true}))
		return true
	})
	return u
}

// userRecordJSON is a user's stored record, as putUser writes it but
// keeping PasswordStatus (a record may hold any of userRecord's keys).
func userRecordJSON(t testing.TB, u *User) []byte {
	t.Helper()
	b, err := json.Marshal(userRecord{User: *u, StoredCPRHash: u.CPRHash, StoredCPREncrypted: u.CPREncrypted,
		StoredPassword: u.Password, StoredActivationHash: u.ActivationHash})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeUserFast: a record with every field set in plain strings is
// read by the fast decoder, exactly as encoding/json reads it; a record
// it does not take (escaped or non-ASCII strings, unknown keys, a user
// without optional fields, a cased key) is still read exactly.
func TestDecodeUserFast(t *testing.T) {
	plain := filledUser(t, func(f string) string { return "v-" + f })
	cases := []struct {
		name string
		raw  []byte
		fast bool // the fast decoder must take it
	}{
		{"every field, plain strings", userRecordJSON(t, plain), true},
		{"no optional fields", userRecordJSON(t, &User{ID: "x", Kind: KindEmployee, Status: StatusActive}), true},
		{"white space and nulls", []byte(" {\n \"id\" : \"x\" ,\"last_login\":null, \"password\": null, \"name\": null,\"identification_means\":null} "), true},
		{"escapes", userRecordJSON(t, filledUser(t, func(f string) string { return "a\"b\\c<&>\n" + f })), false},
		{"non-ASCII", userRecordJSON(t, filledUser(t, func(f string) string { return "Søren Æbelø " + f })), true},
		{"invalid UTF-8", []byte("{\"id\":\"a\xffb\"}"), false},
		{"unknown key", []byte(`{"id":"x","new_field":1}`), false},
		{"cased key", []byte(`{"ID":"x"}`), false},
		{"a password given twice", []byte(`{"password":{"hash":"a","failures":2},"password":{"hash":"b"}}`), true},
	}
	for _, c := range cases {
		want, werr := decodeUserJSON(c.raw)
		fast, ok := decodeUserFast(c.raw)
		if c.fast && !ok {
			t.Errorf("%s: the fast decoder refused it", c.name)
		}
		if ok && (werr != nil || !reflect.DeepEqual(fast, want)) {
			t.Errorf("%s: fast %+v\nencoding/json %+v (%v)", c.name, fast, want, werr)
		}
		got, err := decodeUser(c.raw)
		if (err != nil) != (werr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decodeUser %+v (%v), want %+v (%v)", c.name, got, err, want, werr)
		}
	}
	if got, _ := decodeUser(userRecordJSON(t, plain)); !reflect.DeepEqual(got, plain) {
		t.Errorf("round trip: %+v\nwant %+v", got, plain)
	}
	// The fields are the user's own: the buffer read (Badger's memory,
	// reused after the read) can change without changing them, and none
	// keeps the record (its secrets) alive.
	raw := userRecordJSON(t, plain)
	got, ok := decodeUserFast(raw)
	for i := range raw {
		raw[i] = 'X'
	}
	if !ok || !reflect.DeepEqual(got, plain) {
		t.Errorf("after the buffer changed: %+v", got)
	}
}

// FuzzDecodeUser: whatever the fast decoder takes, encoding/json reads the
// same (go test -fuzz FuzzDecodeUser ./store/ to search further).
func FuzzDecodeUser(f *testing.F) {
	f.Add(userRecordJSON(f, filledUser(f, func(s string) string { return "v" + s })))
	f.Add(userRecordJSON(f, &User{ID: "x"}))
	f.Add([]byte(`{"password":{"hash":"a"},"cpr_encrypted":"AAE=","identification_means":["a"]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := decodeUserFast(raw)
		if !ok {
			return
		}
		want, err := decodeUserJSON(raw)
		if err != nil || !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast %+v, encoding/json %+v (%v)", raw, fast, want, err)
		}
	})
}
