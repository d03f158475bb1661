package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestAppendDecisionsLargeBatch: one batch larger than a Badger
// transaction may hold (8 MB here; Badger allows about 4.8 MB with its
// 32 MiB memtable) is stored whole, in several transactions, instead of
// failing and taking every record of the batch with it.
func TestAppendDecisionsLargeBatch(t *testing.T) {
	st := storetest.Open(t)
	input, _ := json.Marshal(map[string]string{"pad": strings.Repeat("x", 8000)})
	now := time.Now()
	recs := make([]*store.DecisionRecord, 1000)
	for i := range recs {
		recs[i] = &store.DecisionRecord{DecisionID: fmt.Sprintf("d-%04d", i), Time: now.Add(time.Duration(i)),
			Path: "adgang/login", CVR: "12345674", Input: input}
	}
	if err := st.AppendDecisions(context.Background(), recs, true); err != nil {
		t.Fatalf("AppendDecisions: %v", err)
	}
	if err := st.View(context.Background(), func(tx *store.Tx) error {
		for _, id := range []string{"d-0000", "d-0500", "d-0999"} {
			if _, err := tx.GetDecision(id); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
