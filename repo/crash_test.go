package repo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodb-go/nodb/internal/faults"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// CrashUser is the model of the crash tests.
type CrashUser struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Age   int    `nodb:"index"`
}

var crashEmails = []string{"a@x", "b@x", "c@x", "z@x"}
var crashCities = []string{"Paris", "Rome", "Oslo"}

// checkConsistent checks, through a fresh Repo, that every query agrees
// exactly with the committed records.
func checkConsistent(t *testing.T, st object.Store, model, what string) map[string]CrashUser {
	t.Helper()
	ctx := context.Background()
	r := newRepo[CrashUser](t, st, func(o *repo.Options) { o.Model = model })
	recs := map[string]CrashUser{}
	for u, err := range r.All(ctx) {
		if err != nil {
			t.Fatalf("%s: All: %v", what, err)
		}
		recs[u.ID] = u
	}
	for _, c := range crashCities {
		var want []string
		for id, u := range recs {
			if u.City == c {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		var got []string
		for u, err := range r.Find(ctx, "City", c) {
			if err != nil {
				t.Fatalf("%s: Find: %v", what, err)
			}
			got = append(got, u.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: Find City %s = %v, committed records say %v", what, c, got, want)
		}
	}
	var want, got []string
	for id, u := range recs {
		if u.Age >= 0 && u.Age <= 100 {
			want = append(want, fmt.Sprintf("%03d %s", u.Age, id))
		}
	}
	for u, err := range r.Range(ctx, "Age", 0, 100) {
		if err != nil {
			t.Fatalf("%s: Range: %v", what, err)
		}
		got = append(got, fmt.Sprintf("%03d %s", u.Age, u.ID))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: Range Age = %v, committed records say %v", what, got, want)
	}
	for _, e := range crashEmails {
		holder := ""
		for id, u := range recs {
			if u.Email == e {
				holder = id
			}
		}
		u, err := r.GetBy(ctx, "Email", e)
		switch {
		case holder == "" && !errors.Is(err, repo.ErrNotFound):
			t.Fatalf("%s: GetBy %s = %v, %v; no record holds it", what, e, u.ID, err)
		case holder != "" && (err != nil || u.ID != holder):
			t.Fatalf("%s: GetBy %s = %q, %v; %s holds it", what, e, u.ID, err, holder)
		}
	}
	return recs
}

// TestCrashAnywhere kills the client before (or right after) every request
// of a write in turn, then checks that queries agree exactly with the
// records, that freed unique values can be claimed again, and that Check
// repairs the leftovers.
func TestCrashAnywhere(t *testing.T) {
	type scenario struct {
		name       string
		op         func(ctx context.Context, r *repo.Repo[CrashUser]) error
		tookEffect func(recs map[string]CrashUser) bool
	}
	moved := func(recs map[string]CrashUser) bool { return recs["u1"].Email == "c@x" }
	scenarios := []scenario{
		{"Put moving every value", func(ctx context.Context, r *repo.Repo[CrashUser]) error {
			return r.Put(ctx, CrashUser{ID: "u1", Email: "c@x", City: "Oslo", Age: 50})
		}, moved},
		{"Update moving every value", func(ctx context.Context, r *repo.Repo[CrashUser]) error {
			_, err := r.Update(ctx, "u1", func(u *CrashUser) error { u.Email, u.City, u.Age = "c@x", "Oslo", 50; return nil })
			return err
		}, moved},
		{"Create", func(ctx context.Context, r *repo.Repo[CrashUser]) error {
			return r.Create(ctx, CrashUser{ID: "u3", Email: "c@x", City: "Paris", Age: 7})
		}, func(recs map[string]CrashUser) bool { _, ok := recs["u3"]; return ok }},
		{"Delete", func(ctx context.Context, r *repo.Repo[CrashUser]) error {
			return r.Delete(ctx, "u1")
		}, func(recs map[string]CrashUser) bool { _, ok := recs["u1"]; return !ok }},
	}
	eachBackendAndFallback(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		run := 0
		for _, sc := range scenarios {
			for _, mode := range []faults.Mode{faults.Crash, faults.CrashAfterSend, faults.LoseResponse} {
				for n := 1; ; n++ {
					run++
					model := fmt.Sprint("Crash", run)
					what := fmt.Sprintf("%s, %s at request %d", sc.name, mode, n)
					opts := func(o *repo.Options) { o.Model = model; o.ClaimLease = time.Nanosecond }
					setup := newRepo[CrashUser](t, st, opts)
					for _, u := range []CrashUser{{ID: "u1", Email: "a@x", City: "Paris", Age: 10}, {ID: "u2", Email: "b@x", City: "Rome", Age: 20}} {
						if err := setup.Create(ctx, u); err != nil {
							t.Fatal(err)
						}
					}
					fs := faults.New(st)
					r := newRepo[CrashUser](t, fs, opts)
					fs.Arm(n, mode)
					err := sc.op(ctx, r)
					injected := fs.Injected()
					fs.Disarm()
					if err != nil && !errors.Is(err, faults.ErrInjected) {
						t.Fatalf("%s: %v", what, err)
					}
					recs := checkConsistent(t, st, model, what)
					// A client that lives on after a lost response must
					// recognise its own write: an operation that took
					// effect reports success.
					if mode == faults.LoseResponse && err != nil && sc.tookEffect(recs) {
						t.Fatalf("%s: the write landed but the operation failed: %v", what, err)
					}
					// Every unique value nobody holds can be claimed by a
					// new key at once (abandoned claims are past the lease).
					fresh := newRepo[CrashUser](t, st, opts)
					for i, e := range crashEmails {
						held := false
						for _, u := range recs {
							held = held || u.Email == e
						}
						err := fresh.Create(ctx, CrashUser{ID: fmt.Sprint("new", i), Email: e, City: "Rome"})
						// S3 times are whole seconds: a claim abandoned by a
						// crashed Create is past a 1ns lease only once the
						// store's clock has moved to the next second.
						for wait := 0; !held && errors.Is(err, repo.ErrUnique) && wait < 30; wait++ {
							time.Sleep(100 * time.Millisecond)
							err = fresh.Create(ctx, CrashUser{ID: fmt.Sprint("new", i), Email: e, City: "Rome"})
						}
						if held != errors.Is(err, repo.ErrUnique) || !held && err != nil {
							t.Fatalf("%s: claiming %s (held: %v): %v", what, e, held, err)
						}
					}
					checkConsistent(t, st, model, what+", after new claims")
					// Crashes leave only leftovers, never missing entries.
					rep, err := fresh.Check(ctx, false)
					if err != nil || rep.MissingEntries != 0 || rep.MissingClaims != 0 || len(rep.Problems) != 0 {
						t.Fatalf("%s: Check: %+v, %v", what, rep, err)
					}
					if injected == 0 {
						break // n is past the operation's last request
					}
				}
			}
		}
		t.Logf("%d crash points checked", run)
	})
}

// blockingStore holds back the first conditional Delete whose key contains
// match until release is closed, and reports when it is holding it.
type blockingStore struct {
	object.Store
	match   string
	once    sync.Once
	held    chan struct{}
	release chan struct{}
}

func (b *blockingStore) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	if strings.Contains(key, b.match) {
		hold := false
		b.once.Do(func() { hold = true })
		if hold {
			close(b.held)
			<-b.release
		}
	}
	return b.Store.Delete(ctx, key, opts)
}

// TestDelayedCleanupABA moves a record's value A -> B -> A while the first
// writer's removal of the A entry is delayed past the second move: the
// delayed delete must not remove the entry the second move put back.
func TestDelayedCleanupABA(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		setup := newRepo[CrashUser](t, st)
		if err := setup.Create(ctx, CrashUser{ID: "k", Email: "A", City: "Paris"}); err != nil {
			t.Fatal(err)
		}
		slow := &blockingStore{Store: st, match: "/" + gen.IndexString("Paris") + "/", held: make(chan struct{}), release: make(chan struct{})}
		w1 := newRepo[CrashUser](t, slow)
		done := make(chan error)
		go func() {
			_, err := w1.Update(ctx, "k", func(u *CrashUser) error { u.City, u.Email = "Rome", "B"; return nil })
			done <- err
		}()
		<-slow.held // w1 committed Rome and is about to remove the Paris entry
		w2 := newRepo[CrashUser](t, st)
		if _, err := w2.Update(ctx, "k", func(u *CrashUser) error { u.City, u.Email = "Paris", "A"; return nil }); err != nil {
			t.Fatal(err)
		}
		close(slow.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := collect(t, w2.Find(ctx, "City", "Paris"))
		if len(got) != 1 || got[0].ID != "k" {
			t.Fatalf("after A->B->A with a delayed cleanup, Find(Paris) = %v", got)
		}
		if u, err := w2.GetBy(ctx, "Email", "A"); err != nil || u.ID != "k" {
			t.Fatalf("GetBy(A) = %v, %v", u, err)
		}
		checkConsistent(t, st, "CrashUser", "ABA")
	})
}

// TestReindexResumes interrupts Reindex at many points and checks that
// running it again completes the index, and that it is never answered
// partially meanwhile.
func TestReindexResumes(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	name := func(o *repo.Options) { o.Model = "Resume" }
	old := newRepo[Older](t, st, name)
	const n = 600 // more than one progress batch
	for i := range n {
		if err := old.Create(ctx, Older{ID: fmt.Sprintf("o%04d", i), Email: fmt.Sprint(i, "@x"), City: "C"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, crashAt := range []int{1, 2, 50, 700, 1500} {
		fs := faults.New(st)
		r := newRepo[Newer](t, fs, name)
		fs.Arm(crashAt, faults.Crash)
		err := r.Reindex(ctx)
		fs.Disarm()
		if err == nil {
			break // finished before the crash point
		}
		if !errors.Is(err, faults.ErrInjected) {
			t.Fatalf("Reindex crashing at %d: %v", crashAt, err)
		}
		if err := first(newRepo[Newer](t, st, name).Find(ctx, "City", "C")); !errors.Is(err, repo.ErrNotBuilt) {
			t.Fatalf("after an interrupted Reindex, Find: %v", err)
		}
	}
	m := meter.Wrap(st)
	r := newRepo[Newer](t, m, name)
	if err := r.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	// It resumed: far fewer than the 600 GETs and 1800 PUTs of a full run.
	if c := m.Snapshot(); c.Get >= n || c.Put >= 2*n {
		t.Errorf("the final Reindex did not resume: %v", c)
	}
	if got := collect(t, r.Find(ctx, "City", "C")); len(got) != n {
		t.Fatalf("Find after the resumed Reindex: %d, want %d", len(got), n)
	}
	if rep, err := r.Check(ctx, false); err != nil || !rep.OK() {
		t.Fatalf("Check: %+v %v", rep, err)
	}
}
