package pdp

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestCachePutAfterInvalidation: a decision computed from a store read
// made before a write, and put into the cache after that write was
// committed (the race between a slow decision and an admin write), is
// never served; one read after the write is, also at later revisions
// that did not touch what it read, and names the revision it was checked
// valid at.
func TestCachePutAfterInvalidation(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	const cvr, uidA, uidB = "12345674", "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		if err := tx.CreateOrg(&store.Org{CVR: cvr, Name: "A", Type: store.OrgInstitution}); err != nil {
			return err
		}
		for _, id := range []string{uidA, uidB} {
			if err := tx.CreateUser(&store.User{ID: id, Org: cvr, Name: "u", Email: id[30:] + "@example.dk",
				Kind: store.KindEmployee, Status: store.StatusActive}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	patch := func(id string) uint64 {
		rev, err := st.Update(ctx, "test", func(tx *store.Tx) error {
			u, err := tx.GetUser(id)
			if err != nil {
				return err
			}
			// A field decisions read (a name alone would leave them valid).
			u.Status = map[store.UserStatus]store.UserStatus{store.StatusActive: store.StatusInactive}[u.Status]
			if u.Status == "" {
				u.Status = store.StatusActive
			}
			return tx.UpdateUser(u)
		})
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	c := newDecisionCache(100, DefaultCacheBytes)
	ps, idx, now := &PolicySet{}, &rightsIndex{}, time.Now()
	req := &LoginRequest{Subject: Subject{ID: uidA, CVR: cvr}, Service: "s"}
	put := func(view *store.LoginView) {
		d := &Decision{Allow: true, Revision: view.Revision, Policy: "p"}
		d.encodeBody()
		c.put(req, view, ps, idx, now, d, 0)
	}

	stale, err := st.LoginView(ctx, cvr, uidA, "")
	if err != nil {
		t.Fatal(err)
	}
	rev := patch(uidA) // the write the slow decision did not see
	put(stale)
	if e := c.get(req, rev, ps, idx, now, st); e != nil {
		t.Fatalf("a decision read at %d was served after a write at %d to what it read", stale.Revision, rev)
	}

	fresh, err := st.LoginView(ctx, cvr, uidA, "")
	if err != nil {
		t.Fatal(err)
	}
	put(fresh)
	rev = patch(uidB) // touches another user only
	e := c.get(req, rev, ps, idx, now, st)
	if e == nil {
		t.Fatalf("a write to another user invalidated the entry")
	}
	served := e.served(rev)
	body := served.AppendJSON(nil)
	if !bytes.Contains(body, []byte(`"revision":`+strconv.FormatUint(rev, 10)+`,`)) || served.Revision != rev {
		t.Errorf("served answer does not name revision %d: %s", rev, body)
	}
	if full := e.d; !bytes.Equal(body[bytes.IndexByte(body, ','):], append(bytes.Replace(append([]byte{','}, full.body...),
		[]byte(`"revision":`+strconv.FormatUint(full.Revision, 10)+`,`), []byte(`"revision":`+strconv.FormatUint(rev, 10)+`,`), 1), '\n')) {
		t.Errorf("served answer is not the cached one with the revision replaced: %s", body)
	}
	if c.get(req, rev, &PolicySet{}, idx, now, st) != nil || c.get(req, rev, ps, &rightsIndex{}, now, st) != nil {
		t.Errorf("entry served for another policy set or rights catalogue")
	}
	rev = patch(uidA)
	if c.get(req, rev, ps, idx, now, st) != nil {
		t.Errorf("entry served after a write to its user")
	}
}
