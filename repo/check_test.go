package repo_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// Passer is the model of the Check pass tests: one unique and one plain
// index.
type Passer struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
}

func passEmail(i int) string { return fmt.Sprintf("e%02d@x", i) }

// damagedStore writes 20 Passer records, a00..a19, and damage of every
// kind Check knows, spread over the key space so that with small passes
// each kind falls into several passes, and claims are owned in one pass
// while their value is held in another.
func damagedStore(t *testing.T) object.Store {
	t.Helper()
	ctx := context.Background()
	st := memstore.New()
	r := newRepo[Passer](t, st)
	for i := range 20 {
		mustT(t, r.Create(ctx, Passer{ID: fmt.Sprintf("a%02d", i), Email: passEmail(i), City: "X"}))
	}
	put := func(key, body string) {
		t.Helper()
		_, err := st.Put(ctx, key, []byte(body), object.PutOptions{})
		mustT(t, err)
	}
	city := func(v string) string { return "Passer/i/City/" + gen.IndexString(v) + "/" }
	claim := func(email string) string { return "Passer/u/Email/" + gen.IndexString(email) }
	owner := func(seg string) string { return `{"key":"` + seg + `","seg":"` + seg + `","write":"w"}` }

	// Orphan entries: naming a record that holds another value, and naming
	// records that do not exist, before, between and after the records.
	put(city("Nowhere")+"a05", "")
	put(city("X")+"0", "")
	put(city("X")+"a05z", "")
	put(city("X")+"zz", "")
	// A missing entry and a missing claim.
	mustT(t, deleteAll(ctx, st, city("X")+"a11"))
	mustT(t, deleteAll(ctx, st, claim(passEmail(8))))
	// Stale claims: an owner that does not exist, an owner that holds
	// another value, and a released (ownerless) claim.
	put(claim("ghost"), owner("zz"))
	put(claim("other"), owner("a03"))
	put(claim("free"), `{"key":"","seg":""}`)
	// Stale claims on values that records hold without a claim: owned
	// early and held late, and owned late and held early.
	put(claim(passEmail(15)), owner("a02"))
	put(claim(passEmail(4)), owner("a17"))
	// A record this model cannot decode: its entries and claim stay.
	put("Passer/r/a10", `{"nodb":1,"model":"Passer","key":"a10","codec":"json","value":{"City":7}}`)
	// Objects that are not NoDB's, and an index the model does not have.
	put("Passer/i/junk", "")
	put("Passer/u/Email/x/y", "")
	put("Passer/i/Removed/"+gen.IndexString("v")+"/a01", "")
	time.Sleep(5 * time.Millisecond) // past the lease below
	return st
}

func passRepo(t *testing.T, st object.Store, pass int) *repo.Repo[Passer] {
	return newRepo[Passer](t, st, func(o *repo.Options) {
		o.ClaimLease = time.Nanosecond
		o.CheckPassRecords = pass
	})
}

// TestCheckPasses checks that Check finds and repairs the same in passes
// of any size as in one pass: every object is judged in exactly one pass,
// and a claim is never released while a record in another pass holds its
// value.
func TestCheckPasses(t *testing.T) {
	ctx := context.Background()
	st := damagedStore(t)
	want, err := passRepo(t, st, 0).Check(ctx, false)
	mustT(t, err)
	// What one pass finds, counted by hand from damagedStore.
	if want.Records != 20 || want.OrphanEntries != 4 || want.MissingEntries != 1 ||
		want.StaleClaims != 5 || want.MissingClaims != 3 ||
		!slices.Equal(want.UnknownIndexes, []string{"Removed"}) || !slices.Equal(want.Unreadable, []string{"a10"}) ||
		len(want.Problems) != 3 {
		t.Fatalf("one pass: %+v", want)
	}
	for _, pass := range []int{1, 2, 3, 7, 19, 20} {
		got, err := passRepo(t, st, pass).Check(ctx, false)
		mustT(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("passes of %d records:\n got %+v\nwant %+v", pass, got, want)
		}
	}

	for _, pass := range []int{0, 1, 3} {
		t.Run(fmt.Sprint("repair in passes of ", pass), func(t *testing.T) {
			st := damagedStore(t)
			r := passRepo(t, st, pass)
			rep, err := r.Check(ctx, true)
			mustT(t, err)
			// 4 orphans removed; 1 entry written; 3 claims released
			// (ghost, other, free); 3 claims taken over (e04, e08, e15).
			if rep.Repaired != 11 {
				t.Errorf("repair: %+v", rep)
			}
			rep, err = r.Check(ctx, false)
			mustT(t, err)
			if rep.Repaired != 0 || rep.OrphanEntries+rep.MissingEntries+rep.StaleClaims+rep.MissingClaims != 0 ||
				!slices.Equal(rep.Unreadable, []string{"a10"}) {
				t.Errorf("after repair: %+v", rep)
			}
			for _, i := range []int{4, 8, 15} {
				p, err := r.GetBy(ctx, "Email", passEmail(i))
				if err != nil || p.ID != fmt.Sprintf("a%02d", i) {
					t.Errorf("GetBy %s after repair: %+v %v", passEmail(i), p, err)
				}
			}
			found, bad := 0, 0
			for _, err := range r.Find(ctx, "City", "X") {
				if err != nil {
					bad++
				} else {
					found++
				}
			}
			if found != 19 || bad != 1 {
				t.Errorf("Find after repair: %d records and %d errors, want 19 and 1 (a10 cannot be read)", found, bad)
			}
			// The unreadable record's claim is kept.
			if _, err := st.Head(ctx, "Passer/u/Email/"+gen.IndexString(passEmail(10))); err != nil {
				t.Errorf("the unreadable record's claim: %v", err)
			}
		})
	}
}

// TestCheckPassRequests asserts what passes cost: each pass lists its
// records, and lists the entries and claims and reads every claim again.
// (The unique index has no entries: its claims are its entries.)
func TestCheckPassRequests(t *testing.T) {
	ctx := context.Background()
	m := meter.Wrap(memstore.New())
	r := newRepo[Passer](t, m)
	for i := range 20 {
		mustT(t, r.Create(ctx, Passer{ID: fmt.Sprintf("a%02d", i), Email: passEmail(i), City: "X"}))
	}
	for _, tc := range []struct{ pass, passes int }{{0, 1}, {20, 1}, {19, 2}, {5, 4}, {1, 20}} {
		m.Reset()
		rep, err := passRepo(t, m, tc.pass).Check(ctx, false)
		if err != nil || !rep.OK() || rep.Records != 20 || rep.Entries != 20 || rep.Claims != 20 {
			t.Fatalf("Check in passes of %d: %+v %v", tc.pass, rep, err)
		}
		lists, gets := 3*tc.passes, 1+20+20*tc.passes // 1: the manifest
		if c := m.Reset(); c.List != lists || c.Get != gets || c.Total() != lists+gets {
			t.Errorf("Check in passes of %d: %v, want %d LISTs and %d GETs", tc.pass, c, lists, gets)
		}
	}
}

// TestRepairIsTracked: what a repair writes, the record tracks, so the
// writer that next moves the value removes it. A repaired entry or claim
// the record did not track would outlive its value: a count too many, a
// unique value never freed.
func TestRepairIsTracked(t *testing.T) {
	eachBackendAndFallback(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		r := newRepo[ExStr](t, st, func(o *repo.Options) { o.Model = "Ex" })
		mustT(t, r.Create(ctx, ExStr{"a", "a@x", "n"}))
		mustT(t, deleteAll(ctx, st, "Ex/i/Num/"+gen.IndexString("n")+"/a"))
		mustT(t, st.Delete(ctx, "Ex/u/Email/"+gen.IndexString("a@x"), object.DeleteOptions{}))
		rep, err := r.Check(ctx, true)
		mustT(t, err)
		if rep.MissingEntries != 1 || rep.MissingClaims != 1 || rep.Repaired != 2 {
			t.Fatalf("repair: %+v", rep)
		}
		if n, err := r.CountBy(ctx, "Num", "n"); err != nil || n != 1 {
			t.Fatalf("CountBy n after repair = %d, %v", n, err)
		}
		// Move both values: the repaired entry and claim go with them.
		_, err = r.Update(ctx, "a", func(v *ExStr) error { v.Email, v.Num = "b@x", "m"; return nil })
		mustT(t, err)
		if n, err := r.CountBy(ctx, "Num", "n"); err != nil || n != 0 {
			t.Errorf("CountBy n after the move = %d, %v; want 0", n, err)
		}
		mustT(t, r.Create(ctx, ExStr{"b", "a@x", "n"})) // a@x is free at once
		rep, err = r.Check(ctx, false)
		if err != nil || !rep.OK() {
			t.Errorf("Check after the move: %+v %v", rep, err)
		}
	})
}
