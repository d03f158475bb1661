package api_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// cacheReqs are the requests TestCacheInvalidatesOnlyWhatChanged warms:
// users of both organisations, direct, group and system-group grants, a
// legacy id, a certificate and a password login.
func cacheReqs() map[string]pdp.LoginRequest {
	nils := subj("nils", cvrA)
	nils.AuthMethod = "password"
	alice := subj("alice", cvrA)
	alice.CertificateSerial = "ISSUED-1"
	olga := pdp.Subject{ID: olgaLegacy, CVR: cvrB, Kind: "employee", CPRLinked: true}
	return map[string]pdp.LoginRequest{
		"alice":     {Subject: subj("alice", cvrA), Service: "eksamensdatabasen", PNumber: pA2},
		"alice-imi": {Subject: subj("alice", cvrA), Service: "imi"},
		"alice-crt": {Subject: alice, Service: "eksamensdatabasen"},
		"bob":       {Subject: subj("bob", cvrA), Service: "eksamensdatabasen"},
		"carol":     {Subject: subj("carol", cvrA), Service: "eksamensdatabasen"},
		"pia":       {Subject: subj("pia", cvrA), Service: "imi"},
		"nils":      {Subject: nils, Service: "imi"},
		"ida":       {Subject: subj("ida", cvrB), Service: "amp"},
		"olga":      {Subject: olga, Service: "amp"},
		"unknown":   {Subject: subj("unknown", cvrA), Service: "eksamensdatabasen"},
	}
}

// TestCacheInvalidatesOnlyWhatChanged: after each kind of write, the
// decisions it can change are recomputed (a cache miss) and answer as an
// engine without a cache does, at once (read-your-writes), while every
// other cached decision is still served from the cache (a hit). Counted
// with the cache's own hit counter; no timing.
func TestCacheInvalidatesOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	all := func() []string {
		var out []string
		for k := range cacheReqs() {
			out = append(out, k)
		}
		return out
	}
	update := func(fn func(tx *store.Tx) error) func(e *env) error {
		return func(e *env) error { _, err := e.st.Update(ctx, "test", fn); return err }
	}
	cases := []struct {
		name    string
		write   func(e *env) error
		changed []string // recomputed; every other request must be a hit
		flips   []string // whose allow must differ from before the write
	}{
		{"grant to a user", update(func(tx *store.Tx) error {
			return tx.CreateGrant(&store.Grant{ID: "00000000-0000-4000-b000-000000000001", Right: eks,
				HolderType: store.HolderUser, HolderID: uid["alice"], Org: cvrA,
				Scope: store.Scope{Type: store.ScopeP, Value: pA2}, GrantedBy: "test"})
		}), []string{"alice", "alice-imi", "alice-crt"}, []string{"alice"}},
		{"group grant deleted", update(func(tx *store.Tx) error {
			gs, err := tx.GrantsOfGroup("00000000-0000-4000-9000-000000000001")
			if err != nil {
				return err
			}
			for _, g := range gs {
				if g.Right == "imi.case_worker" {
					return tx.DeleteGrant(g.ID)
				}
			}
			return nil
		}), []string{"carol", "pia"}, []string{"pia"}},
		{"membership added", update(func(tx *store.Tx) error {
			return tx.AddMember("00000000-0000-4000-9000-000000000001", uid["alice"])
		}), []string{"alice", "alice-imi", "alice-crt"}, []string{"alice-imi"}},
		{"user patched", update(func(tx *store.Tx) error {
			u, err := tx.GetUser(uid["bob"])
			if err != nil {
				return err
			}
			u.Status = store.StatusInactive
			return tx.UpdateUser(u)
		}), []string{"bob"}, []string{"bob"}},
		{"user name patched (no answer changes)", update(func(tx *store.Tx) error {
			u, err := tx.GetUser(uid["ida"])
			if err != nil {
				return err
			}
			u.Name, u.Email, u.Phone = "Ida Renamed", "ida.renamed@example.dk", "+4511223344"
			return tx.UpdateUser(u)
		}), nil, nil}, // no decision reads a name, an e-mail or a phone: every answer stays cached
		{"user login time", update(func(tx *store.Tx) error {
			return tx.TouchLogin(uid["ida"], time.Now().Add(time.Hour))
		}), nil, nil},
		{"unknown user created", update(func(tx *store.Tx) error {
			if err := tx.CreateUser(&store.User{ID: uid["unknown"], Org: cvrA, Name: "new", Email: "new@example.dk",
				Kind: store.KindEmployee, CPRLinked: true, Status: store.StatusActive}); err != nil {
				return err
			}
			return tx.CreateGrant(&store.Grant{ID: "00000000-0000-4000-b000-000000000002", Right: eks,
				HolderType: store.HolderUser, HolderID: uid["unknown"], Org: cvrA,
				Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}, GrantedBy: "test"})
		}), []string{"unknown"}, []string{"unknown"}},
		{"org settings", update(func(tx *store.Tx) error {
			o, err := tx.GetOrg(cvrA)
			if err != nil {
				return err
			}
			o.Settings.PasswordMaxAgeDays = 5
			return tx.UpdateOrg(o)
		}), []string{"alice", "alice-imi", "alice-crt", "bob", "carol", "pia", "nils", "unknown"}, []string{"nils"}},
		{"certificate revoked", update(func(tx *store.Tx) error {
			c, err := tx.GetCertificate("ISSUED-1")
			if err != nil {
				return err
			}
			c.Status = store.CertRevoked
			return tx.PutCertificate(c)
		}), []string{"alice-crt"}, []string{"alice-crt"}},
		{"right catalogue", func(e *env) error {
			if err := update(func(tx *store.Tx) error {
				r, err := tx.GetRight("amp.sagsbehandler")
				if err != nil {
					return err
				}
				r.Deprecated = true
				return tx.PutRight(r)
			})(e); err != nil {
				return err
			}
			return e.eng.RefreshRights(ctx) // as the admin API does
		}, all(), []string{"ida", "olga"}},
		{"policy reload", func(e *env) error { return e.eng.Reload(ctx) }, all(), nil},
		{"unrelated write (another org's knock)", update(func(tx *store.Tx) error {
			return tx.PutKnock(&store.Knock{ID: "00000000-0000-4000-c000-000000000001", Org: cvrB,
				SubjectID: "00000000-0000-4000-8000-0000000000fe", Name: "x", First: tx.Now(), Last: tx.Now(), Count: 1})
		}), nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pdp.Config{})
			ref, err := pdp.New(ctx, e.st, pdp.Config{CacheSize: -1, Now: func() time.Time { return e.now }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ref.Close() })
			reqs := cacheReqs()
			before := map[string]pdp.Decision{}
			for name, req := range reqs {
				e.login(req) // computed
				d, _ := e.login(req)
				before[name] = d
			}
			if err := tc.write(e); err != nil {
				t.Fatal(err)
			}
			// The reference engine learns of a catalogue change from the
			// store's feed, asynchronously; the admin API refreshes its own
			// engine at once, and so does the reference here.
			if err := ref.RefreshRights(ctx); err != nil {
				t.Fatal(err)
			}
			written := e.st.Revision()
			changed := map[string]bool{}
			for _, n := range tc.changed {
				changed[n] = true
			}
			flips := map[string]bool{}
			for _, n := range tc.flips {
				flips[n] = true
			}
			for name, req := range reqs {
				h0, _ := e.eng.CacheCounts()
				d, code := e.login(req)
				h1, _ := e.eng.CacheCounts()
				hit := h1 > h0
				if code != 200 {
					t.Fatalf("%s: status %d", name, code)
				}
				if hit == changed[name] {
					t.Errorf("%s: cache hit = %v, want %v", name, hit, !changed[name])
				}
				// The answer names the revision it was checked valid at
				// (knocks the engine records may have moved the store on).
				if d.Revision < written || d.Revision > e.st.Revision() {
					t.Errorf("%s: answer names revision %d, the write was %d, the store is at %d", name,
						d.Revision, written, e.st.Revision())
				}
				r := req
				want, err := ref.Login(ctx, &r, pdp.RequestMeta{})
				if err != nil {
					t.Fatal(err)
				}
				if d.Allow != want.Allow || !reflect.DeepEqual(reasonKeys(d), reasonKeys(*want)) ||
					!reflect.DeepEqual(rightKeys(d), rightKeys(*want)) {
					t.Errorf("%s: cached engine answers allow=%v %v %v, uncached allow=%v %v %v", name,
						d.Allow, reasonKeys(d), rightKeys(d), want.Allow, reasonKeys(*want), rightKeys(*want))
				}
				if (d.Allow != before[name].Allow) != flips[name] {
					t.Errorf("%s: allow %v before the write, %v after; want a change: %v", name,
						before[name].Allow, d.Allow, flips[name])
				}
			}
		})
	}
}

func reasonKeys(d pdp.Decision) []string {
	out := []string{}
	for _, r := range d.Reasons {
		out = append(out, r.Code+"/"+r.Rule+"/"+r.Right+"/"+r.Grant)
	}
	return out
}

func rightKeys(d pdp.Decision) []string {
	out := []string{}
	for _, r := range d.Rights {
		out = append(out, r.Right+":"+r.Scope.CVR+":"+strings.Join(r.Scope.PNumbers, ","))
	}
	return out
}
