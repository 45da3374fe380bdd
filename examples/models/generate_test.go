package models

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nodb-go/nodb/internal/codegen"
)

// The checked-in generated files must be what go generate writes now.
func TestGeneratedUpToDate(t *testing.T) {
	pkgs, err := codegen.Load([]string{"."}, nil, []string{"User", "Order"})
	if err != nil {
		t.Fatal(err)
	}
	// The headers record the command line of the go:generate directive.
	src, err := os.ReadFile("models.go")
	if err != nil {
		t.Fatal(err)
	}
	directive := regexp.MustCompile(`(?m)^//go:generate go run github.com/nodb-go/nodb/cmd/nodbgen(.*)$`).FindSubmatch(src)
	if directive == nil {
		t.Fatal("models.go has no go:generate directive running nodbgen")
	}
	files, err := codegen.Generate(pkgs[0], "", codegen.Command(strings.Fields(string(directive[1]))))
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
