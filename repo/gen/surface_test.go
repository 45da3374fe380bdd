package gen_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// Package repo exports what programs call; what only generated code calls
// lives here. None of it may come back into repo's exported API.
func TestRepoExportsNoGeneratedSupport(t *testing.T) {
	gone := map[string]bool{
		"Schema": true, "SchemaIndex": true, "WithSchema": true,
		"EncodeKeyString": true, "EncodeKeyInt": true, "EncodeKeyUint": true,
	}
	for _, name := range []string{"KeyString", "KeyInt", "KeyUint", "KeyText", "IndexString", "IndexBool",
		"IndexInt", "IndexUint", "IndexFloat", "IndexTime", "IndexText", "Index", "New"} {
		gone[name] = name != "New" // repo.New is the user's constructor
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "..", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := pkgs["repo"]
	if p == nil {
		t.Fatal("no package repo in ..")
	}
	var found int
	for _, f := range p.Files {
		for _, d := range f.Decls {
			var names []string
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						names = append(names, s.Name.Name)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names = append(names, n.Name)
						}
					}
				}
			}
			for _, n := range names {
				found++
				if gone[n] {
					t.Errorf("package repo exports %s again; generated-code support belongs in repo/gen", n)
				}
			}
		}
	}
	if found < 10 {
		t.Fatalf("found only %d declarations in package repo", found)
	}
}
