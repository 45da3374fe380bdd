package codegen_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nodb-go/nodb/codegen"
)

var update = flag.Bool("update", false, "rewrite the testdata/golden files")

// generate loads dir (a package of this module, relative to the test's
// directory) and renders its models.
func generate(t *testing.T, dir string, types ...string) []codegen.File {
	t.Helper()
	pkgs, err := codegen.Load([]string{dir}, nil, types)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 {
		t.Fatalf("Load(%s) returned %d packages", dir, len(pkgs))
	}
	files, err := codegen.Generate(pkgs[0], "")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestGolden(t *testing.T) {
	files := generate(t, "./testdata/kinds")
	var names []string
	for _, f := range files {
		name := filepath.Base(f.Path)
		names = append(names, name)
		golden := filepath.Join("testdata", "golden", name+".golden")
		if *update {
			if err := os.WriteFile(golden, f.Src, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./codegen -update)", err)
		}
		if !bytes.Equal(f.Src, want) {
			t.Errorf("%s differs from %s (run go test ./codegen -update and review the diff)\n%s", name, golden, lineDiff(string(want), string(f.Src)))
		}
	}
	// NotAModel has no key, so it is skipped; event is unexported but
	// still a model.
	if want := []string{"byaddr_nodb.go", "bynumber_nodb.go", "event_nodb.go", "everything_nodb.go"}; !slices.Equal(names, want) {
		t.Errorf("generated files %v, want %v", names, want)
	}
}

// lineDiff shows the first differing line.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n\twant: " + w + "\n\tgot:  " + g
		}
	}
	return ""
}

func TestOutputShape(t *testing.T) {
	for _, f := range generate(t, "./testdata/kinds") {
		first, _, _ := strings.Cut(string(f.Src), "\n")
		if first != codegen.Header {
			t.Errorf("%s: first line %q, want %q", f.Path, first, codegen.Header)
		}
		if !regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`).Match(f.Src) {
			t.Errorf("%s: no standard generated-code header", f.Path)
		}
		formatted, err := format.Source(f.Src)
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if !bytes.Equal(formatted, f.Src) {
			t.Errorf("%s is not gofmt-clean", f.Path)
		}
		wd, _ := os.Getwd()
		if bytes.Contains(f.Src, []byte(wd)) {
			t.Errorf("%s contains the absolute path %s", f.Path, wd)
		}
	}
}

// The generated code must compile against the runtime, in the package it
// was generated for, and pass go vet: checked with an overlay, so that
// nothing is written into testdata.
func TestGeneratedCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	files := generate(t, "./testdata/kinds")
	tmp := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
	for _, f := range files {
		p := filepath.Join(tmp, filepath.Base(f.Path))
		if err := os.WriteFile(p, f.Src, 0o644); err != nil {
			t.Fatal(err)
		}
		overlay["Replace"][f.Path] = p
	}
	// A file using every generated helper kind, so that unused code is
	// type-checked in use too.
	use := filepath.Join(tmp, "use.go")
	if err := os.WriteFile(use, []byte(useKinds), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/kinds/use_test_overlay.go")
	overlay["Replace"][abs] = use
	js, _ := json.Marshal(overlay)
	ov := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ov, js, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "vet", "-overlay="+ov, "./testdata/kinds").CombinedOutput()
	if err != nil {
		t.Fatalf("go vet of the generated code: %v\n%s", err, out)
	}
}

const useKinds = `package kinds

import (
	"context"
	"net/netip"
	"time"

	"github.com/nodb-go/nodb/repo/memstore"
)

func use(ctx context.Context) {
	r, _ := NewEverythingRepo(memstore.New())
	_, _ = r.Get(ctx, Name("k"))
	_, _ = r.GetByS(ctx, "s")
	_, _ = r.GetByF64(ctx, 1.5)
	_ = r.FindByNS(ctx, Name("n"))
	_, _ = r.CountByB(ctx, true)
	_ = r.RangeByI8(ctx, -1, 1)
	_, _ = r.RangeByTSPage(ctx, time.Time{}, time.Now(), "", 10)
	_ = r.RangeByLvl(ctx, Level(1), Level(2))
	_ = r.FindByC(ctx, Code{1, 2})
	_ = r.FindByTenant(ctx, "t")
	_, _ = r.Update(ctx, "k", func(*Everything) error { return nil })
	n, _ := NewByNumberRepo(memstore.New())
	_ = n.Delete(ctx, 7)
	a, _ := NewByAddrRepo(memstore.New())
	_, _ = a.GetRecord(ctx, netip.MustParseAddr("::1"))
	e, _ := newEventRepo(memstore.New())
	_ = e.RangeByKind(ctx, 1, 2)
	_ = EverythingFieldAddr + ByAddrFieldSeen + eventFieldKind
}
`

func TestDeterministic(t *testing.T) {
	a := generate(t, "./testdata/kinds")
	b := generate(t, "./testdata/kinds")
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Src, b[i].Src) {
			t.Errorf("%s: two runs differ", a[i].Path)
		}
	}
}

// wantRE matches a want comment: // want `regexp`
var wantRE = regexp.MustCompile("// want `([^`]*)`")

func TestModelErrors(t *testing.T) {
	src, err := os.ReadFile("testdata/bad/bad.go")
	if err != nil {
		t.Fatal(err)
	}
	wants := map[int]*regexp.Regexp{} // line -> expected message
	for i, line := range strings.Split(string(src), "\n") {
		if m := wantRE.FindStringSubmatch(line); m != nil {
			wants[i+1] = regexp.MustCompile(m[1])
		}
	}
	types := []string{"UnknownTag", "UnknownOption", "KeyOmitEmpty", "NoKey", "TwoKeys", "FloatKey",
		"PointerKey", "PointerIndex", "SliceIndex", "Unexported", "ViaPointer", "TypeError", "Several",
		"Collide", "NotStruct", "Good"}
	_, err = codegen.Load([]string{"./testdata/bad"}, nil, types)
	var list codegen.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Load: %v, want an ErrorList", err)
	}
	matched := map[int]bool{}
	for _, e := range list {
		if filepath.Base(e.Pos.Filename) != "bad.go" {
			t.Errorf("error outside the models' file: %v", e)
			continue
		}
		re, ok := wants[e.Pos.Line]
		if !ok || !re.MatchString(e.Msg) {
			t.Errorf("unexpected error %v", e)
			continue
		}
		matched[e.Pos.Line] = true
		// The message is file:line:col: model ...
		if !regexp.MustCompile(`^testdata/bad/bad\.go:\d+:\d+: model `).MatchString(e.Error()) {
			t.Errorf("error %q is not file:line:col: model ...", e.Error())
		}
	}
	for line, re := range wants {
		if !matched[line] {
			t.Errorf("bad.go:%d: no error matching %q", line, re)
		}
	}
	// A valid model of the same package loads, errors elsewhere or not.
	if _, err := codegen.Load([]string{"./testdata/bad"}, nil, []string{"Good"}); err != nil {
		t.Errorf("Load(Good): %v", err)
	}
	if _, err := codegen.Load([]string{"./testdata/bad"}, nil, []string{"Nope"}); err == nil || !strings.Contains(err.Error(), "no type Nope") {
		t.Errorf("Load(Nope): %v, want no type Nope", err)
	}
}

// module copies the package in testdata/name to a new module in a
// temporary directory and makes it the working directory.
func module(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", name, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/"+name+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return dir
}

// snapshot returns the names and contents of dir's files.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func TestInvalidModelWritesNothing(t *testing.T) {
	dir := module(t, "bad")
	before := snapshot(t, dir)
	for _, types := range [][]string{{"Good", "UnknownTag"}, {"TypeError"}, nil} {
		if _, err := codegen.Run(codegen.Config{Types: types}); err == nil {
			t.Errorf("Run(%v) succeeded on invalid models", types)
		}
		after := snapshot(t, dir)
		if len(after) != len(before) {
			t.Fatalf("Run(%v) changed the directory: %d files, then %d", types, len(before), len(after))
		}
	}
	// Messages are relative to the working directory.
	_, err := codegen.Run(codegen.Config{Types: []string{"UnknownTag"}})
	if err == nil || !strings.HasPrefix(err.Error(), "bad.go:9:2: model UnknownTag field Age: ") {
		t.Errorf("Run(UnknownTag) = %v, want bad.go:9:2: model UnknownTag field Age: ...", err)
	}
}

// The first run: other files call NewUserRepo, which does not exist yet,
// and the package has an unrelated type error.
func TestFirstRun(t *testing.T) {
	dir := module(t, "firstrun")
	changed, err := codegen.Run(codegen.Config{Types: []string{"User"}})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "user_nodb.go")
	if !slices.Equal(changed, []string{want}) {
		t.Fatalf("Run changed %v, want %v", changed, []string{want})
	}
	src, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("func (r *UserRepo) GetByEmail(ctx context.Context, value string) (User, error)")) {
		t.Errorf("user_nodb.go lacks GetByEmail:\n%s", src)
	}
	// A second run finds the same output and touches nothing.
	changed, err = codegen.Run(codegen.Config{Types: []string{"User"}})
	if err != nil || len(changed) != 0 {
		t.Errorf("second Run changed %v, %v; want nothing", changed, err)
	}
}

// After a model change, the old generated file no longer fits; without
// -type, the file of a removed model is stale and goes.
func TestStaleOutput(t *testing.T) {
	dir := module(t, "stale")
	if _, err := codegen.Run(codegen.Config{Types: []string{"User"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone_nodb.go")); err != nil {
		t.Errorf("with -type, another model's file must stay: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "user_nodb.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"UserFieldMail = \"Mail\"", "GetByMail(", "RangeBySeen(", "repo.KeyInt(v.ID)", "repo.IndexUint(uint64(v.Age))", "var _ *uint = &v.Age"} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("regenerated user_nodb.go lacks %q", want)
		}
	}
	if bytes.Contains(src, []byte("Email")) {
		t.Errorf("regenerated user_nodb.go still mentions Email")
	}

	changed, err := codegen.Run(codegen.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "gone_nodb.go")}; !slices.Equal(changed, want) {
		t.Errorf("Run without -type changed %v, want %v", changed, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone_nodb.go")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale gone_nodb.go still there: %v", err)
	}
}

func TestOutputFlag(t *testing.T) {
	dir := module(t, "kinds")
	if _, err := codegen.Run(codegen.Config{Types: []string{"ByNumber", "ByAddr"}, Output: "all_nodb.go"}); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "all_nodb.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"type ByAddrRepo struct", "type ByNumberRepo struct", "repo.KeyUint(uint64(v.N))", "repo.KeyText(v.Addr)"} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("all_nodb.go lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bynumber_nodb.go")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("with -output, bynumber_nodb.go must not be written: %v", err)
	}
}

func TestTags(t *testing.T) {
	module(t, "tags")
	if _, err := codegen.Load(nil, nil, nil); err == nil {
		t.Errorf("without the tag, Load found a model")
	}
	pkgs, err := codegen.Load(nil, []string{"extra"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs[0].Models) != 1 || pkgs[0].Models[0].Name != "Tagged" {
		t.Errorf("with -tags extra, models %v, want Tagged", pkgs[0].Models)
	}
}
