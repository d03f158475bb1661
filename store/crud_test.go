package store_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// wantCode fails unless err is an *Error with the given code (and rule,
// if rule is not empty).
func wantCode(t *testing.T, err error, code, rule string) {
	t.Helper()
	var se *store.Error
	if !errors.As(err, &se) || se.Code != code || (rule != "" && se.Rule != rule) {
		t.Fatalf("err = %v, want %s %s", err, code, rule)
	}
}

func TestValidCVRTable(t *testing.T) {
	// Computed with the weights 2,7,6,5,4,3,2,1 (sum mod 11 = 0).
	for _, s := range []string{"12345674", "55133018", "25313763", "30808460", "12345682", "10000009", "10000017"} {
		if err := store.ValidCVR(s); err != nil {
			t.Errorf("ValidCVR(%s) = %v", s, err)
		}
		if err := store.ValidSE(s); err != nil {
			t.Errorf("ValidSE(%s) = %v", s, err)
		}
	}
	for _, s := range []string{"12345675", "10000000", "87654321", "11111111", "02345674", "1234567", "123456740", " 12345674"} {
		if store.ValidCVR(s) == nil {
			t.Errorf("ValidCVR(%q) accepted", s)
		}
	}
}

func TestCPRHasherAndMask(t *testing.T) {
	h := store.NewCPRHasher([]byte("k1"))
	a, b := h.Hash("0101901234"), h.Hash("010190-1234")
	if a != b || len(a) != 64 {
		t.Fatalf("dashed and plain forms hash differently: %s %s", a, b)
	}
	if h.Hash("010190-ab12") != h.Hash("010190AB12") {
		t.Error("KOT serial case changes the hash")
	}
	if store.NewCPRHasher([]byte("k2")).Hash("0101901234") == a {
		t.Error("the key does not change the hash")
	}
	if strings.Contains(a, "0101901234") {
		t.Error("hash contains the number")
	}
	for in, want := range map[string]string{"0101901234": "010190-****", "010190-1234": "010190-****",
		"": "******-****", "abc": "******-****", "01x190-1234": "******-****"} {
		if got := store.MaskCPR(in); got != want {
			t.Errorf("MaskCPR(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"010190ıı", "010190ſſ", "0101901234567"} {
		if _, err := store.ParseCPR(bad); err == nil {
			t.Errorf("ParseCPR(%q) accepted", bad)
		}
	}
}

func TestUserSecretsStoredButNotShown(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, NoSync: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	seedOrgs(t, st)
	hash := st.HashCPR("0101901234")
	mustUpdate(t, st, func(tx *store.Tx) error {
		return tx.CreateUser(newUser(1, func(u *store.User) {
			u.CPRHash, u.CPRMasked, u.CPREncrypted = hash, "010190-****", []byte{1, 2, 3}
			u.Password = &store.Password{Hash: "$argon2id$x", Temporary: true}
			u.ActivationHash = "act"
		}))
	})
	st.Close()
	st, err = store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, NoSync: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	view(t, st, func(tx *store.Tx) error {
		u, err := tx.UserByCPRHash(cvrA, hash)
		if err != nil {
			return err
		}
		if u.CPRHash != hash || string(u.CPREncrypted) != "\x01\x02\x03" || u.Password == nil || !u.Password.Temporary ||
			u.ActivationHash != "act" || u.Status != store.StatusActive {
			t.Errorf("secrets lost: %+v", u)
		}
		b, _ := json.Marshal(u)
		for _, leak := range []string{hash, "argon2id", "act\""} {
			if strings.Contains(string(b), leak) {
				t.Errorf("API form shows %q: %s", leak, b)
			}
		}
		return nil
	})
}

// TestRefusedWriteLeavesNoIndex: a caller may report a refused row and go
// on (non-atomic import). The refused user must leave nothing behind.
func TestRefusedWriteLeavesNoIndex(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		// New email, username taken: refused after the email was checked.
		err := tx.CreateUser(newUser(2, func(u *store.User) { u.Username = "user1"; u.LegacyID = "CVR:12345674-RID:2" }))
		wantCode(t, err, store.EConflict, "A12")
		// Update: new email, clashing CPR hash.
		if err := tx.CreateUser(newUser(3, func(u *store.User) { u.CPRHash = "h3" })); err != nil {
			return err
		}
		u1, err := tx.GetUser(uid(1))
		if err != nil {
			return err
		}
		u1.Email, u1.CPRHash = "moved@example.dk", "h3"
		wantCode(t, tx.UpdateUser(u1), store.EConflict, "A12")
		return nil // go on, as a per-row import would
	})
	view(t, st, func(tx *store.Tx) error {
		for _, look := range []func() (*store.User, error){
			func() (*store.User, error) { return tx.UserByEmail("u2@example.dk") },
			func() (*store.User, error) { return tx.UserByLegacyID("CVR:12345674-RID:2") },
			func() (*store.User, error) { return tx.UserByEmail("moved@example.dk") },
		} {
			if u, err := look(); !store.IsNotFound(err) {
				t.Errorf("refused change left an index: %v %v", u, err)
			}
		}
		if u, err := tx.UserByEmail("u1@example.dk"); err != nil || u.ID != uid(1) {
			t.Errorf("user 1 lost its email: %v", err)
		}
		if u, err := tx.UserByCPRHash(cvrA, "h3"); err != nil || u.ID != uid(3) {
			t.Errorf("user 3 lost its CPR hash: %v", err)
		}
		return nil
	})
}

// TestTxnTooBig: an Update larger than one Badger transaction fails with
// a clear error, writes nothing, and cannot be committed by swallowing it.
func TestTxnTooBig(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	rev := st.Revision()
	big := strings.Repeat("x", 600<<10)
	for _, swallow := range []bool{false, true} {
		var seen error
		_, err := st.Update(ctx, "test", func(tx *store.Tx) error {
			for i := 1; i <= 40; i++ {
				if err := tx.CreateUser(newUser(i, func(u *store.User) { u.Justification = big })); err != nil {
					seen = err
					if swallow {
						return nil
					}
					return err
				}
			}
			return nil
		})
		var se *store.Error
		if !errors.As(err, &se) || se.ReasonCode() != store.ReasonTooLarge || !errors.As(seen, &se) {
			t.Fatalf("swallow=%v: err = %v (fn saw %v), want %s", swallow, err, seen, store.ReasonTooLarge)
		}
		if st.Revision() != rev {
			t.Fatal("revision moved")
		}
		view(t, st, func(tx *store.Tx) error {
			if _, err := tx.GetUser(uid(1)); !store.IsNotFound(err) {
				t.Errorf("too-big update left user 1: %v", err)
			}
			return nil
		})
	}
}

func TestReadOnlyTxRefusesWrites(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	rev := st.Revision()
	err := st.View(ctx, func(tx *store.Tx) error {
		for name, w := range map[string]func() error{
			"CreateUser": func() error { return tx.CreateUser(newUser(1, nil)) },
			"PutRight":   func() error { return tx.PutRight(&store.Right{ID: "x.y", Service: "x"}) },
			"PutMeta":    func() error { return tx.PutMeta("k", 1) },
			"CreateOrg":  func() error { return tx.CreateOrg(&store.Org{CVR: "25313763"}) },
		} {
			if err := w(); err == nil {
				t.Errorf("%s succeeded in a read transaction", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Revision() != rev {
		t.Fatal("a view moved the revision")
	}
}

func TestRightsCatalogue(t *testing.T) {
	st := storetest.Open(t)
	view(t, st, func(tx *store.Tx) error {
		rights, err := tx.ListRights()
		if err != nil {
			return err
		}
		byID := map[string]*store.Right{}
		for _, r := range rights {
			byID[r.ID] = r
		}
		for _, d := range store.DefaultRights() {
			if got := byID[d.ID]; got == nil || *got != d {
				t.Errorf("right %s seeded as %+v, want %+v", d.ID, got, d)
			}
		}
		eks := byID["eksamensdatabasen.view"]
		if eks == nil || !eks.NoGroup || !eks.NoSE || !eks.RequireCPR || !eks.EmployeesOnly || eks.Service != "eksamensdatabasen" {
			t.Errorf("eksamensdatabasen.view flags: %+v", eks)
		}
		for id, role := range map[string]store.AdminRole{"amp.lba": store.RoleUserAdmin, "mitid_erhverv.org_admin": store.RoleOrgAdmin,
			"unilogin.admin": store.RoleOrgAdmin, "imi.superuser": store.RoleOrgAdmin, "adgang.auditor": store.RoleAuditor} {
			if byID[id] == nil || byID[id].AdminRole != role {
				t.Errorf("%s admin role: %+v", id, byID[id])
			}
		}
		if !byID["amp.lss"].Forbidden || !byID["amp.webservice"].Forbidden || !byID["amp.jobnet_jobordrer"].Deprecated {
			t.Error("AMP flags wrong")
		}
		evs, _ := tx.AuditSince(0)
		if len(evs) != len(store.DefaultRights()) || evs[0].Actor != "system" || evs[0].Type != "right.put" {
			t.Errorf("seed audit: %d events, first %+v", len(evs), evs[0])
		}
		return nil
	})
	mustUpdate(t, st, func(tx *store.Tx) error {
		r, err := tx.GetRight("amp.sagsbehandler")
		if err != nil {
			return err
		}
		r.Deprecated = true
		return tx.PutRight(r)
	})
	view(t, st, func(tx *store.Tx) error {
		if r, err := tx.GetRight("amp.sagsbehandler"); err != nil || !r.Deprecated {
			t.Errorf("PutRight not stored: %+v %v", r, err)
		}
		if _, err := tx.GetRight("nope"); !store.IsNotFound(err) {
			t.Errorf("unknown right: %v", err)
		}
		return nil
	})
	_, err := st.Update(ctx, "t", func(tx *store.Tx) error { return tx.PutRight(&store.Right{ID: ""}) })
	wantCode(t, err, store.EInvalid, "")
}

func TestGrantValidation(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateUser(newUser(1, nil)) })
	ok := store.Grant{ID: "g1", Right: "amp.sagsbehandler", HolderType: store.HolderUser, HolderID: uid(1), Org: cvrA,
		Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}}
	tests := []struct {
		name string
		mut  func(*store.Grant)
		code string
	}{
		{"unknown holder type", func(g *store.Grant) { g.HolderType = "org" }, store.EInvalid},
		{"missing user", func(g *store.Grant) { g.HolderID = uid(9) }, store.ENotFound},
		{"missing group", func(g *store.Grant) { g.HolderType, g.HolderID = store.HolderGroup, "nope" }, store.ENotFound},
		{"scope type", func(g *store.Grant) { g.Scope.Type = "org" }, store.EInvalid},
		{"scope value", func(g *store.Grant) { g.Scope.Value = "" }, store.EInvalid},
		{"unknown right", func(g *store.Grant) { g.Right = "nope" }, store.ENotFound},
		// Business rules are Rego's: a forbidden right on an SE-number is stored.
		{"forbidden right stored", func(g *store.Grant) {
			g.Right, g.Scope = "amp.lss", store.Scope{Type: store.ScopeSE, Value: "29190003"}
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := ok
			tc.mut(&g)
			_, err := st.Update(ctx, "t", func(tx *store.Tx) error { return tx.CreateGrant(&g) })
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code, "")
		})
	}
	_, err := st.Update(ctx, "t", func(tx *store.Tx) error { g := ok; return tx.CreateGrant(&g) })
	wantCode(t, err, store.EConflict, "")
	view(t, st, func(tx *store.Tx) error {
		gs, err := tx.GrantsOfUser(uid(1))
		if err != nil || len(gs) != 1 || gs[0].Right != "amp.lss" || gs[0].GrantedAt.IsZero() {
			t.Errorf("grants of user: %+v %v", gs, err)
		}
		h, _ := tx.History(uid(1), time.Time{}, time.Time{}, "grant.create", 0)
		if len(h) != 1 || h[0].Details["right"] != "amp.lss" || h[0].Org != cvrA {
			t.Errorf("grant history: %+v", h)
		}
		return nil
	})
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteGrant("g1") })
	_, err = st.Update(ctx, "t", func(tx *store.Tx) error { return tx.DeleteGrant("g1") })
	wantCode(t, err, store.ENotFound, "")
}

func TestCustomGroups(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		// Custom groups may hold users of other orgs.
		if err := tx.CreateUser(newUser(2, func(u *store.User) { u.Org, u.PNumber = cvrB, "" })); err != nil {
			return err
		}
		if err := tx.CreateGroup(&store.Group{ID: "grp", Org: cvrA, Name: "G"}); err != nil {
			return err
		}
		for _, u := range []string{uid(1), uid(2), uid(1)} { // the repeat is a no-op
			if err := tx.AddMember("grp", u); err != nil {
				return err
			}
		}
		return tx.CreateGrant(&store.Grant{ID: "gg", Right: "imi.case_worker", HolderType: store.HolderGroup, HolderID: "grp",
			Org: cvrA, Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}})
	})
	for _, tc := range []struct {
		name string
		fn   func(tx *store.Tx) error
		code string
		rule string
	}{
		{"duplicate id", func(tx *store.Tx) error { return tx.CreateGroup(&store.Group{ID: "grp", Org: cvrA}) }, store.EConflict, ""},
		{"reserved id", func(tx *store.Tx) error { return tx.CreateGroup(&store.Group{ID: "sys-x", Org: cvrA}) }, store.EInvalid, ""},
		{"system kind", func(tx *store.Tx) error {
			return tx.CreateGroup(&store.Group{ID: "g2", Org: cvrA, Kind: store.GroupSystem})
		}, store.EForbidden, "A13"},
		{"unknown org", func(tx *store.Tx) error { return tx.CreateGroup(&store.Group{ID: "g3", Org: "25313763"}) }, store.ENotFound, ""},
		{"member of missing group", func(tx *store.Tx) error { return tx.AddMember("nope", uid(1)) }, store.ENotFound, ""},
		{"missing member", func(tx *store.Tx) error { return tx.AddMember("grp", uid(9)) }, store.ENotFound, ""},
		{"remove non-member", func(tx *store.Tx) error { return tx.RemoveMember("grp", uid(9)) }, store.ENotFound, ""},
		{"remove from system group", func(tx *store.Tx) error { return tx.RemoveMember("sys-"+pA1, uid(1)) }, store.EForbidden, "A13"},
		{"delete system group", func(tx *store.Tx) error { return tx.DeleteGroup("sys-" + pA1) }, store.EForbidden, "A13"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Update(ctx, "t", tc.fn)
			wantCode(t, err, tc.code, tc.rule)
		})
	}
	view(t, st, func(tx *store.Tx) error {
		if m, _ := tx.Members("grp"); len(m) != 2 {
			t.Errorf("members %v", m)
		}
		if gs, _ := tx.GroupsOfUser(uid(1)); len(gs) != 2 || gs[0] != "grp" || gs[1] != "sys-"+pA1 {
			t.Errorf("groups of user 1: %v", gs)
		}
		if gs, _ := tx.GroupsOfUser(uid(2)); len(gs) != 1 {
			t.Errorf("groups of user 2: %v", gs)
		}
		eg, _ := tx.EffectiveGrants(uid(2))
		if len(eg) != 1 || eg[0].Source != "grp" {
			t.Errorf("effective grants of user 2: %+v", eg)
		}
		return nil
	})
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.RemoveMember("grp", uid(2)) })
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteGroup("grp") })
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.GetGrant("gg"); !store.IsNotFound(err) {
			t.Error("group grant survived its group")
		}
		if gs, _ := tx.GroupsOfUser(uid(1)); len(gs) != 1 {
			t.Errorf("membership survived its group: %v", gs)
		}
		if gs, _ := tx.ListGroups(cvrA); len(gs) != 2 {
			t.Errorf("groups of org A: %d, want the 2 system groups", len(gs))
		}
		return nil
	})
}

// TestSystemGroupsBelongToOneOrg: a P-number names one org's P-unit; a
// user of another org with that P-number joins no system group.
func TestSystemGroupsBelongToOneOrg(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		return tx.CreateUser(newUser(2, func(u *store.User) { u.Org = cvrB })) // P-number pA1 of org A
	})
	view(t, st, func(tx *store.Tx) error {
		if m, _ := tx.Members("sys-" + pA1); len(m) != 1 || m[0] != uid(1) {
			t.Errorf("system members %v", m)
		}
		if gs, _ := tx.GroupsOfUser(uid(2)); len(gs) != 0 {
			t.Errorf("foreign user in a system group: %v", gs)
		}
		return nil
	})
	for _, tc := range []struct {
		name string
		fn   func(tx *store.Tx) error
		code string
	}{
		{"P-unit of another org", func(tx *store.Tx) error {
			return tx.CreateOrg(&store.Org{CVR: "25313763", PUnits: []store.PUnit{{PNumber: "3000000001"}, {PNumber: pA1}}})
		}, store.EConflict},
		{"P-unit twice", func(tx *store.Tx) error {
			o, _ := tx.GetOrg(cvrB)
			o.PUnits = []store.PUnit{{PNumber: "2000000001"}, {PNumber: "2000000001"}}
			return tx.UpdateOrg(o)
		}, store.EInvalid},
		{"bad P-number", func(tx *store.Tx) error {
			o, _ := tx.GetOrg(cvrB)
			o.PUnits = []store.PUnit{{PNumber: "20000/0001"}}
			return tx.UpdateOrg(o)
		}, store.EInvalid},
		{"bad user P-number", func(tx *store.Tx) error {
			return tx.CreateUser(newUser(3, func(u *store.User) { u.PNumber = "1/" }))
		}, store.EInvalid},
		{"update of unknown org", func(tx *store.Tx) error { return tx.UpdateOrg(&store.Org{CVR: "25313763"}) }, store.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Update(ctx, "t", tc.fn)
			wantCode(t, err, tc.code, "")
		})
	}
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.GetOrg("25313763"); !store.IsNotFound(err) {
			t.Error("refused org stored")
		}
		if _, err := tx.SystemGroup("3000000001"); !store.IsNotFound(err) {
			t.Error("refused org left a system group")
		}
		return nil
	})
	// Adding and renaming P-units follows into the system groups.
	mustUpdate(t, st, func(tx *store.Tx) error {
		o, _ := tx.GetOrg(cvrA)
		o.PUnits = []store.PUnit{{PNumber: pA1, Name: "Renamed"}, {PNumber: pA2}, {PNumber: "1000000003", Name: "New"}}
		return tx.UpdateOrg(o)
	})
	view(t, st, func(tx *store.Tx) error {
		for p, name := range map[string]string{pA1: "Renamed", pA2: pA2, "1000000003": "New"} {
			if g, err := tx.SystemGroup(p); err != nil || g.Name != name || g.Org != cvrA || g.PNumber != p {
				t.Errorf("system group of %s: %+v %v", p, g, err)
			}
		}
		return nil
	})
}

func TestKnockQueue(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.PutKnock(&store.Knock{ID: "k1", Org: cvrA, SubjectID: uid(7), UUID: uid(7), First: now, Last: now, Count: 1}); err != nil {
			return err
		}
		return tx.PutKnock(&store.Knock{ID: "k2", Org: cvrA, SubjectID: "CVR:12345674-RID:7", LegacyID: "CVR:12345674-RID:7", First: now, Last: now, Count: 1})
	})
	mustUpdate(t, st, func(tx *store.Tx) error {
		k, err := tx.KnockBySubject(cvrA, uid(7))
		if err != nil {
			return err
		}
		k.Count++
		k.Last = now.Add(time.Hour)
		return tx.PutKnock(k)
	})
	_, err := st.Update(ctx, "t", func(tx *store.Tx) error {
		return tx.PutKnock(&store.Knock{ID: "k3", Org: cvrA, SubjectID: uid(7)})
	})
	wantCode(t, err, store.EConflict, "")
	view(t, st, func(tx *store.Tx) error {
		ks, err := tx.ListKnocks(cvrA)
		if err != nil || len(ks) != 2 || ks[0].ID != "k1" || ks[0].Count != 2 || !ks[0].Last.Equal(now.Add(time.Hour)) {
			t.Errorf("knocks %+v %v", ks, err)
		}
		if ks, _ := tx.ListKnocks(cvrB); len(ks) != 0 {
			t.Errorf("knocks of B: %d", len(ks))
		}
		return nil
	})
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteKnock("k1") })
	_, err = st.Update(ctx, "t", func(tx *store.Tx) error { return tx.DeleteKnock("k1") })
	wantCode(t, err, store.ENotFound, "")
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.KnockBySubject(cvrA, uid(7)); !store.IsNotFound(err) {
			t.Errorf("deleted knock still found by subject: %v", err)
		}
		evs, _ := tx.OrgAudit(cvrA, time.Time{}, time.Time{}, "", 0)
		types := map[string]int{}
		for _, ev := range evs {
			types[ev.Type]++
		}
		if types["knock.put"] != 3 || types["knock.delete"] != 1 {
			t.Errorf("knock audit: %v", types)
		}
		return nil
	})
}

func TestTokens(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		if err := tx.PutToken(&store.Token{ID: "t1", Hash: "h1", Superadmin: true}); err != nil {
			return err
		}
		return tx.PutToken(&store.Token{ID: "t2", Hash: "h2", UserID: uid(1)})
	})
	// Rotation: the old hash stops working in the same transaction.
	mustUpdate(t, st, func(tx *store.Tx) error {
		tok, err := tx.GetToken("t1")
		if err != nil {
			return err
		}
		tok.Hash = "h1b"
		return tx.PutToken(tok)
	})
	_, err := st.Update(ctx, "t", func(tx *store.Tx) error { return tx.PutToken(&store.Token{ID: "t3", Hash: "h2"}) })
	wantCode(t, err, store.EConflict, "")
	_, err = st.Update(ctx, "t", func(tx *store.Tx) error { return tx.PutToken(&store.Token{ID: "t4"}) })
	wantCode(t, err, store.EInvalid, "")
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.TokenByHash("h1"); !store.IsNotFound(err) {
			t.Errorf("rotated-out hash still resolves: %v", err)
		}
		if tok, err := tx.TokenByHash("h1b"); err != nil || tok.ID != "t1" || !tok.Superadmin || tok.Hash != "h1b" {
			t.Errorf("token by new hash: %+v %v", tok, err)
		}
		if ts, _ := tx.ListTokens(); len(ts) != 2 {
			t.Errorf("tokens %d", len(ts))
		}
		b, _ := json.Marshal(ts(tx))
		if strings.Contains(string(b), "h2") {
			t.Errorf("token JSON shows the hash: %s", b)
		}
		if h, _ := tx.History(uid(1), time.Time{}, time.Time{}, "token.create", 0); len(h) != 1 {
			t.Errorf("user token history: %+v", h)
		}
		return nil
	})
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteToken("t2") })
	view(t, st, func(tx *store.Tx) error {
		if _, err := tx.TokenByHash("h2"); !store.IsNotFound(err) {
			t.Errorf("deleted token resolves: %v", err)
		}
		if _, err := tx.GetToken("t2"); !store.IsNotFound(err) {
			t.Errorf("deleted token found: %v", err)
		}
		return nil
	})
}

func ts(tx *store.Tx) []*store.Token { t, _ := tx.ListTokens(); return t }

func TestCertificatesImportsMailMeta(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		if err := tx.PutCertificate(&store.Certificate{Serial: "C1", Org: cvrA, UserID: uid(1), Type: "user", Status: store.CertIssued}); err != nil {
			return err
		}
		if err := tx.PutImport(&store.ImportBatch{ID: "i1", Org: cvrA, Mode: "create", CreatedAt: t0, Rows: 3}); err != nil {
			return err
		}
		if err := tx.PutImport(&store.ImportBatch{ID: "i2", Org: cvrB, Mode: "update", CreatedAt: t0}); err != nil {
			return err
		}
		for _, m := range []*store.OutboxMail{
			{ID: "m1", To: "U1@example.dk", UserID: uid(1), Kind: "activation", CreatedAt: t0},
			{ID: "m2", To: "u1@example.dk", UserID: uid(1), Kind: "warning", CreatedAt: t0.Add(time.Hour)},
			{ID: "m3", To: "other@example.dk", Kind: "warning", CreatedAt: t0.Add(2 * time.Hour)},
		} {
			if err := tx.PutMail(m); err != nil {
				return err
			}
		}
		return nil
	})
	rev := st.Revision()
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.PutMeta("job/lifecycle", map[string]int{"n": 7}) })
	view(t, st, func(tx *store.Tx) error {
		if c, err := tx.GetCertificate("C1"); err != nil || c.Status != store.CertIssued || c.UserID != uid(1) {
			t.Errorf("certificate %+v %v", c, err)
		}
		if _, err := tx.GetCertificate("C9"); !store.IsNotFound(err) {
			t.Errorf("unknown certificate: %v", err)
		}
		if b, err := tx.GetImport("i1"); err != nil || b.Rows != 3 {
			t.Errorf("import %+v %v", b, err)
		}
		if bs, _ := tx.ListImports(cvrA); len(bs) != 1 || bs[0].ID != "i1" {
			t.Errorf("imports of A: %+v", bs)
		}
		ms, _ := tx.ListMail("u1@EXAMPLE.dk", "")
		if len(ms) != 2 || ms[0].ID != "m2" || ms[1].ID != "m1" {
			t.Errorf("mail to u1 (newest first): %+v", ms)
		}
		if ms, _ := tx.ListMail("", uid(1)); len(ms) != 2 {
			t.Errorf("mail about user 1: %d", len(ms))
		}
		if ms, _ := tx.ListMail("", ""); len(ms) != 3 || ms[0].ID != "m3" {
			t.Errorf("all mail: %+v", ms)
		}
		var meta map[string]int
		if err := tx.GetMeta("job/lifecycle", &meta); err != nil || meta["n"] != 7 {
			t.Errorf("meta %v %v", meta, err)
		}
		if err := tx.GetMeta("nope", &meta); !store.IsNotFound(err) {
			t.Errorf("missing meta: %v", err)
		}
		if evs, _ := tx.AuditSince(rev); len(evs) != 0 {
			t.Errorf("PutMeta wrote audit events: %+v", evs)
		}
		return nil
	})
	// A mail put again (marked sent) is listed once.
	mustUpdate(t, st, func(tx *store.Tx) error {
		ms, err := tx.ListMail("", uid(1))
		if err != nil {
			return err
		}
		sent := t0.Add(3 * time.Hour)
		ms[0].SentAt = &sent
		return tx.PutMail(ms[0])
	})
	view(t, st, func(tx *store.Tx) error {
		if ms, _ := tx.ListMail("", uid(1)); len(ms) != 2 || ms[0].SentAt == nil {
			t.Errorf("mail after re-put: %+v", ms)
		}
		return nil
	})
	// Revocation is irreversible.
	mustUpdate(t, st, func(tx *store.Tx) error {
		return tx.PutCertificate(&store.Certificate{Serial: "C1", Org: cvrA, Type: "user", Status: store.CertRevoked})
	})
	_, err := st.Update(ctx, "t", func(tx *store.Tx) error {
		return tx.PutCertificate(&store.Certificate{Serial: "C1", Org: cvrA, Type: "user", Status: store.CertIssued})
	})
	wantCode(t, err, store.EInvalid, "")
}

func TestListUsersPagesAndEachUser(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		for i := 1; i <= 5; i++ {
			if err := tx.CreateUser(newUser(i, nil)); err != nil {
				return err
			}
		}
		return tx.CreateUser(newUser(6, func(u *store.User) { u.Org = cvrB }))
	})
	view(t, st, func(tx *store.Tx) error {
		var all []string
		after := ""
		for pages := 0; ; pages++ {
			us, next, err := tx.ListUsers(cvrA, after, 2)
			if err != nil {
				return err
			}
			for _, u := range us {
				all = append(all, u.ID)
			}
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			after = next
		}
		if len(all) != 5 || all[0] != uid(1) || all[4] != uid(5) {
			t.Errorf("paged users %v", all)
		}
		n := 0
		if err := tx.EachUser(func(*store.User) error { n++; return nil }); err != nil || n != 6 {
			t.Errorf("EachUser saw %d: %v", n, err)
		}
		return nil
	})
	// TouchLogin writes no audit event.
	rev := st.Revision()
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.TouchLogin(uid(1), at) })
	view(t, st, func(tx *store.Tx) error {
		if u, _ := tx.GetUser(uid(1)); u.LastLogin == nil || !u.LastLogin.Equal(at) {
			t.Errorf("last login %v", u.LastLogin)
		}
		if evs, _ := tx.AuditSince(rev); len(evs) != 0 {
			t.Errorf("TouchLogin audited: %+v", evs)
		}
		return nil
	})
}

func TestHistoryFilters(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(24 * time.Hour); return clock }
	st, err := store.Open(store.Config{Dir: t.TempDir(), CPRKey: storetest.Key, NoSync: true, Logger: zerolog.Nop(), GCInterval: -1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateUser(newUser(1, nil)) })
	for i := 0; i < 5; i++ {
		mustUpdate(t, st, func(tx *store.Tx) error {
			u, _ := tx.GetUser(uid(1))
			u.Name = "n" + string(rune('a'+i))
			return tx.UpdateUser(u)
		})
	}
	view(t, st, func(tx *store.Tx) error {
		all, _ := tx.History(uid(1), time.Time{}, time.Time{}, "", 0)
		if len(all) != 6 || all[0].Type != "user.update" || all[5].Type != "user.create" {
			t.Fatalf("history %+v", all)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Revision >= all[i-1].Revision {
				t.Fatal("history not newest first")
			}
		}
		if h, _ := tx.History(uid(1), time.Time{}, time.Time{}, "user.update", 2); len(h) != 2 || h[0].Revision != all[0].Revision {
			t.Errorf("limit/type: %+v", h)
		}
		if h, _ := tx.History(uid(1), all[4].Time, all[2].Time, "", 0); len(h) != 3 {
			t.Errorf("time range: %d events", len(h))
		}
		if h, _ := tx.OrgAudit(cvrA, time.Time{}, time.Time{}, "user.create", 0); len(h) != 1 {
			t.Errorf("org audit: %+v", h)
		}
		return nil
	})
}

func TestSubscribeCancelAndGap(t *testing.T) {
	st := storetest.Open(t)
	slow, cancelSlow := st.Subscribe(1)
	gone, cancelGone := st.Subscribe(-1) // no panic, unbuffered: always drops
	cancelGone()
	cancelGone() // idempotent
	if _, ok := <-gone; ok {
		t.Fatal("cancelled channel still open")
	}
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateUser(newUser(1, nil)) })
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateUser(newUser(2, nil)) })
	c := <-slow
	if c.Revision != st.Revision()-2 {
		t.Fatalf("first buffered change %d, store at %d", c.Revision, st.Revision())
	}
	select {
	case c := <-slow:
		t.Fatalf("dropped changes delivered: %+v", c)
	default:
	}
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateUser(newUser(3, nil)) })
	if c2 := <-slow; c2.Revision != c.Revision+3 {
		t.Fatalf("gap not visible: %d after %d", c2.Revision, c.Revision)
	}
	cancelSlow()
}

// TestDataDirRemoved: with the directory gone the store reports itself
// unhealthy and refuses reads and writes (fail closed), and Close returns.
func TestDataDirRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, NoSync: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	seedOrgs(t, st)
	if err := st.Healthy(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for st.Healthy() == nil {
		if time.Now().After(deadline) {
			t.Fatal("still healthy without a directory")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := st.LoginView(ctx, cvrA, uid(1), ""); err == nil {
		t.Error("login view served from a vanished store")
	}
	if _, err := st.Update(ctx, "t", func(tx *store.Tx) error { return tx.CreateUser(newUser(1, nil)) }); err == nil {
		t.Error("write acknowledged into a vanished store")
	}
	done := make(chan struct{})
	go func() { st.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs")
	}
	if err := st.Healthy(); err == nil {
		t.Error("closed store healthy")
	}
}

// TestCloseWaitsForReaders: Close never pulls Badger from under a read.
func TestCloseWaitsForReaders(t *testing.T) {
	st, err := store.Open(store.Config{Dir: t.TempDir(), CPRKey: storetest.Key, NoSync: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	seedOrgs(t, st)
	inView := make(chan struct{})
	viewErr := make(chan error, 1)
	go func() {
		viewErr <- st.View(ctx, func(tx *store.Tx) error {
			close(inView)
			time.Sleep(100 * time.Millisecond)
			_, err := tx.ListOrgs()
			return err
		})
	}()
	<-inView
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-viewErr; err != nil {
		t.Fatalf("view across Close: %v", err)
	}
	if err := st.View(ctx, func(*store.Tx) error { return nil }); err == nil {
		t.Error("view after Close succeeded")
	}
	if _, err := st.Update(ctx, "t", func(*store.Tx) error { return nil }); err == nil {
		t.Error("update after Close succeeded")
	}
}

// TestGrantReadsAreExact: reads decode grants once and reuse them; a grant
// deleted and made again under the same id must read with its new content,
// and a caller changing what it got must not change what others read.
func TestGrantReadsAreExact(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	grant := func(right string) *store.Grant {
		return &store.Grant{ID: "g1", Right: right, HolderType: store.HolderUser, HolderID: uid(1), Org: cvrA,
			Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}}
	}
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		return tx.CreateGrant(grant("amp.sagsbehandler"))
	})
	rights := func() []string {
		v, err := st.LoginView(ctx, cvrA, uid(1), "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range v.Grants {
			out = append(out, g.Right)
		}
		return out
	}
	if r := rights(); len(r) != 1 || r[0] != "amp.sagsbehandler" {
		t.Fatalf("rights %v", r)
	}
	view(t, st, func(tx *store.Tx) error {
		gs, err := tx.GrantsOfUser(uid(1))
		if err != nil {
			return err
		}
		gs[0].Right = "scribbled"
		return nil
	})
	if r := rights(); r[0] != "amp.sagsbehandler" {
		t.Fatalf("a caller's change leaked into the next read: %v", r)
	}
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.DeleteGrant("g1"); err != nil {
			return err
		}
		return tx.CreateGrant(grant("imi.case_worker"))
	})
	if r := rights(); len(r) != 1 || r[0] != "imi.case_worker" {
		t.Fatalf("re-made grant read as %v", r)
	}
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.DeleteGrant("g1") })
	mustUpdate(t, st, func(tx *store.Tx) error { return tx.CreateGrant(grant("eksamensdatabasen.view")) })
	if r := rights(); len(r) != 1 || r[0] != "eksamensdatabasen.view" {
		t.Fatalf("re-made grant (two updates) read as %v", r)
	}
}

func TestOpenConfig(t *testing.T) {
	if _, err := store.Open(store.Config{Dir: t.TempDir(), Logger: zerolog.Nop()}); err == nil {
		t.Error("opened without a CPR key")
	}
	if _, err := store.Open(store.Config{CPRKey: storetest.Key, Logger: zerolog.Nop()}); err == nil {
		t.Error("opened without a directory")
	}
	st, err := store.Open(store.Config{InMemory: true, CPRKey: storetest.Key, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Healthy() != nil || st.Revision() != 1 {
		t.Fatalf("in-memory store: healthy=%v revision=%d", st.Healthy(), st.Revision())
	}
	seedOrgs(t, st)
	if v, err := st.LoginView(ctx, cvrA, uid(1), ""); err != nil || v.Org == nil {
		t.Fatalf("in-memory login view: %+v %v", v, err)
	}
}
