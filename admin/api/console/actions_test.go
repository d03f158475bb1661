package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
)

// TestConsoleActions posts each list page's form and checks the store:
// bulk knock deletion, bulk inactivation with a per-user refusal,
// certificate order and issue, group membership, the org's settings.
func TestConsoleActions(t *testing.T) {
	e := newInproc(t, false)
	ctx := context.Background()
	users := []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"}
	if _, err := e.st.Update(ctx, "test", func(tx *store.Tx) error {
		for i, id := range users {
			if err := tx.CreateUser(&store.User{ID: id, Org: testOrg, Name: []string{"Anna", "Bent"}[i],
				Email: id[:4] + "@test.example", Kind: store.KindEmployee, Status: store.StatusActive}); err != nil {
				return err
			}
		}
		for _, k := range []string{"k1", "k2", "k3"} {
			if err := tx.PutKnock(&store.Knock{ID: k, Org: testOrg, SubjectID: "CVR:" + testOrg + "-RID:" + k,
				First: time.Now(), Last: time.Now(), Count: 1}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := e.signIn(t, e.token)
	base := e.srv.URL + "/console/"
	form := func(page string, v url.Values) *http.Response {
		_, _, csrf := get(t, c, base+page)
		v.Set("csrf", csrf)
		resp, body := post(t, c, base+page, v)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d %s", page, resp.StatusCode, body)
		}
		return resp
	}
	view := func(fn func(tx *store.Tx) error) {
		if err := e.st.View(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}

	form("orgs/"+testOrg+"/knocks", url.Values{"action": {"delete"}, "ids": {"k1", "k3"}})
	view(func(tx *store.Tx) error {
		ks, err := tx.ListKnocks(testOrg)
		if len(ks) != 1 || ks[0].ID != "k2" {
			t.Errorf("after deleting k1 and k3 the queue holds %v", ks)
		}
		return err
	})

	resp := form("orgs/"+testOrg+"/activity", url.Values{"action": {"inactivate"}, "not_since": {"2099-01-01"},
		"user_ids": {users[0], users[1], "33333333-3333-4333-8333-333333333333"}})
	_, page, _ := get(t, c, e.srv.URL+resp.Header.Get("Location"))
	if !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "33333333") {
		t.Errorf("the unknown user's refusal is not listed: %s", page)
	}
	view(func(tx *store.Tx) error {
		for _, id := range users {
			if u, err := tx.GetUser(id); err != nil || u.Status != store.StatusInactive {
				t.Errorf("user %s after bulk inactivation: %v %v", id, u, err)
			}
		}
		return nil
	})

	form("orgs/"+testOrg+"/certificates", url.Values{"type": {"org"}})
	var serial string
	view(func(tx *store.Tx) error {
		return tx.EachCertificate(testOrg, "", func(c *store.Certificate) (bool, error) {
			serial = c.Serial
			return false, nil
		})
	})
	if serial == "" {
		t.Fatal("no certificate ordered")
	}
	form("certificates/"+serial+"/issue", url.Values{"org": {testOrg}})
	view(func(tx *store.Tx) error {
		cert, err := tx.GetCertificate(serial)
		if err == nil && cert.Status != store.CertIssued {
			t.Errorf("certificate status %s after issue", cert.Status)
		}
		return err
	})

	form("orgs/"+testOrg+"/settings", url.Values{"name": {"Test Skole Nord"}, "deletion": {"inactivate_only"}})
	view(func(tx *store.Tx) error {
		o, err := tx.GetOrg(testOrg)
		if err == nil && (o.Name != "Test Skole Nord" || o.Settings.Deletion != store.DeletionInactivateOnly || o.Settings.AllowKnock) {
			t.Errorf("org after saving settings: %+v", o)
		}
		return err
	})
}
