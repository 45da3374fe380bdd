package repo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// Session expires: a login session or a tracker's peer.
type Session struct {
	ID      string    `nodb:"key"`
	User    string    `nodb:"index"`
	Expires time.Time `nodb:"expires"`
}

func TestExpiringRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st)
		r := newRepo[Session](t, m)
		past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		for i := range 6 {
			exp := future
			if i%2 == 0 {
				exp = past
			}
			if i == 5 {
				exp = time.Time{} // never expires
			}
			if err := r.Create(ctx, Session{ID: fmt.Sprint("s", i), User: "ann", Expires: exp}); err != nil {
				t.Fatal(err)
			}
		}
		m.Reset()
		if _, err := r.Get(ctx, "s0"); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("Get expired: %v, want ErrNotFound", err)
		}
		if ok, err := r.Exists(ctx, "s0"); err != nil || ok {
			t.Fatalf("Exists expired: %v %v", ok, err)
		}
		if _, err := r.Update(ctx, "s2", func(*Session) error { t.Fatal("fn ran on an expired record"); return nil }); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("Update expired: %v", err)
		}
		m.Reset()
		// Queries skip expired records at no extra request.
		got := ids3(collect(t, r.Find(ctx, "User", "ann")))
		if want := []string{"s1", "s3", "s5"}; !slices.Equal(got, want) {
			t.Fatalf("Find: %v, want %v", got, want)
		}
		if c := m.Reset(); c.List != 1 || c.Get != 6 || c.Total() != 7 {
			t.Errorf("Find over 3 expired and 3 live: %v, want 1 LIST + 6 GETs", c)
		}
		if got := ids3(collect(t, r.All(ctx))); !slices.Equal(got, []string{"s1", "s3", "s5"}) {
			t.Fatalf("All: %v", got)
		}
		// Create over an expired record replaces it.
		if err := r.Create(ctx, Session{ID: "s4", User: "bob", Expires: future}); err != nil {
			t.Fatalf("Create over an expired record: %v", err)
		}
		if err := r.Create(ctx, Session{ID: "s1", User: "bob", Expires: future}); !errors.Is(err, repo.ErrExists) {
			t.Fatalf("Create over a live record: %v", err)
		}
		// The sweep deletes s0 and s2 with their entries, resumably.
		var seen []int
		rep, err := r.DeleteExpired(ctx, "", func(p repo.ExpireReport) { seen = append(seen, p.Scanned) })
		if err != nil || rep.Deleted != 2 || rep.Scanned != 6 || rep.Cursor != "" || len(seen) != 6 {
			t.Fatalf("DeleteExpired: %+v %v (progress %v)", rep, err, seen)
		}
		if n, err := r.CountBy(ctx, "User", "ann"); err != nil || n != 3 {
			t.Fatalf("CountBy after the sweep: %d %v, want 3", n, err)
		}
		if n, err := r.Count(ctx); err != nil || n != 4 {
			t.Fatalf("Count after the sweep: %d %v", n, err)
		}
		crep, err := r.Check(ctx, false)
		if err != nil || !crep.OK() {
			t.Fatalf("Check after the sweep: %+v %v", crep, err)
		}
		// Resuming from a cursor scans only what follows it.
		rep, err = r.DeleteExpired(ctx, "s3", nil)
		if err != nil || rep.Scanned != 2 || rep.Deleted != 0 {
			t.Fatalf("DeleteExpired from s3: %+v %v", rep, err)
		}
	})
}

func ids3(ss []Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func TestExpiresTagErrors(t *testing.T) {
	type notTime struct {
		ID string `nodb:"key"`
		E  int    `nodb:"expires"`
	}
	type twice struct {
		ID string    `nodb:"key"`
		A  time.Time `nodb:"expires"`
		B  time.Time `nodb:"expires"`
	}
	type descKey struct {
		ID string `nodb:"key,desc"`
	}
	if _, err := repo.New[notTime](nil); err == nil {
		t.Error("nil store accepted")
	}
	st := memstore.New()
	for name, err := range map[string]error{
		"not time": second(repo.New[notTime](st)),
		"twice":    second(repo.New[twice](st)),
		"desc key": second(repo.New[descKey](st)),
	} {
		if !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := newRepo[Bookmark](t, st).DeleteExpired(context.Background(), "", nil); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("DeleteExpired without an expires field: %v", err)
	}
}

// A unique slice is refused (list fields take nodb:"index"; see
// list_test.go).
func TestSliceIndexRefused(t *testing.T) {
	type tagged struct {
		ID   string   `nodb:"key"`
		Tags []string `nodb:"unique"`
	}
	_, err := repo.New[tagged](memstore.New())
	if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "Tags") || !strings.Contains(err.Error(), "slice") {
		t.Fatalf("New with a unique slice: %v, want ErrInvalid naming Tags and slices", err)
	}
}
