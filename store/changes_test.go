package store_test

import (
	"reflect"
	"testing"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/pgtest"
	"github.com/adgang/adgang/store/storetest"
)

// change is a Change without its revision, for comparisons.
func change(kind store.ChangeKind, op store.ChangeOp, org, userID, groupID, object string) store.Change {
	return store.Change{Kind: kind, Op: op, Org: org, UserID: userID, GroupID: groupID, Object: object}
}

// TestWriteReturnsTypedChanges: each write method records what it changed
// as typed changes, in order, and Write returns them with the commit's
// revision; ChangesSince and the feed carry the same commit.
func TestWriteReturnsTypedChanges(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	mustUpdate(t, st, func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		return tx.CreateGroup(&store.Group{ID: "grp", Org: cvrA, Name: "G"})
	})
	userGrant := &store.Grant{ID: "gu", Right: "amp.sagsbehandler", HolderType: store.HolderUser, HolderID: uid(1), Org: cvrA,
		Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}}
	groupGrant := &store.Grant{ID: "gg", Right: "amp.sagsbehandler", HolderType: store.HolderGroup, HolderID: "grp", Org: cvrA,
		Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}}
	tests := []struct {
		name  string
		write func(tx *store.Tx) error
		want  []store.Change
	}{
		{"create user", func(tx *store.Tx) error { return tx.CreateUser(newUser(2, nil)) },
			[]store.Change{change(store.ChangeUser, store.OpCreate, cvrA, uid(2), "", uid(2))}},
		{"update user", func(tx *store.Tx) error {
			u, err := tx.GetUser(uid(2))
			if err != nil {
				return err
			}
			u.Name = "Renamed"
			return tx.UpdateUser(u)
		}, []store.Change{withFields(change(store.ChangeUser, store.OpUpdate, cvrA, uid(2), "", uid(2)), "name", "updated_at")}},
		{"grant to a user", func(tx *store.Tx) error { return tx.CreateGrant(userGrant) },
			[]store.Change{change(store.ChangeGrant, store.OpCreate, cvrA, uid(1), "", "gu")}},
		{"grant to a group", func(tx *store.Tx) error { return tx.CreateGrant(groupGrant) },
			[]store.Change{change(store.ChangeGrant, store.OpCreate, cvrA, "", "grp", "gg")}},
		{"add member", func(tx *store.Tx) error { return tx.AddMember("grp", uid(2)) },
			[]store.Change{change(store.ChangeMember, store.OpCreate, cvrA, uid(2), "grp", "grp")}},
		{"put right", func(tx *store.Tx) error {
			r, err := tx.GetRight("amp.sagsbehandler")
			if err != nil {
				return err
			}
			return tx.PutRight(r)
		}, []store.Change{change(store.ChangeRight, store.OpUpdate, "", "", "", "amp.sagsbehandler")}},
		{"token create and update", func(tx *store.Tx) error {
			if err := tx.PutToken(&store.Token{ID: "t1", Hash: "h1", UserID: uid(1)}); err != nil {
				return err
			}
			return tx.PutToken(&store.Token{ID: "t1", Hash: "h2", UserID: uid(1)})
		}, []store.Change{
			change(store.ChangeToken, store.OpCreate, "", uid(1), "", "t1"),
			change(store.ChangeToken, store.OpUpdate, "", uid(1), "", "t1"),
		}},
		{"certificate", func(tx *store.Tx) error {
			return tx.PutCertificate(&store.Certificate{Serial: "C1", Org: cvrA, UserID: uid(1), Type: "user", Status: store.CertIssued})
		}, []store.Change{change(store.ChangeCertificate, store.OpCreate, cvrA, uid(1), "", "C1")}},
		{"org update creates a system group", func(tx *store.Tx) error {
			o, err := tx.GetOrg(cvrB)
			if err != nil {
				return err
			}
			o.PUnits = []store.PUnit{{PNumber: "1000000003"}}
			return tx.UpdateOrg(o)
		}, []store.Change{
			change(store.ChangeOrg, store.OpUpdate, cvrB, "", "", cvrB),
			change(store.ChangeGroup, store.OpCreate, cvrB, "", "sys-1000000003", "sys-1000000003"),
		}},
		{"delete group takes its grants and members", func(tx *store.Tx) error { return tx.DeleteGroup("grp") },
			[]store.Change{
				change(store.ChangeGrant, store.OpDelete, cvrA, "", "grp", "gg"),
				change(store.ChangeMember, store.OpDelete, cvrA, uid(2), "grp", "grp"),
				change(store.ChangeGroup, store.OpDelete, cvrA, "", "grp", "grp"),
			}},
		{"delete user takes its grants", func(tx *store.Tx) error { return tx.DeleteUser(uid(1)) },
			[]store.Change{
				change(store.ChangeGrant, store.OpDelete, cvrA, uid(1), "", "gu"),
				change(store.ChangeUser, store.OpDelete, cvrA, uid(1), "", uid(1)),
			}},
		{"meta only", func(tx *store.Tx) error { return tx.PutMeta("job", 1) },
			[]store.Change{change(store.ChangeMeta, store.OpUpdate, "", "", "", "job")}},
		{"audit only: no change", func(tx *store.Tx) error {
			tx.Audit(store.AuditEvent{Type: "lifecycle.warn", Org: cvrA, Object: "b1"})
			return nil
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := st.Revision()
			feed, cancel := st.Subscribe(1)
			defer cancel()
			c, err := st.Write(ctx, "test", tc.write)
			if err != nil {
				t.Fatal(err)
			}
			if c.Revision != before+1 || st.Revision() != c.Revision {
				t.Fatalf("revision %d, want %d", c.Revision, before+1)
			}
			var got []store.Change
			for _, ch := range c.Changes {
				if ch.Revision != c.Revision {
					t.Errorf("change %+v has revision %d, want %d", ch, ch.Revision, c.Revision)
				}
				ch.Revision = 0
				got = append(got, ch)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("changes\n got %+v\nwant %+v", got, tc.want)
			}
			since, ok := st.ChangesSince(before)
			if !ok || len(since) != 1 || !reflect.DeepEqual(since[0].Changes, c.Changes) {
				t.Fatalf("ChangesSince(%d) = %+v, %v", before, since, ok)
			}
			if pub := <-feed; pub.Revision != c.Revision || !reflect.DeepEqual(pub.Changes, c.Changes) {
				t.Fatalf("feed published %+v, want %+v", pub, c)
			}
		})
	}
}

// TestFailedWriteRecordsNoChange: a write whose fn fails commits nothing,
// so it has no changes and no revision.
func TestFailedWriteRecordsNoChange(t *testing.T) {
	st := storetest.Open(t)
	seedOrgs(t, st)
	before := st.Revision()
	_, err := st.Write(ctx, "test", func(tx *store.Tx) error {
		if err := tx.CreateUser(newUser(1, nil)); err != nil {
			return err
		}
		if len(tx.Changes()) != 1 {
			t.Errorf("changes in flight = %+v", tx.Changes())
		}
		return store.Errorf(store.EInvalid, "refused")
	})
	wantCode(t, err, store.EInvalid, "")
	if since, ok := st.ChangesSince(before); !ok || len(since) != 0 || st.Revision() != before {
		t.Fatalf("after a failed write: %+v, %v, revision %d", since, ok, st.Revision())
	}
}

// TestChangesSinceOpen: the commits before the store was opened are not
// in memory; ChangesSince says so instead of returning a partial list.
func TestChangesSinceOpen(t *testing.T) {
	dir := t.TempDir()
	open := func() *store.Store {
		st, err := store.Open(store.Config{Dir: dir, NoSync: true, CPRKey: storetest.Key, GCInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	seedOrgs(t, st)
	rev := st.Revision()
	if _, ok := st.ChangesSince(0); !ok {
		t.Fatal("a fresh store should hold every commit since revision 0")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open()
	defer st.Close()
	if _, ok := st.ChangesSince(rev - 1); ok {
		t.Fatal("commits before the store was opened reported as held")
	}
	if since, ok := st.ChangesSince(rev); !ok || len(since) != 0 {
		t.Fatalf("ChangesSince(current) = %+v, %v", since, ok)
	}
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// withFields is c with the fields an update changed.
func withFields(c store.Change, fields ...string) store.Change {
	c.Fields = fields
	return c
}
