package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// knocksAfterFlush stops the engine, which records every queued knock,
// and lists the knocks of cvr.
func (e *env) knocksAfterFlush(cvr string) []*store.Knock {
	e.t.Helper()
	if err := e.eng.Close(); err != nil {
		e.t.Fatal(err)
	}
	var ks []*store.Knock
	if err := e.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		ks, err = tx.ListKnocks(cvr)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return ks
}

// TestKnockQueueGuarded (D2, L6): the knock queue fed by unauthenticated
// requests keeps no CPR number (a CPR-shaped name is masked, a CPR-shaped
// or malformed e-mail dropped), is bounded per org and in total, counts a
// known identity again instead of adding it, and takes no knock for an id
// that is already a user of another org.
func TestKnockQueueGuarded(t *testing.T) {
	const cvrC = "12345690"
	e := newEnv(t, pdp.Config{KnockLimitPerOrg: 3, KnockLimitTotal: 4})
	if _, err := e.st.Update(context.Background(), "test", func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: cvrC, Name: "Org C", Type: store.OrgInstitution,
			Settings: store.OrgSettings{AllowKnock: true}})
	}); err != nil {
		t.Fatal(err)
	}
	knock := func(id, cvr, name, email string) {
		t.Helper()
		s := pdp.Subject{ID: id, CVR: cvr, Kind: "employee", CPRLinked: true, Name: name, Email: email}
		d, code := e.login(pdp.LoginRequest{Subject: s, Service: "eksamensdatabasen"})
		if code != http.StatusOK || d.Allow {
			t.Fatalf("knock %s: status %d allow %v", id, code, d.Allow)
		}
	}
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	knock(ids[0], cvrA, "Jens 0101901234 Hansen", "0101901234@example.dk")
	knock(ids[1], cvrA, "Navn010190-1234", "not an e-mail")
	knock(ids[2], cvrA, "Ok Navn", "ok@example.dk")
	knock(ids[3], cvrA, "Over the org's bound", "")
	knock(ids[0], cvrA, "Jens Hansen", "")    // the same identity again
	knock(ids[4], cvrC, "First of org C", "") // the total's last place
	knock(uuid.NewString(), cvrC, "Over the total bound", "")
	knock(uid["ida"], cvrA, "Ida of org B", "ida@example.dk") // a user of org B

	a := e.knocksAfterFlush(cvrA)
	var c []*store.Knock
	_ = e.st.View(context.Background(), func(tx *store.Tx) error { c, _ = tx.ListKnocks(cvrC); return nil })
	byID := map[string]*store.Knock{}
	for _, k := range a {
		byID[k.SubjectID] = k
		raw, _ := json.Marshal(k)
		if strings.Contains(string(raw), "0101901234") || strings.Contains(string(raw), "010190-1234") {
			t.Errorf("knock keeps a CPR number: %s", raw)
		}
	}
	if len(a) != 3 || byID[ids[0]] == nil || byID[ids[1]] == nil || byID[ids[2]] == nil {
		t.Fatalf("org A knocks: %d (want the first 3 identities)", len(a))
	}
	if k := byID[ids[0]]; k.Count != 2 || k.Name != "Jens Hansen" {
		t.Errorf("repeated identity: count %d name %q, want 2 and the latest name", k.Count, k.Name)
	}
	if k := byID[ids[1]]; k.Name != "Navn010190-****" || k.Email != "" {
		t.Errorf("CPR in a name, malformed e-mail: name %q email %q", k.Name, k.Email)
	}
	if k := byID[ids[2]]; k.Email != "ok@example.dk" {
		t.Errorf("valid e-mail not kept: %q", k.Email)
	}
	if len(c) != 1 || c[0].SubjectID != ids[4] {
		t.Errorf("org C knocks: %d, want only the one under the total bound", len(c))
	}
	if byID[uid["ida"]] != nil {
		t.Errorf("a user of another org was queued as a knock")
	}
}
