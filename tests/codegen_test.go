package tests

import (
	"bytes"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodb-go/nodb/internal/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// TestCodegenEndToEnd runs nodbgen the way users do: go generate in a
// module of its own (testdata/fixture, with a replace directive to this
// repository), then builds, vets and runs a program that uses every
// generated helper against real stores: a file:// directory and a bucket on
// the S3 test server.
func TestCodegenEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is not on PATH")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyDir(t, filepath.Join("testdata", "fixture"), dir)
	gomod := "module example.com/fixture\n\ngo 1.26\n\n" +
		"require github.com/nodb-go/nodb v0.0.0\n\n" +
		"replace github.com/nodb-go/nodb => " + root + "\n"
	writeFile(t, filepath.Join(dir, "go.mod"), gomod)

	start := time.Now()
	gocmd(t, dir, nil, "mod", "tidy")
	gocmd(t, dir, nil, "generate", "./...")
	generated := generatedFiles(t, dir)
	if want := []string{"host_nodb.go", "order_nodb.go", "user_nodb.go"}; !slices.Equal(names(generated), want) {
		t.Fatalf("go generate wrote %v, want %v", names(generated), want)
	}
	gocmd(t, dir, nil, "vet", "./...")

	gocmd(t, dir, nil, "build", "-o", filepath.Join(dir, "fixture.bin"), ".")
	env := s3test.Server(t)
	_, bucket := s3test.NewBucket(t)
	stores := map[string][]string{
		"file": {"NODB_URL=file://" + filepath.Join(t.TempDir(), "data")},
		"s3":   {"NODB_URL=s3://" + bucket + "/fixture?path_style=true&region=" + url.QueryEscape(env.Region) + "&endpoint=" + url.QueryEscape(env.Endpoint)},
	}
	if env.AccessKey != "" {
		stores["s3"] = append(stores["s3"], "AWS_ACCESS_KEY_ID="+env.AccessKey, "AWS_SECRET_ACCESS_KEY="+env.SecretKey)
	}
	for name, vars := range stores {
		cmd := exec.Command(filepath.Join(dir, "fixture.bin"))
		cmd.Env = append(os.Environ(), vars...)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("fixture on %s: %v\n%s", name, err, out)
		}
	}
	os.Remove(filepath.Join(dir, "fixture.bin"))

	// Regenerating changes nothing, byte for byte.
	gocmd(t, dir, nil, "generate", "./...")
	for name, src := range generatedFiles(t, dir) {
		if !bytes.Equal(src, generated[name]) {
			t.Errorf("%s changed on the second go generate", name)
		}
	}

	// A model changed without regenerating must not build: rename an
	// indexed field, then retype one.
	model := filepath.Join(dir, "models.go")
	orig := readFile(t, model)
	for _, c := range []struct{ old, new, want string }{
		{"\tCity  string    `nodb:\"index\"`", "\tTown  string    `nodb:\"index\"`", "City"},
		{"\tAge   int       `nodb:\"index\"`", "\tAge   int32     `nodb:\"index\"`", "int32"},
		{"\tID       int64   `nodb:\"key\"`", "\tID       int     `nodb:\"key\"`", "int"},
	} {
		if !strings.Contains(orig, c.old) {
			t.Fatalf("models.go has no line %q", c.old)
		}
		writeFile(t, model, strings.Replace(orig, c.old, c.new, 1))
		cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("go build succeeded after %q -> %q without regenerating", c.old, c.new)
		} else if !strings.Contains(string(out), "_nodb.go") || !strings.Contains(string(out), c.want) {
			t.Errorf("go build after %q -> %q failed, but not in the generated code:\n%s", c.old, c.new, out)
		}
	}

	// The stale generated file does not stop go generate: it regenerates
	// for the new model (main.go, which uses FindByCity, is then what
	// fails to build).
	writeFile(t, model, strings.Replace(orig, "\tCity  string", "\tTown  string", 1))
	gocmd(t, dir, nil, "generate", "./...")
	if src := readFile(t, filepath.Join(dir, "user_nodb.go")); !strings.Contains(src, "func (r *UserRepo) FindByTown(") || strings.Contains(src, "City") {
		t.Errorf("user_nodb.go was not regenerated for Town")
	}
	t.Logf("end-to-end in %v", time.Since(start).Round(time.Millisecond))
}

// gocmd runs the go command in dir and returns its standard output,
// failing the test on an error.
func gocmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	// Dependencies come from the module cache (or GOPROXY as configured);
	// -mod=mod lets go.sum be completed.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// generatedFiles returns the *_nodb.go files of dir by name.
func generatedFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*_nodb.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, p := range matches {
		m[filepath.Base(p)] = []byte(readFile(t, p))
	}
	return m
}

func names(m map[string][]byte) []string {
	var out []string
	for name := range m {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			writeFile(t, filepath.Join(to, e.Name()), readFile(t, filepath.Join(from, e.Name())))
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
