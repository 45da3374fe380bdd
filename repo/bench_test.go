package repo_test

// Benchmarks that measure what each operation costs in requests and round
// trips (see docs/design.md, "Queries and their cost"), what the library adds over raw S3 requests,
// and how queries fan out under latency. BENCHMARKS.md has the figures and
// how to run them (.ci/bench).
//
//   - BenchmarkOps: every operation on a memstore wrapped in a meter.
//     Requests per op are exact (and checked: a change fails the benchmark);
//     rounds per op come from a second pass with a small injected latency,
//     so that parallel requests overlap in time.
//   - BenchmarkS3Ops: some operations on the test S3 server, counted in
//     HTTP requests by S3 operation.
//   - BenchmarkRawS3: Get and Put through the library against the same
//     requests made with the aws-sdk-go-v2 client, on the test versitygw.
//   - BenchmarkFanout: Find returning 100 records with 20 ms per request at
//     several Options.Concurrency.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// Models. The key is not an index; k counts index entries, u unique claims.

// BenchI0 has no index (k=0).
type BenchI0 struct {
	ID   string `nodb:"key"`
	Name string
}

// BenchI2 has two indexes (k=2, u=0).
type BenchI2 struct {
	ID   string `nodb:"key"`
	City string `nodb:"index"`
	Age  int    `nodb:"index"`
	Name string
}

// BenchI2U has two indexes, one of them unique (k=2, u=1).
type BenchI2U struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Name  string
}

// BenchI4 has four indexes (k=4, u=0).
type BenchI4 struct {
	ID    string `nodb:"key"`
	City  string `nodb:"index"`
	Team  string `nodb:"index"`
	Age   int    `nodb:"index"`
	Level int    `nodb:"index"`
	Name  string
}

// BenchI4U has four indexes, one of them unique (k=4, u=1).
type BenchI4U struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Team  string `nodb:"index"`
	Age   int    `nodb:"index"`
	Name  string
}

// BenchUser is the model of docs/design.md (k=3, u=1); reads, updates, deletes
// and queries use it.
type BenchUser struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Age   int    `nodb:"index"`
	Bio   string
}

// BenchBlob carries an opaque payload, for the comparison with raw S3.
type BenchBlob struct {
	ID   string `nodb:"key"`
	Data string
}

// --- the metered store ---

const (
	// roundsLatency is injected in the rounds pass: long enough that
	// requests issued in parallel overlap, short enough to keep it quick.
	roundsLatency = time.Millisecond
	// roundsIters is how many operations the rounds pass measures.
	roundsIters = 5
	// resetEvery is how many records a benchmark that adds records writes
	// before it starts over on an empty store (outside the timer).
	resetEvery = 1000
)

// benchStore is a memstore seen through one of two meters: fast counts
// requests without delay (the timed pass), slow adds roundsLatency to every
// request (the rounds pass). Both see the same data, which resetData
// replaces with an empty memstore (the memstore inserts keys in O(n), so
// long runs of Create start over every so often).
type benchStore struct {
	switchStore             // the meter in use, fast or slow
	data        switchStore // the memstore both meters see
	fast, slow  *meter.Store
}

func newBenchStore() *benchStore {
	s := &benchStore{}
	s.resetData()
	s.fast = meter.Wrap(&s.data)
	s.slow = meter.Wrap(&s.data, meter.WithLatency(roundsLatency))
	s.set(s.fast)
	return s
}

// m returns the meter in use.
func (s *benchStore) m() *meter.Store { return s.get().(*meter.Store) }

func (s *benchStore) resetData() { s.data.set(memstore.New()) }

// switchStore forwards every call to the store last given to set.
type switchStore struct {
	p atomic.Pointer[storeRef]
}

type storeRef struct{ object.Store }

func (s *switchStore) set(st object.Store) { s.p.Store(&storeRef{st}) }

func (s *switchStore) get() object.Store { return s.p.Load().Store }

func (s *switchStore) Get(ctx context.Context, key string, opts object.GetOptions) (object.Object, error) {
	return s.get().Get(ctx, key, opts)
}

func (s *switchStore) Head(ctx context.Context, key string) (object.Info, error) {
	return s.get().Head(ctx, key)
}

func (s *switchStore) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	return s.get().Put(ctx, key, body, opts)
}

func (s *switchStore) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	return s.get().Delete(ctx, key, opts)
}

func (s *switchStore) List(ctx context.Context, opts object.ListOptions) (object.ListPage, error) {
	return s.get().List(ctx, opts)
}

func (s *switchStore) Capabilities() object.Capabilities { return s.get().Capabilities() }

func (s *switchStore) Close() error { return s.get().Close() }

func addCounts(a, b meter.Counts) meter.Counts {
	return meter.Counts{
		Get: a.Get + b.Get, Head: a.Head + b.Head, Put: a.Put + b.Put, Delete: a.Delete + b.Delete,
		List: a.List + b.List, Conditional: a.Conditional + b.Conditional, Rounds: a.Rounds + b.Rounds,
	}
}

// opRun is one measured run of an operation.
type opRun struct {
	b     *testing.B
	st    *benchStore
	timed bool
	acc   meter.Counts
}

// untimed runs f outside the timer and the counts, and without injected
// latency, e.g. to prepare the records the next operations work on.
func (h *opRun) untimed(f func()) {
	if h.timed {
		h.b.StopTimer()
	}
	cur := h.st.m()
	h.acc = addCounts(h.acc, cur.Reset())
	h.st.set(h.st.fast)
	f()
	h.st.fast.Reset()
	h.st.set(cur)
	if h.timed {
		h.b.StartTimer()
	}
}

// cost is what an operation is expected to cost: the requests the library
// makes (checked), and its rounds (reported only: they depend on timing).
// Where the library may overshoot, the extra fields bound by how much.
type cost struct {
	get, put, del, list, rounds int
	extraGet, extraList         int
}

func (c cost) String() string {
	s := fmt.Sprintf("GET=%d PUT=%d DELETE=%d LIST=%d rounds=%d", c.get, c.put, c.del, c.list, c.rounds)
	if c.extraGet+c.extraList > 0 {
		s += fmt.Sprintf(" (up to %d more GETs, %d more LISTs)", c.extraGet, c.extraList)
	}
	return s
}

// check reports whether counts c over n ops agree with the cost.
func (want cost) check(c meter.Counts, n int) bool {
	in := func(got, w, extra int) bool { return got >= w*n && got <= (w+extra)*n }
	return in(c.Get, want.get, want.extraGet) && c.Put == want.put*n && c.Delete == want.del*n &&
		in(c.List, want.list, want.extraList) && c.Head == 0
}

// measure runs op b.N times on the counting meter, timed, then roundsIters
// more times on the slow meter, and reports requests, rounds and latencies
// per op. op gets a fresh index i each time. The Repos op uses must be warm
// (their manifest read) before measure is called.
//
// rounds/op counts the requests that started while no other was in flight
// (see package meter). A query's GETs are one pipelined stream under
// Options.Concurrency, which the meter sees as one round or a few: its
// latency is measured by BenchmarkFanout instead.
func measure(b *testing.B, st *benchStore, want cost, op func(h *opRun, i int) error) {
	b.Helper()
	st.set(st.fast)
	h := &opRun{b: b, st: st, timed: true}
	st.fast.Reset()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op(h, i); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c := addCounts(h.acc, st.fast.Reset())

	st.set(st.slow)
	defer st.set(st.fast)
	hr := &opRun{b: b, st: st}
	st.slow.Reset()
	for i := b.N; i < b.N+roundsIters; i++ {
		if err := op(hr, i); err != nil {
			b.Fatal(err)
		}
	}
	rc := addCounts(hr.acc, st.slow.Reset())

	n := float64(b.N)
	b.ReportMetric(float64(c.Get)/n, "GET/op")
	b.ReportMetric(float64(c.Put)/n, "PUT/op")
	b.ReportMetric(float64(c.Delete)/n, "DELETE/op")
	b.ReportMetric(float64(c.List)/n, "LIST/op")
	b.ReportMetric(float64(c.Head)/n, "HEAD/op")
	b.ReportMetric(float64(c.Total())/n, "reqs/op")
	b.ReportMetric(float64(rc.Rounds)/roundsIters, "rounds/op")

	if !want.check(c, b.N) {
		b.Errorf("requests changed: %v over %d ops, want %v per op", c, b.N, want)
	}
	if !want.check(rc, roundsIters) {
		b.Errorf("requests changed in the rounds pass: %v over %d ops, want %v per op", rc, roundsIters, want)
	}
}

func newBench[T any](b *testing.B, st object.Store, opts ...func(*repo.Options)) *repo.Repo[T] {
	b.Helper()
	r, err := repo.New[T](st, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// drain ranges over seq and returns the number of values, or the error.
func drain[T any](seq iter.Seq2[T, error]) (int, error) {
	n := 0
	for _, err := range seq {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func expectN(n, want int, err error) error {
	if err == nil && n != want {
		err = fmt.Errorf("%d results, want %d", n, want)
	}
	return err
}

func userKey(i int) string { return fmt.Sprintf("u%06d", i) }

func newUser(i int) BenchUser {
	return BenchUser{ID: userKey(i), Email: userKey(i) + "@x.io", City: "Paris", Age: i % 100, Bio: "bio"}
}

// --- operations ---

// BenchmarkOps measures the requests and rounds of every Repo operation on
// a memstore. ns/op is the library's CPU cost per operation (memstore and
// meter included, no latency).
func BenchmarkOps(b *testing.B) {
	ctx := context.Background()
	b.Run("Create", func(b *testing.B) { benchCreates(b) })

	// A fresh store, a warm Repo (manifest read) and some records, for the
	// writes below.
	writeSetup := func(b *testing.B, n int) (*benchStore, *repo.Repo[BenchUser]) {
		st := newBenchStore()
		r := newBench[BenchUser](b, st)
		for i := range n {
			if err := r.Create(ctx, newUser(i)); err != nil {
				b.Fatal(err)
			}
		}
		return st, r
	}
	// batch is how many records the Repo is made to know at once: its
	// state cache holds the last 4096 records it saw.
	const batch = resetEvery

	b.Run("Put/seen", func(b *testing.B) {
		// The Repo wrote the record: it knows the version, one PUT.
		st, r := writeSetup(b, 1)
		measure(b, st, cost{put: 1, rounds: 1}, func(h *opRun, i int) error {
			u := newUser(0)
			u.Bio = fmt.Sprint("bio ", i)
			return r.Put(ctx, u)
		})
	})
	b.Run("Put/unseen", func(b *testing.B) {
		// Another Repo wrote the record: GET for its version and index
		// values, then PUT.
		st := newBenchStore()
		var r, other *repo.Repo[BenchUser]
		measure(b, st, cost{get: 1, put: 1, rounds: 2}, func(h *opRun, i int) error {
			if i%batch == 0 || r == nil {
				h.untimed(func() {
					st.resetData()
					other = newBench[BenchUser](b, st)
					for j := i - i%batch; j < i-i%batch+batch; j++ {
						if err := other.Create(ctx, newUser(j)); err != nil {
							b.Fatal(err)
						}
					}
					r = newBench[BenchUser](b, st)
					if _, err := drain(r.Find(ctx, "City", "none")); err != nil { // reads the manifest
						b.Fatal(err)
					}
				})
			}
			u := newUser(i)
			u.Bio = "changed"
			return r.Put(ctx, u)
		})
	})
	b.Run("Put/new", func(b *testing.B) {
		// A record that does not exist: GET (404), then what Create does.
		st := newBenchStore()
		var r *repo.Repo[BenchUser]
		measure(b, st, cost{get: 1, put: 4, rounds: 3}, func(h *opRun, i int) error {
			if i%batch == 0 || r == nil {
				h.untimed(func() {
					st.resetData()
					r = newBench[BenchUser](b, st)
					if err := r.Create(ctx, newUser(-1)); err != nil { // creates the manifest
						b.Fatal(err)
					}
				})
			}
			return r.Put(ctx, newUser(i))
		})
	})
	b.Run("Replace", func(b *testing.B) {
		// Known version (from GetRecord), indexed values unchanged.
		st, r := writeSetup(b, batch)
		recs := make([]repo.Record[BenchUser], batch)
		measure(b, st, cost{put: 1, rounds: 1}, func(h *opRun, i int) error {
			if i%batch == 0 {
				h.untimed(func() {
					for j := range recs {
						var err error
						if recs[j], err = r.GetRecord(ctx, userKey(j)); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			rec := recs[i%batch]
			rec.Value.Bio = fmt.Sprint("bio ", i)
			return r.Replace(ctx, rec.Value, rec.Version)
		})
	})
	b.Run("Update/seen", func(b *testing.B) {
		// The Repo wrote the record: it starts from the state it knows,
		// indexed values unchanged: one PUT.
		st, r := writeSetup(b, 1)
		measure(b, st, cost{put: 1, rounds: 1}, func(h *opRun, i int) error {
			_, err := r.Update(ctx, userKey(0), func(u *BenchUser) error { u.Bio = fmt.Sprint("bio ", i); return nil })
			return err
		})
	})
	b.Run("Update/unseen", func(b *testing.B) {
		// Another Repo wrote the record: the read, then one PUT.
		st := newBenchStore()
		var r, other *repo.Repo[BenchUser]
		measure(b, st, cost{get: 1, put: 1, rounds: 2}, func(h *opRun, i int) error {
			if i%batch == 0 || r == nil {
				h.untimed(func() {
					st.resetData()
					other = newBench[BenchUser](b, st)
					for j := i - i%batch; j < i-i%batch+batch; j++ {
						if err := other.Create(ctx, newUser(j)); err != nil {
							b.Fatal(err)
						}
					}
					r = newBench[BenchUser](b, st)
					if _, err := drain(r.Find(ctx, "City", "none")); err != nil { // reads the manifest
						b.Fatal(err)
					}
				})
			}
			_, err := r.Update(ctx, userKey(i), func(u *BenchUser) error { u.Bio = "changed"; return nil })
			return err
		})
	})
	b.Run("Update/move-index", func(b *testing.B) {
		// City changes on a record the Repo knows: PUT the new entry, PUT
		// the record, DELETE the old entry.
		st, r := writeSetup(b, 1)
		measure(b, st, cost{put: 2, del: 1, rounds: 3}, func(h *opRun, i int) error {
			_, err := r.Update(ctx, userKey(0), func(u *BenchUser) error { u.City = fmt.Sprint("city", i%2); return nil })
			return err
		})
	})
	b.Run("Update/move-unique", func(b *testing.B) {
		// Email changes on a record the Repo knows: PUT the new claim (the
		// unique index's entry), PUT the record, DELETE the old claim.
		st, r := writeSetup(b, 1)
		measure(b, st, cost{put: 2, del: 1, rounds: 3}, func(h *opRun, i int) error {
			_, err := r.Update(ctx, userKey(0), func(u *BenchUser) error { u.Email = fmt.Sprint("m", i, "@x.io"); return nil })
			return err
		})
	})
	b.Run("Delete/seen", func(b *testing.B) {
		// The Repo wrote the record: DELETE it (If-Match), then its 3
		// entries and 1 claim in parallel.
		st, r := writeSetup(b, 0)
		if err := r.Create(ctx, newUser(-1)); err != nil { // warm
			b.Fatal(err)
		}
		measure(b, st, cost{del: 4, rounds: 2}, func(h *opRun, i int) error {
			if i%batch == 0 {
				h.untimed(func() {
					for j := i; j < i+batch; j++ {
						if err := r.Create(ctx, newUser(j)); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			return r.Delete(ctx, userKey(i))
		})
	})
	b.Run("Delete/unseen", func(b *testing.B) {
		// Another Repo wrote the record: GET it first for its version and
		// index values.
		st, other := writeSetup(b, 0)
		r := newBench[BenchUser](b, st)
		measure(b, st, cost{get: 1, del: 4, rounds: 3}, func(h *opRun, i int) error {
			if i%batch == 0 {
				h.untimed(func() {
					for j := i; j < i+batch; j++ {
						if err := other.Create(ctx, newUser(j)); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			return r.Delete(ctx, userKey(i))
		})
	})

	// Reads and queries share one store of 1000 users: City "one" has 1
	// record, "ten" 10, "hundred" 100; Age is 0..999, unique.
	st := newBenchStore()
	users := newBench[BenchUser](b, st)
	for i := range 1000 {
		u := BenchUser{ID: userKey(i), Email: userKey(i) + "@x.io", City: "other", Age: i, Bio: "bio"}
		switch {
		case i == 0:
			u.City = "one"
		case i <= 10:
			u.City = "ten"
		case i <= 110:
			u.City = "hundred"
		}
		if err := users.Create(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	// A second Repo that has seen nothing but the manifest, as a reader in
	// another process would be.
	reader := newBench[BenchUser](b, st)
	if _, err := drain(reader.Find(ctx, "City", "none")); err != nil { // reads the manifest
		b.Fatal(err)
	}

	b.Run("Get", func(b *testing.B) {
		measure(b, st, cost{get: 1, rounds: 1}, func(h *opRun, i int) error {
			_, err := reader.Get(ctx, userKey(i%1000))
			return err
		})
	})
	b.Run("GetBy", func(b *testing.B) {
		// The claim, then the record it names.
		measure(b, st, cost{get: 2, rounds: 2}, func(h *opRun, i int) error {
			_, err := reader.GetBy(ctx, "Email", userKey(i%1000)+"@x.io")
			return err
		})
	})
	for _, n := range []int{1, 10, 100} {
		city := map[int]string{1: "one", 10: "ten", 100: "hundred"}[n]
		b.Run(fmt.Sprintf("Find/%d", n), func(b *testing.B) {
			measure(b, st, cost{list: 1, get: n, rounds: 2}, func(h *opRun, i int) error {
				got, err := drain(reader.Find(ctx, "City", city))
				return expectN(got, n, err)
			})
		})
	}
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("Range/%d", n), func(b *testing.B) {
			measure(b, st, cost{list: 1, get: n, rounds: 2}, func(h *opRun, i int) error {
				got, err := drain(reader.Range(ctx, "Age", 500, 500+n-1))
				return expectN(got, n, err)
			})
		})
	}
	// The first page of 10 of 100 results: 1 LIST of 10 keys + 10 GETs.
	page := cost{list: 1, get: 10, rounds: 2}
	b.Run("FindPage/10of100", func(b *testing.B) {
		measure(b, st, page, func(h *opRun, i int) error {
			p, err := reader.FindPage(ctx, "City", "hundred", "", 10)
			return expectN(len(p.Items), 10, err)
		})
	})
	b.Run("RangePage/10of100", func(b *testing.B) {
		measure(b, st, page, func(h *opRun, i int) error {
			p, err := reader.RangePage(ctx, "Age", 500, 599, "", 10)
			return expectN(len(p.Items), 10, err)
		})
	})
	// A unique index is read through its claims: Find and CountBy are a
	// claim GET and a record GET, Range one LIST of claims and 2 GETs per
	// result (the claim GETs, then the record GETs they name).
	b.Run("Find/unique", func(b *testing.B) {
		measure(b, st, cost{get: 2, rounds: 2}, func(h *opRun, i int) error {
			got, err := drain(reader.Find(ctx, "Email", userKey(i%1000)+"@x.io"))
			return expectN(got, 1, err)
		})
	})
	b.Run("CountBy/unique", func(b *testing.B) {
		measure(b, st, cost{get: 2, rounds: 2}, func(h *opRun, i int) error {
			got, err := reader.CountBy(ctx, "Email", userKey(i%1000)+"@x.io")
			return expectN(got, 1, err)
		})
	})
	b.Run("Range/unique/10", func(b *testing.B) {
		lo, hi := userKey(500)+"@x.io", userKey(509)+"@x.io"
		measure(b, st, cost{list: 1, get: 20, rounds: 3}, func(h *opRun, i int) error {
			got, err := drain(reader.Range(ctx, "Email", lo, hi))
			return expectN(got, 10, err)
		})
	})
	b.Run("GetMany/10", func(b *testing.B) {
		keys := make([]any, 10)
		measure(b, st, cost{get: 10, rounds: 1}, func(h *opRun, i int) error {
			for j := range keys {
				keys[j] = userKey((i*10 + j) % 1000)
			}
			got, err := reader.GetMany(ctx, keys)
			return expectN(len(got), 10, err)
		})
	})
	b.Run("CountBy/100", func(b *testing.B) {
		measure(b, st, cost{list: 1, rounds: 1}, func(h *opRun, i int) error {
			got, err := reader.CountBy(ctx, "City", "hundred")
			return expectN(got, 100, err)
		})
	})
	b.Run("All/1000", func(b *testing.B) {
		measure(b, st, cost{list: 1, get: 1000, rounds: 2}, func(h *opRun, i int) error {
			got, err := drain(reader.All(ctx))
			return expectN(got, 1000, err)
		})
	})
	b.Run("Count/1000", func(b *testing.B) {
		measure(b, st, cost{list: 1, rounds: 1}, func(h *opRun, i int) error {
			got, err := reader.Count(ctx)
			return expectN(got, 1000, err)
		})
	})
}

// benchCreate measures Create on a fresh store for a model with k indexed
// fields, u of them unique: k+1 PUTs whatever u is (a unique field's claim
// is its index entry).
func benchCreate[T any](b *testing.B, k, u int, mk func(i int) T) {
	ctx := context.Background()
	st := newBenchStore()
	var r *repo.Repo[T]
	fresh := func() {
		st.resetData()
		r = newBench[T](b, st)
		if err := r.Create(ctx, mk(-1)); err != nil { // creates the manifest
			b.Fatal(err)
		}
	}
	fresh()
	rounds := 2
	if k == 0 {
		rounds = 1
	}
	_ = u
	measure(b, st, cost{put: k + 1, rounds: rounds}, func(h *opRun, i int) error {
		if i > 0 && i%resetEvery == 0 {
			h.untimed(fresh)
		}
		return r.Create(ctx, mk(i))
	})
}

func benchCreates(b *testing.B) {
	id := func(i int) string { return fmt.Sprintf("k%09d", i+1) }
	b.Run("idx=0", func(b *testing.B) {
		benchCreate(b, 0, 0, func(i int) BenchI0 { return BenchI0{ID: id(i), Name: "n"} })
	})
	b.Run("idx=2", func(b *testing.B) {
		benchCreate(b, 2, 0, func(i int) BenchI2 { return BenchI2{ID: id(i), City: "Paris", Age: i % 90, Name: "n"} })
	})
	b.Run("idx=2,unique=1", func(b *testing.B) {
		benchCreate(b, 2, 1, func(i int) BenchI2U { return BenchI2U{ID: id(i), Email: id(i) + "@x.io", City: "Paris", Name: "n"} })
	})
	b.Run("idx=4", func(b *testing.B) {
		benchCreate(b, 4, 0, func(i int) BenchI4 {
			return BenchI4{ID: id(i), City: "Paris", Team: "blue", Age: i % 90, Level: i % 7, Name: "n"}
		})
	})
	b.Run("idx=4,unique=1", func(b *testing.B) {
		benchCreate(b, 4, 1, func(i int) BenchI4U {
			return BenchI4U{ID: id(i), Email: id(i) + "@x.io", City: "Paris", Team: "blue", Age: i % 90, Name: "n"}
		})
	})
}

// --- overhead over raw S3 ---

// BenchmarkRawS3 compares Get and Put through the library with the same
// requests made directly with the aws-sdk-go-v2 client, on the test server,
// side by side (see sideBySide). Both sides use one client and transfer the
// same bytes: the raw object is a copy of the library's stored record (the
// 1KiB, 64KiB and 1MiB are the size of the value in it). The library Get is
// Repo.Get (one GET); the library Put is Repo.Put of a record the Repo wrote,
// whose version it knows: one PUT with If-Match, as Replace with a known
// version. sdk-ifmatch is the raw PUT with the same condition, to separate
// the server's cost of the condition from the library's.
func BenchmarkRawS3(b *testing.B) {
	ctx := context.Background()
	env := s3test.Server(b)
	var hc s3test.RequestCounter
	hc.Reset()
	client := env.NewClient(hc.Option)
	_, bucket := s3test.NewBucket(b)
	st, err := s3store.Open(ctx, client, bucket)
	if err != nil {
		b.Fatal(err)
	}
	blobs := newBench[BenchBlob](b, st)

	sizes := []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}
	type fixture struct {
		v       BenchBlob
		rawKey  string
		body    []byte
		rawETag *string
	}
	fix := map[string]*fixture{}
	for _, sz := range sizes {
		f := &fixture{v: BenchBlob{ID: "blob-" + sz.name, Data: strings.Repeat("x", sz.n)}, rawKey: "raw/" + sz.name}
		if err := blobs.Put(ctx, f.v); err != nil { // the first conditional write probes the server
			b.Fatal(err)
		}
		_, seg, err := gen.KeyString(f.v.ID)
		if err != nil {
			b.Fatal(err)
		}
		obj, err := st.Get(ctx, blobs.Model()+"/r/"+seg, object.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		f.body = obj.Body
		out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &f.rawKey, Body: bytes.NewReader(f.body), ContentLength: aws.Int64(int64(len(f.body)))})
		if err != nil {
			b.Fatal(err)
		}
		f.rawETag = out.ETag
		fix[sz.name] = f
	}

	for _, sz := range sizes {
		f := fix[sz.name]
		b.Run("Get/"+sz.name, func(b *testing.B) {
			sideBySide(b, &hc, "GetObject", []side{
				{"sdk", func() error {
					out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &f.rawKey})
					if err != nil {
						return err
					}
					body, err := io.ReadAll(out.Body)
					out.Body.Close()
					if err == nil && len(body) != len(f.body) {
						err = fmt.Errorf("read %d bytes, want %d", len(body), len(f.body))
					}
					return err
				}},
				{"sdk+json", func() error {
					// The raw read plus decoding the value, as a program
					// without this library would do.
					out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &f.rawKey})
					if err != nil {
						return err
					}
					body, err := io.ReadAll(out.Body)
					out.Body.Close()
					if err != nil {
						return err
					}
					var doc struct{ Value BenchBlob }
					if err := json.Unmarshal(body, &doc); err != nil {
						return err
					}
					if len(doc.Value.Data) != sz.n {
						return fmt.Errorf("decoded %d bytes, want %d", len(doc.Value.Data), sz.n)
					}
					return nil
				}},
				{"nodb", func() error {
					v, err := blobs.Get(ctx, f.v.ID)
					if err == nil && len(v.Data) != sz.n {
						err = fmt.Errorf("got %d bytes, want %d", len(v.Data), sz.n)
					}
					return err
				}},
			})
		})
	}
	for _, sz := range sizes {
		f := fix[sz.name]
		put := func(ifMatch bool) func() error {
			return func() error {
				in := &s3.PutObjectInput{Bucket: &bucket, Key: &f.rawKey, Body: bytes.NewReader(f.body), ContentLength: aws.Int64(int64(len(f.body)))}
				if ifMatch {
					in.IfMatch = f.rawETag
				}
				out, err := client.PutObject(ctx, in)
				if err == nil {
					f.rawETag = out.ETag
				}
				return err
			}
		}
		b.Run("Put/"+sz.name, func(b *testing.B) {
			sideBySide(b, &hc, "PutObject", []side{
				{"sdk", put(false)},
				{"sdk-ifmatch", put(true)},
				{"sdk+json-ifmatch", func() error {
					// Encoding the value, then the conditional raw write.
					if _, err := json.Marshal(&f.v); err != nil {
						return err
					}
					return put(true)()
				}},
				{"nodb", func() error { return blobs.Put(ctx, f.v) }},
			})
		})
	}
}

// side is one way of doing an operation.
type side struct {
	name string
	op   func() error
}

// sideBySide runs each side b.N times, interleaved (see s3test.Interleave),
// and reports each side's ns/op and the ratio of the last side to each
// other. Every call must make exactly one HTTP request of kind op.
func sideBySide(b *testing.B, hc *s3test.RequestCounter, op string, sides []side) {
	b.Helper()
	ss := make([]s3test.Side, len(sides))
	for k, sd := range sides {
		ss[k] = s3test.Side{Name: sd.name, Op: func(int) error { return sd.op() }}
	}
	total, reqs := s3test.Interleave(b, hc, ss)
	got := map[string]int{}
	for _, r := range reqs {
		for k, v := range r {
			got[k] += v
		}
	}
	if got[op] != len(sides)*b.N || len(got) != 1 {
		b.Errorf("HTTP requests %v over %d iterations of %d sides, want one %s per call", got, b.N, len(sides), op)
	}
	n := float64(b.N)
	last := len(sides) - 1
	for k, s := range sides {
		b.ReportMetric(float64(total[k].Nanoseconds())/n, s.name+"-ns/op")
		if k != last {
			b.ReportMetric(float64(total[last])/float64(total[k]), sides[last].name+"/"+s.name)
		}
	}
}

// BenchmarkS3Ops runs operations of BenchUser (k=3, u=1) on the test S3
// server and reports the HTTP requests each makes, by S3 operation: the
// meter's counts on a real server, plus what the s3store adds (on
// versitygw, a HEAD before each conditional DELETE; see the s3store
// benchmarks). The Repo is warm: manifest read, server probed.
func BenchmarkS3Ops(b *testing.B) {
	ctx := context.Background()
	env := s3test.Server(b)
	var hc s3test.RequestCounter
	hc.Reset()
	client := env.NewClient(hc.Option)
	_, bucket := s3test.NewBucket(b)
	st, err := s3store.Open(ctx, client, bucket)
	if err != nil {
		b.Fatal(err)
	}
	r := newBench[BenchUser](b, st)
	for i := range 10 {
		u := newUser(i)
		u.City = "Lyon"
		if err := r.Create(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	next := 1000 // keys of records created by the benchmarks

	// run measures op; prep runs before each op, outside the timer and
	// the counts. want is checked against the local versitygw only.
	run := func(b *testing.B, want map[string]int, prep func(), op func() error) {
		hc.Reset()
		got := map[string]int{}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if prep != nil {
				b.StopTimer()
				prep()
				hc.Reset()
				b.StartTimer()
			}
			if err := op(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			for k, v := range hc.Reset() {
				got[k] += v
			}
			b.StartTimer()
		}
		b.StopTimer()
		total := 0
		for k, v := range got {
			b.ReportMetric(float64(v)/float64(b.N), k+"/op")
			total += v
		}
		b.ReportMetric(float64(total)/float64(b.N), "http/op")
		if env.External {
			return
		}
		ok := len(got) == len(want)
		for k, v := range want {
			ok = ok && got[k] == v*b.N
		}
		if !ok {
			b.Errorf("HTTP requests %v over %d ops, want %v per op", got, b.N, want)
		}
	}
	b.Run("Create", func(b *testing.B) {
		run(b, map[string]int{"PutObject": 4}, func() { next++ }, func() error { return r.Create(ctx, newUser(next)) })
	})
	b.Run("Get", func(b *testing.B) {
		run(b, map[string]int{"GetObject": 1}, nil, func() error { _, err := r.Get(ctx, userKey(1)); return err })
	})
	b.Run("Update/seen", func(b *testing.B) {
		run(b, map[string]int{"PutObject": 1}, nil, func() error {
			_, err := r.Update(ctx, userKey(1), func(u *BenchUser) error { u.Bio += "."; return nil })
			return err
		})
	})
	b.Run("Delete/seen", func(b *testing.B) {
		// The record's DELETE is preceded by a HEAD on servers that do not
		// report a missing key on a conditional delete (versitygw); the
		// cleanup DELETEs of entries and claims need no such check.
		run(b, map[string]int{"HeadObject": 1, "DeleteObject": 4}, func() {
			next++
			if err := r.Create(ctx, newUser(next)); err != nil {
				b.Fatal(err)
			}
		}, func() error { return r.Delete(ctx, userKey(next)) })
	})
	b.Run("Find/10", func(b *testing.B) {
		run(b, map[string]int{"ListObjectsV2": 1, "GetObject": 10}, nil, func() error {
			n, err := drain(r.Find(ctx, "City", "Lyon"))
			return expectN(n, 10, err)
		})
	})
}

// --- fan-out under latency ---

// BenchmarkFanout runs Find returning 100 records with 20 ms injected per
// request, at several Options.Concurrency. The floor is one LIST round
// plus ceil(100/concurrency) rounds of GETs; ideal-ms/op is that times
// 20 ms.
func BenchmarkFanout(b *testing.B) {
	const (
		latency = 20 * time.Millisecond
		results = 100
	)
	ctx := context.Background()
	data := memstore.New()
	w := newBench[BenchUser](b, data) // unmetered: setup costs no latency
	for i := range 2 * results {
		u := newUser(i)
		u.City = "Lyon"
		if i%2 == 0 {
			u.City = "Nice"
		}
		if err := w.Create(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	for _, conc := range []int{1, 8, 32, 64} {
		b.Run(fmt.Sprint("conc=", conc), func(b *testing.B) {
			m := meter.Wrap(data, meter.WithLatency(latency))
			r := newBench[BenchUser](b, m, func(o *repo.Options) { o.Concurrency = conc })
			if _, err := drain(r.Find(ctx, "City", "none")); err != nil { // reads the manifest
				b.Fatal(err)
			}
			m.Reset()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got, err := drain(r.Find(ctx, "City", "Nice"))
				if err := expectN(got, results, err); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c := m.Reset()
			n := float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/n, "ms/op")
			b.ReportMetric(float64(c.Rounds)/n, "rounds/op")
			b.ReportMetric(float64(c.Total())/n, "reqs/op")
			waves := 1 + (results+conc-1)/conc
			b.ReportMetric(float64(waves*int(latency/time.Millisecond)), "ideal-ms/op")
			if c.List != b.N || c.Get != results*b.N {
				b.Errorf("requests %v over %d ops, want 1 LIST + %d GETs per op", c, b.N, results)
			}
		})
	}
}
