package repo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// TestBatchRequestCounts: a batch costs exactly what its items cost one by
// one, and its items run in parallel (their rounds overlap).
func TestBatchRequestCounts(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st, meter.WithLatency(10*time.Millisecond))
		r := newRepo[Indexed](t, m)
		mustT(t, r.Create(ctx, Indexed{ID: "warm", Email: "w", City: "X"})) // reads the manifest
		const n = 8
		vs := make([]Indexed, n)
		keys := make([]any, n)
		for i := range vs {
			vs[i] = Indexed{ID: fmt.Sprint("k", i), Email: fmt.Sprint(i, "@x"), City: "X", Age: i}
			keys[i] = vs[i].ID
		}
		m.Reset()
		mustT(t, r.CreateMany(ctx, vs))
		// k=3 indexed fields, one unique: k+1 = 4 PUTs per item, 2 rounds
		// per item. The items overlap: far fewer rounds than the 2n of one
		// item after another (how few depends on timing).
		if c := m.Reset(); c.Put != 4*n || c.Total() != 4*n || c.Rounds >= n {
			t.Errorf("CreateMany of %d: %v, want %d PUTs in parallel", n, c, 4*n)
		}
		got, err := newRepo[Indexed](t, m).GetMany(ctx, keys)
		mustT(t, err)
		if c := m.Reset(); c.Get != n || c.Total() != n || c.Rounds >= n/2 {
			t.Errorf("GetMany of %d: %v, want %d GETs in parallel", n, c, n)
		}
		if !slices.Equal(got, vs) {
			t.Errorf("GetMany: %v, want %v", got, vs)
		}
		// PutMany from a Repo that knows none of the records: each is read,
		// then written; no index value changes, so 1 PUT each.
		for i := range vs {
			vs[i].Note = "put"
		}
		fresh := newRepo[Indexed](t, m)
		mustT(t, collectErr(fresh.Find(ctx, "City", "none"))) // reads the manifest
		m.Reset()
		mustT(t, fresh.PutMany(ctx, vs))
		if c := m.Reset(); c.Get != n || c.Put != n || c.Total() != 2*n || c.Rounds >= n {
			t.Errorf("PutMany of %d known records: %v, want %d GETs + %d PUTs in parallel", n, c, n, n)
		}
		// The same Repo knows them now: 1 PUT each.
		mustT(t, fresh.PutMany(ctx, vs))
		if c := m.Reset(); c.Put != n || c.Total() != n || c.Rounds >= n/2 {
			t.Errorf("PutMany again: %v, want %d PUTs in parallel", c, n)
		}
	})
}

// TestBatchItemErrors: items fail on their own; the error names each, says
// which certainly stored nothing, and the others are stored.
func TestBatchItemErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		r := newRepo[Indexed](t, st)
		mustT(t, r.Create(ctx, Indexed{ID: "old", Email: "old@x", City: "X"}))
		vs := []Indexed{
			{ID: "a", Email: "a@x", City: "X"},
			{ID: "old", Email: "new@x", City: "X"}, // exists
			{ID: "b", Email: "old@x", City: "X"},   // unique value held
			{ID: "", Email: "e@x", City: "X"},      // empty key
			{ID: "c", Email: "c@x", City: "X"},
		}
		err := r.CreateMany(ctx, vs)
		var be *repo.BatchError
		if !errors.As(err, &be) {
			t.Fatalf("CreateMany: %v, want a *BatchError", err)
		}
		if be.Total != 5 || !slices.Equal(be.Failed(), []int{1, 2, 3}) || len(be.Unknown()) != 0 {
			t.Errorf("CreateMany: total %d, failed %v, unknown %v: %v", be.Total, be.Failed(), be.Unknown(), err)
		}
		for i, want := range map[int]error{0: repo.ErrExists, 1: repo.ErrUnique, 2: repo.ErrInvalid} {
			if it := be.Items[i]; !errors.Is(it.Err, want) {
				t.Errorf("item %d (%q): %v, want %v", it.Index, it.Key, it.Err, want)
			}
		}
		if be.Items[0].Key != "old" || be.Items[1].Key != "b" {
			t.Errorf("item keys: %q %q", be.Items[0].Key, be.Items[1].Key)
		}
		if !errors.Is(err, repo.ErrUnique) || !errors.Is(err, repo.ErrExists) {
			t.Errorf("errors.Is does not reach the items: %v", err)
		}
		got, err := r.GetMany(ctx, []any{"a", "missing", "c", 42, "old"})
		if !errors.As(err, &be) || !slices.Equal(be.Failed(), []int{1, 3}) || !errors.Is(be.Items[0].Err, repo.ErrNotFound) || !errors.Is(be.Items[1].Err, repo.ErrInvalid) {
			t.Fatalf("GetMany: %v", err)
		}
		if got[0].ID != "a" || got[1].ID != "" || got[2].ID != "c" || got[4].Email != "old@x" {
			t.Errorf("GetMany values: %v", got)
		}
		if rep, err := r.Check(ctx, false); err != nil || !rep.OK() {
			t.Errorf("Check after a batch with failed items: %+v %v", rep, err)
		}
		if got, err := r.GetMany(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("GetMany of nothing: %v %v", got, err)
		}
	})
}

// TestBatchUnknownOutcome: an item whose record write's response is lost
// while another writer replaces the record twice is reported as unknown,
// not as failed.
func TestBatchUnknownOutcome(t *testing.T) {
	ctx := context.Background()
	inner := memstore.New()
	other := newRepo[Counter](t, inner)
	lossy := &loseOnce{Store: inner}
	lossy.meanwhile = func() {
		mustT(t, other.Put(ctx, Counter{ID: "b", Email: "b2", N: 2}))
		mustT(t, other.Put(ctx, Counter{ID: "b", Email: "b3", N: 3}))
	}
	// One item at a time, in order: "b" is the first record written, so
	// its reply is the one lost.
	r := newRepo[Counter](t, lossy, func(o *repo.Options) { o.Concurrency = 1 })
	lossy.done.Store(true) // loses nothing until reset
	mustT(t, r.Create(ctx, Counter{ID: "a", Email: "a", N: 0}))
	lossy.done.Store(false)
	err := r.PutMany(ctx, []Counter{{ID: "b", Email: "b", N: 1}, {ID: "a", Email: "a", N: 1}, {ID: "c", Email: "c", N: 1}})
	var be *repo.BatchError
	if !errors.As(err, &be) || !slices.Equal(be.Unknown(), []int{0}) || len(be.Failed()) != 0 || !errors.Is(err, repo.ErrOutcomeUnknown) {
		t.Fatalf("PutMany with a lost reply: %v", err)
	}
	got, err := r.GetMany(ctx, []any{"a", "b", "c"})
	mustT(t, err)
	if got[0].N != 1 || got[1].N != 3 || got[2].N != 1 {
		t.Errorf("after PutMany: %v", got)
	}
}

type batchItem struct {
	ID string `nodb:"key"`
}

// maxInFlight is a store that records the most GETs in flight at once.
type maxInFlight struct {
	object.Store
	mu       sync.Mutex
	now, max int
}

func (s *maxInFlight) Get(ctx context.Context, key string, opts object.GetOptions) (object.Object, error) {
	s.mu.Lock()
	s.now++
	s.max = max(s.max, s.now)
	s.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	defer func() { s.mu.Lock(); s.now--; s.mu.Unlock() }()
	return s.Store.Get(ctx, key, opts)
}

// TestBatchBoundedConcurrency: at most Options.Concurrency items run at
// once; items not started when the context ends fail with its error.
func TestBatchBoundedConcurrency(t *testing.T) {
	ctx := context.Background()
	st := &maxInFlight{Store: memstore.New()}
	r := newRepo[batchItem](t, st, func(o *repo.Options) { o.Concurrency = 3 })
	var keys []any
	for i := range 20 {
		mustT(t, r.Create(ctx, batchItem{ID: fmt.Sprint(i)}))
		keys = append(keys, fmt.Sprint(i))
	}
	if _, err := r.GetMany(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if st.max != 3 {
		t.Errorf("GetMany with Concurrency 3: %d GETs in flight at most, want 3", st.max)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := r.GetMany(cctx, keys)
	var be *repo.BatchError
	if !errors.As(err, &be) || len(be.Failed()) != 20 || !errors.Is(err, context.Canceled) {
		t.Errorf("GetMany with a cancelled context: %v", err)
	}
}
