package pg_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/pg"
	"github.com/adgang/adgang/store/pgtest"
	"github.com/adgang/adgang/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const cvr = "12345674"

// node opens a replica in dir following the log at dsn.
func node(t *testing.T, dsn, dir string) *store.Store {
	t.Helper()
	st, err := openNode(dsn, dir)
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func openNode(dsn, dir string) (*store.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := pg.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(store.Config{Dir: dir, NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1, Log: l})
	if err != nil {
		l.Close()
		return nil, err
	}
	return st, nil
}

// longTest skips the fleet tests under -short: make gotest runs them once,
// without the race detector, in its long-test step.
func longTest(t *testing.T) {
	if testing.Short() {
		t.Skip("a fleet test: runs in the long-test step (make gotest)")
	}
}

func pgtestDB(tb testing.TB) string { return pgtest.NewDatabase(tb) }

func createOrg(t *testing.T, st *store.Store) uint64 {
	t.Helper()
	rev, err := st.Update(context.Background(), "test", func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: cvr, Name: "Gymnasium A", Type: store.OrgInstitution,
			PUnits: []store.PUnit{{PNumber: "1000000001"}}})
	})
	if err != nil {
		t.Fatalf("create org: %v", err)
	}
	return rev
}

func createUser(st *store.Store, id, email string) (uint64, error) {
	return st.Update(context.Background(), "test", func(tx *store.Tx) error {
		return tx.CreateUser(&store.User{ID: id, Org: cvr, Name: "User " + id[len(id)-4:], Email: email,
			Kind: store.KindEmployee, Status: store.StatusActive})
	})
}

func userID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func hasUser(st *store.Store, id string) bool {
	err := st.View(context.Background(), func(tx *store.Tx) error {
		_, err := tx.GetUser(id)
		return err
	})
	return err == nil
}

// A write on one node is read on another once it has applied the
// revision (read-your-writes), and both agree on every revision.
func TestFleetReadYourWrites(t *testing.T) {
	longTest(t)
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	b := node(t, dsn, t.TempDir())
	createOrg(t, a)
	for i := range 20 {
		st := a
		if i%2 == 1 {
			st = b // both nodes write
		}
		rev, err := createUser(st, userID(i), fmt.Sprintf("u%d@example.dk", i))
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		other := b
		if st == b {
			other = a
		}
		if err := other.WaitRevision(context.Background(), rev, 5*time.Second); err != nil {
			t.Fatalf("other node did not reach revision %d: %v", rev, err)
		}
		if !hasUser(other, userID(i)) {
			t.Fatalf("user %d missing on the other node at revision %d", i, rev)
		}
	}
	if a.Revision() != b.Revision() {
		t.Fatalf("revisions differ: %d %d", a.Revision(), b.Revision())
	}
	if err := b.WaitRevision(context.Background(), a.Revision()+1, 50*time.Millisecond); !store.IsReason(err, "revision_not_reached") {
		t.Fatalf("waiting for a revision nobody wrote: %v, want revision_not_reached", err)
	}
}

// Two nodes racing for the same e-mail (A12): exactly one wins, on every try.
func TestFleetRaceUniqueEmail(t *testing.T) {
	longTest(t)
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	b := node(t, dsn, t.TempDir())
	createOrg(t, a)
	for round := range 10 {
		email := fmt.Sprintf("race%d@example.dk", round)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, st := range []*store.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = createUser(st, userID(1000+round*2+i), email)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !store.IsConflict(err):
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d writers won (errors %v), want exactly 1", round, won, errs)
		}
	}
}

// A new node starts from a snapshot; a stopped node catches up by revision.
func TestFleetSnapshotAndCatchUp(t *testing.T) {
	longTest(t)
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	createOrg(t, a)
	for i := range 5 {
		if _, err := createUser(a, userID(i), fmt.Sprintf("s%d@example.dk", i)); err != nil {
			t.Fatal(err)
		}
	}
	c := node(t, dsn, t.TempDir()) // new: snapshot
	if c.Revision() != a.Revision() || !hasUser(c, userID(4)) {
		t.Fatalf("new node at %d (writer %d), user 4 there: %v", c.Revision(), a.Revision(), hasUser(c, userID(4)))
	}
	dir := t.TempDir()
	b, err := openNode(dsn, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 10; i++ {
		if _, err := createUser(a, userID(i), fmt.Sprintf("s%d@example.dk", i)); err != nil {
			t.Fatal(err)
		}
	}
	b = node(t, dsn, dir) // restarted: catches up from the log
	if b.Revision() != a.Revision() || !hasUser(b, userID(9)) {
		t.Fatalf("restarted node at %d (writer %d)", b.Revision(), a.Revision())
	}
	if err := c.WaitRevision(context.Background(), a.Revision(), 5*time.Second); err != nil || !hasUser(c, userID(9)) {
		t.Fatalf("follower: %v", err)
	}
}

// A data directory that holds a store of its own, or follows another
// system of record, is refused.
func TestFleetRefusesForeignReplica(t *testing.T) {
	longTest(t)
	dir := t.TempDir()
	st, err := store.Open(store.Config{Dir: dir, NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, err := openNode(pgtest.NewDatabase(t), dir); err == nil {
		st.Close()
		t.Fatal("a standalone store joined a fleet")
	}
	dir2 := t.TempDir()
	st2, err := openNode(pgtest.NewDatabase(t), dir2)
	if err != nil {
		t.Fatal(err)
	}
	st2.Close()
	if st, err := openNode(pgtest.NewDatabase(t), dir2); err == nil {
		st.Close()
		t.Fatal("a replica joined another system of record")
	}
	if st, err := store.Open(store.Config{Dir: dir2, NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1}); err == nil {
		st.Close()
		t.Fatal("a replica opened on its own (its writes would never reach the fleet)")
	}
}

// PostgreSQL down: reads go on, writes fail cleanly (nothing written, 503
// store_unavailable), the status says why; back up: writes resume.
func TestFleetLogDown(t *testing.T) {
	longTest(t)
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	createOrg(t, a)
	before := a.Revision()
	cl := pgtest.Shared(t)
	cl.Stop()
	restarted := false
	defer func() {
		if !restarted {
			_ = cl.Start()
		}
	}()
	_, err := createUser(a, userID(1), "down@example.dk")
	if !store.IsReason(err, "store_unavailable") {
		t.Fatalf("write with PostgreSQL down: %v, want store_unavailable", err)
	}
	if a.Revision() != before || hasUser(a, userID(1)) {
		t.Fatal("a write that failed left something behind")
	}
	if st := a.ReplicaStatus(); st.Kind != "postgres" || st.Err == nil {
		t.Fatalf("status with PostgreSQL down: %+v", st)
	}
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	var rev uint64
	deadline := time.Now().Add(20 * time.Second)
	for {
		if rev, err = createUser(a, userID(1), "down@example.dk"); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || rev != before+1 {
		t.Fatalf("write after PostgreSQL came back: rev %d, %v", rev, err)
	}
}

// Login times on a fleet node take no revision and are kept locally, then
// shipped; the node that folds them writes every node's times into the
// user records, which every replica then sees (L1 reads them there).
func TestFleetLoginTimes(t *testing.T) {
	longTest(t)
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	b := node(t, dsn, t.TempDir())
	createOrg(t, a)
	for i := range 2 {
		if _, err := createUser(a, userID(i), fmt.Sprintf("t%d@example.dk", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WaitRevision(context.Background(), a.Revision(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rev := b.Revision()
	if err := b.TouchLogins(context.Background(), map[string]time.Time{userID(0): at, userID(1): at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := a.TouchLogins(context.Background(), map[string]time.Time{userID(0): at.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if b.Revision() != rev || a.Revision() != rev {
		t.Fatalf("login times took a revision: %d, %d after %d", a.Revision(), b.Revision(), rev)
	}
	deadline := time.Now().Add(10 * time.Second)
	var n int
	for n < 2 && time.Now().Before(deadline) {
		got, err := a.FoldLogins(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += got
		time.Sleep(200 * time.Millisecond)
	}
	if err := b.WaitRevision(context.Background(), a.Revision(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Time{at.Add(2 * time.Hour), at.Add(time.Hour)} {
		for _, st := range []*store.Store{a, b} {
			var got *time.Time
			_ = st.View(context.Background(), func(tx *store.Tx) error {
				u, err := tx.GetUser(userID(i))
				if err == nil {
					got = u.LastLogin
				}
				return err
			})
			if got == nil || !got.Equal(want) {
				t.Fatalf("user %d last login %v, want %v (the later of all nodes')", i, got, want)
			}
		}
	}
}

// The log is pruned below what every live node has applied; a node that
// was away while the log was pruned past it starts again from a snapshot
// and misses nothing.
func TestFleetPruneAndResync(t *testing.T) {
	longTest(t)
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	createOrg(t, a)
	dir := t.TempDir()
	b, err := openNode(dsn, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	behind := a.Revision()
	for i := range 20 {
		if _, err := createUser(a, userID(i), fmt.Sprintf("p%d@example.dk", i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	l, err := pg.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Only a reports now: b's last report is older than live.
	time.Sleep(1100 * time.Millisecond)
	if err := l.Report(ctx, "test-node-a", a.Revision()); err != nil {
		t.Fatal(err)
	}
	n, err := l.Prune(ctx, time.Second, 0)
	if err != nil || n == 0 {
		t.Fatalf("prune: %d entries, %v", n, err)
	}
	if oldest, _ := l.Oldest(ctx); oldest <= behind+1 {
		t.Fatalf("the log still starts at %d; b is at %d", oldest, behind)
	}
	b = node(t, dsn, dir)
	if b.Revision() != a.Revision() || !hasUser(b, userID(19)) || !hasUser(b, userID(0)) {
		t.Fatalf("resynced node at %d (writer %d)", b.Revision(), a.Revision())
	}
	// Writes go on from both.
	if _, err := createUser(b, userID(100), "after@example.dk"); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitRevision(ctx, b.Revision(), 5*time.Second); err != nil || !hasUser(a, userID(100)) {
		t.Fatalf("after the resync: %v", err)
	}
}

// The stored decision log in a fleet: a decision kept on one node reaches
// the others within seconds, without a revision, so an auditor sees every
// node's decisions on any node; the log's copies are pruned by age.
func TestFleetDecisionLog(t *testing.T) {
	longTest(t)
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	b := node(t, dsn, t.TempDir())
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	rec := func(id string) *store.DecisionRecord {
		return &store.DecisionRecord{DecisionID: id, Time: at, Path: "adgang/login/decision", UserID: userID(1), CVR: cvr,
			Allow: true, Result: []byte(`{"allow":true}`)}
	}
	rev := a.Revision()
	if err := a.AppendDecisions(ctx, []*store.DecisionRecord{rec("d-on-a")}, false); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendDecisions(ctx, []*store.DecisionRecord{rec("d-on-b")}, false); err != nil {
		t.Fatal(err)
	}
	has := func(st *store.Store, id string) bool {
		return st.View(ctx, func(tx *store.Tx) error { _, err := tx.GetDecision(id); return err }) == nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for !(has(a, "d-on-b") && has(b, "d-on-a")) {
		if time.Now().After(deadline) {
			t.Fatalf("decisions not shared: a has b's %v, b has a's %v", has(a, "d-on-b"), has(b, "d-on-a"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	var list []*store.DecisionRecord
	_ = b.View(ctx, func(tx *store.Tx) (err error) {
		list, _, err = tx.ListDecisions(store.DecisionQuery{UserID: userID(1)})
		return
	})
	if len(list) != 2 {
		t.Fatalf("b lists %d decisions of the user, want both nodes' 2", len(list))
	}
	if a.Revision() != rev || b.Revision() != rev {
		t.Fatalf("stored decisions took a revision: %d, %d after %d", a.Revision(), b.Revision(), rev)
	}
	l, err := pg.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n, err := l.PruneDecisions(ctx, at.Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("prune the log's decisions: %d, %v", n, err)
	}
}

// A follower learns from the log which fields an update of a user changed:
// a new name leaves its cached login reads valid, a new status does not,
// as on the node that wrote them.
func TestFleetNeutralUserUpdate(t *testing.T) {
	longTest(t)
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	b := node(t, dsn, t.TempDir())
	createOrg(t, a)
	if _, err := createUser(a, userID(1), "u1@example.dk"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		mut     func(u *store.User)
		changed bool
	}{
		{"name", func(u *store.User) { u.Name = "Renamed" }, false},
		{"status", func(u *store.User) { u.Status = store.StatusInactive }, true},
	} {
		if err := b.WaitRevision(ctx, a.Revision(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		v, err := b.LoginView(ctx, cvr, userID(1), "")
		if err != nil || v.User == nil {
			t.Fatalf("login view on the follower: %v", err)
		}
		rev, err := a.Update(ctx, "test", func(tx *store.Tx) error {
			u, err := tx.GetUser(userID(1))
			if err != nil {
				return err
			}
			tc.mut(u)
			return tx.UpdateUser(u)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.WaitRevision(ctx, rev, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if got := b.DepsChangedSince(v.Deps, v.Revision); got != tc.changed {
			t.Errorf("%s: the follower's read changed = %v, want %v", tc.name, got, tc.changed)
		}
		if got := a.DepsChangedSince(v.Deps, v.Revision); got != tc.changed {
			t.Errorf("%s: the writer's read changed = %v, want %v", tc.name, got, tc.changed)
		}
	}
}

// A fleet node never reads the user login index (store/userindex.go): a
// node of an earlier version, which does not keep it, may write the log.
// Simulated here: a membership appended to the log as such a node writes
// it, without the index record; the decision read must see the group.
func TestFleetLoginReadWithoutUserIndex(t *testing.T) {
	longTest(t)
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	a := node(t, dsn, t.TempDir())
	createOrg(t, a)
	u := userID(1)
	if _, err := createUser(a, u, "u1@example.dk"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, "test", func(tx *store.Tx) error {
		if err := tx.CreateGroup(&store.Group{ID: "grp", Org: cvr, Name: "G", Kind: store.GroupCustom}); err != nil {
			return err
		}
		return tx.CreateGrant(&store.Grant{ID: "gg", Right: "amp.sagsbehandler", HolderType: store.HolderGroup, HolderID: "grp",
			Org: cvr, Scope: store.Scope{Type: store.ScopeCVR, Value: cvr}})
	}); err != nil {
		t.Fatal(err)
	}
	l, err := pg.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	latest, err := l.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The two membership keys, as store/keys.go lays them out.
	if err := l.Append(ctx, &store.LogEntry{Revision: latest + 1, Writer: "earlier-version", Changes: []byte("[]"),
		Ops: []store.LogOp{{Key: []byte("igm/grp/" + u)}, {Key: []byte("ium/" + u + "/grp")}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitRevision(ctx, latest+1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	v, err := a.LoginView(ctx, cvr, u, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Grants) != 1 || v.Grants[0].ID != "gg" {
		t.Fatalf("grants %+v: want the group's grant gg", v.Grants)
	}
}
