package storetest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

// OpenPersistent opens a store in a fresh directory that outlives the test
// or benchmark (for data shared by several benchmark runs) with sync
// writes off. The directory is removed when the process exits normally.
func OpenPersistent(tb testing.TB) *store.Store {
	tb.Helper()
	dir, err := os.MkdirTemp("", "adgang-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(store.Config{Dir: dir, NoSync: true, CPRKey: Key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// BenchOrgs is the number of organisations LoadUsers makes.
const BenchOrgs = 100

// BenchOrg returns the CVR number of bench organisation i.
func BenchOrg(i int) string { return ValidCVR(10000000 + i*1000) }

// BenchPNumber returns P-unit j of bench organisation i.
func BenchPNumber(i, j int) string { return fmt.Sprintf("%03d%07d", 100+i, j) }

// BenchUserID returns the id of bench user i.
func BenchUserID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// ValidCVR returns the first CVR number ≥ n that passes modulus-11 (for
// generating test organisations).
func ValidCVR(n int) string {
	w := []int{2, 7, 6, 5, 4, 3, 2, 1}
	for ; ; n++ {
		s := fmt.Sprintf("%08d", n)
		sum := 0
		for i, c := range s {
			sum += int(c-'0') * w[i]
		}
		if sum%11 == 0 && s[0] != '0' {
			return s
		}
	}
}

// LoadUsers fills a store with n users in BenchOrgs organisations of 10
// P-units each, one P-scoped grant per user. User 0 (of BenchOrg(0)) holds
// 10 direct grants (one CVR-scoped) and 5 grants through 5 custom groups.
func LoadUsers(ctx context.Context, st *store.Store, n int) error {
	_, err := st.Update(ctx, "bench", func(tx *store.Tx) error {
		for o := range BenchOrgs {
			org := &store.Org{CVR: BenchOrg(o), Name: fmt.Sprintf("Org %d", o), Type: store.OrgInstitution,
				Settings: store.OrgSettings{AllowKnock: true}}
			for j := range 10 {
				org.PUnits = append(org.PUnits, store.PUnit{PNumber: BenchPNumber(o, j)})
			}
			if err := tx.CreateOrg(org); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rights := []string{"eksamensdatabasen.view", "amp.sagsbehandler", "imi.case_worker"}
	for start := 0; start < n; start += 2000 {
		_, err = st.Update(ctx, "bench", func(tx *store.Tx) error {
			for i := start; i < start+2000 && i < n; i++ {
				o := i % BenchOrgs
				u := &store.User{ID: BenchUserID(i), Org: BenchOrg(o), Name: fmt.Sprintf("User %d", i),
					Email: fmt.Sprintf("u%d@example.dk", i), Kind: store.KindEmployee, CPRLinked: true,
					Status: store.StatusActive, PNumber: BenchPNumber(o, i%10)}
				if err := tx.CreateUser(u); err != nil {
					return err
				}
				if err := tx.CreateGrant(&store.Grant{ID: fmt.Sprintf("10000000-0000-4000-8000-%012d", i), Right: rights[i%3],
					HolderType: store.HolderUser, HolderID: u.ID, Org: u.Org,
					Scope: store.Scope{Type: store.ScopeP, Value: u.PNumber}, GrantedBy: "bench"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err = st.Update(ctx, "bench", func(tx *store.Tx) error {
		u0, cvr := BenchUserID(0), BenchOrg(0)
		for j := 1; j < 10; j++ {
			scope := store.Scope{Type: store.ScopeP, Value: BenchPNumber(0, j)}
			if j == 9 {
				scope = store.Scope{Type: store.ScopeCVR, Value: cvr}
			}
			if err := tx.CreateGrant(&store.Grant{ID: fmt.Sprintf("20000000-0000-4000-8000-%012d", j),
				Right: rights[j%3], HolderType: store.HolderUser, HolderID: u0, Org: cvr, Scope: scope, GrantedBy: "bench"}); err != nil {
				return err
			}
		}
		for j := range 5 {
			gid := fmt.Sprintf("30000000-0000-4000-8000-%012d", j)
			if err := tx.CreateGroup(&store.Group{ID: gid, Org: cvr, Name: gid, Kind: store.GroupCustom}); err != nil {
				return err
			}
			if err := tx.AddMember(gid, u0); err != nil {
				return err
			}
			if err := tx.CreateGrant(&store.Grant{ID: fmt.Sprintf("40000000-0000-4000-8000-%012d", j),
				Right: rights[j%3], HolderType: store.HolderGroup, HolderID: gid, Org: cvr,
				Scope: store.Scope{Type: store.ScopeP, Value: BenchPNumber(0, j)}, GrantedBy: "bench"}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}
