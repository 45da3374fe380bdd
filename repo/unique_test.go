package repo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// olderLayout rewrites the manifest of model so that its unique indexes are
// in the layout of stores written before a claim served as the unique
// index's entry: writers then write an entry beside every claim, exactly as
// earlier versions of this library did.
func olderLayout(t *testing.T, st object.Store, model string) {
	t.Helper()
	ctx := context.Background()
	obj, err := st.Get(ctx, model+"/_manifest", object.GetOptions{})
	mustT(t, err)
	var m map[string]any
	mustT(t, json.Unmarshal(obj.Body, &m))
	for _, ix := range m["indexes"].(map[string]any) {
		delete(ix.(map[string]any), "claims")
	}
	body, err := json.Marshal(m)
	mustT(t, err)
	_, err = st.Put(ctx, model+"/_manifest", body, object.PutOptions{IfMatch: obj.Version})
	mustT(t, err)
}

func emailsOf(vs []Indexed) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Email)
	}
	return out
}

// TestUniqueLayoutOlderStores: a store whose unique index holds an entry
// beside every claim (written before this layout) answers every query
// through its claims, keeps its entries while its manifest says so, and
// moves to the claims layout with Rebuild, after which a unique value is
// one object and Create costs k+1 PUTs.
func TestUniqueLayoutOlderStores(t *testing.T) {
	eachBackendAndFallback(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st)
		// The manifest exists before any record; then it is made old.
		mustT(t, collectErr(newRepo[Indexed](t, m).Find(ctx, "City", "x")))
		olderLayout(t, m, "Indexed")

		old := newRepo[Indexed](t, m)
		mustT(t, old.Create(ctx, Indexed{ID: "warm", Email: "w", City: "X"})) // reads the manifest
		m.Reset()
		mustT(t, old.Create(ctx, Indexed{ID: "a", Email: "a@x", City: "X", Age: 1}))
		if c := m.Reset(); c.Put != 5 || c.Total() != 5 {
			t.Errorf("Create in the older layout: %v, want 5 PUTs (an entry and a claim for Email)", c)
		}
		for i, e := range []string{"b@x", "c@x", "d@x"} {
			mustT(t, old.Create(ctx, Indexed{ID: fmt.Sprint("k", i), Email: e, City: "X", Age: i}))
		}
		if n := countObjects(t, st, "Indexed/i/Email/"); n != 5 {
			t.Fatalf("older layout: %d Email entries, want 5", n)
		}

		// A new Repo reads the older store through its claims.
		check := func(r *repo.Repo[Indexed], want []string) {
			t.Helper()
			if got := emailsOf(collect(t, r.Range(ctx, "Email", "a", "z"))); !slices.Equal(got, want) {
				t.Errorf("Range over Email: %v, want %v", got, want)
			}
			for _, e := range want {
				if v, err := r.GetBy(ctx, "Email", e); err != nil || v.Email != e {
					t.Errorf("GetBy %s: %v %v", e, v, err)
				}
				if got := collect(t, r.Find(ctx, "Email", e)); len(got) != 1 || got[0].Email != e {
					t.Errorf("Find %s: %v", e, got)
				}
				if n, err := r.CountBy(ctx, "Email", e); err != nil || n != 1 {
					t.Errorf("CountBy %s: %d %v", e, n, err)
				}
			}
			if rep, err := r.Check(ctx, false); err != nil || !rep.OK() {
				t.Errorf("Check: %+v %v", rep, err)
			}
		}
		nw := newRepo[Indexed](t, m)
		check(nw, []string{"a@x", "b@x", "c@x", "d@x", "w"})

		// Rebuild moves the index to the claims layout: no entries left.
		mustT(t, nw.Rebuild(ctx, "Email"))
		if n := countObjects(t, st, "Indexed/i/Email/"); n != 0 {
			t.Errorf("after Rebuild: %d Email entries, want 0", n)
		}
		check(nw, []string{"a@x", "b@x", "c@x", "d@x", "w"})
		m.Reset()
		mustT(t, nw.Create(ctx, Indexed{ID: "e", Email: "e@x", City: "X", Age: 5}))
		if c := m.Reset(); c.Put != 4 || c.Total() != 4 {
			t.Errorf("Create in the claims layout: %v, want 4 PUTs", c)
		}

		// A Repo that still holds the older manifest writes an entry too:
		// harmless, reported by Check, and gone once a writer in the new
		// layout rewrites the record.
		mustT(t, old.Create(ctx, Indexed{ID: "f", Email: "f@x", City: "X"}))
		if n := countObjects(t, st, "Indexed/i/Email/"); n != 1 {
			t.Errorf("a writer of the older layout: %d Email entries, want 1", n)
		}
		if rep, err := nw.Check(ctx, false); err != nil || rep.OrphanEntries != 1 || rep.MissingEntries != 0 {
			t.Errorf("Check with an entry of the older layout: %+v %v", rep, err)
		}
		_, err := nw.Update(ctx, "f", func(v *Indexed) error { v.Note = "n"; return nil })
		mustT(t, err)
		if n := countObjects(t, st, "Indexed/i/Email/"); n != 0 {
			t.Errorf("after an Update in the claims layout: %d Email entries, want 0", n)
		}
		check(nw, []string{"a@x", "b@x", "c@x", "d@x", "e@x", "f@x", "w"})
	})
}

// TestUniqueRangePages: RangePage over a unique index reads claims and
// resumes after the last one.
func TestUniqueRangePages(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		r := newRepo[Indexed](t, st)
		for i := range 7 {
			mustT(t, r.Create(ctx, Indexed{ID: fmt.Sprint("k", i), Email: fmt.Sprint("e", i), City: "X"}))
		}
		// A leftover claim of a value no record holds is never an answer.
		mustT(t, r.Create(ctx, Indexed{ID: "gone", Email: "e35", City: "X"}))
		mustT(t, r.Delete(ctx, "gone"))
		var got []string
		cursor := ""
		for range 10 {
			p, err := r.RangePage(ctx, "Email", "e1", "e5", cursor, 2)
			mustT(t, err)
			got = append(got, emailsOf(p.Items)...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if want := []string{"e1", "e2", "e3", "e4", "e5"}; !slices.Equal(got, want) {
			t.Errorf("RangePage over Email: %v, want %v", got, want)
		}
		if got := emailsOf(collect(t, r.Range(ctx, "Email", "e9", "e1"))); len(got) != 0 {
			t.Errorf("empty range: %v", got)
		}
	})
}

func collectErr[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}
