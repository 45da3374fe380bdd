package repo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// Link is the model of the rejected-write tests: one unique and one plain
// index.
type Link struct {
	ID    string `nodb:"key"`
	URL   string `nodb:"unique"`
	Label string `nodb:"index"`
}

// countObjects counts the objects under prefix, leaving out claims
// released by a rewrite (on stores without conditional deletes), which hold
// no value.
func countObjects(t *testing.T, st object.Store, prefix string) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for info, err := range object.All(ctx, st, prefix, "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if info.Size == int64(len(`{"released":true}`)) {
			if obj, err := st.Get(ctx, info.Key, object.GetOptions{}); err == nil && string(obj.Body) == `{"released":true}` {
				continue
			}
		}
		n++
	}
	return n
}

// TestRejectedWritesLeaveNothing: every write that fails for certain
// removes the entries and claims it wrote, so CountBy equals Find and Check
// finds nothing, with no crash involved (issue: CountBy counted the entries
// of rejected Creates).
func TestRejectedWritesLeaveNothing(t *testing.T) {
	eachBackendAndFallback(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		links := newRepo[Link](t, st)
		if err := links.Create(ctx, Link{ID: "a", URL: "u1", Label: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := links.Create(ctx, Link{ID: "c", URL: "u3", Label: "x"}); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"i/": countObjects(t, st, "Link/i/"), "u/": countObjects(t, st, "Link/u/")}

		rejected := []struct {
			name string
			err  error
			want error
		}{
			{"Create of an existing key", links.Create(ctx, Link{ID: "a", URL: "u2", Label: "y"}), repo.ErrExists},
			{"Create with a held unique value", links.Create(ctx, Link{ID: "b", URL: "u1", Label: "y"}), repo.ErrUnique},
			{"Put with a held unique value", links.Put(ctx, Link{ID: "c", URL: "u1", Label: "y"}), repo.ErrUnique},
			{"Put of a new key with a held unique value", links.Put(ctx, Link{ID: "d", URL: "u3", Label: "y"}), repo.ErrUnique},
		}
		rec, err := links.GetRecord(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newRepo[Link](t, st).Update(ctx, "a", func(l *Link) error { l.Label = "z"; return nil }); err != nil {
			t.Fatal(err)
		}
		want["i/"] = countObjects(t, st, "Link/i/")
		rejected = append(rejected, struct {
			name string
			err  error
			want error
		}{"Replace with a stale version", links.Replace(ctx, Link{ID: "a", URL: "u9", Label: "y"}, rec.Version), repo.ErrConflict})
		_, err = links.Update(ctx, "c", func(l *Link) error { l.URL, l.Label = "u1", "y"; return nil })
		rejected = append(rejected, struct {
			name string
			err  error
			want error
		}{"Update to a held unique value", err, repo.ErrUnique})
		fnErr := errors.New("no thanks")
		_, err = links.Update(ctx, "c", func(l *Link) error { l.Label = "y"; return fnErr })
		rejected = append(rejected, struct {
			name string
			err  error
			want error
		}{"Update whose fn fails", err, fnErr})
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		rejected = append(rejected, struct {
			name string
			err  error
			want error
		}{"Create with a cancelled context", links.Create(canceled, Link{ID: "e", URL: "u5", Label: "y"}), context.Canceled})

		for _, r := range rejected {
			if !errors.Is(r.err, r.want) {
				t.Errorf("%s: %v, want %v", r.name, r.err, r.want)
			}
		}
		n, err := links.CountBy(ctx, "Label", "y")
		if err != nil {
			t.Fatal(err)
		}
		if found := collect(t, links.Find(ctx, "Label", "y")); n != 0 || len(found) != 0 {
			t.Errorf("after rejected writes: CountBy(Label, y) = %d, Find = %v; want 0 and none", n, found)
		}
		for prefix, n := range want {
			if got := countObjects(t, st, "Link/"+prefix); got != n {
				t.Errorf("objects under %s: %d, want %d as before the rejected writes", prefix, got, n)
			}
		}
		rep, err := links.Check(ctx, false)
		if err != nil || !rep.OK() {
			t.Errorf("Check after rejected writes: %+v, %v", rep, err)
		}
	})
}

// TestRequestCountsRejected: what a rejected write costs, its cleanup
// included.
func TestRequestCountsRejected(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st)
		links := newRepo[Link](t, m)
		if err := links.Create(ctx, Link{ID: "a", URL: "u1", Label: "x"}); err != nil {
			t.Fatal(err)
		}
		// Create of an existing key with new values: an entry PUT and a
		// claim PUT, the unique index's entry (round 1), the record PUT
		// that fails its condition, then the entry DELETE and the claim
		// DELETE.
		m.Reset()
		if err := links.Create(ctx, Link{ID: "a", URL: "u2", Label: "y"}); !errors.Is(err, repo.ErrExists) {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 3 || c.Delete != 2 || c.Total() != 5 {
			t.Errorf("rejected Create (ErrExists): %v, want 3 PUTs + 2 DELETEs", c)
		}
		// Create of a new key whose unique value is held: an entry PUT and
		// a claim PUT that fails, the claim and its owner's record read,
		// one GET to tell ErrUnique from ErrExists, the entry deleted.
		// The record is never written.
		if err := links.Create(ctx, Link{ID: "b", URL: "u1", Label: "y"}); !errors.Is(err, repo.ErrUnique) {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 2 || c.Get != 3 || c.Delete != 1 || c.Total() != 6 {
			t.Errorf("rejected Create (ErrUnique): %v, want 2 PUTs + 3 GETs + 1 DELETE", c)
		}
	})
}
