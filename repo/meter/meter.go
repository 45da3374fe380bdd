// Package meter wraps an [object.Store] to count, log and slow down the
// requests it makes. On S3 requests are what a store costs, in money and in
// latency, so the counts are a good measure of an operation:
//
//	st := meter.Wrap(inner)
//	users, err := repo.New[User](st)
//	...
//	st.Reset()
//	err = users.Create(ctx, u)
//	log.Println(st.Snapshot()) // GET=0 HEAD=0 PUT=3 DELETE=0 LIST=0 total=3 conditional=... rounds=2
//
// Every call through the wrapper counts as one request of its kind (GET,
// HEAD, PUT, DELETE, LIST; a List call is one LIST, that is one page),
// whether it succeeds or not. Capabilities and Close are not requests.
//
// # Rounds
//
// A round begins when a request starts while no other request of the same
// [Store] is in flight. Requests issued in parallel make one round; requests
// issued one after another each make their own. Rounds therefore count the
// sequential round trips an operation needs, which on S3 (tens of
// milliseconds each) dominate its latency.
//
// # Latency
//
// [Options.Latency] delays every request before it is forwarded, to make a
// local store behave like a remote one in tests and benchmarks. The delay
// honours the context: a request whose context ends while it waits returns
// the context's error without being forwarded.
package meter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

// Request kinds, as passed to [Options.Hook].
const (
	KindGet    = "GET"
	KindHead   = "HEAD"
	KindPut    = "PUT"
	KindDelete = "DELETE"
	KindList   = "LIST"
)

// Options configure a [Store]. The zero value counts requests and does
// nothing else.
type Options struct {
	// Latency, when positive, is waited before each request is forwarded.
	Latency time.Duration

	// Hook, when set, is called after each request returns with its kind
	// (one of the Kind constants), its key (the prefix for LIST) and its
	// error. It is called from the goroutine that made the request, possibly
	// from several at once, after the request has stopped counting as in
	// flight.
	Hook func(kind, key string, err error)
}

// Counts are the requests made through a [Store].
type Counts struct {
	Get, Head, Put, Delete, List int
	// Conditional counts the requests above that carried a condition
	// (GetOptions.IfNoneMatch, PutOptions.IfMatch or IfNoneMatch,
	// DeleteOptions.IfMatch).
	Conditional int
	// Rounds counts the requests that started while no other request was
	// in flight: the sequential round trips.
	Rounds int
}

// Total is the number of requests of all kinds.
func (c Counts) Total() int { return c.Get + c.Head + c.Put + c.Delete + c.List }

// String formats the counts on one line, for logs and examples.
func (c Counts) String() string {
	return fmt.Sprintf("GET=%d HEAD=%d PUT=%d DELETE=%d LIST=%d total=%d conditional=%d rounds=%d",
		c.Get, c.Head, c.Put, c.Delete, c.List, c.Total(), c.Conditional, c.Rounds)
}

// Store is an [object.Store] that counts the requests it forwards to another.
// It is safe for concurrent use.
type Store struct {
	st   object.Store
	opts Options

	mu       sync.Mutex
	counts   Counts
	inFlight int
}

var _ object.Store = (*Store)(nil)

// Wrap returns a Store that forwards to st and counts the requests.
func Wrap(st object.Store, opts ...func(*Options)) *Store {
	s := &Store{st: st}
	for _, o := range opts {
		o(&s.opts)
	}
	return s
}

// WithLatency is an option that sets [Options.Latency].
func WithLatency(d time.Duration) func(*Options) {
	return func(o *Options) { o.Latency = d }
}

// WithHook is an option that sets [Options.Hook].
func WithHook(hook func(kind, key string, err error)) func(*Options) {
	return func(o *Options) { o.Hook = hook }
}

// Snapshot returns the counts so far.
func (s *Store) Snapshot() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Reset returns the counts so far and sets them to zero. Requests in flight
// when Reset is called are not counted again when they return, and do not
// start a round for requests that begin while they are still in flight.
func (s *Store) Reset() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	s.counts = Counts{}
	return c
}

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() object.Store { return s.st }

// begin counts a request and waits for the injected latency.
func (s *Store) begin(ctx context.Context, kind string, conditional bool) error {
	s.mu.Lock()
	switch kind {
	case KindGet:
		s.counts.Get++
	case KindHead:
		s.counts.Head++
	case KindPut:
		s.counts.Put++
	case KindDelete:
		s.counts.Delete++
	case KindList:
		s.counts.List++
	}
	if conditional {
		s.counts.Conditional++
	}
	if s.inFlight == 0 {
		s.counts.Rounds++
	}
	s.inFlight++
	s.mu.Unlock()

	if s.opts.Latency <= 0 {
		return nil
	}
	timer := time.NewTimer(s.opts.Latency)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// end finishes a request begun with begin.
func (s *Store) end(kind, key string, err error) {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	if s.opts.Hook != nil {
		s.opts.Hook(kind, key, err)
	}
}

// Get implements [object.Store.Get].
func (s *Store) Get(ctx context.Context, key string, opts object.GetOptions) (obj object.Object, err error) {
	defer func() { s.end(KindGet, key, err) }()
	if err := s.begin(ctx, KindGet, opts.IfNoneMatch != ""); err != nil {
		return object.Object{}, fmt.Errorf("meter: Get %q: %w", key, err)
	}
	return s.st.Get(ctx, key, opts)
}

// Head implements [object.Store.Head].
func (s *Store) Head(ctx context.Context, key string) (info object.Info, err error) {
	defer func() { s.end(KindHead, key, err) }()
	if err := s.begin(ctx, KindHead, false); err != nil {
		return object.Info{}, fmt.Errorf("meter: Head %q: %w", key, err)
	}
	return s.st.Head(ctx, key)
}

// Put implements [object.Store.Put].
func (s *Store) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (info object.Info, err error) {
	defer func() { s.end(KindPut, key, err) }()
	if err := s.begin(ctx, KindPut, opts.IfMatch != "" || opts.IfNoneMatch != ""); err != nil {
		return object.Info{}, fmt.Errorf("meter: Put %q: %w", key, err)
	}
	return s.st.Put(ctx, key, body, opts)
}

// Delete implements [object.Store.Delete].
func (s *Store) Delete(ctx context.Context, key string, opts object.DeleteOptions) (err error) {
	defer func() { s.end(KindDelete, key, err) }()
	if err := s.begin(ctx, KindDelete, opts.IfMatch != ""); err != nil {
		return fmt.Errorf("meter: Delete %q: %w", key, err)
	}
	return s.st.Delete(ctx, key, opts)
}

// List implements [object.Store.List]. Each call is one LIST request.
func (s *Store) List(ctx context.Context, opts object.ListOptions) (page object.ListPage, err error) {
	defer func() { s.end(KindList, opts.Prefix, err) }()
	if err := s.begin(ctx, KindList, false); err != nil {
		return object.ListPage{}, fmt.Errorf("meter: List %q: %w", opts.Prefix, err)
	}
	return s.st.List(ctx, opts)
}

// Capabilities implements [object.Store.Capabilities]. It is not counted.
func (s *Store) Capabilities() object.Capabilities { return s.st.Capabilities() }

// Close implements [object.Store.Close] by closing the wrapped store. It is
// not a request and is not counted. Calls after Close are still counted:
// they reach the wrapped store, which refuses them.
func (s *Store) Close() error { return s.st.Close() }
