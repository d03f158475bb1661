package store

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// loginViewReference is LoginView as the Tx methods it stands for answer
// it, in one snapshot: what LoginView must equal for every input.
func loginViewReference(st *Store, cvr, subjectID, certSerial string) (*LoginView, error) {
	v := &LoginView{Revision: st.rev.Load()}
	err := st.View(context.Background(), func(tx *Tx) error {
		u, err := tx.GetUser(subjectID)
		if IsNotFound(err) && strings.HasPrefix(subjectID, "CVR:") {
			u, err = tx.UserByLegacyID(subjectID)
		}
		switch {
		case err == nil:
			v.User = u
		case !IsNotFound(err):
			return err
		}
		if o, err := tx.GetOrg(cvr); err == nil {
			v.Org = o
		} else if !IsNotFound(err) {
			return err
		}
		var groups []string
		if u != nil {
			if v.Grants, groups, err = tx.effectiveGrantsAndGroups(u, 0); err != nil {
				return err
			}
			for i := range v.Grants {
				g := &v.Grants[i]
				if g.Source == "direct" || g.Org == u.Org {
					continue
				}
				if o, err := tx.GetOrg(g.Org); err == nil {
					if v.GrantOrgs == nil {
						v.GrantOrgs = map[string]*Org{}
					}
					v.GrantOrgs[g.Org] = o
				} else if !IsNotFound(err) {
					return err
				}
			}
		}
		v.Deps = loginDeps(v, cvr, subjectID, certSerial, groups)
		if certSerial != "" {
			if c, err := tx.GetCertificate(certSerial); err == nil {
				v.Certificate = c
			} else if !IsNotFound(err) {
				return err
			}
		}
		return nil
	})
	return v, err
}

// TestLoginViewMatchesTxMethods: after every step of random writes (users,
// legacy ids, P-units, groups, external memberships, grants, certificates,
// last-login times written without a revision), LoginView answers exactly
// what the Tx methods do, for known and unknown subjects, by id and by
// legacy id, twice (the second through its caches), and what a caller
// changes in an answer never reaches a later one.
func TestLoginViewMatchesTxMethods(t *testing.T) {
	st, err := Open(Config{Dir: t.TempDir(), NoSync: true, CPRKey: make([]byte, 32), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))

	var cvrs []string
	for n := 10000000; len(cvrs) < 3; n++ {
		if ValidCVR(strconv.Itoa(n)) == nil {
			cvrs = append(cvrs, strconv.Itoa(n))
		}
	}
	pnum := func(o, j int) string { return fmt.Sprintf("%03d%07d", 100+o, j) }
	userID := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	legacy := func(i int) string { return "CVR:" + cvrs[i%len(cvrs)] + "-RID:" + strconv.Itoa(1000+i) }
	groupID := func(o, j int) string { return fmt.Sprintf("g%d-%d", o, j) }
	rights := []string{"svc.a", "svc.b", "svc.c"}
	const users, groupsPerOrg = 12, 4
	_, err = st.Update(ctx, "t", func(tx *Tx) error {
		for _, r := range rights {
			if err := tx.PutRight(&Right{ID: r, Title: r, Service: "svc"}); err != nil {
				return err
			}
		}
		for o, cvr := range cvrs {
			org := &Org{CVR: cvr, Name: "Org " + cvr, Type: OrgInstitution}
			for j := range 3 {
				org.PUnits = append(org.PUnits, PUnit{PNumber: pnum(o, j)})
			}
			if err := tx.CreateOrg(org); err != nil {
				return err
			}
			for j := range groupsPerOrg {
				if err := tx.CreateGroup(&Group{ID: groupID(o, j), Org: cvr, Name: "G"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	exists, revoked := map[int]bool{}, map[int]bool{}
	var grantIDs []string
	grantN := 0
	step := func() error {
		_, err := st.Update(ctx, "t", func(tx *Tx) error {
			for range 1 + rnd.IntN(4) {
				i := rnd.IntN(users)
				o := i % len(cvrs)
				id := userID(i)
				switch op := rnd.IntN(11); {
				case !exists[i] || op == 0: // create, or recreate with another P-unit
					if exists[i] {
						if err := tx.DeleteUser(id); err != nil {
							return err
						}
					}
					u := &User{ID: id, Org: cvrs[o], Name: "U" + strconv.Itoa(i), Kind: KindEmployee, Status: StatusActive}
					if rnd.IntN(3) > 0 {
						// P-unit 2 and 3 come and go; 5 is no org's, with a
						// system group written key by key (op 10).
						u.PNumber = pnum(o, []int{0, 1, 2, 3, 5}[rnd.IntN(5)])
					}
					if rnd.IntN(2) == 0 {
						u.LegacyID = legacy(i)
					}
					if rnd.IntN(3) == 0 {
						u.IdentificationMeans = []string{"mitid"}
					}
					if err := tx.CreateUser(u); err != nil {
						return err
					}
					exists[i] = true
				case op <= 4: // a grant to the user or to a group
					gid := fmt.Sprintf("gr-%d", grantN)
					grantN++
					g := &Grant{ID: gid, Right: rights[rnd.IntN(len(rights))], Scope: Scope{Type: ScopeCVR}}
					if rnd.IntN(2) == 0 {
						g.HolderType, g.HolderID, g.Org = HolderUser, id, cvrs[o]
					} else {
						go_ := rnd.IntN(len(cvrs))
						g.HolderType, g.HolderID, g.Org = HolderGroup, groupID(go_, rnd.IntN(groupsPerOrg)), cvrs[go_]
					}
					g.Scope.Value = g.Org
					if rnd.IntN(4) == 0 {
						exp := time.Unix(2_000_000_000+int64(rnd.IntN(1000)), 0).UTC()
						g.ExpiresAt = &exp
					}
					if g.HolderType == HolderGroup {
						if err := ensureGroup(tx, g.HolderID, g.Org); err != nil {
							return err
						}
					}
					if err := tx.CreateGrant(g); err != nil {
						return err
					}
					grantIDs = append(grantIDs, gid)
				case op == 5 && len(grantIDs) > 0:
					k := rnd.IntN(len(grantIDs))
					if err := tx.DeleteGrant(grantIDs[k]); err != nil && !IsNotFound(err) {
						return err
					}
					grantIDs = append(grantIDs[:k], grantIDs[k+1:]...)
				case op <= 7: // a membership, also of another org's group (M16)
					go_ := o
					if rnd.IntN(3) == 0 {
						go_ = rnd.IntN(len(cvrs))
					}
					gid := groupID(go_, rnd.IntN(groupsPerOrg))
					if err := ensureGroup(tx, gid, cvrs[go_]); err != nil {
						return err
					}
					if err := tx.AddMember(gid, id); err != nil {
						return err
					}
				case op == 8:
					gids := tx.keys(prefixGroupByMember + id + "/")
					if len(gids) > 0 {
						if err := tx.RemoveMember(gids[rnd.IntN(len(gids))], id); err != nil {
							return err
						}
					}
				case op == 9 && rnd.IntN(3) == 0: // P-units come and go, and with them system groups
					org, err := tx.GetOrg(cvrs[o])
					if err != nil {
						return err
					}
					org.PUnits = nil
					for j := range 4 {
						if j < 2 || rnd.IntN(2) == 0 {
							org.PUnits = append(org.PUnits, PUnit{PNumber: pnum(o, j)})
						}
					}
					if err := tx.UpdateOrg(org); err != nil {
						return err
					}
				case op == 9 && rnd.IntN(2) == 0: // a custom group goes, with its grants and members
					if err := tx.DeleteGroup(groupID(o, rnd.IntN(groupsPerOrg))); err != nil && !IsNotFound(err) {
						return err
					}
				case op == 10: // P-unit 5's system group, its index entry and record apart
					p := pnum(o, 5)
					switch rnd.IntN(4) {
					case 0:
						if err := tx.set(prefixGroupByPUnit+p, []byte(systemGroupID(p))); err != nil {
							return err
						}
					case 1:
						if err := tx.del(prefixGroupByPUnit + p); err != nil {
							return err
						}
					case 2:
						if err := tx.setJSON(prefixGroup+systemGroupID(p), &Group{ID: systemGroupID(p), Org: cvrs[rnd.IntN(len(cvrs))],
							Kind: GroupSystem, PNumber: p}); err != nil {
							return err
						}
					default:
						if err := tx.del(prefixGroup + systemGroupID(p)); err != nil {
							return err
						}
					}
				default: // revocation is irreversible
					status := "active"
					if revoked[i] || rnd.IntN(3) == 0 {
						status, revoked[i] = "revoked", true
					}
					if err := tx.PutCertificate(&Certificate{Serial: "s" + strconv.Itoa(i), Org: cvrs[o], UserID: id,
						Type: "user", Status: status}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		return err
	}
	check := func(round int) {
		t.Helper()
		for i := range users + 1 { // one never made
			for _, subject := range []string{userID(i), legacy(i)} {
				cvr := cvrs[rnd.IntN(len(cvrs))]
				if rnd.IntN(5) == 0 {
					cvr = "99999999" // unknown
				}
				cert := ""
				if rnd.IntN(2) == 0 {
					cert = "s" + strconv.Itoa(i)
				}
				want, err := loginViewReference(st, cvr, subject, cert)
				if err != nil {
					t.Fatal(err)
				}
				for range 2 {
					got, err := st.LoginView(ctx, cvr, subject, cert)
					if err != nil {
						t.Fatal(err)
					}
					// Deps is a set: the orgs of GrantOrgs come in map order.
					sortDeps(got.Deps)
					sortDeps(want.Deps)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("round %d, %s for %s: LoginView differs: %s", round, subject, cvr, viewDiff(got, want))
					}
					if u := got.User; u != nil { // a caller's change stays its own
						u.Name = "changed"
						u.IdentificationMeans = append(u.IdentificationMeans[:0:0], "x")
						now := time.Now()
						u.LastLogin = &now
					}
				}
			}
		}
	}
	for round := range 150 {
		if err := step(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if round%7 == 3 { // a last login written without a revision
			if err := st.TouchLogins(ctx, map[string]time.Time{userID(rnd.IntN(users)): time.Unix(1_700_000_000+int64(round), 0).UTC()}); err != nil {
				t.Fatal(err)
			}
		}
		check(round)
	}
}

func sortDeps(d []Dep) {
	slices.SortFunc(d, func(a, b Dep) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })
}

// viewDiff names the fields in which two views differ, with both values.
func viewDiff(got, want *LoginView) string {
	var b strings.Builder
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			fmt.Fprintf(&b, "\n%s:\n  %s\nwant\n  %s", gv.Type().Field(i).Name, deref(g), deref(w))
		}
	}
	return b.String()
}

func deref(v any) string {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		v = rv.Elem().Interface()
	}
	return fmt.Sprintf("%+v", v)
}

// ensureGroup makes custom group id of org cvr unless it exists.
func ensureGroup(tx *Tx, id, cvr string) error {
	if _, err := tx.GetGroup(id); !IsNotFound(err) {
		return err
	}
	return tx.CreateGroup(&Group{ID: id, Org: cvr, Name: "G"})
}

// TestLoginViewConcurrentWrites: while one writer replaces, in each
// revision, a user's name and every grant of the user and of its two
// groups by a new generation's, concurrent LoginViews each see one
// generation (one snapshot, never cached scans of another), and a view
// read after a write returns sees that write (read-your-writes).
func TestLoginViewConcurrentWrites(t *testing.T) {
	st, cvr := viewStore(t)
	ctx := context.Background()
	const uid = "00000000-0000-4000-8000-000000000001"
	holders := []string{"", "ga", "gb"} // the user, then its groups
	grantID := func(gen int, h string) string { return fmt.Sprintf("gen%d-%s", gen, h) }
	write := func(gen int) (uint64, error) {
		return st.Update(ctx, "t", func(tx *Tx) error {
			if gen == 0 {
				if err := tx.PutRight(&Right{ID: "r", Title: "r", Service: "s"}); err != nil {
					return err
				}
				if err := tx.CreateOrg(&Org{CVR: cvr, Name: "O", Type: OrgInstitution}); err != nil {
					return err
				}
				if err := tx.CreateUser(&User{ID: uid, Org: cvr, Name: "0", Kind: KindEmployee, Status: StatusActive}); err != nil {
					return err
				}
				for _, g := range holders[1:] {
					if err := tx.CreateGroup(&Group{ID: g, Org: cvr, Name: g}); err != nil {
						return err
					}
					if err := tx.AddMember(g, uid); err != nil {
						return err
					}
				}
			} else {
				u, err := tx.GetUser(uid)
				if err != nil {
					return err
				}
				u.Name = strconv.Itoa(gen)
				if err := tx.UpdateUser(u); err != nil {
					return err
				}
				for _, h := range holders {
					if err := tx.DeleteGrant(grantID(gen-1, h)); err != nil {
						return err
					}
				}
			}
			for _, h := range holders {
				g := &Grant{ID: grantID(gen, h), Right: "r", HolderType: HolderGroup, HolderID: h, Org: cvr, Scope: Scope{Type: ScopeCVR, Value: cvr}}
				if h == "" {
					g.HolderType, g.HolderID = HolderUser, uid
				}
				if err := tx.CreateGrant(g); err != nil {
					return err
				}
			}
			return nil
		})
	}
	consistent := func(v *LoginView) error {
		if v.User == nil || len(v.Grants) != len(holders) {
			return fmt.Errorf("view at %d: user %v, %d grants", v.Revision, v.User != nil, len(v.Grants))
		}
		gen, _ := strconv.Atoi(v.User.Name)
		for i, h := range holders {
			if want := grantID(gen, h); v.Grants[i].ID != want {
				return fmt.Errorf("view at %d: user of generation %d with grant %s", v.Revision, gen, v.Grants[i].ID)
			}
		}
		return nil
	}
	if _, err := write(0); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				v, err := st.LoginView(ctx, cvr, uid, "")
				if err == nil {
					err = consistent(v)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for gen := 1; gen <= 300; gen++ {
		rev, err := write(gen)
		if err != nil {
			t.Fatal(err)
		}
		v, err := st.LoginView(ctx, cvr, uid, "")
		if err != nil {
			t.Fatal(err)
		}
		if v.Revision < rev || v.User.Name != strconv.Itoa(gen) {
			t.Fatalf("after the write of generation %d (revision %d): view at %d of generation %s", gen, rev, v.Revision, v.User.Name)
		}
		if err := consistent(v); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoginViewUnpublishedRevision: a snapshot taken while a write is
// committed but its revision not yet published holds that write: the view
// must read it whole from the snapshot, never mix in a group's grant list
// cached at the revision before (the write is in the dependency table
// before its commit). The shared snapshot of the published revision, taken
// before, is read whole at that revision. Once published, the next view is
// that revision's.
func TestLoginViewUnpublishedRevision(t *testing.T) {
	st, cvr := viewStore(t)
	ctx := context.Background()
	const uid = "00000000-0000-4000-8000-000000000001"
	grant := func(gen int) *Grant {
		return &Grant{ID: fmt.Sprintf("gen%d", gen), Right: "r", HolderType: HolderGroup, HolderID: "ga", Org: cvr, Scope: Scope{Type: ScopeCVR, Value: cvr}}
	}
	_, err := st.Update(ctx, "t", func(tx *Tx) error {
		if err := tx.PutRight(&Right{ID: "r", Title: "r", Service: "s"}); err != nil {
			return err
		}
		if err := tx.CreateOrg(&Org{CVR: cvr, Name: "O", Type: OrgInstitution}); err != nil {
			return err
		}
		if err := tx.CreateUser(&User{ID: uid, Org: cvr, Name: "0", Kind: KindEmployee, Status: StatusActive}); err != nil {
			return err
		}
		if err := tx.CreateGroup(&Group{ID: "ga", Org: cvr, Name: "ga"}); err != nil {
			return err
		}
		if err := tx.AddMember("ga", uid); err != nil {
			return err
		}
		return tx.CreateGrant(grant(0))
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(wantRev uint64, wantGen int) {
		t.Helper()
		for range 2 { // the second through the group cache
			v, err := st.LoginView(ctx, cvr, uid, "")
			if err != nil {
				t.Fatal(err)
			}
			want := strconv.Itoa(wantGen)
			if v.Revision != wantRev || v.User.Name != want || len(v.Grants) != 1 || v.Grants[0].ID != "gen"+want {
				t.Fatalf("view at %d of user %s with %d grants (%+v), want revision %d of generation %d",
					v.Revision, v.User.Name, len(v.Grants), v.Grants, wantRev, wantGen)
			}
		}
	}
	rev := st.Revision()
	check(rev, 0)

	// The write of generation 1, through Update; the checks run inside it,
	// after its commit and before its revision is published.
	checked := false
	st.afterCommit = func() {
		// The published revision's shared snapshot (readsnap.go) is still
		// current: read whole at that revision.
		check(rev, 0)
		// A snapshot taken now holds the write: labelled with the published
		// revision, read whole at the new one.
		if cur := st.snap.Swap(nil); cur != nil {
			cur.release()
		}
		check(rev, 1)
		checked = true
	}
	_, err = st.Update(ctx, "t", func(tx *Tx) error {
		u, err := tx.GetUser(uid)
		if err != nil {
			return err
		}
		u.Name = "1"
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if err := tx.DeleteGrant("gen0"); err != nil {
			return err
		}
		return tx.CreateGrant(grant(1))
	})
	st.afterCommit = nil
	if err != nil || !checked {
		t.Fatalf("write: %v, checked between commit and publication: %v", err, checked)
	}
	check(rev+1, 1)
}

// viewStore is an empty store (closed with the test) and a valid CVR.
func viewStore(t *testing.T) (*Store, string) {
	t.Helper()
	st, err := Open(Config{Dir: t.TempDir(), NoSync: true, CPRKey: make([]byte, 32), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for n := 10000000; ; n++ {
		if ValidCVR(strconv.Itoa(n)) == nil {
			return st, strconv.Itoa(n)
		}
	}
}
