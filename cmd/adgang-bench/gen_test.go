package main

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// TestGeneratedExpectations: every request of a generated data set gets
// exactly the decision it was built to get from the real decision service,
// and the mix is about 80% allowed.
func TestGeneratedExpectations(t *testing.T) {
	ds := Generate(7, 400)
	if !reflect.DeepEqual(ds.Requests, Generate(7, 400).Requests) {
		t.Fatal("generation is not deterministic")
	}
	dir := t.TempDir()
	if err := LoadStore(context.Background(), dir, ds); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Config{Dir: filepath.Join(dir, "badger"), NoSync: true,
		CPRKey: []byte("bench-cpr-key-bench-cpr-key-0001"), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := pdp.New(context.Background(), st, pdp.Config{Logger: zerolog.Nop(), CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	allowed := 0
	for _, r := range ds.Requests {
		d, err := eng.Login(context.Background(), &pdp.LoginRequest{
			Subject: pdp.Subject{ID: r.SubjectID, CVR: r.CVR, Kind: "employee", CPRLinked: true}, Service: r.Service}, pdp.RequestMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Allow != r.Allow {
			t.Fatalf("%s (%s): allow=%v, built to be %v; reasons %+v", r.SubjectID, r.Why, d.Allow, r.Allow, d.Reasons)
		}
		if d.Allow {
			allowed++
		}
	}
	if share := float64(allowed) / float64(len(ds.Requests)); share < 0.7 || share > 0.85 {
		t.Fatalf("allowed share %.2f, want about 0.8", share)
	}
}
