// Package faults injects failures into an [object.Store] for crash tests.
//
// A [Store] forwards requests to another store and numbers them from 1. Armed
// with [Store.Arm], it makes the nth request fail:
//
//   - [Crash]: the client dies before sending request n. Request n and every
//     later one fail without being forwarded.
//   - [CrashAfterSend]: the client dies after sending request n. Request n is
//     forwarded, its response is replaced with an error, and every later
//     request fails without being forwarded.
//   - [LoseResponse]: the response to request n is lost. Request n is
//     forwarded and its response replaced with an error; later requests pass.
//
// Injected errors wrap [ErrInjected]. A crash test typically runs an
// operation once unarmed to learn how many requests it makes, then for each n
// runs it again on a fresh store armed at n and checks the store's invariants
// through the inner store.
package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nodb-go/nodb/repo/object"
)

// ErrInjected is wrapped by every error a Store injects.
var ErrInjected = errors.New("faults: injected failure")

// Mode says how the armed request fails.
type Mode int

const (
	// Crash fails request n and every later one without forwarding them.
	Crash Mode = iota
	// CrashAfterSend forwards request n but replaces its response with an
	// error, then fails every later request without forwarding it.
	CrashAfterSend
	// LoseResponse forwards request n but replaces its response with an
	// error; later requests pass.
	LoseResponse
)

func (m Mode) String() string {
	switch m {
	case Crash:
		return "crash"
	case CrashAfterSend:
		return "crash after send"
	case LoseResponse:
		return "lose response"
	}
	return fmt.Sprintf("faults.Mode(%d)", int(m))
}

// Store is an object.Store that forwards to another and fails requests as
// armed. It is safe for concurrent use; with concurrent requests, which one
// is the nth is the order in which they reach the Store.
type Store struct {
	st object.Store

	mu       sync.Mutex
	n        int // request number to fail; 0 when disarmed
	mode     Mode
	seen     int // requests since the last Arm or Disarm
	injected int // faults injected since the last Arm or Disarm
}

var _ object.Store = (*Store)(nil)

// New returns a disarmed Store forwarding to st.
func New(st object.Store) *Store { return &Store{st: st} }

// Arm resets the request count and makes the nth request from now on
// (counting from 1) fail as mode says. n < 1 disarms.
func (s *Store) Arm(n int, mode Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n, s.mode, s.seen, s.injected = max(n, 0), mode, 0, 0
}

// Disarm resets the request count and stops injecting faults.
func (s *Store) Disarm() { s.Arm(0, Crash) }

// Requests returns the number of requests made since the last Arm or Disarm,
// including failed ones.
func (s *Store) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen
}

// Injected returns the number of requests that failed by injection since the
// last Arm or Disarm.
func (s *Store) Injected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected
}

// Unwrap returns the wrapped store, to inspect what reached it.
func (s *Store) Unwrap() object.Store { return s.st }

type action int

const (
	pass action = iota
	drop        // fail without forwarding
	lose        // forward, then fail
)

// next numbers a request and decides its fate.
func (s *Store) next() (int, action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen++
	seq := s.seen
	switch {
	case s.n == 0 || seq < s.n:
		return seq, pass
	case seq == s.n && s.mode != Crash:
		s.injected++
		return seq, lose
	case seq > s.n && s.mode == LoseResponse:
		return seq, pass
	}
	s.injected++
	return seq, drop
}

func injected(op, key string, seq int, a action) error {
	if a == lose {
		return fmt.Errorf("faults: %s %q (request %d): response lost: %w", op, key, seq, ErrInjected)
	}
	return fmt.Errorf("faults: %s %q (request %d): not sent: %w", op, key, seq, ErrInjected)
}

// Get implements [object.Store.Get].
func (s *Store) Get(ctx context.Context, key string, opts object.GetOptions) (object.Object, error) {
	seq, a := s.next()
	if a == drop {
		return object.Object{}, injected("Get", key, seq, a)
	}
	obj, err := s.st.Get(ctx, key, opts)
	if a == lose {
		return object.Object{}, injected("Get", key, seq, a)
	}
	return obj, err
}

// Head implements [object.Store.Head].
func (s *Store) Head(ctx context.Context, key string) (object.Info, error) {
	seq, a := s.next()
	if a == drop {
		return object.Info{}, injected("Head", key, seq, a)
	}
	info, err := s.st.Head(ctx, key)
	if a == lose {
		return object.Info{}, injected("Head", key, seq, a)
	}
	return info, err
}

// Put implements [object.Store.Put].
func (s *Store) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	seq, a := s.next()
	if a == drop {
		return object.Info{}, injected("Put", key, seq, a)
	}
	info, err := s.st.Put(ctx, key, body, opts)
	if a == lose {
		return object.Info{}, injected("Put", key, seq, a)
	}
	return info, err
}

// Delete implements [object.Store.Delete].
func (s *Store) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	seq, a := s.next()
	if a == drop {
		return injected("Delete", key, seq, a)
	}
	err := s.st.Delete(ctx, key, opts)
	if a == lose {
		return injected("Delete", key, seq, a)
	}
	return err
}

// List implements [object.Store.List].
func (s *Store) List(ctx context.Context, opts object.ListOptions) (object.ListPage, error) {
	seq, a := s.next()
	if a == drop {
		return object.ListPage{}, injected("List", opts.Prefix, seq, a)
	}
	page, err := s.st.List(ctx, opts)
	if a == lose {
		return object.ListPage{}, injected("List", opts.Prefix, seq, a)
	}
	return page, err
}

// Capabilities implements [object.Store.Capabilities]. It is not a request.
func (s *Store) Capabilities() object.Capabilities { return s.st.Capabilities() }

// Close implements [object.Store.Close] by closing the wrapped store. It is
// not a request: it is neither numbered nor failed, armed or not, so that a
// test can release the store after a simulated crash.
func (s *Store) Close() error { return s.st.Close() }
