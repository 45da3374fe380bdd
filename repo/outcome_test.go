package repo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// Counter is the model of the outcome tests.
type Counter struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	N     int    `nodb:"index"`
}

var errLost = errors.New("test: response lost")

// loseOnce is a store that loses the response to the first record write
// (PUT or DELETE of "<model>/r/...") it forwards, after running meanwhile:
// the write lands, another client acts, and the caller sees an error it
// cannot read an outcome from, as when an SDK's retry of a landed request
// meets a changed object.
type loseOnce struct {
	object.Store
	meanwhile func()
	done      atomic.Bool
}

func (s *loseOnce) lose(key string) bool {
	return strings.Contains(key, "/r/") && s.done.CompareAndSwap(false, true)
}

func (s *loseOnce) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	info, err := s.Store.Put(ctx, key, body, opts)
	if err == nil && s.lose(key) {
		if s.meanwhile != nil {
			s.meanwhile()
		}
		return object.Info{}, fmt.Errorf("Put %q: %w", key, errLost)
	}
	return info, err
}

func (s *loseOnce) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	err := s.Store.Delete(ctx, key, opts)
	if err == nil && s.lose(key) {
		if s.meanwhile != nil {
			s.meanwhile()
		}
		return fmt.Errorf("Delete %q: %w", key, errLost)
	}
	return err
}

// TestLostReplyThenReplaced: a record write whose response is lost while
// a second writer replaces the record is decided when the record proves it
// (it names the write it replaced) and reported as ErrOutcomeUnknown
// otherwise; never as a failure, and fn never runs twice.
func TestLostReplyThenReplaced(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		seq := 0
		// setup returns Repo a, which loses the reply to its next record
		// write after other (writing directly) has replaced the record
		// `times` times, and the key seeded with N=0.
		setup := func(times int, seed bool) (*repo.Repo[Counter], *repo.Repo[Counter], string) {
			seq++
			key := fmt.Sprint("k", seq)
			other := newRepo[Counter](t, st)
			if seed {
				if err := other.Create(ctx, Counter{ID: key, Email: key + "@x"}); err != nil {
					t.Fatal(err)
				}
			}
			lossy := &loseOnce{Store: st}
			lossy.meanwhile = func() {
				for range times {
					if _, err := other.Update(ctx, key, func(c *Counter) error { c.N += 10; return nil }); err != nil {
						t.Errorf("the other writer: %v", err)
					}
				}
			}
			a := newRepo[Counter](t, lossy)
			return a, other, key
		}
		get := func(key string) Counter {
			t.Helper()
			c, err := newRepo[Counter](t, st).Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		t.Run("Update replaced once", func(t *testing.T) {
			a, _, key := setup(1, true)
			calls := 0
			v, err := a.Update(ctx, key, func(c *Counter) error { calls++; c.N++; return nil })
			if err != nil || calls != 1 || v.N != 1 {
				t.Fatalf("Update = %+v, %v after %d calls of fn; want N=1, success, 1 call", v, err, calls)
			}
			if c := get(key); c.N != 11 {
				t.Errorf("N = %d, want 11 (our 1, then the other writer's 10)", c.N)
			}
		})
		t.Run("Update replaced twice", func(t *testing.T) {
			a, _, key := setup(2, true)
			calls := 0
			_, err := a.Update(ctx, key, func(c *Counter) error { calls++; c.N++; return nil })
			if !errors.Is(err, repo.ErrOutcomeUnknown) || calls != 1 {
				t.Fatalf("Update = %v after %d calls of fn; want ErrOutcomeUnknown after 1 call", err, calls)
			}
			if errors.Is(err, repo.ErrConflict) || !strings.Contains(err.Error(), key) {
				t.Errorf("message %q: want the key, and not a conflict", err)
			}
			if c := get(key); c.N != 21 {
				t.Errorf("N = %d, want 21", c.N)
			}
		})
		t.Run("Replace", func(t *testing.T) {
			a, _, key := setup(1, true)
			rec, err := a.GetRecord(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			rec.Value.N = 5
			if err := a.Replace(ctx, rec.Value, rec.Version); err != nil {
				t.Fatalf("Replace whose write landed: %v", err)
			}
			if c := get(key); c.N != 15 {
				t.Errorf("N = %d, want 15", c.N)
			}
		})
		t.Run("Put", func(t *testing.T) {
			a, _, key := setup(1, true)
			if err := a.Put(ctx, Counter{ID: key, Email: key + "@x", N: 3}); err != nil {
				t.Fatalf("Put whose write landed: %v", err)
			}
			if c := get(key); c.N != 13 {
				t.Errorf("N = %d, want 13", c.N)
			}
		})
		for _, times := range []int{1, 2} {
			t.Run(fmt.Sprintf("Create replaced %d times", times), func(t *testing.T) {
				a, _, key := setup(times, false)
				err := a.Create(ctx, Counter{ID: key, Email: key + "@x"})
				switch {
				case times == 1 && err != nil:
					t.Fatalf("Create whose write landed: %v", err)
				case times == 2 && !errors.Is(err, repo.ErrOutcomeUnknown):
					t.Fatalf("Create replaced twice: %v, want ErrOutcomeUnknown", err)
				}
				// The unique value stays held: nobody else can take it.
				err = newRepo[Counter](t, st).Create(ctx, Counter{ID: key + "-thief", Email: key + "@x"})
				if !errors.Is(err, repo.ErrUnique) {
					t.Errorf("a second Create with the same unique value: %v, want ErrUnique", err)
				}
				if c, err := newRepo[Counter](t, st).GetBy(ctx, "Email", key+"@x"); err != nil || c.ID != key {
					t.Errorf("GetBy = %+v, %v", c, err)
				}
			})
		}
		t.Run("Delete", func(t *testing.T) {
			a, _, key := setup(0, true)
			if err := a.Delete(ctx, key); err != nil {
				t.Fatalf("Delete whose reply was lost: %v", err)
			}
			if _, err := newRepo[Counter](t, st).Get(ctx, key); !errors.Is(err, repo.ErrNotFound) {
				t.Errorf("Get after Delete: %v", err)
			}
		})
		t.Run("Delete then recreated", func(t *testing.T) {
			seq++
			key := fmt.Sprint("k", seq)
			other := newRepo[Counter](t, st)
			if err := other.Create(ctx, Counter{ID: key, Email: key + "@x"}); err != nil {
				t.Fatal(err)
			}
			lossy := &loseOnce{Store: st, meanwhile: func() {
				if err := other.Create(ctx, Counter{ID: key, Email: key + "-new@x", N: 7}); err != nil {
					t.Errorf("the other writer: %v", err)
				}
			}}
			err := newRepo[Counter](t, lossy).Delete(ctx, key)
			if !errors.Is(err, repo.ErrOutcomeUnknown) {
				t.Fatalf("Delete whose record was written again before the reply: %v, want ErrOutcomeUnknown", err)
			}
			if c := get(key); c.N != 7 {
				t.Errorf("the new record: %+v", c)
			}
		})
		rep, err := newRepo[Counter](t, st).Check(ctx, false)
		if err != nil || rep.MissingClaims != 0 || rep.MissingEntries != 0 || len(rep.Problems) != 0 {
			t.Errorf("Check: %+v, %v", rep, err)
		}
	})
}

// flaky loses the responses of a share of the write requests it forwards,
// and drops another share before sending them, at random.
type flaky struct {
	object.Store
	mu  sync.Mutex
	rnd *rand.Rand
	p   float64
}

func (s *flaky) roll() (drop, lose bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.rnd.Float64()
	return x < s.p/2, x >= s.p/2 && x < s.p
}

func (s *flaky) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	drop, lose := s.roll()
	if drop {
		return object.Info{}, fmt.Errorf("Put %q: not sent: %w", key, errLost)
	}
	info, err := s.Store.Put(ctx, key, body, opts)
	if lose {
		if opts.IfMatch != "" || opts.IfNoneMatch != "" {
			// What s3store answers when the SDK's retry of a landed
			// conditional PUT fails its condition.
			return object.Info{}, fmt.Errorf("Put %q: %w: %w", key, errLost, object.ErrOutcomeUnknown)
		}
		return object.Info{}, fmt.Errorf("Put %q: %w", key, errLost)
	}
	return info, err
}

func (s *flaky) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	drop, lose := s.roll()
	if drop {
		return fmt.Errorf("Delete %q: not sent: %w", key, errLost)
	}
	err := s.Store.Delete(ctx, key, opts)
	if lose {
		return fmt.Errorf("Delete %q: %w", key, errLost)
	}
	return err
}

// TestLostRepliesConcurrent: writers whose write requests randomly lose
// their replies (or never go out) keep counters exact within [successes,
// successes + unknown outcomes], and a unique value is never held twice.
func TestLostRepliesConcurrent(t *testing.T) {
	eachRacingBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		keys := []string{"c0", "c1", "c2"}
		setup := newRepo[Counter](t, st)
		for _, k := range keys {
			if err := setup.Create(ctx, Counter{ID: k, Email: k + "@x"}); err != nil {
				t.Fatal(err)
			}
		}
		const workers, rounds = 4, 15
		var mu sync.Mutex
		success := map[string]int{}
		unknown := map[string]int{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := &flaky{Store: st, rnd: rand.New(rand.NewPCG(uint64(w), 7)), p: 0.1}
				r := newRepo[Counter](t, st)
				for i := range rounds {
					k := keys[(w+i)%len(keys)]
					_, err := r.Update(ctx, k, func(c *Counter) error { c.N++; return nil })
					mu.Lock()
					switch {
					case err == nil:
						success[k]++
					case errors.Is(err, repo.ErrOutcomeUnknown):
						unknown[k]++
					case errors.Is(err, errLost), errors.Is(err, repo.ErrConflict):
						// failed for certain before the record write
					default:
						t.Errorf("Update %s: %v", k, err)
					}
					mu.Unlock()
					// Racing for one unique value: a new key per worker
					// and round, one shared email per round.
					err = r.Create(ctx, Counter{ID: fmt.Sprintf("w%d-%d", w, i), Email: fmt.Sprint("race", i)})
					if err != nil && !errors.Is(err, repo.ErrUnique) && !errors.Is(err, repo.ErrOutcomeUnknown) && !errors.Is(err, errLost) && !errors.Is(err, repo.ErrConflict) {
						t.Errorf("Create: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		check := newRepo[Counter](t, st)
		total := 0
		for _, k := range keys {
			c, err := check.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := success[k], success[k]+unknown[k]
			if c.N < lo || c.N > hi {
				t.Errorf("%s: N = %d, want within [%d, %d] (successes, + unknown outcomes)", k, c.N, lo, hi)
			}
			total += success[k] + unknown[k]
		}
		t.Logf("%d Updates succeeded or were unknown: %v successes, %v unknown", total, success, unknown)
		holders := map[string]string{}
		for c, err := range check.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := holders[c.Email]; ok {
				t.Errorf("email %s held by %s and %s", c.Email, prev, c.ID)
			}
			holders[c.Email] = c.ID
		}
		for email, id := range holders {
			if c, err := check.GetBy(ctx, "Email", email); err != nil || c.ID != id {
				t.Errorf("GetBy %s = %+v, %v; the record holding it is %s", email, c, err, id)
			}
		}
	})
}

// TestLostReplyOverHTTP is the reproduction that found the bug, on a real
// server: Repo A's HTTP client loses the reply to A's record PUT, Repo B
// writes the record before the SDK retries, and the retry meets B's
// object. Each write must be decided as landed (B's record names A's write
// as the one it replaced), fn must run once, and the unique value must stay
// held.
func TestLostReplyOverHTTP(t *testing.T) {
	ctx := context.Background()
	env := s3test.Server(t)
	client, bucket := s3test.NewBucket(t)
	lr := &s3test.LoseReplies{}
	noBackoff := func(o *s3.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	}
	open := func(c *s3.Client) object.Store {
		st, err := s3store.Open(ctx, c, bucket)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	a := newRepo[Counter](t, open(env.NewClient(noBackoff, lr.Option)))
	b := newRepo[Counter](t, open(client))
	recordPUT := func(req *http.Request) bool {
		return req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/Counter/r/")
	}
	bumpByB := func(key string) func() {
		return func() {
			if _, err := b.Update(ctx, key, func(c *Counter) error { c.N += 10; return nil }); err != nil {
				t.Errorf("B: %v", err)
			}
		}
	}

	lr.LoseNext(recordPUT, bumpByB("k1"))
	if err := a.Create(ctx, Counter{ID: "k1", Email: "k1@x"}); err != nil {
		t.Fatalf("Create whose write landed: %v", err)
	}
	if err := b.Create(ctx, Counter{ID: "thief", Email: "k1@x"}); !errors.Is(err, repo.ErrUnique) {
		t.Errorf("a second Create with k1's email: %v, want ErrUnique", err)
	}

	lr.LoseNext(recordPUT, bumpByB("k1"))
	calls := 0
	v, err := a.Update(ctx, "k1", func(c *Counter) error { calls++; c.N++; return nil })
	if err != nil || calls != 1 || v.N != 11 {
		t.Fatalf("Update = %+v, %v after %d calls of fn; want N=11, success, 1 call", v, err, calls)
	}

	rec, err := a.GetRecord(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	lr.LoseNext(recordPUT, bumpByB("k1"))
	rec.Value.N = 100
	if err := a.Replace(ctx, rec.Value, rec.Version); err != nil {
		t.Fatalf("Replace whose write landed: %v", err)
	}
	if c, err := b.Get(ctx, "k1"); err != nil || c.N != 110 {
		t.Errorf("after Replace: %+v, %v; want N=110", c, err)
	}

	lr.LoseNext(func(req *http.Request) bool {
		return req.Method == http.MethodDelete && strings.Contains(req.URL.Path, "/Counter/r/")
	}, nil)
	if err := a.Delete(ctx, "k1"); err != nil {
		t.Fatalf("Delete whose reply was lost: %v", err)
	}
	if lost := lr.Lost(); len(lost) != 4 {
		t.Errorf("lost replies: %q, want 4", lost)
	}
	if _, err := b.Get(ctx, "k1"); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("after Delete: %v", err)
	}
}
