package pdp

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestTmpPlanDiff(t *testing.T) {
	ctx := context.Background()
	ps, err := LoadPolicySet(ctx, Source{SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := buildLoginPlan(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 10; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x61646761))
		now := time.Unix(1_800_000_000, 0)
		for i := 0; i < 500; i++ {
			in := sampleLoginInput(r, now)
			want, err := ps.evalLogin(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.eval(ctx, in, now)
			if err != nil {
				t.Fatalf("seed %d input %d: %v", seed, i, err)
			}
			if (want == nil) != (got == nil) || (want != nil && want.Compare(got) != 0) {
				t.Fatalf("seed %d input %d:\n got %v\nwant %v\n in %v", seed, i, got, want, in)
			}
		}
	}
}

func BenchmarkTmpPlan(b *testing.B) {
	ctx := context.Background()
	ps, _ := LoadPolicySet(ctx, Source{SkipTests: true})
	p, err := buildLoginPlan(ctx, ps)
	if err != nil {
		b.Fatal(err)
	}
	full, _ := os.ReadFile("/tmp/in.json")
	for _, c := range []struct{ name, in string }{{"empty", `{}`}, {"full", string(full)}} {
		in := ast.MustParseTerm(c.in).Value
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var d Decision
				if err, perr := p.decide(ctx, in, time.Now(), &d); err != nil || perr != nil {
					b.Fatal(err, perr)
				}
			}
		})
	}
}
