package repo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/filestore"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// Note: a plain model without indexes, to test the core alone.
type Note struct {
	ID    string `nodb:"key"`
	Title string
	Body  string
	Count int
}

func newRepo[T any](t *testing.T, st object.Store, opts ...func(*repo.Options)) *repo.Repo[T] {
	t.Helper()
	r, err := repo.New[T](st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("iteration: %v", err)
		}
		out = append(out, v)
	}
	return out
}

func TestCRUD(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		notes := newRepo[Note](t, st)

		if err := notes.Create(ctx, Note{ID: "b", Title: "first"}); err != nil {
			t.Fatal(err)
		}
		err := notes.Create(ctx, Note{ID: "b", Title: "again"})
		if !errors.Is(err, repo.ErrExists) {
			t.Fatalf("second Create: got %v, want ErrExists", err)
		}
		if got, _ := notes.Get(ctx, "b"); got.Title != "first" {
			t.Fatalf("failed Create changed the record: %+v", got)
		}
		_, err = notes.Get(ctx, "missing")
		if !errors.Is(err, repo.ErrNotFound) || !errors.Is(err, object.ErrNotFound) {
			t.Fatalf("Get missing: %v", err)
		}
		if want := `repo: Get Note "missing": not found`; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
		var re *repo.Error
		if !errors.As(err, &re) || re.Op != "Get" || re.Model != "Note" || re.Key != "missing" {
			t.Errorf("errors.As *repo.Error: %#v", re)
		}

		rec, err := notes.GetRecord(ctx, "b")
		if err != nil || rec.Version == "" || rec.Created.IsZero() || !rec.Created.Equal(rec.Updated) {
			t.Fatalf("GetRecord: %+v, %v", rec, err)
		}
		time.Sleep(2 * time.Millisecond)
		if err := notes.Put(ctx, Note{ID: "b", Title: "put"}); err != nil {
			t.Fatal(err)
		}
		rec2, _ := notes.GetRecord(ctx, "b")
		if rec2.Value.Title != "put" || !rec2.Created.Equal(rec.Created) || !rec2.Updated.After(rec.Updated) || rec2.Version == rec.Version {
			t.Fatalf("Put: %+v (before %+v)", rec2, rec)
		}
		if err := notes.Put(ctx, Note{ID: "a", Title: "upsert"}); err != nil {
			t.Fatal(err)
		}

		// Replace with a stale version changes nothing.
		err = notes.Replace(ctx, Note{ID: "b", Title: "stale"}, rec.Version)
		if !errors.Is(err, repo.ErrConflict) {
			t.Fatalf("stale Replace: %v", err)
		}
		if got, _ := notes.Get(ctx, "b"); got.Title != "put" {
			t.Fatalf("stale Replace changed the record: %+v", got)
		}
		if err := notes.Replace(ctx, Note{ID: "b", Title: "replaced"}, rec2.Version); err != nil {
			t.Fatalf("Replace current: %v", err)
		}
		// A second Repo (no cache) sees the stale version too.
		other := newRepo[Note](t, st)
		if err := other.Replace(ctx, Note{ID: "b", Title: "x"}, rec2.Version); !errors.Is(err, repo.ErrConflict) {
			t.Fatalf("stale Replace from another Repo: %v", err)
		}
		if err := notes.Replace(ctx, Note{ID: "zz", Title: "x"}, rec2.Version); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("Replace of a missing record: %v", err)
		}

		got, err := notes.Update(ctx, "b", func(n *Note) error { n.Count += 5; return nil })
		if err != nil || got.Count != 5 || got.Title != "replaced" {
			t.Fatalf("Update: %+v, %v", got, err)
		}
		boom := errors.New("boom")
		if _, err := notes.Update(ctx, "b", func(n *Note) error { n.Count = 99; return boom }); err != boom {
			t.Fatalf("Update fn error: %v", err)
		}
		if _, err := notes.Update(ctx, "b", func(n *Note) error { n.ID = "other"; return nil }); !errors.Is(err, repo.ErrInvalid) {
			t.Fatalf("Update changing the key: %v", err)
		}
		if _, err := notes.Update(ctx, "nope", func(n *Note) error { return nil }); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("Update missing: %v", err)
		}
		if g, _ := notes.Get(ctx, "b"); g.Count != 5 {
			t.Fatalf("failed Updates wrote: %+v", g)
		}

		all := collect(t, notes.All(ctx))
		if len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" {
			t.Fatalf("All: %+v", all)
		}
		if n, err := notes.Count(ctx); n != 2 || err != nil {
			t.Fatalf("Count: %d, %v", n, err)
		}
		if err := notes.Delete(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := notes.Delete(ctx, "b"); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("second Delete: %v", err)
		}
		if _, err := other.Get(ctx, "b"); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("Get after Delete: %v", err)
		}
		if n, _ := notes.Count(ctx); n != 1 {
			t.Fatalf("Count after Delete: %d", n)
		}
	})
}

func TestConcurrentUpdates(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		notes := newRepo[Note](t, st)
		if err := notes.Create(ctx, Note{ID: "counter"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for g := 0; g < 8; g++ {
			r := newRepo[Note](t, st) // separate Repos, as separate processes would have
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					if _, err := r.Update(ctx, "counter", func(n *Note) error { n.Count++; return nil }); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		got, err := notes.Get(ctx, "counter")
		if err != nil || got.Count != 200 {
			t.Fatalf("after 8x25 Updates: %+v, %v", got, err)
		}
	})
}

// Rich exercises the codec on the types a model may hold.
type Rich struct {
	ID       int64 `nodb:"key"`
	When     time.Time
	Local    time.Time
	Nested   struct{ A, B string }
	Inner    Inner
	List     []string
	Nums     []float64
	Map      map[string]int
	Ptr      *Inner
	NilPtr   *Inner
	Bytes    []byte
	Dur      time.Duration
	Any      map[string]any
	Secret   string `nodb:"-"`
	JSONName string `json:"renamed"`
}

type Inner struct {
	X int
	Y []Inner
}

func TestRoundTripTypes(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, reopen func() object.Store) {
		ctx := context.Background()
		for _, codec := range []repo.Codec{repo.JSON, repo.Gob} {
			for _, gz := range []bool{false, true} {
				name := fmt.Sprintf("%s-gz-%v", codec.Name(), gz)
				opts := func(o *repo.Options) { o.Codec, o.Compress, o.Model = codec, gz, "Rich-"+name }
				rich := newRepo[Rich](t, st, opts)
				v := Rich{
					ID: -7, When: time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC),
					Local: time.Now(), Inner: Inner{X: 1, Y: []Inner{{X: 2}}},
					List: []string{"a", "", "ü"}, Nums: []float64{-1.5, 0, 3e100}, Map: map[string]int{"k": 1},
					Ptr: &Inner{X: 3}, Bytes: []byte{0, 1, 255}, Dur: time.Hour,
					Secret: "not stored", JSONName: "j",
				}
				v.Nested.A = "nested"
				if codec == repo.JSON {
					v.Any = map[string]any{"s": "x", "n": 1.5, "l": []any{"y"}}
				}
				if err := rich.Create(ctx, v); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, err := newRepo[Rich](t, reopen(), opts).Get(ctx, int64(-7))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := v
				want.Secret = ""
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: round trip (-want +got):\n%s", name, diff)
				}
			}
		}
	})
}

func TestReopen(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, reopen func() object.Store) {
		ctx := context.Background()
		a := newRepo[Note](t, st)
		for i := range 5 {
			if err := a.Create(ctx, Note{ID: fmt.Sprint("n", i), Count: i}); err != nil {
				t.Fatal(err)
			}
		}
		b := newRepo[Note](t, reopen())
		all := collect(t, b.All(ctx))
		if len(all) != 5 || all[3].Count != 3 {
			t.Fatalf("new Repo reads %+v", all)
		}
		rec, _ := a.GetRecord(ctx, "n1")
		if err := b.Replace(ctx, Note{ID: "n1", Title: "from b"}, rec.Version); err != nil {
			t.Fatal(err)
		}
		// a's cached version is stale now: Put must still land.
		if err := a.Put(ctx, Note{ID: "n1", Title: "from a"}); err != nil {
			t.Fatal(err)
		}
		if g, _ := b.Get(ctx, "n1"); g.Title != "from a" {
			t.Fatalf("got %+v", g)
		}
	})
}

func TestOddKeys(t *testing.T) {
	keys := []string{" ", "a b", "%", "%2F", "+", "a+b", "ünïcødé", "日本語", "🙂", "a/b", "a/../b", "../../x", "/abs", "x/", "-", ".hidden", "...", "a:b", "\t", "~", strings.Repeat("k", 80)}
	bad := []string{"", "..", ".", "\xff", strings.Repeat("é", 200)}
	eachBackend(t, func(t *testing.T, st object.Store, reopen func() object.Store) {
		ctx := context.Background()
		notes := newRepo[Note](t, st)
		for _, k := range keys {
			if err := notes.Create(ctx, Note{ID: k, Title: "t:" + k}); err != nil {
				t.Errorf("Create %q: %v", k, err)
				continue
			}
			got, err := notes.Get(ctx, k)
			if err != nil || got.Title != "t:"+k {
				t.Errorf("Get %q: %+v, %v", k, got, err)
			}
		}
		for _, k := range bad {
			err := notes.Create(ctx, Note{ID: k})
			if !errors.Is(err, repo.ErrInvalid) {
				t.Errorf("Create %q: %v, want ErrInvalid", k, err)
			}
		}
		all := collect(t, newRepo[Note](t, reopen()).All(ctx))
		if len(all) != len(keys) {
			t.Fatalf("All has %d records, want %d", len(all), len(keys))
		}
		for i := 1; i < len(all); i++ {
			if all[i-1].ID >= all[i].ID {
				t.Errorf("All out of key order: %q then %q", all[i-1].ID, all[i].ID)
			}
		}
		for _, k := range keys {
			if err := notes.Delete(ctx, k); err != nil {
				t.Errorf("Delete %q: %v", k, err)
			}
		}
	})
}

func TestFilestoreStaysInRoot(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	st, err := filestore.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"../../", "a/../..", "./x", "a//b"} {
		if _, err := repo.New[Note](st, func(o *repo.Options) { o.Prefix = prefix }); !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("prefix %q: %v, want ErrInvalid", prefix, err)
		}
	}
	notes := newRepo[Note](t, st)
	for _, k := range []string{"../../x", "../escape", "/etc/passwd", "a/../../b", "..\\x"} {
		if err := notes.Put(ctx, Note{ID: k}); err != nil {
			t.Errorf("Put %q: %v", k, err)
		}
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 || entries[0].Name() != "root" {
		t.Fatalf("filestore wrote outside its root: %v", entries)
	}
}

func TestCorruptRecord(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		notes := newRepo[Note](t, st)
		if err := notes.Create(ctx, Note{ID: "ok"}); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{
			"garbage": "\x00\x01not json",
			"json":    `{"hello":"world"}`,
			"value":   `{"nodb":1,"model":"Note","key":"value","codec":"json","value":{"Count":"not a number"}}`,
			"gzip":    "\x1f\x8b\x08garbage",
		} {
			if _, err := st.Put(ctx, "Note/r/"+name, []byte(body), object.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			_, err := notes.Get(ctx, name)
			if !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "Note/r/"+name) {
				t.Errorf("corrupt %s: %v", name, err)
			}
		}
		// All reports the corrupt record rather than skipping it.
		var sawErr bool
		for _, err := range notes.All(ctx) {
			if err != nil {
				sawErr = errors.Is(err, repo.ErrCorrupt)
			}
		}
		if !sawErr {
			t.Error("All did not report the corrupt record")
		}
		// The good record is untouched.
		if _, err := notes.Get(ctx, "ok"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCodecMismatch(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	if err := newRepo[Note](t, st, func(o *repo.Options) { o.Codec = repo.Gob }).Create(ctx, Note{ID: "g"}); err != nil {
		t.Fatal(err)
	}
	_, err := newRepo[Note](t, st).Get(ctx, "g")
	if !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), `codec "gob"`) {
		t.Fatalf("reading gob with json: %v", err)
	}
	// The default codec's record is plain JSON.
	if err := newRepo[Note](t, st).Create(ctx, Note{ID: "j", Title: "hello"}); err != nil {
		t.Fatal(err)
	}
	obj, _ := st.Get(ctx, "Note/r/j", object.GetOptions{})
	if !strings.Contains(string(obj.Body), `"value":{"ID":"j","Title":"hello"`) {
		t.Fatalf("JSON record not readable: %s", obj.Body)
	}
}

type IntKeyed struct {
	N    int32 `nodb:"key"`
	Name string
}

type UintKeyed struct {
	N uint8 `nodb:"key"`
}

type TextKey struct{ A, B string }

func (k TextKey) MarshalText() ([]byte, error) { return []byte(k.A + ":" + k.B), nil }

func (k *TextKey) UnmarshalText(b []byte) error {
	var ok bool
	k.A, k.B, ok = strings.Cut(string(b), ":")
	if !ok {
		return errors.New("no colon")
	}
	return nil
}

type TextKeyed struct {
	K TextKey `nodb:"key"`
	V int
}

func TestKeyTypes(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	ints := newRepo[IntKeyed](t, st)
	for _, n := range []int32{10, -5, 2, 0, -100, 1 << 30} {
		if err := ints.Create(ctx, IntKeyed{N: n}); err != nil {
			t.Fatal(err)
		}
	}
	var order []int32
	for v := range collectSeq(t, ints.All(ctx)) {
		order = append(order, v.N)
	}
	if fmt.Sprint(order) != "[-100 -5 0 2 10 1073741824]" {
		t.Fatalf("int keys out of numeric order: %v", order)
	}
	// Any integer type that fits is accepted; others are clear errors.
	for _, k := range []any{int(10), int64(10), uint16(10), int32(10)} {
		if _, err := ints.Get(ctx, k); err != nil {
			t.Errorf("Get(%T): %v", k, err)
		}
	}
	for _, k := range []any{"10", 1.5, int64(1) << 40, nil, []int{1}} {
		_, err := ints.Get(ctx, k)
		if !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("Get(%#v): %v, want ErrInvalid", k, err)
		}
	}
	if _, err := newRepo[UintKeyed](t, st).Get(ctx, -1); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("negative uint key: %v", err)
	}
	texts := newRepo[TextKeyed](t, st)
	if err := texts.Create(ctx, TextKeyed{K: TextKey{"a", "b"}, V: 1}); err != nil {
		t.Fatal(err)
	}
	if v, err := texts.Get(ctx, TextKey{"a", "b"}); err != nil || v.V != 1 {
		t.Fatalf("TextMarshaler key: %+v, %v", v, err)
	}
	if _, err := texts.Get(ctx, "a:b"); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("string for a TextMarshaler key: %v", err)
	}
}

func collectSeq[T any](t *testing.T, seq func(func(T, error) bool)) func(func(T) bool) {
	vals := collect(t, seq)
	return func(yield func(T) bool) {
		for _, v := range vals {
			if !yield(v) {
				return
			}
		}
	}
}

func TestHashKeys(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	notes := newRepo[Note](t, st, func(o *repo.Options) { o.HashKeys = true })
	long := strings.Repeat("secret/", 100)
	for _, k := range []string{"alice@example.com", long} {
		if err := notes.Create(ctx, Note{ID: k, Title: k}); err != nil {
			t.Fatal(err)
		}
		if got, err := notes.Get(ctx, k); err != nil || got.Title != k {
			t.Fatalf("Get: %v", err)
		}
	}
	for info, err := range object.All(ctx, st, "", "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info.Key, "alice") || strings.Contains(info.Key, "secret") {
			t.Errorf("hashed key visible in object name %q", info.Key)
		}
	}
	if n, _ := notes.Count(ctx); n != 2 {
		t.Fatalf("Count %d", n)
	}
}

func TestCancelledContext(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		notes := newRepo[Note](t, st)
		if err := notes.Create(context.Background(), Note{ID: "x", Title: "before"}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		checks := map[string]error{
			"Create": notes.Create(ctx, Note{ID: "y"}),
			"Put":    notes.Put(ctx, Note{ID: "x", Title: "after"}),
			"Delete": notes.Delete(ctx, "x"),
		}
		_, checks["Get"] = notes.Get(ctx, "x")
		_, checks["Update"] = notes.Update(ctx, "x", func(n *Note) error { n.Title = "after"; return nil })
		_, checks["Count"] = notes.Count(ctx)
		for _, err := range notes.All(ctx) {
			checks["All"] = err
		}
		for op, err := range checks {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context: %v", op, err)
			}
		}
		got, err := notes.Get(context.Background(), "x")
		if err != nil || got.Title != "before" {
			t.Fatalf("cancelled writes changed data: %+v, %v", got, err)
		}
		if _, err := notes.Get(context.Background(), "y"); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("cancelled Create wrote: %v", err)
		}
	})
}

func TestRequestCountsCore(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st)
		notes := newRepo[Note](t, m)

		m.Reset()
		if err := notes.Put(ctx, Note{ID: "new"}); err != nil {
			t.Fatal(err)
		}
		// A new record without indexes: one GET (it does not exist) and one PUT.
		if c := m.Reset(); c.Get != 1 || c.Put != 1 || c.Total() != 2 {
			t.Errorf("Put of a new record: %v, want 1 GET + 1 PUT", c)
		}
		if err := notes.Put(ctx, Note{ID: "new", Title: "again"}); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 1 || c.Total() != 1 {
			t.Errorf("Put of a record this Repo wrote: %v, want 1 PUT", c)
		}

		fresh := newRepo[Note](t, m)
		m.Reset()
		rec, err := fresh.GetRecord(ctx, "new")
		if err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Get != 1 || c.Total() != 1 {
			t.Errorf("Get: %v, want 1 GET", c)
		}
		rec.Value.Title = "replaced"
		if err := fresh.Replace(ctx, rec.Value, rec.Version); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 1 || c.Total() != 1 {
			t.Errorf("Replace with a known version: %v, want 1 PUT", c)
		}
		if _, err := fresh.Update(ctx, "new", func(n *Note) error { n.Count++; return nil }); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 1 || c.Total() != 1 {
			t.Errorf("Update of a record this Repo knows: %v, want 1 PUT", c)
		}
		if _, err := newRepo[Note](t, m).Update(ctx, "new", func(n *Note) error { n.Count++; return nil }); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Get != 1 || c.Put != 1 || c.Total() != 2 {
			t.Errorf("Update from a new Repo: %v, want 1 GET + 1 PUT", c)
		}
		// A stale known state costs a failed PUT, then a GET and a PUT.
		if err := newRepo[Note](t, m).Put(ctx, Note{ID: "new", Title: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		m.Reset()
		got, err := fresh.Update(ctx, "new", func(n *Note) error { n.Count++; return nil })
		if err != nil || got.Title != "elsewhere" {
			t.Fatalf("Update from a stale state: %+v, %v", got, err)
		}
		if c := m.Reset(); c.Get != 1 || c.Put != 2 || c.Total() != 3 {
			t.Errorf("Update from a stale state: %v, want 1 GET + 2 PUTs", c)
		}
		if err := fresh.Create(ctx, Note{ID: "c"}); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 1 || c.Total() != 1 {
			t.Errorf("Create without indexes: %v, want 1 PUT", c)
		}
		if err := fresh.Delete(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Delete != 1 || c.Total() != 1 {
			t.Errorf("Delete of a record this Repo wrote: %v, want 1 DELETE", c)
		}
	})
}

func TestModelValidation(t *testing.T) {
	type noKey struct{ A string }
	type twoKeys struct {
		A string `nodb:"key"`
		B string `nodb:"key"`
	}
	type floatKey struct {
		A float64 `nodb:"key"`
	}
	type unexportedKey struct {
		a string `nodb:"key"`
	}
	type badTag struct {
		A string `nodb:"key"`
		B string `nodb:"indx"`
	}
	type badOption struct {
		A string `nodb:"key"`
		B string `nodb:"index,sparse"`
	}
	type mapIndex struct {
		A string         `nodb:"key"`
		M map[string]int `nodb:"index"`
	}
	type ptrIndex struct {
		A string  `nodb:"key"`
		P *string `nodb:"index"`
	}
	type keyOmitempty struct {
		A string `nodb:"key,omitempty"`
	}
	cases := []struct {
		name string
		new  func() error
		want string
	}{
		{"not a struct", func() error { _, err := repo.New[int](memstore.New()); return err }, "not a struct"},
		{"no key", func() error { _, err := repo.New[noKey](memstore.New()); return err }, "no key field"},
		{"two keys", func() error { _, err := repo.New[twoKeys](memstore.New()); return err }, "2 key fields (A, B)"},
		{"float key", func() error { _, err := repo.New[floatKey](memstore.New()); return err }, "field A: key type float64"},
		{"unexported key", func() error { _, err := repo.New[unexportedKey](memstore.New()); return err }, "field a: is unexported"},
		{"unknown tag", func() error { _, err := repo.New[badTag](memstore.New()); return err }, `field B: unknown nodb tag "indx"`},
		{"unknown option", func() error { _, err := repo.New[badOption](memstore.New()); return err }, `field B: unknown nodb tag option "sparse"`},
		{"map index", func() error { _, err := repo.New[mapIndex](memstore.New()); return err }, "field M: type map[string]int cannot be indexed"},
		{"pointer index", func() error { _, err := repo.New[ptrIndex](memstore.New()); return err }, "field P: indexed type *string is a pointer"},
		{"key omitempty", func() error { _, err := repo.New[keyOmitempty](memstore.New()); return err }, "omitempty applies to index and unique"},
		{"bad model name", func() error {
			_, err := repo.New[Note](memstore.New(), func(o *repo.Options) { o.Model = "a/b" })
			return err
		}, `model name "a/b"`},
		{"nil store", func() error { _, err := repo.New[Note](nil); return err }, "nil store"},
	}
	for _, c := range cases {
		err := c.new()
		if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrInvalid containing %q", c.name, err, c.want)
		}
	}
}
