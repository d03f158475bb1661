package admin

import (
	"context"
	"fmt"
	"testing"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// BenchmarkPatchUser is one administrator's routine edit (a user's name)
// through the change service, as the write-mix phase of adgang-bench sends
// it: plan, the adgang.admin rules, the write, audit. A store of 2,000
// bench users; every op writes another user.
func BenchmarkPatchUser(b *testing.B) {
	ctx := context.Background()
	const n = 2000
	// Three user administrators per organisation, as a real one has: a
	// change reads the admin holders of the user's organisation.
	_, svc, c := newTestService(b, n, nil, func(tx *store.Tx) error {
		for i := range 3 * storetest.BenchOrgs {
			u := storetest.BenchUserID(i)
			org := storetest.BenchOrg(i % storetest.BenchOrgs)
			if err := tx.CreateGrant(&store.Grant{ID: fmt.Sprintf("a0000000-0000-4000-8000-%012d", i), Right: "imi.user_admin",
				HolderType: store.HolderUser, HolderID: u, Org: org,
				Scope: store.Scope{Type: store.ScopeCVR, Value: org}, GrantedBy: "bench"}); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("Bench write %d", i)
		if _, _, err := svc.PatchUser(ctx, c, storetest.BenchUserID(i%n), &UserPatchRequest{Name: &name}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
