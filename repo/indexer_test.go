package repo_test

// Issue 10: asynchronous indexes. The oracle test over every source is in
// changes_test.go.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/change"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// Pet has a sync index (Owner), two async ones (City, Age) and a sparse
// async one (Tag).
type Pet struct {
	ID    string `nodb:"key"`
	Owner string `nodb:"index"`
	City  string `nodb:"index,async"`
	Age   int    `nodb:"index,async"`
	Tag   string `nodb:"index,omitempty,async"`
}

// Lazy has async indexes only.
type Lazy struct {
	ID   string `nodb:"key"`
	City string `nodb:"index,async"`
	Age  int    `nodb:"index,async"`
}

func TestAsyncTag(t *testing.T) {
	type UniqueAsync struct {
		ID    string `nodb:"key"`
		Email string `nodb:"unique,async"`
	}
	_, err := repo.New[UniqueAsync](memstore.New())
	if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "Email") || !strings.Contains(err.Error(), "unique cannot be async") {
		t.Errorf("New with unique,async: %v; want ErrInvalid naming Email and the rule", err)
	}
	type KeyAsync struct {
		ID string `nodb:"key,async"`
	}
	if _, err := repo.New[KeyAsync](memstore.New()); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "ID") {
		t.Errorf("New with key,async: %v; want ErrInvalid naming ID", err)
	}
	if _, err := repo.New[Pet](memstore.New()); err != nil {
		t.Errorf("New[Pet]: %v", err)
	}
}

// TestAsyncWriteCost: a Create whose indexes are all async is one PUT in
// one round; with one sync index it is two PUTs in two rounds, as before.
func TestAsyncWriteCost(t *testing.T) {
	ctx := context.Background()
	m := meter.Wrap(memstore.New())
	lazy, err := repo.New[Lazy](m)
	mustT(t, err)
	mustT(t, lazy.Create(ctx, Lazy{ID: "warm", City: "Paris", Age: 3})) // reads and writes the manifest
	m.Reset()
	mustT(t, lazy.Create(ctx, Lazy{ID: "alice", City: "Paris", Age: 30}))
	if c := m.Reset(); c.Put != 1 || c.Total() != 1 || c.Rounds != 1 {
		t.Errorf("Create with async indexes only: %v; want 1 PUT in 1 round", c)
	}
	_, err = lazy.Update(ctx, "alice", func(l *Lazy) error { l.City = "Oslo"; return nil })
	mustT(t, err)
	if c := m.Reset(); c.Put != 1 || c.Total() != 1 {
		t.Errorf("Update of an async value: %v; want 1 PUT", c)
	}
	mustT(t, lazy.Delete(ctx, "alice"))
	if c := m.Reset(); c.Delete != 1 || c.Total() != 1 {
		t.Errorf("Delete with async indexes only: %v; want 1 DELETE", c)
	}
	pets, err := repo.New[Pet](m)
	mustT(t, err)
	mustT(t, pets.Create(ctx, Pet{ID: "warm", Owner: "x"}))
	m.Reset()
	mustT(t, pets.Create(ctx, Pet{ID: "rex", Owner: "ann", City: "Paris", Age: 3, Tag: "good"}))
	if c := m.Reset(); c.Put != 2 || c.Total() != 2 || c.Rounds != 2 {
		t.Errorf("Create with one sync and three async indexes: %v; want 2 PUTs in 2 rounds", c)
	}
	if got := objects(t, m, "Pet/i/City/"); len(got) != 0 {
		t.Errorf("a writer wrote async entries: %q", got)
	}
}

// TestIndexerCost asserts the indexer's requests per event for an
// unchanged, a changed and a deleted record, and none for events that do
// not name a record.
func TestIndexerCost(t *testing.T) {
	ctx := context.Background()
	m := meter.Wrap(memstore.New())
	r, err := repo.New[Lazy](m)
	mustT(t, err)
	idx := r.Indexer()
	ev := func(name, key string) change.Event { return change.Event{Name: name, Key: key, Sequencer: "1"} }
	mustT(t, r.Create(ctx, Lazy{ID: "alice", City: "Paris", Age: 30}))
	m.Reset()

	mustT(t, idx(ctx, ev("ObjectCreated:Put", "Lazy/r/alice")))
	if c := m.Reset(); c.Get != 3 || c.Put != 3 || c.Total() != 6 {
		t.Errorf("first event of a record: %v; want 3 GETs (state, record, record again), 2 entry PUTs and 1 state PUT", c)
	}
	mustT(t, idx(ctx, ev("ObjectCreated:Put", "Lazy/r/alice")))
	if c := m.Reset(); c.Get != 2 || c.Total() != 2 {
		t.Errorf("event of an unchanged record: %v; want 2 GETs", c)
	}
	_, err = r.Update(ctx, "alice", func(l *Lazy) error { l.City = "Oslo"; return nil })
	mustT(t, err)
	m.Reset()
	mustT(t, idx(ctx, ev("ObjectCreated:Put", "Lazy/r/alice")))
	if c := m.Reset(); c.Get != 3 || c.Put != 2 || c.Delete != 1 || c.Total() != 6 {
		t.Errorf("event of a record with one changed value: %v; want 3 GETs, 2 PUTs (entry, state), 1 DELETE (stale entry)", c)
	}
	mustT(t, r.Delete(ctx, "alice"))
	m.Reset()
	mustT(t, idx(ctx, ev("ObjectRemoved:Delete", "Lazy/r/alice")))
	if c := m.Reset(); c.Get != 3 || c.Delete != 3 || c.Total() != 6 {
		t.Errorf("event of a deleted record: %v; want 3 GETs, 3 DELETEs (state, 2 entries)", c)
	}
	if got := objects(t, m, "Lazy/"); !slices.Equal(got, []string{"Lazy/_manifest"}) {
		t.Errorf("after the delete the store holds %q, want only the manifest", got)
	}
	m.Reset()
	for _, key := range []string{"Lazy/i/City/x/alice!-0123456789ab", "Lazy/a/alice", "Lazy/_manifest", "Lazy/u/x/y", "Other/r/alice", "Lazy/r/", "Lazy/r/a/b", "Lazy/r/bad!zz"} {
		mustT(t, idx(ctx, ev("ObjectCreated:Put", key)))
	}
	if c := m.Reset(); c.Total() != 0 {
		t.Errorf("events for objects that are not records: %v; want no request", c)
	}
}

// asyncEntries returns, per record, the values of the async index entries
// in st (the value segments, sorted), and checks each has one entry per
// value at most.
func asyncEntries(t *testing.T, st object.Store, model, index string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	prefix := model + "/i/" + index + "/"
	for _, key := range objects(t, st, prefix) {
		vseg, tail, _ := strings.Cut(key[len(prefix):], "/")
		seg, _, _ := strings.Cut(tail, "!-")
		out[seg] = append(out[seg], vseg)
	}
	return out
}

// TestIndexerRacingRuns runs many indexer runs for one key at once while
// the record changes, then one more: exactly the current value's entry
// remains, and no entry of an older value.
func TestIndexerRacingRuns(t *testing.T) {
	ctx := context.Background()
	for _, b := range []backend{backends[0], backends[1], memNoCondDelete} {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			r, err := repo.New[Lazy](st)
			mustT(t, err)
			mustT(t, r.Create(ctx, Lazy{ID: "k", City: "c0"}))
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 5 {
						if err := r.IndexKey(ctx, "k"); err != nil {
							t.Error(err)
						}
					}
				}()
				_, err := r.Update(ctx, "k", func(l *Lazy) error { l.City = fmt.Sprint("c", i+1); l.Age = i; return nil })
				mustT(t, err)
			}
			wg.Wait()
			mustT(t, r.IndexKey(ctx, "k"))
			want, err := r.Get(ctx, "k")
			mustT(t, err)
			for _, ix := range []string{"City", "Age"} {
				got := asyncEntries(t, st, "Lazy", ix)
				if len(got) != 1 || len(got["k"]) != 1 {
					t.Fatalf("%s entries after racing runs: %v; want one", ix, got)
				}
			}
			var n int
			for v, err := range r.Find(ctx, "City", want.City) {
				mustT(t, err)
				if v.ID == "k" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("Find City %q: %d hits, want 1", want.City, n)
			}
		})
	}
}

// TestSweepResumes: a sweep after lost events indexes every record, calls
// its progress callback, resumes from a cursor, costs two GETs per
// unchanged record, and removes the entries of records deleted unheard.
func TestSweepResumes(t *testing.T) {
	ctx := context.Background()
	m := meter.Wrap(memstore.New())
	r, err := repo.New[Lazy](m)
	mustT(t, err)
	const n = 600
	for i := range n {
		mustT(t, r.Create(ctx, Lazy{ID: fmt.Sprintf("k%04d", i), City: fmt.Sprint("c", i%7), Age: i % 5}))
	}
	// Index some, then delete some of those without telling the indexer.
	for i := range 10 {
		mustT(t, r.IndexKey(ctx, fmt.Sprintf("k%04d", i)))
	}
	for i := range 5 {
		mustT(t, r.Delete(ctx, fmt.Sprintf("k%04d", i)))
	}
	var calls []repo.SweepReport
	rep, err := r.SweepIndexes(ctx, func(o *repo.SweepOptions) {
		o.Progress = func(p repo.SweepReport) { calls = append(calls, p) }
	})
	mustT(t, err)
	if rep.Records != n || rep.Changed != n-10+5 {
		t.Errorf("sweep: %+v; want %d records, %d changed", rep, n, n-5)
	}
	if len(calls) != 3 || calls[0].Records != 256 || calls[2] != rep {
		t.Errorf("progress calls: %+v", calls)
	}
	for i := range 7 {
		var got int
		for _, err := range r.Find(ctx, "City", fmt.Sprint("c", i)) {
			mustT(t, err)
			got++
		}
		want := 0
		for j := 5; j < n; j++ {
			if j%7 == i {
				want++
			}
		}
		if got != want {
			t.Errorf("Find City c%d: %d, want %d", i, got, want)
		}
	}
	if got := asyncEntries(t, m, "Lazy", "City"); len(got) != n-5 {
		t.Errorf("%d records have City entries, want %d", len(got), n-5)
	}
	// Unchanged: 2 GETs per record, 1 LIST per 1000 records and states.
	m.Reset()
	rep2, err := r.SweepIndexes(ctx, func(o *repo.SweepOptions) { o.Cursor = calls[0].Cursor })
	mustT(t, err)
	if rep2.Records != n-256 || rep2.Changed != 0 {
		t.Errorf("resumed sweep: %+v", rep2)
	}
	if c := m.Reset(); c.Get != 2*rep2.Records || c.List != 2 || c.Total() != 2*rep2.Records+2 {
		t.Errorf("resumed sweep over unchanged records: %v; want %d GETs and 2 LISTs", c, 2*rep2.Records)
	}
}

// TestAsyncIndexAddedLater: an async index added to a model that has
// records is not built until a sweep has gone through them; Reindex runs
// the sweep.
func TestAsyncIndexAddedLater(t *testing.T) {
	ctx := context.Background()
	type Plain struct {
		ID   string `nodb:"key"`
		City string
	}
	type Later struct {
		ID   string `nodb:"key"`
		City string `nodb:"index,async"`
	}
	st := memstore.New()
	p, err := repo.New[Plain](st, func(o *repo.Options) { o.Model = "M" })
	mustT(t, err)
	mustT(t, p.Create(ctx, Plain{ID: "a", City: "Paris"}))
	l, err := repo.New[Later](st, func(o *repo.Options) { o.Model = "M" })
	mustT(t, err)
	for _, err := range l.Find(ctx, "City", "Paris") {
		if !errors.Is(err, repo.ErrNotBuilt) {
			t.Fatalf("Find before the sweep: %v; want ErrNotBuilt", err)
		}
	}
	mustT(t, l.Reindex(ctx))
	var got []string
	for v, err := range l.Find(ctx, "City", "Paris") {
		mustT(t, err)
		got = append(got, v.ID)
	}
	if !slices.Equal(got, []string{"a"}) {
		t.Errorf("Find after Reindex: %q", got)
	}
}

// TestChangeKeys: keys are decoded from object names for integer keys too,
// and read from the record with HashKeys (and empty once it is gone).
func TestChangeKeys(t *testing.T) {
	ctx := context.Background()
	type Num struct {
		N    int64  `nodb:"key"`
		City string `nodb:"index,async"`
	}
	st := memstore.New()
	nums, err := repo.New[Num](st)
	mustT(t, err)
	hashed, err := repo.New[Lazy](st, func(o *repo.Options) { o.HashKeys = true })
	mustT(t, err)
	var got []string
	for _, n := range []int64{-42, 0, 7, -9223372036854775808} {
		mustT(t, nums.Create(ctx, Num{N: n, City: "x"}))
	}
	mustT(t, hashed.Create(ctx, Lazy{ID: "long key", City: "y"}))
	mustT(t, hashed.Create(ctx, Lazy{ID: "gone", City: "y"}))
	mustT(t, hashed.Delete(ctx, "gone"))
	hN := nums.OnChange(func(_ context.Context, c repo.Change[Num]) error {
		got = append(got, fmt.Sprint(c.Key, "=", c.Record.Value.N, c.Found))
		return nil
	})
	hH := hashed.OnChange(func(_ context.Context, c repo.Change[Lazy]) error {
		got = append(got, fmt.Sprintf("%q %v", c.Key, c.Found))
		return nil
	})
	for _, name := range objects(t, st, "") {
		mustT(t, change.Deliver(ctx, []change.Event{{Name: "ObjectCreated:Put", Key: name}}, hN, hH))
	}
	mustT(t, change.Deliver(ctx, []change.Event{{Name: "ObjectRemoved:Delete", Key: "Lazy/r/" + strings.Repeat("0", 64)}}, hN, hH))
	slices.Sort(got)
	want := []string{`"" false`, `"long key" true`, "-42=-42 true", "-9223372036854775808=-9223372036854775808 true", "0=0 true", "7=7 true"}
	if !slices.Equal(got, want) {
		t.Errorf("changes %q, want %q", got, want)
	}
}
