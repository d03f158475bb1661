package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestNeutralUserUpdateKeepsDecisions: an update of a user that changes
// only fields no decision reads (a name, a login time) names its fields
// and leaves every cached login read valid; any other change of the user
// (status, P-unit, password, a grant in the same write) invalidates the
// user's reads, and the change says what it changed.
func TestNeutralUserUpdateKeepsDecisions(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		return tx.CreateUser(newUser(2, nil))
	})
	edit := func(mut func(*store.User)) func(tx *store.Tx) error {
		return func(tx *store.Tx) error {
			u, err := tx.GetUser(uid(1))
			if err != nil {
				return err
			}
			mut(u)
			return tx.UpdateUser(u)
		}
	}
	later := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name    string
		write   func(tx *store.Tx) error
		fields  []string // the user change's fields (nil: not checked)
		neutral bool
	}{
		{"name", edit(func(u *store.User) { u.Name = "Renamed" }), []string{"name", "updated_at"}, true},
		{"email and phone", edit(func(u *store.User) { u.Email, u.Phone = "new@example.dk", "+4512345678" }), []string{"email", "phone", "updated_at"}, true},
		{"nothing", edit(func(*store.User) {}), []string{"updated_at"}, true},
		{"login time", func(tx *store.Tx) error { return tx.TouchLogin(uid(1), later) }, []string{"last_login"}, true},
		{"status", edit(func(u *store.User) { u.Status = store.StatusInactive }), []string{"status", "updated_at"}, false},
		{"p-unit", edit(func(u *store.User) { u.PNumber = pA2 }), []string{"p_number", "updated_at"}, false},
		{"name and kind", edit(func(u *store.User) { u.Name, u.Kind = "X", store.KindPrivate }), []string{"name", "kind", "updated_at"}, false},
		{"password", edit(func(u *store.User) { u.Password = &store.Password{Hash: "h", Temporary: true} }), []string{"password", "updated_at"}, false},
		{"name and a grant", func(tx *store.Tx) error {
			if err := edit(func(u *store.User) { u.Name = "Granted" })(tx); err != nil {
				return err
			}
			return tx.CreateGrant(&store.Grant{ID: "g-neutral", Right: "eksamensdatabasen.view", HolderType: store.HolderUser,
				HolderID: uid(1), Org: cvrA, Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}})
		}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v1, err := st.LoginView(ctx, cvrA, uid(1), "")
			if err != nil {
				t.Fatal(err)
			}
			v2, err := st.LoginView(ctx, cvrA, uid(2), "")
			if err != nil {
				t.Fatal(err)
			}
			var changes []store.Change
			mustUpdate(t, st, func(tx *store.Tx) error {
				err := tc.write(tx)
				changes = tx.Changes()
				return err
			})
			if got := st.DepsChangedSince(v1.Deps, v1.Revision); got == tc.neutral {
				t.Errorf("user 1's read changed = %v, want %v", got, !tc.neutral)
			}
			if st.DepsChangedSince(v2.Deps, v2.Revision) {
				t.Errorf("a write to user 1 invalidated user 2's read")
			}
			var user *store.Change
			for i := range changes {
				if changes[i].Kind == store.ChangeUser {
					user = &changes[i]
				}
			}
			if user == nil {
				t.Fatalf("no user change in %+v", changes)
			}
			if tc.fields != nil && !slices.Equal(user.Fields, tc.fields) {
				t.Errorf("fields = %v, want %v", user.Fields, tc.fields)
			}
			if tc.fields != nil && user.NeutralUserUpdate() != tc.neutral {
				t.Errorf("NeutralUserUpdate = %v, want %v", !tc.neutral, tc.neutral)
			}
		})
	}
	// A change whose fields are not known (a log written before they were
	// recorded) is never neutral.
	if (&store.Change{Kind: store.ChangeUser, Op: store.OpUpdate}).NeutralUserUpdate() {
		t.Error("an update without fields counted as neutral")
	}
}
