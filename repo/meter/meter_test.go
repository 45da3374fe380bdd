package meter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// fake is a minimal store: Put succeeds, everything else is not found. It
// counts the calls that reach it and, when gate is set, holds each call until
// gate is closed.
type fake struct {
	calls   atomic.Int64
	entered chan struct{}
	gate    chan struct{}
	closed  int
}

func (f *fake) wait() {
	f.calls.Add(1)
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
}

func (f *fake) Get(ctx context.Context, key string, opts object.GetOptions) (object.Object, error) {
	f.wait()
	return object.Object{}, fmt.Errorf("fake: %q: %w", key, object.ErrNotFound)
}

func (f *fake) Head(ctx context.Context, key string) (object.Info, error) {
	f.wait()
	return object.Info{}, fmt.Errorf("fake: %q: %w", key, object.ErrNotFound)
}

func (f *fake) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	f.wait()
	return object.Info{Key: key, Version: "v", Size: int64(len(body))}, nil
}

func (f *fake) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	f.wait()
	return nil
}

func (f *fake) List(ctx context.Context, opts object.ListOptions) (object.ListPage, error) {
	f.wait()
	return object.ListPage{}, nil
}

func (f *fake) Capabilities() object.Capabilities {
	return object.Capabilities{ConditionalDelete: true}
}

func (f *fake) Close() error {
	f.closed++
	return nil
}

func TestCountsByKind(t *testing.T) {
	ctx := t.Context()
	st := meter.Wrap(&fake{})
	st.Get(ctx, "a", object.GetOptions{})
	st.Get(ctx, "a", object.GetOptions{IfNoneMatch: "v"})
	st.Head(ctx, "a")
	st.Put(ctx, "a", nil, object.PutOptions{})
	st.Put(ctx, "a", nil, object.PutOptions{IfNoneMatch: "*"})
	st.Put(ctx, "a", nil, object.PutOptions{IfMatch: "v"})
	st.Delete(ctx, "a", object.DeleteOptions{})
	st.Delete(ctx, "a", object.DeleteOptions{IfMatch: "v"})
	for range object.All(ctx, st, "", "", 0) {
	}
	st.Capabilities()

	want := meter.Counts{Get: 2, Head: 1, Put: 3, Delete: 2, List: 1, Conditional: 4, Rounds: 9}
	if got := st.Snapshot(); got != want {
		t.Errorf("Snapshot() = %v; want %v", got, want)
	}
	if got := st.Snapshot().Total(); got != 9 {
		t.Errorf("Total() = %d; want 9", got)
	}
	if got := st.Reset(); got != want {
		t.Errorf("Reset() = %v; want %v", got, want)
	}
	if got := st.Snapshot(); got != (meter.Counts{}) {
		t.Errorf("Snapshot() after Reset = %v; want zero", got)
	}
}

func TestString(t *testing.T) {
	c := meter.Counts{Get: 1, Head: 2, Put: 3, Delete: 4, List: 5, Conditional: 6, Rounds: 7}
	want := "GET=1 HEAD=2 PUT=3 DELETE=4 LIST=5 total=15 conditional=6 rounds=7"
	if got := c.String(); got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

func TestErrorsPassThrough(t *testing.T) {
	st := meter.Wrap(&fake{})
	if _, err := st.Get(t.Context(), "missing", object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("Get error = %v; want ErrNotFound", err)
	}
	if st.Capabilities() != (object.Capabilities{ConditionalDelete: true}) {
		t.Error("Capabilities not forwarded")
	}
	if _, ok := st.Unwrap().(*fake); !ok {
		t.Error("Unwrap does not return the wrapped store")
	}
}

func TestSequentialRounds(t *testing.T) {
	st := meter.Wrap(&fake{}, meter.WithLatency(time.Millisecond))
	const n = 5
	for i := range n {
		if _, err := st.Put(t.Context(), fmt.Sprint(i), nil, object.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := st.Snapshot(); got.Rounds != n || got.Put != n {
		t.Errorf("%d sequential Puts: %v; want %d rounds", n, got, n)
	}
}

// parallel runs n Heads at once and waits for them.
func parallel(st object.Store, n int) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			st.Head(context.Background(), fmt.Sprint(i))
		})
	}
	close(start)
	wg.Wait()
}

func TestParallelRoundWithLatency(t *testing.T) {
	const (
		n       = 10
		latency = 200 * time.Millisecond
	)
	st := meter.Wrap(&fake{}, meter.WithLatency(latency))
	begin := time.Now()
	parallel(st, n)
	elapsed := time.Since(begin)
	if got := st.Snapshot(); got.Rounds != 1 || got.Head != n {
		t.Errorf("%d parallel Heads with latency: %v; want 1 round", n, got)
	}
	if elapsed < latency {
		t.Errorf("took %v; want at least the latency %v", elapsed, latency)
	}
	if elapsed > 4*latency {
		t.Errorf("took %v; the latency was not waited in parallel", elapsed)
	}

	// Two parallel batches one after the other are two rounds.
	st.Reset()
	parallel(st, n)
	parallel(st, n)
	if got := st.Snapshot(); got.Rounds != 2 {
		t.Errorf("two batches: %v; want 2 rounds", got)
	}
}

// TestParallelRoundDeterministic holds every request in the inner store
// until all have arrived, so they overlap whatever the scheduler does.
func TestParallelRoundDeterministic(t *testing.T) {
	const n = 8
	f := &fake{entered: make(chan struct{}, 2*n), gate: make(chan struct{})}
	st := meter.Wrap(f)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { st.Get(context.Background(), fmt.Sprint(i), object.GetOptions{}) })
	}
	for range n {
		<-f.entered
	}
	if got := st.Snapshot(); got.Rounds != 1 || got.Get != n {
		t.Errorf("%d overlapping Gets: %v; want 1 round", n, got)
	}
	// A request starting while the others are in flight, even after a
	// Reset, joins their round.
	st.Reset()
	wg.Go(func() { st.List(context.Background(), object.ListOptions{}) })
	<-f.entered
	if got := st.Snapshot(); got.Rounds != 0 || got.List != 1 {
		t.Errorf("a List overlapping earlier requests: %v; want 0 new rounds", got)
	}
	close(f.gate)
	wg.Wait()
	st.Head(context.Background(), "after")
	if got := st.Snapshot(); got.Rounds != 1 {
		t.Errorf("a Head after all returned: %v; want 1 round", got)
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	f := &fake{}
	st := meter.Wrap(f, meter.WithLatency(time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Put error = %v; want DeadlineExceeded", err)
	}
	if time.Since(begin) > 10*time.Second {
		t.Error("Put did not return when the context ended")
	}
	if f.calls.Load() != 0 {
		t.Error("a request whose context ended during the latency was forwarded")
	}
	if got := st.Snapshot(); got.Put != 1 {
		t.Errorf("Snapshot = %v; want the Put counted", got)
	}

	// Without latency a canceled context is the inner store's business.
	st = meter.Wrap(f)
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	st.Delete(ctx, "k", object.DeleteOptions{})
	if f.calls.Load() != 1 {
		t.Error("without latency, the request was not forwarded")
	}
}

func TestHook(t *testing.T) {
	type call struct {
		kind, key string
		err       error
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	st := meter.Wrap(&fake{}, meter.WithHook(func(kind, key string, err error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{kind, key, err})
	}))
	ctx := t.Context()
	st.Put(ctx, "p", nil, object.PutOptions{})
	st.Get(ctx, "g", object.GetOptions{})
	st.Head(ctx, "h")
	st.Delete(ctx, "d", object.DeleteOptions{})
	st.List(ctx, object.ListOptions{Prefix: "pre/"})

	want := []call{{"PUT", "p", nil}, {"GET", "g", object.ErrNotFound}, {"HEAD", "h", object.ErrNotFound}, {"DELETE", "d", nil}, {"LIST", "pre/", nil}}
	if len(calls) != len(want) {
		t.Fatalf("hook called %d times; want %d", len(calls), len(want))
	}
	for i, c := range calls {
		w := want[i]
		if c.kind != w.kind || c.key != w.key || (w.err == nil) != (c.err == nil) || (w.err != nil && !errors.Is(c.err, w.err)) {
			t.Errorf("hook call %d = %+v; want %+v", i, c, w)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	st := meter.Wrap(&fake{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				st.Put(context.Background(), fmt.Sprint(i, j), nil, object.PutOptions{})
				if j%10 == 0 {
					st.Snapshot()
				}
			}
		})
	}
	wg.Wait()
	got := st.Snapshot()
	if got.Put != 800 || got.Rounds < 1 || got.Rounds > 800 {
		t.Errorf("Snapshot = %v; want 800 PUTs and 1..800 rounds", got)
	}
}

// TestClose: Close reaches the wrapped store and is not a request.
func TestClose(t *testing.T) {
	f := &fake{}
	st := meter.Wrap(f)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if f.closed != 1 {
		t.Errorf("the wrapped store was closed %d times; want 1", f.closed)
	}
	if c := st.Snapshot(); c.Total() != 0 || c.Rounds != 0 {
		t.Errorf("Close was counted: %v", c)
	}
}
