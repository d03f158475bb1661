package wasmvm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
)

const testPolicy = `package t

answer := {"greeting": sprintf("hello %v, %d", [input.name, count(input.items)]), "set": {x | some x in input.items}, "limit": data.conf.limit} if input.name != "nobody"

now := time.now_ns()
`

// compileTest compiles testPolicy with OPA's Wasm target.
func compileTest(t testing.TB, entrypoints ...string) *Module {
	t.Helper()
	ctx := context.Background()
	mod, err := ast.ParseModule("t.rego", testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle.Bundle{Data: map[string]any{}, Modules: []bundle.ModuleFile{{Path: "t.rego", URL: "t.rego", Parsed: mod, Raw: []byte(testPolicy)}}}
	c := compile.New().WithTarget(compile.TargetWasm).WithEntrypoints(entrypoints...).WithBundle(b)
	if err := c.Build(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := Compile(ctx, c.Bundle().WasmModules[0].Raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(ctx) })
	return m
}

// TestEval: answers in Rego's value form (sets stay sets), host built-ins
// (sprintf, time.now_ns) served by OPA's implementations, data documents,
// undefined results, and a reused instance that keeps nothing of the last
// input.
func TestEval(t *testing.T) {
	ctx := context.Background()
	m := compileTest(t, "t/answer", "t/now")
	answer, _ := m.Entrypoint("t/answer")
	now, _ := m.Entrypoint("t/now")
	in, err := m.NewInstance(ctx, []byte(`{"conf": {"limit": 7}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	at := time.Unix(1_700_000_000, 5)
	cases := []struct {
		name, entry, input, want string
	}{
		{"sprintf and a set", "answer", `{"name": "Ærø \"x\"", "items": ["b", "a", "b"]}`, `{"greeting": "hello Ærø \"x\", 3", "limit": 7, "set": {"a", "b"}}`},
		{"a longer input first", "answer", `{"name": "` + strings.Repeat("y", 100000) + `", "items": []}`, ""},
		{"then a short one", "answer", `{"name": "z", "items": [1]}`, `{"greeting": "hello z, 1", "limit": 7, "set": {1}}`},
		{"empty set", "answer", `{"name": "z", "items": []}`, `{"greeting": "hello z, 0", "limit": 7, "set": set()}`},
		{"undefined", "answer", `{"name": "nobody", "items": []}`, "undefined"},
		{"time.now_ns is the given time", "now", `{}`, "1700000000000000005"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := answer
			if tc.entry == "now" {
				ep = now
			}
			out, err := in.Eval(ep, []byte(tc.input), at)
			if tc.want == "undefined" {
				if !errors.Is(err, ErrUndefined) {
					t.Fatalf("got %s, %v; want undefined", out, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				return
			}
			got, err := ParseValue(out)
			if err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if want := ast.MustParseTerm(tc.want); got.Value.Compare(want.Value) != 0 {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// TestCompileRefuses: what is not an OPA Wasm module is refused.
func TestCompileRefuses(t *testing.T) {
	for _, bin := range [][]byte{nil, []byte("\x00asm\x01\x00\x00\x00"), []byte("not wasm at all")} {
		if _, err := Compile(context.Background(), bin); err == nil {
			t.Errorf("Compile(%q) succeeded", bin)
		}
	}
}

// TestParseValue: every value Rego writes reads back equal; malformed text
// is refused.
func TestParseValue(t *testing.T) {
	for _, text := range []string{
		`null`, `true`, `false`, `0`, `-1.5e3`, `"a\nb\u00e6\\\""`, `[]`, `[1, [2, {}]]`, `{}`, `set()`,
		`{"a": 1, "b": {"c": set()}}`, `{1, "x", [true]}`, `{{"result": {"allow": true}}}`, `{[1]: 2, 3: "x"}`,
	} {
		want := ast.MustParseTerm(text)
		got, err := ParseValue([]byte(text))
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		if got.Value.Compare(want.Value) != 0 {
			t.Errorf("%s: got %v", text, got)
		}
		if again, err := ParseValue([]byte(want.String())); err != nil || again.Value.Compare(want.Value) != 0 {
			t.Errorf("%s written back as %s: %v %v", text, want, again, err)
		}
	}
	for _, text := range []string{``, `[`, `{"a"`, `{"a": }`, `"x`, `nul`, `[1 2]`, `{1, "a": 2}`, `1 2`} {
		if v, err := ParseValue([]byte(text)); err == nil {
			t.Errorf("%q read as %v", text, v)
		}
	}
}

// FuzzParseValue: ParseValue never panics, and whatever it reads is what
// Rego's own parser reads.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{`{"a": [1, set(), {2}]}`, `"\u0041"`, `-0.5`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		got, err := ParseValue(text)
		if err != nil {
			return
		}
		want, err := ast.ParseTerm(string(text))
		if err != nil {
			return // Rego's parser is stricter about some JSON forms
		}
		if got.Value.Compare(want.Value) != 0 {
			t.Fatalf("%q: read %v, Rego reads %v", text, got, want)
		}
	})
}
