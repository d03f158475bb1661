package main

import (
	"context"

	"github.com/adgang/adgang/store"
)

// Demo identities, stable so the README's curl session works.
const (
	demoSchoolCVR = "12345674" // Demo Gymnasium (institution)
	demoAKasseCVR = "55133018" // Demo A-kasse (a-kasse, inactivate_only)
	demoP1        = "1000000001"
	demoP2        = "1000000002"
	demoSE        = "29190003"
	demoAlice     = "6f1c1a52-7d2c-4a55-9b0e-2a1f3c4d5e61" // P-unit grant on eksamensdatabasen.view
	demoBob       = "0b7e3f0a-1c2d-4e5f-8a9b-0c1d2e3f4a52" // CVR grant: every P-unit
	demoCarol     = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c63" // grant only through a group (D7 denies)
	demoDennis    = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e74" // A-kasse caseworker and LBA
)

// loadDemo fills an empty store with a small, realistic data set. It
// returns false without writing when the store already holds an org.
func loadDemo(ctx context.Context, st *store.Store) (bool, error) {
	empty := true
	if err := st.View(ctx, func(tx *store.Tx) error {
		orgs, err := tx.ListOrgs()
		empty = len(orgs) == 0
		return err
	}); err != nil || !empty {
		return false, err
	}
	_, err := st.Update(ctx, "system:demo", func(tx *store.Tx) error {
		now := tx.Now()
		orgs := []*store.Org{
			{CVR: demoSchoolCVR, Name: "Demo Gymnasium", Type: store.OrgInstitution,
				PUnits:    []store.PUnit{{PNumber: demoP1, Name: "Hovedskolen"}, {PNumber: demoP2, Name: "Afdeling Nord"}},
				SENumbers: []string{demoSE},
				Settings:  store.OrgSettings{AllowKnock: true, Deletion: store.DeletionAllowed}},
			{CVR: demoAKasseCVR, Name: "Demo A-kasse", Type: store.OrgAKasse,
				PUnits:   []store.PUnit{{PNumber: "2000000001", Name: "Kontoret"}},
				Settings: store.OrgSettings{AllowKnock: true, Deletion: store.DeletionInactivateOnly}},
		}
		for _, o := range orgs {
			if err := tx.CreateOrg(o); err != nil {
				return err
			}
		}
		user := func(id, org, name, email, p string) *store.User {
			return &store.User{ID: id, Org: org, Name: name, Email: email, Kind: store.KindEmployee,
				CPRLinked: true, PNumber: p, Status: store.StatusActive, Source: "manual", StatusChangedAt: now}
		}
		users := []*store.User{
			user(demoAlice, demoSchoolCVR, "Alice Andersen", "alice@demo-gym.example", demoP1),
			user(demoBob, demoSchoolCVR, "Bob Berg", "bob@demo-gym.example", demoP2),
			user(demoCarol, demoSchoolCVR, "Carol Christensen", "carol@demo-gym.example", demoP1),
			user(demoDennis, demoAKasseCVR, "Dennis Dahl", "dennis@demo-akasse.example", "2000000001"),
		}
		for _, u := range users {
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		grant := func(id, right, holderType, holder, org, scopeType, value string) *store.Grant {
			return &store.Grant{ID: id, Right: right, HolderType: holderType, HolderID: holder, Org: org,
				Scope: store.Scope{Type: scopeType, Value: value}, GrantedBy: "system:demo", GrantedAt: now,
				Justification: "demo data"}
		}
		group := &store.Group{ID: "7d3e2f1a-0b9c-4d8e-9f6a-5b4c3d2e1f05", Org: demoSchoolCVR,
			Name: "Eksamenskontoret", Kind: store.GroupCustom, CreatedAt: now}
		if err := tx.CreateGroup(group); err != nil {
			return err
		}
		if err := tx.AddMember(group.ID, demoCarol); err != nil {
			return err
		}
		grants := []*store.Grant{
			grant("d0000000-0000-4000-8000-000000000001", "eksamensdatabasen.view", store.HolderUser, demoAlice, demoSchoolCVR, store.ScopeP, demoP1),
			grant("d0000000-0000-4000-8000-000000000002", "eksamensdatabasen.view", store.HolderUser, demoBob, demoSchoolCVR, store.ScopeCVR, demoSchoolCVR),
			grant("d0000000-0000-4000-8000-000000000003", "eksamensdatabasen.view", store.HolderGroup, group.ID, demoSchoolCVR, store.ScopeCVR, demoSchoolCVR),
			grant("d0000000-0000-4000-8000-000000000004", "mitid_erhverv.org_admin", store.HolderUser, demoBob, demoSchoolCVR, store.ScopeCVR, demoSchoolCVR),
			grant("d0000000-0000-4000-8000-000000000005", "amp.sagsbehandler", store.HolderUser, demoDennis, demoAKasseCVR, store.ScopeCVR, demoAKasseCVR),
			grant("d0000000-0000-4000-8000-000000000006", "amp.lba", store.HolderUser, demoDennis, demoAKasseCVR, store.ScopeCVR, demoAKasseCVR),
			grant("d0000000-0000-4000-8000-000000000007", "amp.lss", store.HolderUser, demoDennis, demoAKasseCVR, store.ScopeCVR, demoAKasseCVR),
		}
		for _, g := range grants {
			if err := tx.CreateGrant(g); err != nil {
				return err
			}
		}
		return nil
	})
	return err == nil, err
}
