package api_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// BenchmarkDecisionAnswerAfterWrite is the cached answer as the HTTP
// handler takes it (LoginAnswer, then its JSON), over 1,000 users, with no
// write since the answers were cached (stale=false) and after one write
// to another user (stale=true): every hit then checks the answer's
// dependencies and names the later revision, which should cost little
// more than a hit at the revision it was read at.
func BenchmarkDecisionAnswerAfterWrite(b *testing.B) {
	for _, stale := range []bool{false, true} {
		b.Run(fmt.Sprint("stale=", stale), func(b *testing.B) {
			eng, req := benchEngine(b, pdp.Config{})
			st := openBenchStore(b, 100_000)
			ctx := context.Background()
			reqs := cachedRequests(b, eng, req)
			if stale {
				if _, err := st.Update(ctx, "bench", func(tx *store.Tx) error {
					u, err := tx.GetUser(storetest.BenchUserID(1))
					if err != nil {
						return err
					}
					u.Name = "x"
					return tx.UpdateUser(u)
				}); err != nil {
					b.Fatal(err)
				}
			}
			h0, m0 := eng.CacheCounts()
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := reqs[i%len(reqs)]
				i++
				d, err := eng.LoginAnswer(ctx, &r, pdp.RequestMeta{})
				if err != nil {
					b.Fatal(err)
				}
				buf = d.AppendJSON(buf[:0])
			}
			h1, m1 := eng.CacheCounts()
			b.ReportMetric(100*float64(h1-h0)/float64((h1-h0)+(m1-m0)), "hit%")
		})
	}
}
