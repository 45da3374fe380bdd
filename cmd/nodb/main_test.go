package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
)

// The scripts in testdata/script run the nodb binary (this test binary,
// re-executed) against a store written by the Go library (nodbseed), once
// with NODB_URL on a directory (file://) and once on versitygw (s3://).

type mainWrapper struct{ m *testing.M }

func (w mainWrapper) Run() int {
	code := w.m.Run()
	s3test.Stop()
	return code
}

func TestMain(m *testing.M) {
	testscript.Main(mainWrapper{m}, map[string]func(){
		"nodb":     main,
		"nodbseed": seedMain,
	})
}

// User is the model the scripts look at: a key and indexes of every kind
// the command converts.
type User struct {
	ID    string    `nodb:"key" json:"id"`
	Email string    `nodb:"unique" json:"email"`
	City  string    `nodb:"index" json:"city"`
	Age   int       `nodb:"index" json:"age"`
	Score float64   `nodb:"index" json:"score"`
	Admin bool      `nodb:"index" json:"admin"`
	Seen  time.Time `nodb:"index" json:"seen"`
	Bio   string    `json:"bio,omitempty"`
}

// Order has an integer key.
type Order struct {
	N     int64  `nodb:"key" json:"n"`
	Buyer string `nodb:"index" json:"buyer"`
}

// Big is the model of the 20,000-record run: one index, so that the
// records, not the index writes, are what the run moves.
type Big struct {
	ID    string `nodb:"key" json:"id"`
	Group string `nodb:"index" json:"group"`
	Body  string `json:"body"`
}

// Post has list fields: every element indexed.
type Post struct {
	ID   string   `nodb:"key" json:"id"`
	Tags []string `nodb:"index" json:"tags"`
	Nums []int    `nodb:"index" json:"nums"`
}

// Note has no indexes, so no program ever writes its manifest.
type Note struct {
	ID   string `nodb:"key"`
	Text string
}

var cities = []string{"Oslo", "Paris", "Lima"}

func seedUser(i int) User {
	return User{
		ID: fmt.Sprintf("u%03d", i), Email: fmt.Sprintf("u%03d@x.io", i), City: cities[i%3],
		Age: 20 + i, Score: float64(i) / 2, Admin: i%4 == 0,
		Seen: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC),
	}
}

// seedMain writes test data with the Go library:
//
//	nodbseed URL users N      N users u000.., orders 1..3, notes
//	nodbseed URL oldmanifest  a model Legacy with a format-0 manifest
//	nodbseed URL posts        posts p1..p4 with list fields
func seedMain() {
	if err := seed(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "nodbseed:", err)
		os.Exit(1)
	}
}

func seed(args []string) error {
	ctx := context.Background()
	st, err := repo.Open(ctx, args[0])
	if err != nil {
		return err
	}
	switch args[1] {
	case "users":
		n, _ := strconv.Atoi(args[2])
		users, err := repo.New[User](st)
		if err != nil {
			return err
		}
		for i := range n {
			if err := users.Create(ctx, seedUser(i)); err != nil {
				return err
			}
		}
		orders, _ := repo.New[Order](st)
		for i := int64(1); i <= 3; i++ {
			if err := orders.Create(ctx, Order{N: i, Buyer: "u000"}); err != nil {
				return err
			}
		}
		notes, _ := repo.New[Note](st)
		return notes.Create(ctx, Note{ID: "n1", Text: "hello"})
	case "posts":
		posts, err := repo.New[Post](st)
		if err != nil {
			return err
		}
		for _, p := range []Post{
			{ID: "p1", Tags: []string{"go", "s3"}, Nums: []int{1, 2}},
			{ID: "p2", Tags: []string{"rust"}, Nums: []int{5}},
			{ID: "p3", Tags: []string{"go", "db"}},
			{ID: "p4"},
		} {
			if err := posts.Create(ctx, p); err != nil {
				return err
			}
		}
		return nil
	case "big":
		big, err := repo.New[Big](st)
		if err != nil {
			return err
		}
		return big.Create(ctx, Big{ID: "seed", Group: "g"})
	case "oldmanifest":
		old := `{"nodb":1,"model":"Legacy","keyField":"ID","keyKind":"string","codec":"json","indexes":{"Tag":{"kind":"string","state":"ready"}}}`
		_, err := st.Put(ctx, "Legacy/_manifest", []byte(old), object.PutOptions{})
		if err != nil {
			return err
		}
		_, err = st.Put(ctx, "Legacy/r/a", []byte(`{"nodb":1,"model":"Legacy","key":"a","codec":"json","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","write":"w1","value":{"ID":"a","Tag":"t"}}`), object.PutOptions{})
		return err
	}
	return fmt.Errorf("unknown seed %q", args[1])
}

// s3URL returns an s3:// URL for a fresh bucket on the test server, with
// prefix, and the environment the nodb process needs for its credentials.
func s3URL(t *testing.T, prefix string) (string, []string) {
	t.Helper()
	srv := s3test.Server(t)
	_, bucket := s3test.NewBucket(t)
	q := url.Values{"endpoint": {srv.Endpoint}, "region": {srv.Region}, "path_style": {strconv.FormatBool(srv.PathStyle)}}
	env := []string{"AWS_REGION=" + srv.Region}
	if srv.AccessKey != "" {
		env = append(env, "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey)
	}
	return "s3://" + bucket + "/" + prefix + "?" + q.Encode(), env
}

// jsonCmd checks the last command's stdout as JSON Lines:
//
//	json                      every line is one JSON value
//	json N PATH WANT          line N (from 1) has WANT at the dotted PATH
//	json count N              there are N lines
func jsonCmd(ts *testscript.TestScript, neg bool, args []string) {
	out := ts.ReadFile("stdout")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if out == "" {
		lines = nil
	}
	var vals []any
	for i, l := range lines {
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			ts.Fatalf("stdout line %d is not JSON: %v: %s", i+1, err, l)
		}
		vals = append(vals, v)
	}
	switch {
	case len(args) == 0:
		return
	case len(args) == 2 && args[0] == "count":
		if fmt.Sprint(len(vals)) != args[1] {
			ts.Fatalf("%d JSON lines, want %s", len(vals), args[1])
		}
		return
	case len(args) != 3:
		ts.Fatalf("usage: json [count N | N PATH WANT]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > len(vals) {
		ts.Fatalf("no JSON line %s (have %d)", args[0], len(vals))
	}
	v := vals[n-1]
	if args[1] != "." {
		for _, p := range strings.Split(args[1], ".") {
			switch x := v.(type) {
			case map[string]any:
				v = x[p]
			case []any:
				i, _ := strconv.Atoi(p)
				if i < 0 || i >= len(x) {
					ts.Fatalf("line %d: no %s", n, args[1])
				}
				v = x[i]
			default:
				ts.Fatalf("line %d: no %s", n, args[1])
			}
		}
	}
	got := fmt.Sprint(v)
	if s, ok := v.(string); ok {
		got = s
	}
	if (got == args[2]) == neg {
		ts.Fatalf("line %d %s = %s, want %s%s", n, args[1], got, map[bool]string{true: "not "}[neg], args[2])
	}
}

func runScripts(t *testing.T, urlFor func(workdir string) (string, string, []string)) {
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"json": jsonCmd},
		Setup: func(e *testscript.Env) error {
			store, other, env := urlFor(e.WorkDir)
			e.Setenv("NODB_URL", store)
			e.Setenv("OTHER_URL", other)
			e.Setenv("FILE_URL", "file://"+filepath.Join(e.WorkDir, "src"))
			e.Setenv("HOME", e.WorkDir)
			for _, kv := range env {
				k, v, _ := cutEnv(kv)
				e.Setenv(k, v)
			}
			return nil
		},
	})
}

func cutEnv(kv string) (string, string, bool) {
	for i := range kv {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func TestScriptsFile(t *testing.T) {
	runScripts(t, func(dir string) (string, string, []string) {
		return "file://" + filepath.Join(dir, "data"), "file://" + filepath.Join(dir, "other"), nil
	})
}

func TestScriptsS3(t *testing.T) {
	s3test.Server(t) // before the scripts: it skips under -short, which a script cannot
	var mu sync.Mutex
	n := 0
	runScripts(t, func(dir string) (string, string, []string) {
		mu.Lock()
		defer mu.Unlock()
		n++
		store, env := s3URL(t, fmt.Sprintf("s%d", n))
		other, _ := s3URL(t, fmt.Sprintf("o%d", n))
		return store, other, env
	})
}
