package models

import (
	"bytes"
	"os"
	"testing"

	"github.com/nodb-go/nodb/codegen"
)

// The checked-in generated files must be what go generate writes now.
func TestGeneratedUpToDate(t *testing.T) {
	pkgs, err := codegen.Load([]string{"."}, nil, []string{"User", "Order"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := codegen.Generate(pkgs[0], "")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("generated %d files, want 2", len(files))
	}
	for _, f := range files {
		old, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(old, f.Src) {
			t.Errorf("%s is stale: run go generate ./examples/models", f.Path)
		}
	}
}
