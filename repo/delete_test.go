package repo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// objectsUnder returns the names of the objects under prefix.
func objectsUnder(t *testing.T, st object.Store, prefix string) []string {
	t.Helper()
	var names []string
	for info, err := range object.All(context.Background(), st, prefix, "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, info.Key)
	}
	return names
}

// onlyManifest fails the test unless the Counter model's objects are its
// manifest alone: no record, entry or claim is left.
func onlyManifest(t *testing.T, st object.Store) {
	t.Helper()
	if got := objectsUnder(t, st, "Counter/"); len(got) != 1 || got[0] != "Counter/_manifest" {
		t.Errorf("objects left: %q, want the manifest alone", got)
	}
}

// TestDeleteVersion: DeleteVersion deletes the record at the version it is
// given, with its entry and claim, and nothing at another version; the
// requests are counted.
func TestDeleteVersion(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st)
		writer := newRepo[Counter](t, st)
		if err := writer.Create(ctx, Counter{ID: "k", Email: "k@x", N: 1}); err != nil {
			t.Fatal(err)
		}

		// A Repo that read the record at version v1 (it knows its state).
		a := newRepo[Counter](t, m)
		rec1, err := a.GetRecord(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := writer.Update(ctx, "k", func(c *Counter) error { c.N = 2; return nil }); err != nil {
			t.Fatal(err)
		}

		t.Run("stale, known to the Repo", func(t *testing.T) {
			m.Reset()
			err := a.DeleteVersion(ctx, "k", rec1.Version)
			if !errors.Is(err, repo.ErrConflict) || errors.Is(err, repo.ErrNotFound) {
				t.Fatalf("DeleteVersion of a stale version: %v, want ErrConflict", err)
			}
			if !strings.Contains(err.Error(), `"k"`) || !strings.Contains(err.Error(), rec1.Version) {
				t.Errorf("message %q: want the key and the version", err)
			}
			// The Repo believed v1 current: the conditional DELETE tells.
			if c := m.Reset(); c.Delete != 1 || c.Conditional != 1 || c.Total() != 1 {
				t.Errorf("requests: %v, want 1 conditional DELETE", c)
			}
		})
		t.Run("stale, unknown to the Repo", func(t *testing.T) {
			fresh := newRepo[Counter](t, m)
			m.Reset()
			if err := fresh.DeleteVersion(ctx, "k", rec1.Version); !errors.Is(err, repo.ErrConflict) {
				t.Fatalf("DeleteVersion of a stale version: %v, want ErrConflict", err)
			}
			if c := m.Reset(); c.Get != 1 || c.Total() != 1 {
				t.Errorf("requests: %v, want 1 GET and no DELETE", c)
			}
		})
		if c, err := writer.Get(ctx, "k"); err != nil || c.N != 2 {
			t.Fatalf("after the stale deletes: %+v, %v; want the record at N=2", c, err)
		}

		t.Run("current, known to the Repo", func(t *testing.T) {
			rec, err := a.GetRecord(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}
			m.Reset()
			if err := a.DeleteVersion(ctx, "k", rec.Version); err != nil {
				t.Fatal(err)
			}
			// The record (conditional), its entry (named by its write),
			// its claim (conditional): 3 DELETEs, no read.
			if c := m.Reset(); c.Delete != 3 || c.Conditional != 2 || c.Total() != 3 {
				t.Errorf("requests: %v, want 3 DELETEs, 2 conditional", c)
			}
			onlyManifest(t, st)
			if _, err := writer.Get(ctx, "k"); !errors.Is(err, repo.ErrNotFound) {
				t.Errorf("Get after DeleteVersion: %v", err)
			}
			if err := writer.Create(ctx, Counter{ID: "k2", Email: "k@x"}); err != nil {
				t.Errorf("the unique value is not free again: %v", err)
			}
		})
		t.Run("current, unknown to the Repo", func(t *testing.T) {
			rec, err := writer.GetRecord(ctx, "k2")
			if err != nil {
				t.Fatal(err)
			}
			fresh := newRepo[Counter](t, m)
			m.Reset()
			if err := fresh.DeleteVersion(ctx, "k2", rec.Version); err != nil {
				t.Fatal(err)
			}
			if c := m.Reset(); c.Get != 1 || c.Delete != 3 || c.Total() != 4 {
				t.Errorf("requests: %v, want 1 GET and 3 DELETEs", c)
			}
			onlyManifest(t, st)
		})
		t.Run("missing", func(t *testing.T) {
			fresh := newRepo[Counter](t, m)
			m.Reset()
			err := fresh.DeleteVersion(ctx, "k2", rec1.Version)
			if !errors.Is(err, repo.ErrNotFound) || errors.Is(err, repo.ErrConflict) {
				t.Fatalf("DeleteVersion of a missing key: %v, want ErrNotFound", err)
			}
			if c := m.Reset(); c.Get != 1 || c.Total() != 1 {
				t.Errorf("requests: %v, want 1 GET", c)
			}
		})
		t.Run("deleted since the Repo read it", func(t *testing.T) {
			if err := writer.Create(ctx, Counter{ID: "k3", Email: "k3@x"}); err != nil {
				t.Fatal(err)
			}
			rec, err := a.GetRecord(ctx, "k3")
			if err != nil {
				t.Fatal(err)
			}
			if err := writer.Delete(ctx, "k3"); err != nil {
				t.Fatal(err)
			}
			m.Reset()
			if err := a.DeleteVersion(ctx, "k3", rec.Version); !errors.Is(err, repo.ErrNotFound) {
				t.Fatalf("DeleteVersion of a record deleted since: %v, want ErrNotFound", err)
			}
			if c := m.Reset(); c.Delete != 1 || c.Total() != 1 {
				t.Errorf("requests: %v, want 1 DELETE", c)
			}
			onlyManifest(t, st)
		})
		t.Run("bad input", func(t *testing.T) {
			if err := writer.Create(ctx, Counter{ID: "k4", Email: "k4@x"}); err != nil {
				t.Fatal(err)
			}
			m.Reset()
			for _, tc := range []struct {
				key     any
				version string
				want    string
			}{
				{"k4", "", "empty version"},
				{42, "v", "int"},
				{"", "v", "empty"},
			} {
				err := a.DeleteVersion(ctx, tc.key, tc.version)
				if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("DeleteVersion(%v, %q) = %v, want ErrInvalid naming %q", tc.key, tc.version, err, tc.want)
				}
			}
			if c := m.Reset(); c.Total() != 0 {
				t.Errorf("requests for bad input: %v, want none", c)
			}
			if _, err := writer.Get(ctx, "k4"); err != nil {
				t.Errorf("the record after bad input: %v", err)
			}
		})
	})
}

// TestDeleteVersionRacing: writers that all start from one version race to
// replace or delete it: exactly one wins, and the store ends in its state.
// On a store without conditional deletes, DeleteVersion refuses with
// ErrInvalid without a request, and the Replaces race alone.
func TestDeleteVersionRacing(t *testing.T) {
	eachRacingBackend(t, func(t *testing.T, st object.Store, reopen func() object.Store) {
		ctx := context.Background()
		condDelete := st.Capabilities().ConditionalDelete
		m := meter.Wrap(st)
		const rounds, racers = 8, 8
		deletes := 0
		for round := range rounds {
			key := fmt.Sprint("r", round)
			if err := newRepo[Counter](t, st).Create(ctx, Counter{ID: key, Email: key + "@x"}); err != nil {
				t.Fatal(err)
			}
			rec, err := newRepo[Counter](t, st).GetRecord(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			var (
				wg                   sync.WaitGroup
				won                  atomic.Int32
				winner               = -1
				mu                   sync.Mutex
				deleteReqs, invalids atomic.Int32
			)
			// Each racer is a client of its own, as another process, that
			// read the record. Even racers delete, odd ones replace. A
			// DELETE is quicker than a Replace (entry, claim, then the
			// record), so in odd rounds the deleters wait until a
			// replacer's record PUT starts: the two conditional requests
			// on the record then race, and both kinds win some rounds.
			deleter := func(i int) bool { return i%2 == 0 }
			started := make(chan struct{})
			var once sync.Once
			meters := make([]*meter.Store, racers)
			repos := make([]*repo.Repo[Counter], racers)
			for i := range racers {
				st := reopen()
				if !deleter(i) {
					st = onRecordPut{st, func() { once.Do(func() { close(started) }) }}
				}
				meters[i] = meter.Wrap(st)
				repos[i] = newRepo[Counter](t, meters[i])
				if _, err := repos[i].GetRecord(ctx, key); err != nil {
					t.Fatal(err)
				}
				meters[i].Reset()
			}
			for i := range racers {
				dm, r := meters[i], repos[i]
				wg.Go(func() {
					var err error
					if deleter(i) {
						if round%2 == 1 {
							select {
							case <-started:
							case <-time.After(10 * time.Second): // no replacer got that far
							}
						}
						err = r.DeleteVersion(ctx, key, rec.Version)
						deleteReqs.Add(int32(dm.Reset().Total()))
						if errors.Is(err, repo.ErrInvalid) {
							invalids.Add(1)
							return
						}
					} else {
						v := rec.Value
						v.N = 100 + i
						v.Email = fmt.Sprintf("%s-%d@x", key, i)
						err = r.Replace(ctx, v, rec.Version)
					}
					switch {
					case err == nil:
						won.Add(1)
						mu.Lock()
						winner = i
						mu.Unlock()
					case errors.Is(err, repo.ErrConflict), errors.Is(err, repo.ErrNotFound):
					default:
						t.Errorf("racer %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 {
				t.Fatalf("round %d: %d winners, want 1", round, won.Load())
			}
			if !condDelete {
				if invalids.Load() != racers/2 || deleteReqs.Load() != 0 {
					t.Errorf("round %d without conditional deletes: %d ErrInvalid, %d requests; want %d and 0", round, invalids.Load(), deleteReqs.Load(), racers/2)
				}
			}
			c, err := newRepo[Counter](t, m).Get(ctx, key)
			switch {
			case deleter(winner):
				deletes++
				if !errors.Is(err, repo.ErrNotFound) {
					t.Errorf("round %d: a delete won, but Get = %+v, %v", round, c, err)
				}
			case err != nil || c.N != 100+winner:
				t.Errorf("round %d: racer %d's Replace won, but Get = %+v, %v", round, winner, c, err)
			}
		}
		if !condDelete && deletes != 0 {
			t.Errorf("%d deletes won without conditional deletes", deletes)
		}
		// No entry or claim lost (superseded ones may be left for Check
		// where deletes are not conditional).
		rep, err := newRepo[Counter](t, st).Check(ctx, false)
		if err != nil || rep.MissingClaims != 0 || rep.MissingEntries != 0 || len(rep.Problems) != 0 {
			t.Errorf("Check: %+v, %v", rep, err)
		}
		t.Logf("%d of %d rounds won by a delete", deletes, rounds)
	})
}

// onRecordPut calls f before each record PUT it forwards.
type onRecordPut struct {
	object.Store
	f func()
}

func (s onRecordPut) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	if strings.Contains(key, "/r/") {
		s.f()
	}
	return s.Store.Put(ctx, key, body, opts)
}

// TestDeleteVersionUnsupported: on a store without conditional deletes the
// error names the missing capability and nothing is deleted.
func TestDeleteVersionUnsupported(t *testing.T) {
	ctx := context.Background()
	st := meter.Wrap(noCondDelete{memstore.New()})
	r := newRepo[Counter](t, st)
	if err := r.Create(ctx, Counter{ID: "k", Email: "k@x"}); err != nil {
		t.Fatal(err)
	}
	rec, err := r.GetRecord(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	st.Reset()
	err = r.DeleteVersion(ctx, "k", rec.Version)
	if !errors.Is(err, repo.ErrInvalid) || !errors.Is(err, object.ErrUnsupported) || !strings.Contains(err.Error(), "ConditionalDelete") {
		t.Fatalf("DeleteVersion without conditional deletes: %v, want ErrInvalid and object.ErrUnsupported naming ConditionalDelete", err)
	}
	if c := st.Reset(); c.Total() != 0 {
		t.Errorf("requests: %v, want none", c)
	}
	if _, err := r.Get(ctx, "k"); err != nil {
		t.Errorf("the record: %v", err)
	}
}

// dropOnce fails the first record DELETE it is given without sending it,
// with an error that does not say so: the caller cannot tell a lost request
// from a lost reply.
type dropOnce struct {
	object.Store
	done atomic.Bool
}

func (s *dropOnce) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	if strings.Contains(key, "/r/") && s.done.CompareAndSwap(false, true) {
		return fmt.Errorf("Delete %q: %w", key, errLost)
	}
	return s.Store.Delete(ctx, key, opts)
}

// TestDeleteVersionLostReply: a record DELETE whose outcome the store could
// not report is decided by the record's state: gone is success (and the
// entry and claim are removed), still at the version is a DELETE not made,
// sent again, and another version is ErrOutcomeUnknown.
func TestDeleteVersionLostReply(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		// seed creates key and returns its version.
		seed := func(key string) string {
			t.Helper()
			r := newRepo[Counter](t, st)
			if err := r.Create(ctx, Counter{ID: key, Email: key + "@x"}); err != nil {
				t.Fatal(err)
			}
			rec, err := r.GetRecord(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return rec.Version
		}

		t.Run("landed", func(t *testing.T) {
			v := seed("landed")
			m := meter.Wrap(&loseOnce{Store: st})
			if err := newRepo[Counter](t, m).DeleteVersion(ctx, "landed", v); err != nil {
				t.Fatalf("DeleteVersion whose reply was lost: %v", err)
			}
			// GET, the lost DELETE, a HEAD that finds the record gone,
			// then the entry and the claim.
			if c := m.Reset(); c.Get != 1 || c.Head != 1 || c.Delete != 3 || c.Total() != 5 {
				t.Errorf("requests: %v, want 1 GET, 1 HEAD, 3 DELETEs", c)
			}
			onlyManifest(t, st)
		})
		t.Run("not sent", func(t *testing.T) {
			v := seed("unsent")
			m := meter.Wrap(&dropOnce{Store: st})
			if err := newRepo[Counter](t, m).DeleteVersion(ctx, "unsent", v); err != nil {
				t.Fatalf("DeleteVersion whose first DELETE was not sent: %v", err)
			}
			// GET, the DELETE not sent, a HEAD that finds the record still
			// at the version, the DELETE again, the entry and the claim.
			if c := m.Reset(); c.Get != 1 || c.Head != 1 || c.Delete != 4 || c.Total() != 6 {
				t.Errorf("requests: %v, want 1 GET, 1 HEAD, 4 DELETEs", c)
			}
			onlyManifest(t, st)
		})
		t.Run("recreated before the reply", func(t *testing.T) {
			v := seed("again")
			other := newRepo[Counter](t, st)
			lossy := &loseOnce{Store: st, meanwhile: func() {
				if err := other.Create(ctx, Counter{ID: "again", Email: "again-new@x", N: 7}); err != nil {
					t.Errorf("the other writer: %v", err)
				}
			}}
			err := newRepo[Counter](t, lossy).DeleteVersion(ctx, "again", v)
			if !errors.Is(err, repo.ErrOutcomeUnknown) || errors.Is(err, repo.ErrConflict) {
				t.Fatalf("DeleteVersion whose record was written again before the reply: %v, want ErrOutcomeUnknown", err)
			}
			if c, err := other.Get(ctx, "again"); err != nil || c.N != 7 {
				t.Errorf("the new record: %+v, %v", c, err)
			}
			// Nothing a reader relies on is gone: Check finds no missing
			// entry or claim (the old record's may be left over).
			rep, err := newRepo[Counter](t, st).Check(ctx, false)
			if err != nil || rep.MissingClaims != 0 || rep.MissingEntries != 0 || len(rep.Problems) != 0 {
				t.Errorf("Check: %+v, %v", rep, err)
			}
		})
	})
}

// DeleteVersion serves an HTTP DELETE with If-Match: it deletes the record
// only at the version the client last saw.
func ExampleRepo_DeleteVersion() {
	ctx := context.Background()
	users := users(ctx)

	rec, err := users.GetRecord(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	// Someone else changes alice after we read her.
	if _, err := users.Update(ctx, "alice", func(u *User) error { u.Age++; return nil }); err != nil {
		log.Fatal(err)
	}
	err = users.DeleteVersion(ctx, "alice", rec.Version)
	fmt.Println("stale version:", errors.Is(err, repo.ErrConflict))

	rec, err = users.GetRecord(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("current version:", users.DeleteVersion(ctx, "alice", rec.Version))
	err = users.DeleteVersion(ctx, "alice", rec.Version)
	fmt.Println("again:", errors.Is(err, repo.ErrNotFound))
	// Output:
	// stale version: true
	// current version: <nil>
	// again: true
}
