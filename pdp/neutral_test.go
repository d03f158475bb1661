package pdp

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/adgang/adgang/store"
)

// TestNeutralUserFieldsNotInLoginInput: the store treats a change of only
// store.DecisionNeutralUserFields as leaving every cached login decision
// valid. That holds only while the login input reads none of them: each
// is changed here and the input must stay the same, while a change of a
// field the input does read (the control) must show.
func TestNeutralUserFieldsNotInLoginInput(t *testing.T) {
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	e := &Engine{now: func() time.Time { return now }}
	full := &store.User{}
	for _, name := range userJSONFields() {
		setUserField(t, full, name, now)
	}
	full.Password = &store.Password{Hash: "h", ChangedAt: now, Temporary: true}
	req := &LoginRequest{Subject: Subject{ID: full.ID, CVR: full.Org}, Service: "svc"}
	input := func(u *store.User) ast.Value {
		return e.loginInputWith(&rightsIndex{}, req, &store.LoginView{User: u})
	}
	base := input(full)
	neutral := store.DecisionNeutralUserFields()
	for _, name := range neutral {
		u := *full
		setUserField(t, &u, name, now.Add(time.Hour))
		if reflect.DeepEqual(u, *full) {
			t.Fatalf("field %s was not changed", name)
		}
		if input(&u).Compare(base) != 0 {
			t.Errorf("changing the user's %s changes the login input: it cannot be a decision-neutral field", name)
		}
	}
	for _, name := range []string{"id", "org", "kind", "status", "cpr_linked", "p_number", "se_number", "deactivated_until"} {
		if slices.Contains(neutral, name) {
			t.Errorf("%s is read by every login decision but listed as neutral", name)
		}
		u := *full
		setUserField(t, &u, name, now.Add(time.Hour))
		if input(&u).Compare(base) == 0 {
			t.Errorf("changing the user's %s left the login input the same: the test cannot see a change", name)
		}
	}
}

// userJSONFields are the JSON names of User's visible fields.
func userJSONFields() []string {
	var out []string
	t := reflect.TypeFor[store.User]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "-" && name != "" {
			out = append(out, name)
		}
	}
	return out
}

// setUserField gives the field with JSON name a value that differs from
// any it had (derived from at).
func setUserField(t *testing.T, u *store.User, name string, at time.Time) {
	t.Helper()
	v := reflect.ValueOf(u).Elem()
	for i := range v.NumField() {
		if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); tag != name {
			continue
		}
		f := v.Field(i)
		switch x := f.Addr().Interface().(type) {
		case *time.Time:
			*x = at.Add(time.Duration(i) * time.Minute)
		case **time.Time:
			tt := at.Add(time.Duration(i) * time.Minute)
			*x = &tt
		case *[]string:
			*x = append(append([]string(nil), *x...), name+at.String())
		case *bool:
			*x = !*x
		default:
			if f.Kind() != reflect.String {
				t.Fatalf("user field %s: %s has no test value", name, f.Type())
			}
			f.SetString(f.String() + "-" + at.Format("150405"))
		}
		return
	}
	t.Fatalf("user has no field %s", name)
}
