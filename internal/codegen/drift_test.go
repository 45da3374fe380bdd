package codegen_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestModelDrift changes models after generating their helpers, without
// regenerating, and checks what README says happens: a renamed or retyped
// key or indexed field fails to build; a changed nodb tag builds, and the
// generated constructor returns an error that names the difference and
// says to run go generate; other changes (a json tag, say) need nothing.
func TestModelDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet and go test")
	}
	files := generate(t, "./testdata/drift")
	model, err := filepath.Abs("testdata/drift/drift.go")
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// overlay writes an overlay of the generated files, the model file
	// changed by the replacements, and extra files.
	overlay := func(name string, replace []string, extra map[string]string) string {
		t.Helper()
		ov := map[string]map[string]string{"Replace": {}}
		add := func(path, src string) {
			p := filepath.Join(tmp, name+"-"+filepath.Base(path))
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			ov["Replace"][path] = p
		}
		for _, f := range files {
			add(f.Path, string(f.Src))
		}
		src := string(orig)
		for i := 0; i < len(replace); i += 2 {
			if !strings.Contains(src, replace[i]) {
				t.Fatalf("drift.go lacks %q", replace[i])
			}
			src = strings.Replace(src, replace[i], replace[i+1], 1)
		}
		add(model, src)
		for base, src := range extra {
			add(filepath.Join(filepath.Dir(model), base), src)
		}
		js, _ := json.Marshal(ov)
		p := filepath.Join(tmp, name+".json")
		if err := os.WriteFile(p, js, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Renamed and retyped fields: the build fails at the guard.
	ov := overlay("fields", []string{
		"City string `nodb:\"index\"`\n}\n\ntype Retyped", "Town string `nodb:\"index\"`\n}\n\ntype Retyped",
		"Age int    `nodb:\"index\"`", "Age int64  `nodb:\"index\"`",
	}, nil)
	out, err := exec.Command("go", "build", "-overlay="+ov, "./testdata/drift").CombinedOutput()
	if err == nil {
		t.Fatalf("a renamed and a retyped indexed field built:\n%s", out)
	}
	for _, want := range []string{"v.City undefined", "&v.Age (value of type *int64)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("build errors lack %q:\n%s", want, out)
		}
	}

	// Changed tags: the build succeeds, New says what differs.
	ov = overlay("tags", []string{
		"City  string\n}", "City  string `nodb:\"index\"`\n}", // Added
		"City  string `nodb:\"index\"`\n}\n\ntype Sparse", "City  string\n}\n\ntype Sparse", // Removed
		"Email string `nodb:\"unique\"`\n}\n\ntype Demoted", "Email string `nodb:\"unique,omitempty\"`\n}\n\ntype Demoted", // Sparse
		"Email string `nodb:\"unique\"`\n}\n\ntype Rekeyed", "Email string `nodb:\"index\"`\n}\n\ntype Rekeyed", // Demoted
		"ID    string `nodb:\"key\"`\n\tEmail string `nodb:\"unique\"`\n}\n\ntype Renamed", "ID    string\n\tEmail string `nodb:\"key\"`\n}\n\ntype Renamed", // Rekeyed
		"City string `nodb:\"index\"`\n\tNote string", "City string `nodb:\"index\" json:\"city\"`\n\tNote string `json:\"-\"`", // Untagged
	}, map[string]string{"drift_overlay_test.go": driftUse})
	out, err = exec.Command("go", "test", "-overlay="+ov, "-count=1", "-run", "TestDriftAtNew", "./testdata/drift").CombinedOutput()
	if err != nil {
		t.Fatalf("changed tags: %v\n%s", err, out)
	}
}

const driftUse = `package drift

import (
	"strings"
	"testing"

	"github.com/nodb-go/nodb/repo/memstore"
)

func TestDriftAtNew(t *testing.T) {
	st := memstore.New()
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"Added", second(NewAddedRepo(st)), "City is tagged nodb:\"index\" in the struct but not indexed in the generated code"},
		{"Removed", second(NewRemovedRepo(st)), "City is indexed (nodb:\"index\") in the generated code but not tagged in the struct"},
		{"Sparse", second(NewSparseRepo(st)), "Email is tagged nodb:\"unique,omitempty\" in the struct but nodb:\"unique\" in the generated code"},
		{"Demoted", second(NewDemotedRepo(st)), "Email is tagged nodb:\"index\" in the struct but nodb:\"unique\" in the generated code"},
		{"Rekeyed", second(NewRekeyedRepo(st)), "the key is Email in the struct but ID in the generated code"},
		{"Untagged", second(NewUntaggedRepo(st)), ""},
	} {
		switch {
		case c.want == "" && c.err != nil:
			t.Errorf("%s: %v", c.name, c.err)
		case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want) || !strings.Contains(c.err.Error(), "run go generate")):
			t.Errorf("%s: %v, want an error saying %s", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }
`
