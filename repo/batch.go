package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Batches: many independent operations of one kind, at most
// Options.Concurrency items in flight, each item exactly the operation it
// stands for (Get, Create, Put), with the same requests and the same three
// outcomes. A batch is not a transaction: items succeed or fail on their
// own, and the error says which did what.

// BatchError reports the items of a batch call that did not succeed. Items
// not listed succeeded. It unwraps to every item's error, so
// errors.Is(err, ErrNotFound) holds if any item was missing.
type BatchError struct {
	// Op is the batch call ("GetMany", "CreateMany", "PutMany"), Model the
	// model, Total the number of items in the call.
	Op, Model string
	Total     int
	// Items lists the items that did not succeed, in the order of the call.
	Items []BatchItemError
}

// BatchItemError is one item of a batch that did not succeed.
type BatchItemError struct {
	// Index is the item's position in the call's slice, Key its key as text
	// ("" if the key itself was not usable).
	Index int
	Key   string
	// Err is the error the single call would have returned (Get, Create,
	// Put). errors.Is(Err, ErrOutcomeUnknown) holds for a write that may or
	// may not have landed: read the record before writing it again.
	Err error
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "repo: %s %s: %d of %d items failed", e.Op, e.Model, len(e.Items), e.Total)
	if n := len(e.Unknown()); n > 0 {
		fmt.Fprintf(&b, " (%d with an unknown outcome)", n)
	}
	for i, it := range e.Items {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Items)-3)
			break
		}
		fmt.Fprintf(&b, "; item %d: %v", it.Index, it.Err)
	}
	return b.String()
}

// Unwrap returns the items' errors.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Items))
	for i, it := range e.Items {
		errs[i] = it.Err
	}
	return errs
}

// Failed returns the positions of the items that certainly did not
// succeed: a write that stored nothing (and removed what it wrote), or a
// read that failed. Writing them again is safe.
func (e *BatchError) Failed() []int {
	var out []int
	for _, it := range e.Items {
		if !errors.Is(it.Err, ErrOutcomeUnknown) {
			out = append(out, it.Index)
		}
	}
	return out
}

// Unknown returns the positions of the writes whose outcome is unknown:
// each may or may not have landed (see ErrOutcomeUnknown).
func (e *BatchError) Unknown() []int {
	var out []int
	for _, it := range e.Items {
		if errors.Is(it.Err, ErrOutcomeUnknown) {
			out = append(out, it.Index)
		}
	}
	return out
}

// batch runs do(ctx, i) for i in [0, n) with at most Options.Concurrency
// at once, and returns a *BatchError for those that failed, or nil. An
// item not started when ctx ends fails with ctx's error, certainly: none
// of its requests was sent.
func (r *Repo[T]) batch(ctx context.Context, op string, n int, key func(i int) string, do func(ctx context.Context, i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, r.o.Concurrency)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			errs[i] = wrapErr(op, r.m.name, key(i), err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = do(ctx, i)
		}()
	}
	wg.Wait()
	var be *BatchError
	for i, err := range errs {
		if err == nil {
			continue
		}
		if be == nil {
			be = &BatchError{Op: op, Model: r.m.name, Total: n}
		}
		be.Items = append(be.Items, BatchItemError{Index: i, Key: key(i), Err: err})
	}
	if be == nil {
		return nil
	}
	return be
}

// GetMany returns the values stored under keys, in the order of keys: one
// GET per key, at most Options.Concurrency at once. If some items fail (a
// missing key is ErrNotFound, as for Get), the values of the others are
// still returned, the failed ones are zero values, and the error is a
// *BatchError naming each failed item.
func (r *Repo[T]) GetMany(ctx context.Context, keys []any) ([]T, error) {
	out := make([]T, len(keys))
	err := r.batch(ctx, "GetMany", len(keys), func(i int) string { return keyText(keys[i]) }, func(ctx context.Context, i int) error {
		v, err := r.Get(ctx, keys[i])
		out[i] = v
		return err
	})
	return out, err
}

// CreateMany creates each value of vs as Create does (ErrExists for a key
// that exists, ErrUnique for a held unique value), at most
// Options.Concurrency items at once. The items are independent: the error
// is a *BatchError naming each item that did not succeed, and says which
// of those certainly stored nothing (Failed) and which may have landed
// (Unknown). Each item costs what Create costs: k+1 PUTs for k indexed
// fields, in 2 rounds, and the items' rounds overlap.
func (r *Repo[T]) CreateMany(ctx context.Context, vs []T) error {
	return r.batch(ctx, "CreateMany", len(vs), func(i int) string { return r.textOf(&vs[i]) }, func(ctx context.Context, i int) error {
		return r.Create(ctx, vs[i])
	})
}

// PutMany stores each value of vs as Put does (an upsert), at most
// Options.Concurrency items at once, and reports the items that did not
// succeed as CreateMany does. Each item costs what Put costs: a record
// this Repo does not know is read first (one GET).
func (r *Repo[T]) PutMany(ctx context.Context, vs []T) error {
	return r.batch(ctx, "PutMany", len(vs), func(i int) string { return r.textOf(&vs[i]) }, func(ctx context.Context, i int) error {
		return r.Put(ctx, vs[i])
	})
}

// textOf is v's key as text, "" if it has none usable.
func (r *Repo[T]) textOf(v *T) string {
	text, _, err := r.keyOf(v)
	if err != nil {
		return ""
	}
	return text
}
