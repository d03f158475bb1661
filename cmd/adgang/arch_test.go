package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The architecture check (issue 13): imports run one way, net/http stays
// at the edges, functions stay short and every exported name says what it
// is. archKnown lists what today's tree still does wrong; the test fails
// on anything new and on a known entry that is gone (delete it: the list
// only shrinks).

// archLayers ranks the module's packages: a package may import only
// packages of a lower rank (or its own tree's packages below it).
var archLayers = []struct {
	prefix string
	rank   int
}{
	{"cmd", 6},
	{"admin/api/console", 5},
	{"admin/api", 4},
	{"admin/jobs", 4},
	{"admin", 3},
	{"pdp/api", 2},
	{"pdp", 1},
	{"store/storetest", 2}, // test support: opens a store, or a fleet node of one
	{"store/pg", 1},        // the fleet's PostgreSQL log: implements store.Log; cmd wires it
	{"store", 0},
	{"policies", 0},
}

// archHTTP are the packages that may import net/http: the listeners, the
// commands and outbound clients.
var archHTTP = []string{"pdp/api", "admin/api", "cmd"}

const archMaxLines = 80

func archRank(pkg string) int {
	for _, l := range archLayers {
		if pkg == l.prefix || strings.HasPrefix(pkg, l.prefix+"/") {
			return l.rank
		}
	}
	return -1
}

func archHTTPAllowed(pkg string) bool {
	for _, p := range archHTTP {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

// archCheck walks the Go files under root (module path mod) and returns
// every violation as a stable line.
func archCheck(root, mod string) ([]string, error) {
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		out = append(out, archFile(fset, f, rel, mod)...)
		return nil
	})
	sort.Strings(out)
	return out, err
}

// archFile checks one file.
func archFile(fset *token.FileSet, f *ast.File, rel, mod string) []string {
	var out []string
	pkg := filepath.ToSlash(filepath.Dir(rel))
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p == "net/http" && !archHTTPAllowed(pkg) {
			out = append(out, fmt.Sprintf("net/http: %s", rel))
		}
		if dep, ok := strings.CutPrefix(p, mod+"/"); ok && !strings.HasPrefix(dep, pkg+"/") {
			if archRank(dep) >= archRank(pkg) {
				out = append(out, fmt.Sprintf("import: %s imports %s", pkg, dep))
			}
		}
	}
	for _, d := range f.Decls {
		out = append(out, archDecl(fset, d, rel, f.Name.Name)...)
	}
	return out
}

// archDecl checks one declaration's length and doc comments.
func archDecl(fset *token.FileSet, d ast.Decl, rel, pkgName string) []string {
	var out []string
	undoc := func(name string) { out = append(out, fmt.Sprintf("undocumented: %s %s", rel, name)) }
	switch d := d.(type) {
	case *ast.FuncDecl:
		if n := fset.Position(d.End()).Line - fset.Position(d.Pos()).Line + 1; n > archMaxLines {
			out = append(out, fmt.Sprintf("long: %s %s", rel, funcName(d)))
		}
		if d.Name.IsExported() && d.Doc == nil && pkgName != "main" && archRecvExported(d) {
			undoc(funcName(d))
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() && d.Doc == nil && s.Doc == nil && pkgName != "main" {
					undoc(s.Name.Name)
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil && pkgName != "main" {
						undoc(n.Name)
					}
				}
			}
		}
	}
	return out
}

// archRecvExported: a method counts only when its receiver type is exported.
func archRecvExported(d *ast.FuncDecl) bool {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return true
	}
	t := d.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if g, ok := t.(*ast.IndexExpr); ok {
		t = g.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return d.Name.Name
}

// TestArchitecture runs the check over the module: nothing beyond the
// known list, and every known entry still true.
func TestArchitecture(t *testing.T) {
	got, err := archCheck("../..", "github.com/adgang/adgang")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, k := range archKnown {
		known[k] = true
	}
	seen := map[string]bool{}
	for _, v := range got {
		seen[v] = true
		if !known[v] {
			t.Errorf("new architecture violation: %s", v)
		}
	}
	for _, k := range archKnown {
		if !seen[k] {
			t.Errorf("fixed, so remove it from archKnown: %s", k)
		}
	}
	t.Logf("%d known violations left (issue 13)", len(archKnown))
	if os.Getenv("ARCH_PRINT") != "" {
		for _, v := range got {
			fmt.Printf("\t%q,\n", v)
		}
	}
}

// TestArchitectureFixture: each check fires on a small tree made to break it.
func TestArchitectureFixture(t *testing.T) {
	got, err := archCheck("testdata/archfixture", "example.com/fix")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"import: pdp imports admin",
		"long: admin/a.go Long",
		"net/http: admin/a.go",
		"undocumented: admin/a.go Undocumented",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("fixture violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
