package repo_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// Person has every kind of index: plain, unique, sparse unique, ordered
// numeric, float, bool and time.
type Person struct {
	ID     string    `nodb:"key"`
	Email  string    `nodb:"unique"`
	Nick   string    `nodb:"unique,omitempty"`
	City   string    `nodb:"index"`
	Age    int       `nodb:"index"`
	Score  float64   `nodb:"index,desc"` // stored order-inverted
	Active bool      `nodb:"index"`
	Born   time.Time `nodb:"index"`
	Bio    string
	Until  time.Time `nodb:"expires"` // zero: never expires
}

// withExpiry gives p an expiry time: none, passed, or an hour ahead.
func withExpiry(rng *rand.Rand, p Person) Person {
	switch rng.IntN(4) {
	case 0:
		p.Until = time.Now().Add(-time.Hour).UTC().Round(0)
	case 1:
		p.Until = time.Now().Add(time.Hour).UTC().Round(0)
	}
	return p
}

// live reports whether p reads as present: it has not expired.
func live(p Person) bool { return p.Until.IsZero() || p.Until.After(time.Now()) }

var (
	cities = []string{"Paris", "", "Zürich", "a/b", "New York", "東京", "Paris-Nord", "paris"}
	emails = []string{"a@x.io", "b@x.io", "", "c@x.io", "é@x.io", "d@x.io"}
	nicks  = []string{"", "", "neo", "trinity", "morpheus"}
	ages   = []int{-5, 0, 1, 7, 18, 30, 31, 100, -1000}
	scores = []float64{-1.5, 0, 2.25, -1e9, 3.5}
	borns  = []time.Time{{}, time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 12, 0, 0, 5, time.UTC)}
)

func randomPerson(rng *rand.Rand, id string) Person {
	return Person{
		ID: id, Email: emails[rng.IntN(len(emails))], Nick: nicks[rng.IntN(len(nicks))],
		City: cities[rng.IntN(len(cities))], Age: ages[rng.IntN(len(ages))],
		Score: scores[rng.IntN(len(scores))], Active: rng.IntN(2) == 0, Born: borns[rng.IntN(len(borns))],
	}
}

// oracle is the in-memory model the store must agree with.
type oracle map[string]Person

// conflict returns the key of another record holding one of p's unique values.
func (o oracle) conflict(p Person) (string, bool) {
	for k, q := range o {
		if k == p.ID {
			continue
		}
		if q.Email == p.Email || p.Nick != "" && q.Nick == p.Nick {
			return k, true
		}
	}
	return "", false
}

// sorted returns the live records that keep accepts, ordered by less,
// then by key.
func (o oracle) sorted(keep func(Person) bool, less func(a, b Person) int) []Person {
	return o.stored(func(p Person) bool { return live(p) && keep(p) }, less)
}

// stored is sorted including expired records that no sweep removed yet:
// what answers from listings alone (Count, CountBy, Keys) see.
func (o oracle) stored(keep func(Person) bool, less func(a, b Person) int) []Person {
	var out []Person
	for _, p := range o {
		if keep(p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Person) int {
		if c := less(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func ids(ps []Person) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func byKey(a, b Person) int { return 0 }

// verify checks every query against the oracle. With exactCounts, CountBy
// must equal the oracle too: true unless writers raced on a store without
// conditional deletes, where a Delete racing another write of the same
// record can leave that write's entries for Check (see CountBy's doc).
func verify(t *testing.T, people *repo.Repo[Person], o oracle, rng *rand.Rand, step int, exactCounts bool) {
	t.Helper()
	ctx := context.Background()
	fail := func(what string, got, want any) {
		t.Helper()
		t.Fatalf("step %d: %s: got %v, want %v", step, what, got, want)
	}
	all := collect(t, people.All(ctx))
	if want := ids(o.sorted(func(Person) bool { return true }, byKey)); !slices.Equal(ids(all), want) {
		fail("All", ids(all), want)
	}
	for _, p := range all {
		if o[p.ID] != p {
			fail("All value "+p.ID, p, o[p.ID])
		}
	}
	if n, err := people.Count(ctx); err != nil || n != len(o) {
		fail("Count", n, len(o))
	}
	for _, c := range cities {
		got := ids(collect(t, people.Find(ctx, "City", c)))
		want := ids(o.sorted(func(p Person) bool { return p.City == c }, byKey))
		if !slices.Equal(got, want) {
			fail(fmt.Sprintf("Find City %q", c), got, want)
		}
	}
	for _, a := range []bool{false, true} {
		got := ids(collect(t, people.Find(ctx, "Active", a)))
		want := ids(o.sorted(func(p Person) bool { return p.Active == a }, byKey))
		if !slices.Equal(got, want) {
			fail(fmt.Sprintf("Find Active %v", a), got, want)
		}
	}
	lo, hi := ages[rng.IntN(len(ages))], ages[rng.IntN(len(ages))]
	got := ids(collect(t, people.Range(ctx, "Age", lo, hi)))
	want := ids(o.sorted(func(p Person) bool { return p.Age >= lo && p.Age <= hi }, func(a, b Person) int { return cmp.Compare(a.Age, b.Age) }))
	if !slices.Equal(got, want) {
		fail(fmt.Sprintf("Range Age [%d, %d]", lo, hi), got, want)
	}
	flo, fhi := scores[rng.IntN(len(scores))], scores[rng.IntN(len(scores))]
	got = ids(collect(t, people.Range(ctx, "Score", flo, fhi)))
	want = ids(o.sorted(func(p Person) bool { return p.Score >= flo && p.Score <= fhi }, func(a, b Person) int { return cmp.Compare(a.Score, b.Score) }))
	if !slices.Equal(got, want) {
		fail(fmt.Sprintf("Range Score [%v, %v]", flo, fhi), got, want)
	}
	clo, chi := cities[rng.IntN(len(cities))], cities[rng.IntN(len(cities))]
	got = ids(collect(t, people.Range(ctx, "City", clo, chi)))
	want = ids(o.sorted(func(p Person) bool { return p.City >= clo && p.City <= chi }, func(a, b Person) int { return strings.Compare(a.City, b.City) }))
	if !slices.Equal(got, want) {
		fail(fmt.Sprintf("Range City [%q, %q]", clo, chi), got, want)
	}
	tlo, thi := borns[rng.IntN(len(borns))], borns[rng.IntN(len(borns))]
	got = ids(collect(t, people.Range(ctx, "Born", tlo, thi)))
	want = ids(o.sorted(func(p Person) bool { return !p.Born.Before(tlo) && !p.Born.After(thi) }, func(a, b Person) int { return a.Born.Compare(b.Born) }))
	if !slices.Equal(got, want) {
		fail(fmt.Sprintf("Range Born [%v, %v]", tlo, thi), got, want)
	}
	verifyQueries(t, people, o, rng, step)
	for _, e := range emails {
		p, err := people.GetBy(ctx, "Email", e)
		var holder string
		for k, q := range o {
			if q.Email == e && live(q) {
				holder = k
			}
		}
		switch {
		case holder == "" && !errors.Is(err, repo.ErrNotFound):
			fail(fmt.Sprintf("GetBy Email %q", e), err, "ErrNotFound")
		case holder != "" && (err != nil || p.ID != holder):
			fail(fmt.Sprintf("GetBy Email %q", e), fmt.Sprint(p.ID, err), holder)
		}
		// CountBy on a unique field reads the claim and its record (2
		// GETs), so it is exact, and an expired holder does not count.
		want := 0
		if holder != "" {
			want = 1
		}
		if n, err := people.CountBy(ctx, "Email", e); err != nil || n != want {
			fail(fmt.Sprintf("CountBy Email %q", e), fmt.Sprint(n, err), want)
		}
	}
	// Rejected writes leave nothing behind, so counts from listings alone
	// are exact.
	for _, c := range cities {
		want := len(o.stored(func(p Person) bool { return p.City == c }, byKey))
		if n, err := people.CountBy(ctx, "City", c); err != nil || n < want || exactCounts && n != want {
			fail(fmt.Sprintf("CountBy City %q", c), fmt.Sprint(n, err), want)
		}
	}
}

// TestModelBased runs random writes against the store and an in-memory
// oracle and compares every query after every few steps.
func TestModelBased(t *testing.T) {
	steps := map[string]int{"mem": 400, "file": 300, "s3": 200, memNoCondDelete.name: 400}
	for _, b := range append(backends[:len(backends):len(backends)], memNoCondDelete) {
		t.Run(b.name, func(t *testing.T) {
			st, reopen := b.open(t)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 42))
			ctx := context.Background()
			people := newRepo[Person](t, st)
			other := newRepo[Person](t, st) // moves records under people's feet
			o := oracle{}
			keys := []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k 8", "ключ", "k/10"}
			for step := 0; step < steps[b.name]; step++ {
				id := keys[rng.IntN(len(keys))]
				p := withExpiry(rng, randomPerson(rng, id))
				old, stored := o[id]
				exists := stored && live(old)
				holder, taken := o.conflict(p)
				switch op := rng.IntN(12); {
				case op >= 10 && exists:
					// Replace with the version read, or with a version
					// another writer has made stale since.
					rec, err := people.GetRecord(ctx, id)
					if err != nil {
						t.Fatalf("step %d: GetRecord %s: %v", step, id, err)
					}
					stale := rng.IntN(2) == 0
					if stale {
						moved, err := other.Update(ctx, id, func(q *Person) error { q.Bio += "!"; return nil })
						if err != nil {
							t.Fatalf("step %d: Update %s by another writer: %v", step, id, err)
						}
						o[id] = moved
					}
					err = people.Replace(ctx, p, rec.Version)
					switch {
					case taken:
						if !errors.Is(err, repo.ErrUnique) {
							t.Fatalf("step %d: Replace %s clashing with %s: %v", step, id, holder, err)
						}
					case stale:
						if !errors.Is(err, repo.ErrConflict) {
							t.Fatalf("step %d: Replace %s with a stale version: %v", step, id, err)
						}
					case err != nil:
						t.Fatalf("step %d: Replace %s: %v", step, id, err)
					default:
						o[id] = p
					}
				case op >= 10 && stored: // expired: stored, at another version
					if err := people.Replace(ctx, p, "no-such-version"); !errors.Is(err, repo.ErrConflict) {
						t.Fatalf("step %d: Replace expired %s with a wrong version: %v", step, id, err)
					}
				case op >= 10:
					if err := people.Replace(ctx, p, "no-such-version"); !errors.Is(err, repo.ErrNotFound) {
						t.Fatalf("step %d: Replace missing %s: %v", step, id, err)
					}
				case op < 3:
					err := people.Create(ctx, p)
					switch {
					case exists:
						if !errors.Is(err, repo.ErrExists) {
							t.Fatalf("step %d: Create existing %s: %v", step, id, err)
						}
					case taken:
						if !errors.Is(err, repo.ErrUnique) {
							t.Fatalf("step %d: Create %s clashing with %s: %v", step, id, holder, err)
						}
					case err != nil:
						t.Fatalf("step %d: Create %s: %v", step, id, err)
					default:
						o[id] = p
					}
				case op < 6:
					err := people.Put(ctx, p)
					if taken != errors.Is(err, repo.ErrUnique) || !taken && err != nil {
						t.Fatalf("step %d: Put %+v (clash %v with %s): %v", step, p, taken, holder, err)
					}
					if err == nil {
						o[id] = p
					}
				case op < 8:
					_, err := people.Update(ctx, id, func(q *Person) error {
						p.Bio = q.Bio + "."
						*q = p
						return nil
					})
					switch {
					case !exists:
						if !errors.Is(err, repo.ErrNotFound) {
							t.Fatalf("step %d: Update missing %s: %v", step, id, err)
						}
					case taken:
						if !errors.Is(err, repo.ErrUnique) {
							t.Fatalf("step %d: Update %s clashing with %s: %v", step, id, holder, err)
						}
					case err != nil:
						t.Fatalf("step %d: Update %s: %v", step, id, err)
					default:
						o[id] = p
					}
				case op == 9 && rng.IntN(3) == 0:
					// The sweep removes the expired records.
					rep, err := people.DeleteExpired(ctx, "", nil)
					want := 0
					for k, q := range o {
						if !live(q) {
							delete(o, k)
							want++
						}
					}
					if err != nil || rep.Deleted != want || rep.Cursor != "" {
						t.Fatalf("step %d: DeleteExpired: %+v %v, want %d deleted", step, rep, err, want)
					}
				default:
					// Delete removes a stored record, expired or not;
					// DeleteVersion (where the store deletes
					// conditionally) one at the version read, and nothing
					// at a stale version.
					var err error
					rec, gerr := people.GetRecord(ctx, id)
					if st.Capabilities().ConditionalDelete && gerr == nil && rng.IntN(2) == 0 {
						if rng.IntN(3) == 0 {
							if err := people.DeleteVersion(ctx, id, rec.Version+"-stale"); !errors.Is(err, repo.ErrConflict) {
								t.Fatalf("step %d: DeleteVersion %s at a stale version: %v", step, id, err)
							}
							break
						}
						err = people.DeleteVersion(ctx, id, rec.Version)
					} else {
						err = people.Delete(ctx, id)
					}
					if stored != (err == nil) || !stored && !errors.Is(err, repo.ErrNotFound) {
						t.Fatalf("step %d: Delete %s (stored %v): %v", step, id, stored, err)
					}
					delete(o, id)
				}
				if step%7 == 6 {
					verify(t, people, o, rng, step, true)
				}
			}
			// A fresh Repo on a fresh client agrees too, and Check finds
			// nothing: failed writes leave no leftovers.
			fresh := newRepo[Person](t, reopen())
			verify(t, fresh, o, rng, -1, true)
			rep, err := fresh.Check(ctx, false)
			if err != nil || !rep.OK() || rep.Records != len(o) {
				t.Fatalf("Check: %+v, %v", rep, err)
			}
		})
	}
}

func TestUniqueRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			people := newRepo[Person](t, st)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = people.Create(ctx, Person{ID: fmt.Sprint("racer", i), Email: "same@x.io"})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, repo.ErrUnique):
				t.Errorf("loser got %v, want ErrUnique", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d winners, want exactly 1: %v", won, errs)
		}
		people := newRepo[Person](t, st)
		p, err := people.GetBy(ctx, "Email", "same@x.io")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := people.Count(ctx); n != 1 {
			t.Fatalf("%d records, want 1", n)
		}
		// Once the winner lets the value go, another key can take it at once.
		if _, err := people.Update(ctx, p.ID, func(q *Person) error { q.Email = "moved@x.io"; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := people.Create(ctx, Person{ID: "late", Email: "same@x.io"}); err != nil {
			t.Fatalf("value freed by its owner: %v", err)
		}
	})
}

// TestConcurrentIndexMoves has writers move records between index values
// concurrently and checks the indexes are exact afterwards.
func TestConcurrentIndexMoves(t *testing.T) {
	eachRacingBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		people := newRepo[Person](t, st)
		for i := range 4 {
			if err := people.Create(ctx, Person{ID: fmt.Sprint("p", i), Email: fmt.Sprint(i, "@x.io")}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for w := range 6 {
			r := newRepo[Person](t, st)
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for range 12 {
					id := fmt.Sprint("p", rng.IntN(4))
					city, age := cities[rng.IntN(3)], ages[rng.IntN(len(ages))]
					if _, err := r.Update(ctx, id, func(p *Person) error { p.City, p.Age = city, age; return nil }); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		o := oracle{}
		for p, err := range people.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			o[p.ID] = p
		}
		verify(t, newRepo[Person](t, st), o, rand.New(rand.NewPCG(1, 2)), 0, st.Capabilities().ConditionalDelete)
		rep, err := people.Check(ctx, false)
		if err != nil || rep.MissingEntries != 0 || rep.MissingClaims != 0 {
			t.Fatalf("Check: %+v %v", rep, err)
		}
	})
}

// Indexed has k=3 indexes, u=1 of them unique.
type Indexed struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Age   int    `nodb:"index"`
	Note  string
}

func TestRequestCountsIndexes(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st, meter.WithLatency(10*time.Millisecond)) // parallel requests overlap even on a loaded machine
		r := newRepo[Indexed](t, m)
		if err := r.Create(ctx, Indexed{ID: "warm", Email: "w", City: "x"}); err != nil { // reads the manifest once
			t.Fatal(err)
		}
		m.Reset()
		if err := r.Create(ctx, Indexed{ID: "a", Email: "a@x.io", City: "Paris", Age: 30}); err != nil {
			t.Fatal(err)
		}
		// k=3 indexed fields, u=1 unique: 2 entries + 1 claim (the unique
		// index's entry) + 1 record = k+1 PUTs, in 2 rounds.
		if c := m.Reset(); c.Put != 4 || c.Total() != 4 || c.Rounds != 2 {
			t.Errorf("Create: %v, want 4 PUTs in 2 rounds", c)
		}
		rec, err := r.GetRecord(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Get != 1 || c.Total() != 1 {
			t.Errorf("GetRecord: %v", c)
		}
		rec.Value.Note = "changed, indexes not"
		if err := r.Replace(ctx, rec.Value, rec.Version); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 1 || c.Total() != 1 {
			t.Errorf("Replace with unchanged indexed values: %v, want 1 PUT", c)
		}
		if _, err := r.Update(ctx, "a", func(v *Indexed) error { v.City = "Rome"; return nil }); err != nil {
			t.Fatal(err)
		}
		// 1 entry PUT, 1 record PUT, 1 stale entry DELETE (this Repo knows
		// the record's state, so no GET).
		if c := m.Reset(); c.Get != 0 || c.Put != 2 || c.Delete != 1 || c.Rounds != 3 {
			t.Errorf("Update moving one index value: %v", c)
		}
		for i := range 9 {
			if err := r.Create(ctx, Indexed{ID: fmt.Sprint("r", i), Email: fmt.Sprint(i), City: "Rome"}); err != nil {
				t.Fatal(err)
			}
		}
		m.Reset()
		if got := collect(t, r.Find(ctx, "City", "Rome")); len(got) != 10 {
			t.Fatalf("Find: %d results", len(got))
		}
		if c := m.Reset(); c.List != 1 || c.Get != 10 || c.Total() != 11 || c.Rounds != 2 {
			t.Errorf("Find returning 10: %v, want 1 LIST + 10 GETs in 2 rounds", c)
		}
		if _, err := r.GetBy(ctx, "Email", "a@x.io"); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Get != 2 || c.Total() != 2 {
			t.Errorf("GetBy: %v, want 2 GETs", c)
		}
		if n, err := r.CountBy(ctx, "City", "Rome"); err != nil || n != 10 {
			t.Fatalf("CountBy: %d %v", n, err)
		}
		if c := m.Reset(); c.List != 1 || c.Total() != 1 {
			t.Errorf("CountBy: %v, want 1 LIST", c)
		}
		// A unique index is read through its claims: Find and CountBy are
		// GetBy's 2 GETs, no LIST; a miss is the claim's GET alone.
		if got := collect(t, r.Find(ctx, "Email", "a@x.io")); len(got) != 1 || got[0].ID != "a" {
			t.Fatalf("Find on a unique index: %v", got)
		}
		if c := m.Reset(); c.Get != 2 || c.Total() != 2 {
			t.Errorf("Find on a unique index: %v, want 2 GETs", c)
		}
		if n, err := r.CountBy(ctx, "Email", "a@x.io"); err != nil || n != 1 {
			t.Fatalf("CountBy on a unique index: %d %v", n, err)
		}
		if c := m.Reset(); c.Get != 2 || c.Total() != 2 {
			t.Errorf("CountBy on a unique index: %v, want 2 GETs", c)
		}
		if got := collect(t, r.Find(ctx, "Email", "nobody")); len(got) != 0 {
			t.Fatalf("Find of a free unique value: %v", got)
		}
		if c := m.Reset(); c.Get != 1 || c.Total() != 1 {
			t.Errorf("Find of a free unique value: %v, want 1 GET", c)
		}
		// Range over a unique index: 1 LIST of the claims, then per result
		// the claim's GET and its record's GET. Emails "0".."8" and "a@x.io"
		// are claimed; "1".."3" are in the range.
		if got := collect(t, r.Range(ctx, "Email", "1", "3")); len(got) != 3 || got[0].Email != "1" || got[2].Email != "3" {
			t.Fatalf("Range on a unique index: %v", got)
		}
		// (The record GETs overlap the claim GETs still in flight: 2 or 3
		// rounds.)
		if c := m.Reset(); c.List != 1 || c.Get != 6 || c.Total() != 7 || c.Rounds > 3 {
			t.Errorf("Range on a unique index returning 3: %v, want 1 LIST + 6 GETs in at most 3 rounds", c)
		}
		if err := r.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		// The record, then its 2 entries and 1 claim.
		if c := m.Reset(); c.Delete != 4 || c.Total() != 4 {
			t.Errorf("Delete of a known record: %v, want 4 DELETEs", c)
		}
	})
}

func TestFindPagesPastOneListPage(t *testing.T) {
	ctx := context.Background()
	m := meter.Wrap(memstore.New())
	r := newRepo[Indexed](t, m)
	const n = 1234
	for i := range n {
		if err := r.Create(ctx, Indexed{ID: fmt.Sprintf("id%05d", i), Email: fmt.Sprint(i), City: "Big", Age: i % 50}); err != nil {
			t.Fatal(err)
		}
	}
	m.Reset()
	got := collect(t, r.Find(ctx, "City", "Big"))
	if len(got) != n {
		t.Fatalf("Find: %d results", len(got))
	}
	if c := m.Reset(); c.List != 2 || c.Get != n {
		t.Errorf("Find of %d: %v, want 2 LISTs + %d GETs", n, c, n)
	}
	// Range: value order, then key order.
	rng := collect(t, r.Range(ctx, "Age", 10, 12))
	if len(rng) != 3*n/50+1 && len(rng) != 3*(n/50)+3 {
		t.Logf("Range returned %d", len(rng))
	}
	for i := 1; i < len(rng); i++ {
		a, b := rng[i-1], rng[i]
		if a.Age > b.Age || a.Age == b.Age && a.ID >= b.ID {
			t.Fatalf("Range order: %+v before %+v", a, b)
		}
	}
	// Pages of 100 walk the whole result exactly once.
	var paged []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := r.FindPage(ctx, "City", "Big", cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Items {
			paged = append(paged, v.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if len(paged) != n || !slices.IsSorted(paged) {
		t.Fatalf("paged %d results, sorted %v", len(paged), slices.IsSorted(paged))
	}
	if _, err := r.RangePage(ctx, "Age", 0, 1, cursor, 10); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("a Find cursor given to RangePage: %v", err)
	}
	// Breaking early stops listing.
	m.Reset()
	for range r.Find(ctx, "City", "Big") {
		break
	}
	if c := m.Reset(); c.List != 1 || c.Get > 17 {
		t.Errorf("early break: %v", c)
	}
}

func TestQueryErrors(t *testing.T) {
	ctx := context.Background()
	r := newRepo[Person](t, memstore.New())
	if err := r.Create(ctx, Person{ID: "x", Email: "x"}); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		err  error
		want string
	}{
		{"Find on unindexed field", first(r.Find(ctx, "Bio", "")), "field Bio of model Person is not indexed"},
		{"Find on the key", first(r.Find(ctx, "ID", "x")), "field ID of model Person is not indexed"},
		{"Find on unknown field", first(r.Find(ctx, "Nope", "")), "model Person has no field Nope"},
		{"Find with wrong type", first(r.Find(ctx, "Age", "ten")), "value of type string for field Age, want int"},
		{"Find zero on sparse", first(r.Find(ctx, "Nick", "")), "index Nick is omitempty"},
		{"Range on bool", first(r.Range(ctx, "Active", false, true)), "Range needs an ordered kind"},
		{"Range NaN", first(r.Range(ctx, "Score", 0.0, nan())), "NaN"},
		{"GetBy non-unique", second(r.GetBy(ctx, "City", "Paris")), "is not unique"},
		{"GetBy zero sparse", second(r.GetBy(ctx, "Nick", "")), "index Nick is omitempty"},
	}
	for _, c := range checks {
		if !errors.Is(c.err, repo.ErrInvalid) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid with %q", c.name, c.err, c.want)
		}
	}
	if err := r.Put(ctx, Person{ID: "y", Email: "y", Score: nan()}); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("storing NaN in an index: %v", err)
	}
	// Empty results are not errors; lo > hi is empty.
	if got := collect(t, r.Range(ctx, "Age", 10, 1)); len(got) != 0 {
		t.Errorf("Range lo > hi: %v", got)
	}
	if _, err := r.GetBy(ctx, "Email", "nobody"); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("GetBy missing: %v", err)
	}
}

func nan() float64 { var z float64; return z / z }

func first[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		return err
	}
	return nil
}

func second[T any](_ T, err error) error { return err }

// Older is Newer without the City index: records written through it exist
// before the index does.
type Older struct {
	ID    string `nodb:"key"`
	Email string
	City  string
}

type Newer struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
}

func TestReindex(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		name := func(o *repo.Options) { o.Model = "Evolving" }
		old := newRepo[Older](t, st, name)
		for i := range 30 {
			if err := old.Create(ctx, Older{ID: fmt.Sprint("o", i), Email: fmt.Sprint(i, "@x"), City: []string{"A", "B", "C"}[i%3]}); err != nil {
				t.Fatal(err)
			}
		}
		nw := newRepo[Newer](t, st, name)
		// Queries on an index that is not built fail; they never answer partially.
		if err := first(nw.Find(ctx, "City", "A")); !errors.Is(err, repo.ErrNotBuilt) || !strings.Contains(err.Error(), "run Reindex") {
			t.Fatalf("Find before Reindex: %v", err)
		}
		if _, err := nw.GetBy(ctx, "Email", "1@x"); !errors.Is(err, repo.ErrNotBuilt) {
			t.Fatalf("GetBy before Reindex: %v", err)
		}
		// Writes meanwhile maintain the new indexes.
		if err := nw.Create(ctx, Newer{ID: "n1", Email: "new@x", City: "A"}); err != nil {
			t.Fatal(err)
		}
		if err := nw.Reindex(ctx); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, nw.Find(ctx, "City", "A")); len(got) != 11 {
			t.Fatalf("Find after Reindex: %d results, want 11", len(got))
		}
		if p, err := nw.GetBy(ctx, "Email", "7@x"); err != nil || p.ID != "o7" {
			t.Fatalf("GetBy after Reindex: %+v %v", p, err)
		}
		// Idempotent; and another Repo sees the index as built.
		if err := nw.Reindex(ctx); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, newRepo[Newer](t, st, name).Find(ctx, "City", "B")); len(got) != 10 {
			t.Fatalf("Find from a new Repo: %d", len(got))
		}
		rep, err := nw.Check(ctx, false)
		if err != nil || !rep.OK() {
			t.Fatalf("Check after Reindex: %+v %v", rep, err)
		}
	})
}

func TestReindexDuplicates(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	name := func(o *repo.Options) { o.Model = "Dup" }
	old := newRepo[Older](t, st, name)
	for _, id := range []string{"a", "b", "c"} {
		if err := old.Create(ctx, Older{ID: id, Email: "same"}); err != nil {
			t.Fatal(err)
		}
	}
	nw := newRepo[Newer](t, st, name)
	err := nw.Reindex(ctx)
	if !errors.Is(err, repo.ErrUnique) || !strings.Contains(err.Error(), `"same"`) {
		t.Fatalf("Reindex with duplicates: %v", err)
	}
	if _, err := nw.GetBy(ctx, "Email", "same"); !errors.Is(err, repo.ErrNotBuilt) {
		t.Fatalf("the unique index must stay unbuilt: %v", err)
	}
}

func TestCheckRepair(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	r := newRepo[Person](t, st, func(o *repo.Options) { o.ClaimLease = time.Nanosecond })
	for i := range 5 {
		if err := r.Create(ctx, Person{ID: fmt.Sprint("p", i), Email: fmt.Sprint(i), City: "X"}); err != nil {
			t.Fatal(err)
		}
	}
	// Damage: an orphan entry, a missing entry, a stale claim, a removed
	// index's leftovers.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := st.Put(ctx, "Person/i/City/"+gen.IndexString("Nowhere")+"/p1", nil, object.PutOptions{})
	must(err)
	must(deleteAll(ctx, st, "Person/i/City/"+gen.IndexString("X")+"/p2"))
	_, err = st.Put(ctx, "Person/u/Email/"+gen.IndexString("ghost"), []byte(`{"key":"gone","seg":"gone","create":true}`), object.PutOptions{})
	must(err)
	_, err = st.Put(ctx, "Person/i/Removed/"+gen.IndexString("v")+"/p1", nil, object.PutOptions{})
	must(err)
	time.Sleep(5 * time.Millisecond)

	rep, err := r.Check(ctx, false)
	must(err)
	if rep.OrphanEntries != 1 || rep.MissingEntries != 1 || rep.StaleClaims != 1 || !slices.Equal(rep.UnknownIndexes, []string{"Removed"}) || rep.Records != 5 {
		t.Fatalf("Check: %+v", rep)
	}
	if got := collect(t, r.Find(ctx, "City", "X")); len(got) != 4 {
		t.Fatalf("before repair Find misses the damaged record: %d", len(got))
	}
	rep, err = r.Check(ctx, true)
	must(err)
	// The removed index's entry is left alone: a program with a newer
	// model may use it.
	if rep.Repaired != 3 {
		t.Fatalf("repair: %+v", rep)
	}
	rep, err = r.Check(ctx, false)
	if err != nil || rep.Repaired != 0 || rep.OrphanEntries+rep.MissingEntries+rep.StaleClaims+rep.MissingClaims != 0 || !slices.Equal(rep.UnknownIndexes, []string{"Removed"}) {
		t.Fatalf("after repair: %+v %v", rep, err)
	}
	if got := collect(t, r.Find(ctx, "City", "X")); len(got) != 5 {
		t.Fatalf("after repair Find: %d", len(got))
	}
}

// Doc has a string index whose values can be longer than an index segment.
type Doc struct {
	ID    string `nodb:"key"`
	Title string `nodb:"index"`
}

func TestLongIndexValues(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		docs := newRepo[Doc](t, st)
		prefix := strings.Repeat("p", 200) // longer than the 160 bytes kept in a segment
		titles := map[string]string{"a": prefix + "a", "b": prefix + "b", "c": prefix + "c", "short": "short", "z": strings.Repeat("z", 5000)}
		for id, title := range titles {
			if err := docs.Create(ctx, Doc{ID: id, Title: title}); err != nil {
				t.Fatalf("Create %s: %v", id, err)
			}
		}
		for id, title := range titles {
			got := collect(t, docs.Find(ctx, "Title", title))
			if len(got) != 1 || got[0].ID != id {
				t.Errorf("Find long title of %s: %v", id, got)
			}
		}
		// Membership is exact even among values that share their first 160 bytes.
		got := collect(t, docs.Range(ctx, "Title", prefix+"b", prefix+"c"))
		var gotIDs []string
		for _, d := range got {
			gotIDs = append(gotIDs, d.ID)
		}
		slices.Sort(gotIDs)
		if !slices.Equal(gotIDs, []string{"b", "c"}) {
			t.Errorf("Range over long values: %v, want [b c]", gotIDs)
		}
		if got := collect(t, docs.Range(ctx, "Title", "a", "t")); len(got) != 4 {
			t.Errorf("Range [a, t]: %d results, want 4", len(got))
		}
	})
}

func TestPrefixesAndModelsAreSeparate(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	a := newRepo[Indexed](t, st, func(o *repo.Options) { o.Prefix = "app-a" })
	b := newRepo[Indexed](t, st, func(o *repo.Options) { o.Prefix = "app-b/" })
	c := newRepo[Indexed](t, st, func(o *repo.Options) { o.Prefix = "app-a"; o.Model = "Other" })
	for _, r := range []*repo.Repo[Indexed]{a, b, c} {
		if err := r.Create(ctx, Indexed{ID: "same", Email: "same@x", City: "X"}); err != nil {
			t.Fatal(err) // the same key and unique value in each namespace
		}
	}
	for info, err := range object.All(ctx, st, "", "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(info.Key, "app-a/Indexed/") && !strings.HasPrefix(info.Key, "app-b/Indexed/") && !strings.HasPrefix(info.Key, "app-a/Other/") {
			t.Errorf("object %q outside the namespaces", info.Key)
		}
	}
	if err := a.Delete(ctx, "same"); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Count(ctx); n != 1 {
		t.Errorf("deleting in one prefix changed another: %d", n)
	}
	if n, _ := c.Count(ctx); n != 1 {
		t.Errorf("deleting in one model changed another: %d", n)
	}
}

// TestConcurrentUniqueMoves has writers move records between a few unique
// values at once: afterwards no value is held twice, and GetBy and Check
// agree with the records.
func TestConcurrentUniqueMoves(t *testing.T) {
	eachRacingBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		people := newRepo[Person](t, st)
		for i := range 4 {
			if err := people.Create(ctx, Person{ID: fmt.Sprint("p", i), Email: fmt.Sprint("e", i)}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		for w := range 6 {
			r := newRepo[Person](t, st)
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 11))
				for range 10 {
					id, email := fmt.Sprint("p", rng.IntN(4)), fmt.Sprint("e", rng.IntN(6))
					_, err := r.Update(ctx, id, func(p *Person) error { p.Email = email; return nil })
					mu.Lock()
					switch {
					case err == nil:
						won++
					case errors.Is(err, repo.ErrUnique):
						lost++
					default:
						t.Errorf("Update %s to %s: %v", id, email, err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		seen := map[string]string{}
		for p, err := range people.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if other, dup := seen[p.Email]; dup {
				t.Fatalf("%s and %s both hold %s", other, p.ID, p.Email)
			}
			seen[p.Email] = p.ID
		}
		for i := range 6 {
			e := fmt.Sprint("e", i)
			p, err := people.GetBy(ctx, "Email", e)
			if holder, ok := seen[e]; ok != (err == nil) || ok && p.ID != holder {
				t.Errorf("GetBy %s = %v, %v; holder %q", e, p.ID, err, holder)
			}
		}
		rep, err := people.Check(ctx, false)
		if err != nil || rep.MissingEntries != 0 || rep.MissingClaims != 0 || len(rep.Problems) != 0 {
			t.Fatalf("Check: %+v %v", rep, err)
		}
		t.Logf("%d updates committed, %d refused as duplicates", won, lost)
	})
}

// TestConcurrentMixedWrites runs random Create, Put, Update and Delete
// calls from several writers at once over few keys and few unique values,
// then checks that no unique value is held twice and that every query
// agrees with the records.
func TestConcurrentMixedWrites(t *testing.T) {
	eachRacingBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := range 6 {
			r := newRepo[Person](t, st)
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				for range 25 {
					p := Person{ID: fmt.Sprint("p", rng.IntN(5)), Email: fmt.Sprint("e", rng.IntN(6)),
						Nick: nicks[rng.IntN(len(nicks))], City: cities[rng.IntN(3)], Age: ages[rng.IntN(len(ages))]}
					var err error
					op := rng.IntN(4)
					unlock := deleteRace(st, p.ID, op == 3)
					switch op {
					case 0:
						err = r.Create(ctx, p)
					case 1:
						err = r.Put(ctx, p)
					case 2:
						_, err = r.Update(ctx, p.ID, func(q *Person) error { *q = p; return nil })
					default:
						err = r.Delete(ctx, p.ID)
					}
					unlock()
					if err != nil && !errors.Is(err, repo.ErrUnique) && !errors.Is(err, repo.ErrExists) && !errors.Is(err, repo.ErrNotFound) {
						t.Errorf("%+v: %v", p, err)
					}
				}
			}()
		}
		wg.Wait()
		people := newRepo[Person](t, st)
		o := oracle{}
		emails, nicksHeld := map[string]string{}, map[string]string{}
		for p, err := range people.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if q, dup := emails[p.Email]; dup {
				t.Fatalf("%s and %s both hold email %q", q, p.ID, p.Email)
			}
			if q, dup := nicksHeld[p.Nick]; dup && p.Nick != "" {
				t.Fatalf("%s and %s both hold nick %q", q, p.ID, p.Nick)
			}
			emails[p.Email], nicksHeld[p.Nick] = p.ID, p.ID
			o[p.ID] = p
		}
		verify(t, people, o, rand.New(rand.NewPCG(3, 4)), 0, st.Capabilities().ConditionalDelete)
		rep, err := people.Check(ctx, false)
		if err != nil || rep.MissingEntries != 0 || rep.MissingClaims != 0 || len(rep.Problems) != 0 {
			t.Fatalf("Check: %+v %v", rep, err)
		}
	})
}

// deleteAll deletes every object whose key starts with prefix, such as the
// entries of one record under one value ("<model>/i/<index>/<value>/<key>":
// their names go on with the id of the write that made them).
func deleteAll(ctx context.Context, st object.Store, prefix string) error {
	for info, err := range object.All(ctx, st, prefix, "", 0) {
		if err != nil {
			return err
		}
		if err := st.Delete(ctx, info.Key, object.DeleteOptions{}); err != nil {
			return err
		}
	}
	return nil
}
