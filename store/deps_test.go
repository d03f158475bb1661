package store

import (
	"context"
	"strconv"
	"testing"

	"github.com/rs/zerolog"
)

// TestDepsChangedSince: a write records exactly the things it touched, at
// its revision; a key of an unknown kind counts as touching everything;
// a table past its bound is cleared and then reports every earlier read
// as changed.
func TestDepsChangedSince(t *testing.T) {
	st, err := Open(Config{Dir: t.TempDir(), NoSync: true, CPRKey: make([]byte, 32), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	before := st.Revision()
	userA, userB := Dep{DepUser, "a"}, Dep{DepUser, "b"}
	rev, err := st.Update(ctx, "t", func(tx *Tx) error {
		if err := tx.set("u/a", []byte("{}")); err != nil {
			return err
		}
		return tx.set("a/0000000000000001/0000", []byte("{}")) // audit: no dependency
	})
	if err != nil {
		t.Fatal(err)
	}
	if !st.DepsChangedSince([]Dep{userA}, before) || st.DepsChangedSince([]Dep{userA}, rev) {
		t.Errorf("user a: changed since %d should be true, since %d false", before, rev)
	}
	if st.DepsChangedSince([]Dep{userB, {DepOrg, "x"}, {DepRights, ""}}, before) {
		t.Errorf("a write to user a invalidated other things")
	}
	rev2, err := st.Update(ctx, "t", func(tx *Tx) error { return tx.set("zz/unknown", nil) })
	if err != nil {
		t.Fatal(err)
	}
	if !st.DepsChangedSince([]Dep{userB}, rev2-1) || st.DepsChangedSince([]Dep{userB}, rev2) {
		t.Errorf("a key of an unknown kind must invalidate every earlier read, and only those")
	}
	if _, err := st.Update(ctx, "t", func(tx *Tx) error {
		for i := range maxDepTable + 2 {
			tx.deps.add(DepUser, strconv.Itoa(i))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !st.DepsChangedSince(nil, rev2) {
		t.Errorf("after the table overflowed, an earlier read must count as changed")
	}
}

// TestDepTablePrunesOldest: a table past its bound keeps its newer half:
// a read labelled after the newest revision pruned is judged exactly as
// before (unchanged things unchanged, changed ones changed), and only a
// read labelled before it counts as changed.
func TestDepTablePrunesOldest(t *testing.T) {
	tab := depTable{limit: 8}
	write := func(rev uint64, ids ...string) {
		w := &depWrites{}
		for _, id := range ids {
			w.add(DepUser, id)
		}
		tab.record(w, rev, nil)
	}
	changed := func(rev uint64, ids ...string) bool {
		deps := make([]Dep, len(ids))
		for i, id := range ids {
			deps[i] = Dep{DepUser, id}
		}
		return tab.changedSince(deps, rev)
	}
	for i := range 9 { // the ninth distinct write overflows the table
		write(uint64(i+1), strconv.Itoa(i))
	}
	if n := len(tab.last); n == 0 || n > 8 {
		t.Fatalf("after pruning %d entries, want 1..8", n)
	}
	if tab.floor == 0 || tab.floor >= 9 {
		t.Fatalf("floor %d, want between the oldest and the newest write", tab.floor)
	}
	for _, tc := range []struct {
		name string
		rev  uint64
		ids  []string
		want bool
	}{
		{"read before the floor", tab.floor - 1, []string{"never-written"}, true},
		{"read at the floor, unchanged since", tab.floor, []string{"never-written"}, false},
		{"read at the floor, written after", tab.floor, []string{"8"}, true},
		{"read after the last write", 9, []string{"0", "8", "x"}, false},
		{"read before a kept write", 7, []string{"7"}, true},
		{"read at a kept write", 8, []string{"7"}, false},
	} {
		if got := changed(tc.rev, tc.ids...); got != tc.want {
			t.Errorf("%s (rev %d, floor %d): changed = %v, want %v", tc.name, tc.rev, tab.floor, got, tc.want)
		}
	}
}

// TestNeutralUsers: a user counts as neutrally changed only when every
// change of kind user naming it is a neutral update.
func TestNeutralUsers(t *testing.T) {
	name := Change{Kind: ChangeUser, Op: OpUpdate, UserID: "a", Fields: []string{"name", "updated_at"}}
	status := Change{Kind: ChangeUser, Op: OpUpdate, UserID: "a", Fields: []string{"status"}}
	create := Change{Kind: ChangeUser, Op: OpCreate, UserID: "a"}
	grant := Change{Kind: ChangeGrant, Op: OpCreate, UserID: "a"}
	for _, tc := range []struct {
		name    string
		changes []Change
		want    bool
	}{
		{"one neutral update", []Change{name}, true},
		{"two neutral updates", []Change{name, name}, true},
		{"neutral then not", []Change{name, status}, false},
		{"not then neutral", []Change{status, name}, false},
		{"created then renamed", []Change{create, name}, false},
		{"a grant is not a user change", []Change{name, grant}, true},
		{"no user change", []Change{grant}, false},
	} {
		if got := neutralUsers(tc.changes)["a"]; got != tc.want {
			t.Errorf("%s: neutral = %v, want %v", tc.name, got, tc.want)
		}
	}
}
