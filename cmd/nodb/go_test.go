package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodb-go/nodb/repo"
)

// nodb runs the command in this process and returns its exit status,
// stdout and stderr.
func nodb(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, stdin, &out, &errOut)
	return code, out.String(), errOut.String()
}

func mustNodb(t *testing.T, stdin io.Reader, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := nodb(t, stdin, args...)
	if code != 0 {
		t.Fatalf("nodb %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

func openUsers(t *testing.T, url string) *repo.Repo[User] {
	t.Helper()
	st, err := repo.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, ok := st.(io.Closer); ok {
			c.Close()
		}
	})
	users, err := repo.New[User](st)
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// After copy file:// s3://, the Go library's queries on the copy equal
// those on the source, and each record keeps its creation time.
func TestCopyFileToS3(t *testing.T) {
	ctx := context.Background()
	src := "file://" + filepath.Join(t.TempDir(), "src")
	dst, env := s3URL(t, "copied")
	for _, kv := range env {
		k, v, _ := cutEnv(kv)
		t.Setenv(k, v)
	}
	if err := seed([]string{src, "users", "40"}); err != nil {
		t.Fatal(err)
	}
	from, to := openUsers(t, src), openUsers(t, dst)
	// A record updated after it was created: the copy holds the update.
	if _, err := from.Update(ctx, "u007", func(u *User) error { u.City = "Rome"; u.Bio = "moved"; return nil }); err != nil {
		t.Fatal(err)
	}
	out, _ := mustNodb(t, nil, "copy", src, dst)
	if !strings.Contains(out, "User: 40 copied, 0 already there, 0 failed") {
		t.Fatalf("copy: %s", out)
	}

	type query struct {
		name string
		run  func(r *repo.Repo[User]) []User
	}
	queries := []query{
		{"All", func(r *repo.Repo[User]) []User { return collect(t, r.All(ctx)) }},
		{"Find City Paris", func(r *repo.Repo[User]) []User { return collect(t, r.Find(ctx, "City", "Paris")) }},
		{"Find City Rome", func(r *repo.Repo[User]) []User { return collect(t, r.Find(ctx, "City", "Rome")) }},
		{"Find Admin", func(r *repo.Repo[User]) []User { return collect(t, r.Find(ctx, "Admin", true)) }},
		{"Range Age", func(r *repo.Repo[User]) []User { return collect(t, r.Range(ctx, "Age", 25, 45)) }},
		{"Range Score", func(r *repo.Repo[User]) []User { return collect(t, r.Range(ctx, "Score", 3.5, 9.0)) }},
		{"Range Seen", func(r *repo.Repo[User]) []User {
			return collect(t, r.Range(ctx, "Seen", time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)))
		}},
		{"GetBy Email", func(r *repo.Repo[User]) []User {
			u, err := r.GetBy(ctx, "Email", "u031@x.io")
			if err != nil {
				t.Fatal(err)
			}
			return []User{u}
		}},
	}
	for _, q := range queries {
		want, got := q.run(from), q.run(to)
		if len(want) == 0 {
			t.Fatalf("%s: the source has no results; the test proves nothing", q.name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s on the copy differs from the source (-source +copy):\n%s", q.name, diff)
		}
	}
	for _, key := range []string{"u000", "u007", "u039"} {
		a, err := from.GetRecord(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := to.GetRecord(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Created.Equal(b.Created) {
			t.Errorf("%s: created %v in the source, %v in the copy", key, a.Created, b.Created)
		}
	}
	n, err := to.CountBy(ctx, "City", "Oslo")
	if want, _ := from.CountBy(ctx, "City", "Oslo"); err != nil || n != want {
		t.Errorf("CountBy on the copy: %d %v, want %d", n, err, want)
	}
	if rep, err := to.Check(ctx, false); err != nil || !rep.OK() {
		t.Errorf("Check of the copy: %+v %v", rep, err)
	}
	// The copy's unique claims are its own: a taken value is refused.
	if err := to.Create(ctx, User{ID: "new", Email: "u003@x.io"}); err == nil {
		t.Error("the copy let a second record take a unique value")
	}
	// Re-running writes nothing.
	out, _ = mustNodb(t, nil, "copy", src, dst)
	if !strings.Contains(out, "User: 0 copied, 40 already there, 0 failed") {
		t.Fatalf("second copy: %s", out)
	}
}

// exportLines reads an export: the manifest line, then the records.
func exportLines(t *testing.T, s string) []recordLine {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if !strings.HasPrefix(lines[0], `{"nodbManifest":`) {
		t.Fatalf("export starts with %.80s, want the manifest", lines[0])
	}
	var out []recordLine
	for i, l := range lines[1:] {
		var r recordLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("export line %d: %v", i+2, err)
		}
		out = append(out, r)
	}
	return out
}

// Export, import into another store, export again: equal record by
// record (key, value, created, schema; version and updated are the new
// store's).
func TestExportImportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a, b := "file://"+filepath.Join(dir, "a"), "file://"+filepath.Join(dir, "b")
	if err := seed([]string{a, "users", "25"}); err != nil {
		t.Fatal(err)
	}
	first, _ := mustNodb(t, nil, "--store", a, "export", "User")
	mustNodb(t, strings.NewReader(first), "--store", b, "import", "User")
	second, _ := mustNodb(t, nil, "--store", b, "export", "User")
	x, y := exportLines(t, first), exportLines(t, second)
	if len(x) != 25 || len(y) != 25 {
		t.Fatalf("%d and %d records, want 25", len(x), len(y))
	}
	for i := range x {
		if !sameJSON(x[i].Key, y[i].Key) || !sameJSON(x[i].Value, y[i].Value) || !x[i].Created.Equal(*y[i].Created) || x[i].Schema != y[i].Schema {
			t.Errorf("record %d: exported %+v, re-exported %+v", i, x[i], y[i])
		}
	}
	if rep, err := openUsers(t, b).Check(context.Background(), false); err != nil || !rep.OK() {
		t.Errorf("Check of the imported store: %+v %v", rep, err)
	}
}

// peakLiveHeap runs fn while sampling the live heap (after each GC), with
// the collector made eager, and returns the largest sample.
func peakLiveHeap(fn func()) uint64 {
	old := debug.SetGCPercent(20)
	defer debug.SetGCPercent(old)
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	runtime.GC()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// writeBig writes n records as import lines to a file.
func writeBig(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"id":"b%06d","group":"g%d","body":%q}`+"\n", i, i%10, strings.Repeat("x", 300))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// A 20,000-record import and export run in constant memory: the live heap
// they need is no larger than for 6,000 records (plus slack for the
// collector's timing), and in non-terminal mode they print a progress line
// every 10,000 records.
func TestBigExportImportMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 20,000-record run takes a while")
	}
	dir := t.TempDir()
	// The model's manifest, from a store the Go library wrote.
	seedURL := "file://" + filepath.Join(dir, "seed")
	if err := seed([]string{seedURL, "big"}); err != nil {
		t.Fatal(err)
	}
	header, _ := mustNodb(t, nil, "--store", seedURL, "export", "Big")
	header = header[:strings.Index(header, "\n")+1]

	measure := func(n int) (importPeak, exportPeak uint64, importErr, exportErr string) {
		in := filepath.Join(dir, fmt.Sprint("in", n))
		writeBig(t, in, n)
		withHeader := filepath.Join(dir, fmt.Sprint("in", n, "h"))
		body, _ := os.ReadFile(in)
		os.WriteFile(withHeader, append([]byte(header), body...), 0o644)
		body = nil
		url := "file://" + filepath.Join(dir, fmt.Sprint("store", n))
		importPeak = peakLiveHeap(func() {
			_, importErr = mustNodb(t, nil, "--store", url, "import", "Big", withHeader, "--workers", "16")
		})
		out := filepath.Join(dir, fmt.Sprint("out", n))
		exportPeak = peakLiveHeap(func() {
			_, exportErr = mustNodb(t, nil, "--store", url, "export", "Big", "-o", out)
		})
		// Record by record, the export holds what was imported.
		f, _ := os.Open(out)
		defer f.Close()
		g, _ := os.Open(in)
		defer g.Close()
		fs, gs := bufio.NewScanner(f), bufio.NewScanner(g)
		fs.Buffer(nil, 1<<20)
		fs.Scan() // the manifest
		count := 0
		for gs.Scan() {
			if !fs.Scan() {
				t.Fatalf("export of %d records ends after %d", n, count)
			}
			var l recordLine
			if err := json.Unmarshal(fs.Bytes(), &l); err != nil || !sameJSON(l.Value, gs.Bytes()) {
				t.Fatalf("export line %d: %s, imported %s", count+2, fs.Bytes(), gs.Bytes())
			}
			count++
		}
		if fs.Scan() {
			t.Fatalf("export has more than the %d records imported", n)
		}
		return
	}
	// 6,000 records already fill the Repo's bounded cache of record states
	// (4096 records), the one thing that grows with the first records.
	smallImport, smallExport, _, _ := measure(6000)
	bigImport, bigExport, importErr, exportErr := measure(20000)
	t.Logf("peak live heap: import %.1f MB for 6,000 records, %.1f MB for 20,000; export %.1f MB and %.1f MB",
		mb(smallImport), mb(bigImport), mb(smallExport), mb(bigExport))
	const slack = 4 << 20
	if bigImport > smallImport+slack || bigExport > smallExport+slack {
		t.Errorf("memory grows with the records: import %.1f -> %.1f MB, export %.1f -> %.1f MB", mb(smallImport), mb(bigImport), mb(smallExport), mb(bigExport))
	}
	// Plain lines: one per 10,000 records or 5 seconds, then one at the end.
	progressLine := regexp.MustCompile(`(?m)^import Big: [0-9]+ records, [0-9]+/s$`)
	if n := len(progressLine.FindAllString(importErr, -1)); n < 2 || !strings.HasSuffix(importErr, "\n") ||
		!regexp.MustCompile(`(?m)^import Big: done, 20000 records in [0-9.]+s\n\z`).MatchString(importErr) {
		t.Errorf("import progress: %d periodic lines, want at least 2, and a last line with 20000:\n%s", n, importErr)
	}
	exportLine := regexp.MustCompile(`(?m)^export Big: [0-9]+/20000 records, [0-9]+/s$`)
	if n := len(exportLine.FindAllString(exportErr, -1)); n < 2 ||
		!regexp.MustCompile(`(?m)^export Big: done, 20000 records in [0-9.]+s\n\z`).MatchString(exportErr) {
		t.Errorf("export progress: %d periodic lines, want at least 2, and a last line with 20000:\n%s", n, exportErr)
	}
	for _, s := range []string{importErr, exportErr} {
		if strings.Contains(s, "\r") || strings.Contains(s, "\x1b") {
			t.Errorf("progress for a non-terminal has terminal control characters: %q", s)
		}
	}
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// cancelAfter is an import source that cancels the command's context once
// n lines have been read, as Ctrl-C would.
type cancelAfter struct {
	r      *bufio.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n == 0 {
		c.cancel()
		time.Sleep(10 * time.Millisecond)
	}
	line, err := c.r.ReadBytes('\n')
	c.n--
	return copy(p, line), err // lines are shorter than p
}

// An interrupted import stops cleanly (no half-written record: Check finds
// nothing) and a re-run imports the rest.
func TestImportInterruptedResumes(t *testing.T) {
	dir := t.TempDir()
	a, b := "file://"+filepath.Join(dir, "a"), "file://"+filepath.Join(dir, "b")
	if err := seed([]string{a, "users", "60"}); err != nil {
		t.Fatal(err)
	}
	export, _ := mustNodb(t, nil, "--store", a, "export", "User")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	src := &cancelAfter{r: bufio.NewReader(strings.NewReader(export)), n: 20, cancel: cancel}
	code := run(ctx, []string{"--store", b, "import", "User", "--workers", "2"}, src, &out, &errOut)
	// A write cut off mid-request has an unknown outcome: the import names
	// its line instead of claiming that nothing is half written.
	cut := lineNumbers(errOut.String())
	clean := len(cut) == 0 && strings.Contains(errOut.String(), "interrupted; nothing is half written, run it again to resume")
	if code != 1 || !clean && !(len(cut) > 0 && strings.Contains(errOut.String(), "writes were cut off and may or may not have landed")) {
		t.Fatalf("interrupted import: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	users := openUsers(t, b)
	n, err := users.Count(context.Background())
	if err != nil || n == 0 || n >= 60 {
		t.Fatalf("after the interrupt %d records (%v), want some of 60", n, err)
	}
	if rep, err := users.Check(context.Background(), false); err != nil || rep.Records != n || rep.MissingEntries != 0 || rep.MissingClaims != 0 || len(rep.Problems) != 0 {
		t.Fatalf("Check after the interrupt: %+v %v", rep, err)
	}
	code, out2, errOut2 := nodb(t, strings.NewReader(export), "--store", b, "import", "User")
	if clean {
		want := fmt.Sprintf("imported %d records into User (%d already there), 0 bad lines", 60-n, n)
		if code != 0 || !strings.Contains(out2, want) {
			t.Fatalf("re-run: exit %d %q %s, want %q", code, out2, errOut2, want)
		}
		return
	}
	// Within the claim lease, a cut-off write that did not land may hold
	// its record's unique value: only those lines may fail, as busy.
	again := lineNumbers(errOut2)
	for l := range again {
		if !cut[l] {
			t.Fatalf("re-run failed line %d, which the interrupted run did not cut off:\n%s", l, errOut2)
		}
	}
	users = openUsers(t, b)
	if m, err := users.Count(context.Background()); err != nil || m != 60-len(again) {
		t.Fatalf("after the re-run %d records (%v), want 60 - %d busy", m, err, len(again))
	}
}

// lineNumbers returns the input line numbers an import's stderr reports.
func lineNumbers(stderr string) map[int]bool {
	out := map[int]bool{}
	for _, l := range strings.Split(stderr, "\n") {
		if _, rest, ok := strings.Cut(l, " line "); ok {
			var n int
			if _, err := fmt.Sscanf(rest, "%d:", &n); err == nil {
				out[n] = true
			}
		}
	}
	return out
}

// A store that cannot be reached is an error that says so, exit status 1.
func TestUnreachableStore(t *testing.T) {
	_, env := s3URL(t, "x")
	for _, kv := range env {
		k, v, _ := cutEnv(kv)
		t.Setenv(k, v)
	}
	code, _, errOut := nodb(t, nil, "--store", "s3://nobucket?endpoint=http://127.0.0.1:1&region=us-east-1&skip_probe=true", "models")
	if code != 1 || !strings.Contains(errOut, "unreachable") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// Exit status: 0 success, 1 the operation failed, 2 usage errors; each
// error names what was wrong.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	url := "file://" + filepath.Join(dir, "data")
	if err := seed([]string{url, "users", "3"}); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"id\":\"n1\",\"email\":\"n1@x.io\"}\nnot json\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"count", "User"}, 0, ""},
		{[]string{"get", "User", "nobody"}, 1, `Get User "nobody": not found`},
		{[]string{"get", "Nobody", "x"}, 1, `unknown model "Nobody"`},
		{[]string{"import", "User", bad}, 1, "bad.jsonl line 2: bad JSON"},
		{[]string{"rm", "User", "nobody"}, 1, "not found"},
		{[]string{"--store", "file://" + filepath.Join(dir, "empty"), "get", "User", "x"}, 1, "has no models"},
		{[]string{"frob"}, 2, `unknown command "frob"`},
		{[]string{}, 2, "no command"},
		{[]string{"get", "User"}, 2, "get takes 2 arguments"},
		{[]string{"ls", "User", "--limit", "many"}, 2, `invalid value "many" for flag -limit`},
		{[]string{"range", "User", "Age", "1", "x"}, 2, `value "x" for index Age: want an integer`},
		{[]string{"find", "User", "Seen", "monday"}, 2, "want an RFC 3339 time"},
		{[]string{"find", "User", "Nope", "1"}, 2, `model User has no index on "Nope"`},
		{[]string{"get", "Order", "x"}, 2, `key "x" of model Order: want an integer`},
		{[]string{"--store", "gopher://x", "models"}, 2, `"gopher"`},
		{[]string{"import", "User", "--create", "--upsert"}, 2, "--create and --upsert exclude each other"},
		{[]string{"import", "User", "--upsert", bad}, 2, "pass --yes"},
		{[]string{"check", "User", "--repair"}, 2, "pass --yes"},
		{[]string{"put", "User", filepath.Join(dir, "missing.json")}, 2, "no such file"},
	} {
		code, _, errOut := nodb(t, nil, append([]string{"--store", url}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("nodb %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
}
