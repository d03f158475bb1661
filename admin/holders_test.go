package admin

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestAdminHoldersFromRoleLinks: the admin holders a change reads from the
// role links (holdersIn, used while its transaction has written nothing)
// are the ones read again user by user from the store (readAdminHolders),
// through direct, group, system-group and external-member grants, inactive
// users, expiring grants and tokens, before and after changes.
func TestAdminHoldersFromRoleLinks(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	org0, org1 := storetest.BenchOrg(0), storetest.BenchOrg(1)
	p1, p2 := storetest.BenchPNumber(0, 1), storetest.BenchPNumber(0, 2)
	expires := now().Add(time.Hour)
	user := func(n int) string { return fmt.Sprintf("b0000000-0000-4000-8000-%012d", n) }
	st, svc, c := newTestService(t, 20, now, func(tx *store.Tx) (err error) {
		mk := func(n int, org, p string, status store.UserStatus) {
			u := &store.User{ID: user(n), Org: org, Name: fmt.Sprint("Holder ", n), Kind: store.KindEmployee,
				Status: status, PNumber: p}
			if err == nil {
				err = tx.CreateUser(u)
			}
		}
		grant := func(n int, right, holderType, holder, org string, exp *time.Time) {
			if err == nil {
				err = tx.CreateGrant(&store.Grant{ID: fmt.Sprintf("c0000000-0000-4000-8000-%012d", n), Right: right,
					HolderType: holderType, HolderID: holder, Org: org, ExpiresAt: exp,
					Scope: store.Scope{Type: store.ScopeCVR, Value: org}, GrantedBy: "test"})
			}
		}
		mk(1, org0, p2, store.StatusActive)   // org-admin, direct
		mk(2, org0, p2, store.StatusInactive) // org-admin grant, but inactive
		mk(3, org0, p2, store.StatusActive)   // user-admin through a custom group
		mk(4, org0, p2, store.StatusActive)   // user-admin until its grant expires
		mk(5, org0, p1, store.StatusActive)   // auditor through its P-unit's system group
		mk(6, org1, "", store.StatusActive)   // user-admin of org0 as an external group member
		grant(1, "imi.superuser", store.HolderUser, user(1), org0, nil)
		grant(2, "imi.superuser", store.HolderUser, user(2), org0, nil)
		if err == nil {
			err = tx.CreateGroup(&store.Group{ID: "d0000000-0000-4000-8000-000000000001", Org: org0, Name: "admins", Kind: store.GroupCustom})
		}
		for _, m := range []string{user(3), user(6)} {
			if err == nil {
				err = tx.AddMember("d0000000-0000-4000-8000-000000000001", m)
			}
		}
		grant(3, "imi.user_admin", store.HolderGroup, "d0000000-0000-4000-8000-000000000001", org0, nil)
		grant(4, "imi.user_admin", store.HolderUser, user(4), org0, &expires)
		grant(5, "adgang.auditor", store.HolderGroup, "sys-"+p1, org0, nil)
		return err
	})

	same := func(step string, want map[string][]string) {
		t.Helper()
		for _, org := range []string{org0, org1} {
			var read map[string]any
			if err := st.View(ctx, func(tx *store.Tx) error {
				var err error
				read, err = svc.readAdminHolders(tx, org)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if links := svc.roles.holdersIn(org, now()); !reflect.DeepEqual(links, read) {
				t.Errorf("%s, org %s: holders from the role links %v, read from the store %v", step, org, links, read)
			}
			if org == org0 {
				for role, ids := range want {
					if got := read[role]; !reflect.DeepEqual(got, ids) {
						t.Errorf("%s: %s holders %v, want %v", step, role, got, ids)
					}
				}
			}
		}
	}
	same("at start", map[string][]string{"org-admin": {user(1)}, "user-admin": {user(3), user(4), user(6)}, "auditor": {user(5)}})

	// A PATCH of the P-unit moves user 5 out of the auditors' system group.
	pn := p2
	if _, _, err := svc.PatchUser(ctx, c, user(5), &UserPatchRequest{PNumber: &pn}); err != nil {
		t.Fatal(err)
	}
	same("after moving user 5", map[string][]string{"auditor": {}})

	// Inactivating user 3 ends its user-admin role.
	if _, _, err := svc.SetUserStatus(ctx, c, user(3), "user.inactivate", &StatusRequest{}); err != nil {
		t.Fatal(err)
	}
	same("after inactivating user 3", map[string][]string{"user-admin": {user(4), user(6)}})

	// User 4's grant expires: the links still hold it, with its expiry.
	clock.Add(int64(2 * time.Hour))
	same("after user 4's grant expired", map[string][]string{"org-admin": {user(1)}, "user-admin": {user(6)}})
}
