package repo_test

// Issue 10, "Done when": random writes to a model with sync and async
// indexes, on mem, file and S3 (versitygw's webhook notifications), end,
// once the indexer has caught up, with every query equal to an in-memory
// oracle; and the same with events duplicated, reordered and dropped
// between the source and the indexer, then a sweep.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/change"
	"github.com/nodb-go/nodb/repo/filestore"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// petKeys are the keys the workload writes: spaces, '+', '%', unicode and
// '/' in object names, URL-encoded in notifications.
var petKeys = []string{"a b", "x+y", "50%", "é", "k/1", "plain", "Ünï code", "a+b c%20d", "~tilde", "z"}

var (
	petOwners = []string{"ann", "bob", ""}
	petCities = []string{"Paris", "Oslo", "São Paulo", ""}
	petTags   = []string{"", "good", "bad"}
)

func randomPet(rng *rand.Rand, key string) Pet {
	return Pet{ID: key, Owner: petOwners[rng.IntN(len(petOwners))], City: petCities[rng.IntN(len(petCities))],
		Age: rng.IntN(5), Tag: petTags[rng.IntN(len(petTags))]}
}

// petWorkload makes n random writes, one at a time, to a store that holds
// from, and returns the oracle: what the store must hold then.
func petWorkload(t *testing.T, r *repo.Repo[Pet], from map[string]Pet, seed uint64, n int) map[string]Pet {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 10))
	want := maps.Clone(from)
	if want == nil {
		want = map[string]Pet{}
	}
	for i := range n {
		key := petKeys[rng.IntN(len(petKeys))]
		_, exists := want[key]
		switch op := rng.IntN(10); {
		case op < 3:
			p := randomPet(rng, key)
			err := r.Create(ctx, p)
			if exists != errors.Is(err, repo.ErrExists) || !exists && err != nil {
				t.Fatalf("write %d: Create %q (exists %v): %v", i, key, exists, err)
			}
			if !exists {
				want[key] = p
			}
		case op < 5:
			p := randomPet(rng, key)
			mustT(t, r.Put(ctx, p))
			want[key] = p
		case op < 8:
			city, age := petCities[rng.IntN(len(petCities))], rng.IntN(5)
			got, err := r.Update(ctx, key, func(p *Pet) error { p.City, p.Age = city, age; return nil })
			if exists != (err == nil) || !exists && !errors.Is(err, repo.ErrNotFound) {
				t.Fatalf("write %d: Update %q (exists %v): %v", i, key, exists, err)
			}
			if exists {
				want[key] = got
			}
		default:
			err := r.Delete(ctx, key)
			if exists != (err == nil) || !exists && !errors.Is(err, repo.ErrNotFound) {
				t.Fatalf("write %d: Delete %q (exists %v): %v", i, key, exists, err)
			}
			delete(want, key)
		}
	}
	return want
}

// petMismatches runs every query of the model and returns how each differs
// from the oracle.
func petMismatches(t *testing.T, r *repo.Repo[Pet], want map[string]Pet) []string {
	t.Helper()
	ctx := context.Background()
	var bad []string
	check := func(what string, seq func(yield func(Pet, error) bool), match func(Pet) bool) {
		var got, exp []string
		for p, err := range seq {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if !match(p) || want[p.ID] != p {
				bad = append(bad, fmt.Sprintf("%s returned %+v", what, p))
			}
			got = append(got, p.ID)
		}
		for _, p := range want {
			if match(p) {
				exp = append(exp, p.ID)
			}
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			bad = append(bad, fmt.Sprintf("%s = %q, want %q", what, got, exp))
		}
	}
	for _, o := range petOwners {
		check("Find Owner "+o, r.Find(ctx, "Owner", o), func(p Pet) bool { return p.Owner == o })
	}
	for _, c := range petCities {
		check("Find City "+c, r.Find(ctx, "City", c), func(p Pet) bool { return p.City == c })
	}
	for _, tag := range petTags[1:] {
		check("Find Tag "+tag, r.Find(ctx, "Tag", tag), func(p Pet) bool { return p.Tag == tag })
	}
	for age := range 5 {
		check(fmt.Sprint("Find Age ", age), r.Find(ctx, "Age", age), func(p Pet) bool { return p.Age == age })
	}
	check("Range Age 1..3", r.Range(ctx, "Age", 1, 3), func(p Pet) bool { return p.Age >= 1 && p.Age <= 3 })
	check("Range City O..Q", r.Range(ctx, "City", "O", "Q"), func(p Pet) bool { return p.City >= "O" && p.City <= "Q" })
	check("All", r.All(ctx), func(Pet) bool { return true })
	return bad
}

// asyncExact checks that the async entries in st are exactly the oracle's
// values, one entry per value: no stale entry survived the catch-up.
func asyncExact(t *testing.T, st object.Store, want map[string]Pet) {
	t.Helper()
	n := 0
	for _, ix := range []string{"City", "Age", "Tag"} {
		for seg, vsegs := range asyncEntries(t, st, "Pet", ix) {
			if len(vsegs) != 1 {
				t.Errorf("record %s has %d %s entries: %q", seg, len(vsegs), ix, vsegs)
			}
			n++
		}
	}
	exp := 0
	for _, p := range want {
		exp += 2
		if p.Tag != "" {
			exp++
		}
	}
	if n != exp {
		t.Errorf("%d records' async entries, want %d: %v %v %v\n%v", n, exp, asyncEntries(t, st, "Pet", "City"), asyncEntries(t, st, "Pet", "Age"), asyncEntries(t, st, "Pet", "Tag"), want)
	}
}

// chaos returns events with every event of a third of the keys and a
// quarter of the others dropped (if drop is set), a quarter doubled, and
// all shuffled.
func chaos(events []change.Event, rng *rand.Rand, drop bool) (out []change.Event, dropped int) {
	lost := map[string]bool{}
	for _, e := range events {
		if _, ok := lost[e.Key]; !ok {
			lost[e.Key] = drop && rng.IntN(3) == 0
		}
	}
	for _, e := range events {
		switch x := rng.IntN(4); {
		case lost[e.Key] || drop && x == 0:
			dropped++
		case x == 1:
			out = append(out, e, e)
		default:
			out = append(out, e)
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, dropped
}

// deliverConcurrently passes events to h from 4 goroutines.
func deliverConcurrently(t *testing.T, events []change.Event, h change.Handler) {
	t.Helper()
	ch := make(chan change.Event)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range ch {
				if err := h(context.Background(), e); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, e := range events {
		ch <- e
	}
	close(ch)
	wg.Wait()
}

// collector keeps the events it is given.
type collector struct {
	mu     sync.Mutex
	events []change.Event
}

func (c *collector) handle(_ context.Context, e change.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
	return nil
}

func (c *collector) take() []change.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.events
	c.events = nil
	return out
}

// TestAsyncOracleLocal runs the oracle test on mem and file stores with
// in-process notifications (change.Notify).
func TestAsyncOracleLocal(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t *testing.T) object.Store{
		"mem": func(t *testing.T) object.Store { return memstore.New() },
		"file": func(t *testing.T) object.Store {
			st, err := filestore.Open(t.TempDir())
			mustT(t, err)
			return st
		},
	}
	for _, name := range []string{"mem", "file"} {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint(name, "/seed", seed), func(t *testing.T) {
				var h atomic.Pointer[change.Handler]
				n := change.Notify(stores[name](t), func(ctx context.Context, e change.Event) error { return (*h.Load())(ctx, e) })
				r, err := repo.New[Pet](n)
				mustT(t, err)
				idx := r.Indexer()
				h.Store(&idx)
				want := petWorkload(t, r, nil, seed, 300)
				mustT(t, n.Wait())
				if bad := petMismatches(t, r, want); len(bad) > 0 {
					t.Fatalf("after the indexer caught up:\n%s", strings.Join(bad, "\n"))
				}
				asyncExact(t, n, want)

				// Again, with the events collected, then duplicated,
				// reordered and dropped on their way to the indexer.
				var c collector
				col := change.Handler(c.handle)
				h.Store(&col)
				want = petWorkload(t, r, want, seed+100, 300)
				mustT(t, n.Wait())
				events, dropped := chaos(c.take(), rand.New(rand.NewPCG(seed, 1)), true)
				deliverConcurrently(t, events, idx)
				mustT(t, n.Wait())
				before := len(petMismatches(t, r, want))
				rep, err := r.SweepIndexes(ctx)
				mustT(t, err)
				mustT(t, n.Wait())
				if bad := petMismatches(t, r, want); len(bad) > 0 {
					t.Fatalf("after chaos and a sweep:\n%s", strings.Join(bad, "\n"))
				}
				asyncExact(t, n, want)
				t.Logf("%d events, %d dropped: %d queries wrong before the sweep, which changed %d of %d records", len(events), dropped, before, rep.Changed, rep.Records)
			})
		}
	}
}

// TestAsyncOracleS3 runs the oracle test on versitygw, fed by its webhook
// notifications.
func TestAsyncOracleS3(t *testing.T) {
	ctx := context.Background()
	var h atomic.Pointer[change.Handler]
	var handled atomic.Int64 // record events handled
	srv := httptest.NewServer(change.Webhook(func(ctx context.Context, e change.Event) error {
		hp := h.Load()
		if hp == nil {
			return nil
		}
		err := (*hp)(ctx, e)
		if strings.HasPrefix(e.Key, "Pet/r/") {
			handled.Add(1)
		}
		return err
	}))
	defer srv.Close()
	st, bucket := s3test.WebhookStore(t, srv.URL, nil)
	var writes atomic.Int64 // successful record writes
	m := meter.Wrap(st, meter.WithHook(func(kind, key string, err error) {
		if err == nil && (kind == meter.KindPut || kind == meter.KindDelete) && strings.HasPrefix(key, "Pet/r/") {
			writes.Add(1)
		}
	}))
	r, err := repo.New[Pet](m)
	mustT(t, err)
	idx := change.Within(bucket, "", r.Indexer())
	h.Store(&idx)
	// waitEvents waits until as many record events were handled as record
	// writes were made, and reports whether that happened in time.
	waitEvents := func() bool {
		deadline := time.Now().Add(60 * time.Second)
		for handled.Load() < writes.Load() {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(20 * time.Millisecond)
		}
		return true
	}

	want := petWorkload(t, r, nil, 7, 150)
	if !waitEvents() {
		t.Fatalf("versitygw's notifications: %d record events handled for %d record writes after 60 s", handled.Load(), writes.Load())
	}
	if bad := petMismatches(t, r, want); len(bad) > 0 {
		t.Fatalf("after the indexer caught up:\n%s", strings.Join(bad, "\n"))
	}
	asyncExact(t, st, want)

	// Again, with the webhook's events duplicated, reordered and dropped.
	var c collector
	col := change.Handler(c.handle)
	h.Store(&col)
	handled.Store(0)
	writes.Store(0)
	want = petWorkload(t, r, want, 8, 150)
	waitEvents() // losses are allowed here: the sweep catches up
	events, dropped := chaos(c.take(), rand.New(rand.NewPCG(8, 1)), true)
	h.Store(nil)
	deliverConcurrently(t, events, idx)
	rep, err := r.SweepIndexes(ctx)
	mustT(t, err)
	if bad := petMismatches(t, r, want); len(bad) > 0 {
		t.Fatalf("after chaos and a sweep:\n%s", strings.Join(bad, "\n"))
	}
	asyncExact(t, st, want)
	t.Logf("%d events, %d dropped; the sweep changed %d of %d records", len(events), dropped, rep.Changed, rep.Records)
}

// TestOnChange: a typed handler sees each record's current state and its
// key decoded from the object name, whatever order the events come in;
// events for other objects never reach it.
func TestOnChange(t *testing.T) {
	ctx := context.Background()
	var c collector
	n := change.Notify(memstore.New(), c.handle)
	r, err := repo.New[Pet](n)
	mustT(t, err)
	want := petWorkload(t, r, nil, 3, 200)
	mustT(t, n.Wait())
	events, _ := chaos(c.take(), rand.New(rand.NewPCG(3, 3)), false)
	mirror := map[string]Pet{}
	seen := map[string]bool{}
	var calls int
	h := r.OnChange(func(ctx context.Context, ch repo.Change[Pet]) error {
		calls++
		if !strings.HasPrefix(ch.Object, "Pet/r/") || ch.Model != "Pet" {
			t.Errorf("change for %q of model %q", ch.Object, ch.Model)
		}
		if !slices.Contains(petKeys, ch.Key) {
			t.Errorf("change key %q decoded from %q is not a key written", ch.Key, ch.Object)
		}
		seen[ch.Key] = true
		if ch.Found {
			if ch.Record.Value.ID != ch.Key || ch.Record.Version == "" {
				t.Errorf("change %q: record %+v", ch.Key, ch.Record)
			}
			mirror[ch.Key] = ch.Record.Value
		} else {
			delete(mirror, ch.Key)
		}
		return nil
	})
	mustT(t, change.Deliver(ctx, events, h))
	if !maps.Equal(mirror, want) {
		t.Errorf("mirror built from changes = %v\nwant %v", mirror, want)
	}
	records := 0
	for _, e := range events {
		if strings.HasPrefix(e.Key, "Pet/r/") {
			records++
		}
	}
	if calls != records || records == len(events) {
		t.Errorf("handler called %d times for %d record events of %d", calls, records, len(events))
	}
	// Duplicates skipped by a Dedup cost nothing and do not reach fn.
	calls = 0
	d := change.NewDedup(1000)
	mustT(t, change.Deliver(ctx, events, d.Handler(h)))
	unique := map[string]bool{}
	for _, e := range events {
		if strings.HasPrefix(e.Key, "Pet/r/") {
			unique[e.Key+e.Sequencer] = true
		}
	}
	if calls != len(unique) {
		t.Errorf("with Dedup: %d calls for %d distinct record events", calls, len(unique))
	}
}
