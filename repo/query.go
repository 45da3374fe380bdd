package repo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"iter"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo/object"
)

// Queries list index entries (or records) with LIST and fetch the records
// they name with GETs issued in parallel, at most Options.Concurrency at
// once, yielding results in listing order. Every hit is verified against the
// record it names, so leftovers of interrupted writes are never returned.
//
// The sequences returned by All, Find and Range can be ranged over more than
// once; each range queries afresh. Breaking out of a loop early cancels the
// requests in flight; up to Options.Concurrency records beyond the last one
// yielded may have been fetched.
//
// Errors: a record that exists but cannot be decoded (a value the model
// cannot read, a record written by a newer schema version, an object that is
// not a NoDB record) is an error for that record only: the sequence yields
// (zero value, err) for it, where errors.Is(err, ErrCorrupt) holds and the
// message names the key and the record's schema version, and goes on with
// the records after it. Any other failure (a failed LIST or GET, a cancelled
// context) ends the query: it is yielded once and the sequence stops,
// whatever yield returns. (Before, every error ended the sequence, so one
// undecodable record hid all the records after it.) Paged calls put the
// undecodable records of a page in Page.Errors instead.

// Page is one page of results of a paged query.
type Page[T any] struct {
	// Items are the results, in the query's order. An empty page has an
	// empty, non-nil Items, which marshals to JSON as [].
	Items []T
	// Next is an opaque cursor for the following page, or "" when there are
	// no more results. A non-empty Next may lead to an empty last page.
	Next string
	// Errors has one error for each record in the page's range that
	// exists but cannot be decoded; errors.Is(err, ErrCorrupt) holds and
	// each is an *Error whose Key names the record. Such records do not
	// count towards the page's limit, and Next leads past them. Errors is
	// not marshalled to JSON.
	Errors []error `json:"-"`
}

func fieldValue[T any](v *T, ix *indexDef) reflect.Value {
	if d, ok := any(v).(*dynamic.Doc); ok {
		return dynFieldValue(d, &ix.field)
	}
	return reflect.ValueOf(v).Elem().FieldByIndex(ix.index)
}

// index returns the index on field, or an error naming what is wrong.
func (r *Repo[T]) index(field string) (*indexDef, error) {
	i, ok := r.m.byField[field]
	if !ok {
		if _, ok := r.m.typ.FieldByName(field); ok || field == r.m.key.name {
			return nil, invalidf("field %s of model %s is not indexed (tag it nodb:\"index\" or nodb:\"unique\")", field, r.m.name)
		}
		return nil, invalidf("model %s has no field %s", r.m.name, field)
	}
	return &r.m.indexes[i], nil
}

// eqSegment returns the index segment of a query value.
func (r *Repo[T]) eqSegment(ix *indexDef, value any) (string, reflect.Value, error) {
	fv, err := ix.valueArg(value)
	if err != nil {
		return "", fv, err
	}
	if ix.sparse && ix.isZero(fv) {
		return "", fv, invalidf("index %s is omitempty: zero values are not indexed, so they cannot be queried", ix.name)
	}
	seg, err := ix.valueSegment(fv)
	if err != nil {
		return "", fv, invalidf("%v", err)
	}
	return seg, fv, nil
}

// query is a prepared LIST over index entries or records.
type query[T any] struct {
	op         string
	prefix     string // what to list
	startAfter string
	// stop reports, for a listed key (after prefix), that the scan is past
	// its end.
	stop func(rest string) bool
	// seg returns the record segment a listed key names.
	seg func(rest string) string
	// keep verifies a fetched record against the key it was listed under
	// (after prefix).
	keep func(v *T, rest string) (bool, error)
	// holds reports, for an index query, whether the fetched record v
	// holds the value of the entry listed under rest; an entry whose record
	// does not (or does not exist) is a leftover. nil for record listings.
	holds func(v *T, rest string) bool
	// fingerprint ties cursors to the query.
	fingerprint string
	// keys, if set, lists the query's keys instead of a LIST of prefix
	// (a Find on a unique index reads its one claim: see unique.go).
	keys func(ctx context.Context, startAfter string, pageSize int) iter.Seq2[object.Info, error]
	// owner, if set, reads a listed claim and returns the segment of the
	// record it names ("" for none) instead of seg.
	owner func(ctx context.Context, key string) (string, error)
	// skip reports, for a listed key (after prefix), that it names no
	// result, so that no GET is made for it (a value outside the range,
	// a record missing from another condition's listing). nil: none.
	skip func(rest string) bool
	// match checks a fetched record against the query's condition
	// wherever the record was listed: for a condition intersected into
	// another query's plan (see Query). nil for queries that never are.
	match func(v *T) (bool, error)
	// fullPages lists in pages of 1000 even with a limit: the listing
	// holds many keys that are no result (an intersection's).
	fullPages bool
	// groups, with reverse, reverses the order of the value groups of an
	// index scan only: keys stay ascending within one value.
	groups bool
	// reverse lists the range in full, then yields it in descending byte
	// order (see listing); a cursor is then an upper bound.
	reverse bool
	// multi: a scan over a list index, which may list one record under
	// several values (list.go).
	multi bool
}

// Find returns the records whose field equals value, in key order. field is
// a Go field name tagged index or unique. It costs ceil(entries/1000) LIST
// requests and one GET per result.
func (r *Repo[T]) Find(ctx context.Context, field string, value any) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		q, err := r.findQuery(ctx, field, value)
		if err != nil {
			var zero T
			yield(zero, wrapErr("Find", r.m.name, "", err))
			return
		}
		r.runCached(ctx, q, yield)
	}
}

// FindPage returns up to limit results of Find, starting after cursor ("" for
// the first page), and the cursor of the next page.
func (r *Repo[T]) FindPage(ctx context.Context, field string, value any, cursor string, limit int) (Page[T], error) {
	q, err := r.findQuery(ctx, field, value)
	if err != nil {
		return Page[T]{}, wrapErr("FindPage", r.m.name, "", err)
	}
	q.op = "FindPage"
	return r.page(ctx, q, cursor, limit)
}

func (r *Repo[T]) findQuery(ctx context.Context, field string, value any) (*query[T], error) {
	ix, err := r.index(field)
	if err != nil {
		return nil, err
	}
	vseg, _, err := r.eqSegment(ix, value)
	if err != nil {
		return nil, err
	}
	if err := r.ready(ctx, ix); err != nil {
		return nil, err
	}
	q := r.eqQuery(ix, vseg)
	if ix.unique {
		return r.uniqueFind(q, ix, vseg), nil
	}
	return q, nil
}

// eqQuery is the query of the entries of index ix under value segment
// vseg: Find's, and the query builder's Where.
func (r *Repo[T]) eqQuery(ix *indexDef, vseg string) *query[T] {
	pos := r.m.byField[ix.name]
	return &query[T]{
		op:     "Find",
		prefix: r.base + "i/" + ix.name + "/" + vseg + "/",
		seg:    entrySeg,
		keep: func(v *T, _ string) (bool, error) {
			segs, err := r.indexOf(v, nil)
			return err == nil && hasSeg(segs[pos], vseg), err
		},
		holds: func(v *T, _ string) bool {
			segs, err := r.indexOf(v, nil)
			return err != nil || hasSeg(segs[pos], vseg)
		},
		fingerprint: "find/" + ix.name + "/" + vseg,
	}
}

// Range returns the records whose field lies between lo and hi inclusive, in
// the order of the field's values, then of keys. field is a Go field name
// tagged index or unique, of an ordered kind (not bool). It costs
// ceil(entries/1000) LIST requests and one GET per result. Strings order by
// their bytes; strings (and TextMarshaler texts) longer than 160 bytes are
// ordered by their first 160 bytes only, though membership is exact.
func (r *Repo[T]) Range(ctx context.Context, field string, lo, hi any) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		q, err := r.rangeQuery(ctx, field, lo, hi)
		if err != nil {
			var zero T
			yield(zero, wrapErr("Range", r.m.name, "", err))
			return
		}
		r.runCached(ctx, q, yield)
	}
}

// RangePage returns up to limit results of Range, starting after cursor (""
// for the first page), and the cursor of the next page.
func (r *Repo[T]) RangePage(ctx context.Context, field string, lo, hi any, cursor string, limit int) (Page[T], error) {
	q, err := r.rangeQuery(ctx, field, lo, hi)
	if err != nil {
		return Page[T]{}, wrapErr("RangePage", r.m.name, "", err)
	}
	q.op = "RangePage"
	return r.page(ctx, q, cursor, limit)
}

func (r *Repo[T]) rangeQuery(ctx context.Context, field string, lo, hi any) (*query[T], error) {
	ix, err := r.index(field)
	if err != nil {
		return nil, err
	}
	if !ix.kind.ordered() {
		return nil, invalidf("field %s is a %s: Range needs an ordered kind (use Find)", ix.name, ix.kind)
	}
	bound := func(x any) ([]byte, error) {
		fv, err := ix.valueArg(x)
		if err != nil {
			return nil, err
		}
		return orderedBytes(ix.kind, fv)
	}
	loB, err := bound(lo)
	if err != nil {
		return nil, err
	}
	hiB, err := bound(hi)
	if err != nil {
		return nil, err
	}
	if err := r.ready(ctx, ix); err != nil {
		return nil, err
	}
	q := r.scanQuery(ix, scanBounds{lo: loB, hi: hiB}, false, "Range", "range")
	if ix.unique && r.claimsOnly(ix) {
		return r.uniqueRange(q, ix), nil
	}
	return q, nil
}

// All returns every record of the model in key order (digest order with
// HashKeys). It costs ceil(records/1000) LIST requests and one GET per record.
func (r *Repo[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		r.run(ctx, r.allQuery(), "", 0, r.o.Concurrency, yieldTo(yield), func(err error) { var zero T; yield(zero, err) })
	}
}

// AllPage returns up to limit records in key order, starting after cursor
// ("" for the first page), and the cursor of the next page.
func (r *Repo[T]) AllPage(ctx context.Context, cursor string, limit int) (Page[T], error) {
	q := r.allQuery()
	q.op = "AllPage"
	return r.page(ctx, q, cursor, limit)
}

func (r *Repo[T]) allQuery() *query[T] {
	return &query[T]{
		op:          "All",
		prefix:      r.base + "r/",
		seg:         func(rest string) string { return rest },
		fingerprint: "all",
	}
}

// Count returns the number of records, from LIST requests alone
// (ceil(records/1000) of them).
func (r *Repo[T]) Count(ctx context.Context) (int, error) {
	n, err := r.countKeys(ctx, r.base+"r/", false)
	return n, wrapErr("Count", r.m.name, "", err)
}

// countKeys counts the objects under prefix with LIST requests alone; with
// entries set, the entries of one record count once.
func (r *Repo[T]) countKeys(ctx context.Context, prefix string, entries bool) (int, error) {
	n, last := 0, ""
	for info, err := range object.All(ctx, r.st, prefix, "", 0) {
		if err != nil {
			return 0, err
		}
		if entries {
			e := entryOf(info.Key[len(prefix):])
			if e == last {
				continue
			}
			last = e
		}
		n++
	}
	return n, nil
}

// CountBy returns the number of records whose field equals value, from the
// index's entries alone: ceil(entries/1000) LIST requests and no GET. Writes
// that fail remove their entries before they return, so the count is exact
// unless a writer died (or lost its connection) between writing an entry
// and committing its record, less than Options.ClaimLease ago or without a
// query having met the entry since: such a leftover counts until Find,
// Range or Check removes it. On a store without conditional deletes (see
// object.Capabilities) a Delete is unconditional, so one racing another
// write of the same record can delete that write's record and leave its
// entries, which count the same way. Find counts exactly, at one GET per
// record.
func (r *Repo[T]) CountBy(ctx context.Context, field string, value any) (int, error) {
	q, err := r.findQuery(ctx, field, value)
	if err != nil {
		return 0, wrapErr("CountBy", r.m.name, "", err)
	}
	if q.owner != nil { // a unique index: its claim and record, 2 GETs
		n, err := r.countFound(ctx, q)
		return n, wrapErr("CountBy", r.m.name, "", err)
	}
	n, err := r.countKeys(ctx, q.prefix, true)
	return n, wrapErr("CountBy", r.m.name, "", err)
}

// GetBy returns the record whose unique field equals value. It costs two
// GET requests: the claim on the value, then the record it names. No record
// holding the value is an error for which errors.Is(err, ErrNotFound) holds.
func (r *Repo[T]) GetBy(ctx context.Context, field string, value any) (T, error) {
	var zero T
	ix, err := r.index(field)
	if err != nil {
		return zero, wrapErr("GetBy", r.m.name, "", err)
	}
	if !ix.unique {
		return zero, wrapErr("GetBy", r.m.name, "", invalidf("field %s is not unique: GetBy needs nodb:\"unique\" (use Find)", ix.name))
	}
	vseg, fv, err := r.eqSegment(ix, value)
	if err != nil {
		return zero, wrapErr("GetBy", r.m.name, "", err)
	}
	if err := r.ready(ctx, ix); err != nil {
		return zero, wrapErr("GetBy", r.m.name, "", err)
	}
	notFound := errorf(ErrNotFound, "no record has %s %s", ix.name, showValue(fv))
	seg, ownerKey, err := r.claimOwnerCached(ctx, r.claimName(ix.name, vseg))
	if err != nil {
		return zero, wrapErr("GetBy", r.m.name, "", err)
	}
	if seg == "" {
		return zero, wrapErr("GetBy", r.m.name, "", notFound)
	}
	owner := claimBody{Seg: seg, Key: ownerKey}
	v, _, err := r.read(ctx, owner.Seg)
	if errors.Is(err, object.ErrNotFound) || err == nil && r.expired(&v) {
		return zero, wrapErr("GetBy", r.m.name, "", notFound)
	}
	if err != nil {
		return zero, wrapErr("GetBy", r.m.name, owner.Key, err)
	}
	segs, err := r.indexOf(&v, nil)
	if err != nil {
		return zero, wrapErr("GetBy", r.m.name, owner.Key, err)
	}
	if segs[r.m.byField[ix.name]] != vseg {
		return zero, wrapErr("GetBy", r.m.name, "", notFound) // a leftover claim
	}
	return v, nil
}

// --- running queries ---

// yieldTo adapts yield to run's emit: results and per-record errors go to
// yield alike.
func yieldTo[T any](yield func(T, error) bool) func(T, string, error) bool {
	return func(v T, _ string, err error) bool { return yield(v, err) }
}

// recordError reports whether err, met fetching or verifying one record,
// concerns that record only (the query goes on) rather than the query.
func recordError(err error) bool {
	return errors.Is(err, ErrCorrupt) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// run lists q from startAfter (or q.startAfter), fetches and verifies the
// records, and passes them to emit in order with the key they were listed
// under, until emit returns false, limit results (0: no limit) were emitted,
// or the listing ends. A record that cannot be decoded goes to emit too, as
// a zero value and an error naming its key (see recordError); it does not
// count towards limit. Errors that end the query go to fail.
//
// Three steps run at once: list lists and starts a fetch per hit, at most
// window at a time; fetch reads and verifies one record; deliver passes the
// results on in listing order.
func (r *Repo[T]) run(ctx context.Context, q *query[T], startAfter string, limit, window int, emit func(T, string, error) bool, fail func(error)) {
	ctx, cancel := context.WithCancel(ctx)
	qr := &queryRun[T]{
		r: r, q: q, limit: limit,
		results: make(chan *hit[T], window),
		sem:     make(chan struct{}, window),
		more:    make(chan struct{}, 1),
	}
	defer func() {
		cancel()
		for range qr.results { // let list finish
		}
		qr.wg.Wait()
	}()
	go qr.list(ctx, startAfter)
	qr.deliver(ctx, emit, fail)
}

// queryRun is one execution of a query.
type queryRun[T any] struct {
	r     *Repo[T]
	q     *query[T]
	limit int

	results chan *hit[T]  // in listing order
	sem     chan struct{} // bounds the fetches in flight
	wg      sync.WaitGroup
	// With a limit, list starts no more fetches than can still be needed:
	// limit, plus one for every hit that verification dropped.
	dropped atomic.Int64
	more    chan struct{}
}

// hit is one listed key and, once done is closed, its fetched record.
type hit[T any] struct {
	v    T
	key  string
	ok   bool // verified: pass it on
	held bool // holds a slot of sem
	err  error
	done chan struct{}
}

// list lists the query's keys and starts a fetch for each record to read.
func (qr *queryRun[T]) list(ctx context.Context, startAfter string) {
	defer close(qr.results)
	q := qr.q
	pageSize, launched := 0, 0
	lastEntry := ""
	if qr.limit > 0 && !q.fullPages {
		pageSize = min(qr.limit, object.MaxPageSize)
	}
	listing := qr.r.listing(ctx, q, startAfter, pageSize)
	if q.keys != nil {
		listing = q.keys(ctx, startAfter, pageSize)
	}
	for info, err := range listing {
		h := &hit[T]{done: make(chan struct{})}
		if err != nil {
			h.err = err
			close(h.done)
			select {
			case qr.results <- h:
			case <-ctx.Done():
			}
			return
		}
		rest := info.Key[len(q.prefix):]
		if !q.reverse && q.stop != nil && q.stop(rest) {
			return
		}
		if q.skip != nil && q.skip(rest) {
			continue
		}
		if q.holds != nil {
			// Entries of one record under one value list together (one
			// per write that left one): fetch the record once.
			entry := entryOf(rest)
			if entry == lastEntry {
				continue
			}
			lastEntry = entry
		}
		h.key = info.Key
		launched++
		select {
		case qr.sem <- struct{}{}:
			h.held = true
		case <-ctx.Done():
			return
		}
		qr.wg.Add(1)
		go qr.fetch(ctx, h, info, q.seg(rest), rest)
		select {
		case qr.results <- h:
		case <-ctx.Done():
			return
		}
		// Wait here, before the listing asks for another page.
		for qr.limit > 0 && launched-int(qr.dropped.Load()) >= qr.limit {
			select {
			case <-qr.more:
			case <-ctx.Done():
				return
			}
		}
	}
}

// fetch reads the record with segment seg that the listed info names and
// verifies it against the key it was listed under; an index entry that the
// record does not back is a leftover, removed if old enough.
func (qr *queryRun[T]) fetch(ctx context.Context, h *hit[T], info object.Info, seg, rest string) {
	defer qr.wg.Done()
	defer close(h.done)
	r, q := qr.r, qr.q
	if q.owner != nil {
		var err error
		if seg, err = q.owner(ctx, info.Key); err != nil || seg == "" {
			h.err = err
			return
		}
	}
	v, _, err := r.read(ctx, seg)
	if err == nil && r.expired(&v) {
		return // expired: no result, and no proof that the entry is a leftover
	}
	switch {
	case errors.Is(err, object.ErrNotFound):
		if q.holds != nil {
			r.dropLeftover(ctx, info)
		}
	case err != nil:
		h.err = err
	case q.keep == nil:
		h.v, h.ok = v, true
	default:
		h.ok, h.err = q.keep(&v, rest)
		if h.err != nil {
			// The record decodes but its indexed values do not (a
			// TextMarshaler failing, say): its problem only.
			text, _, _ := r.keyOf(&v)
			h.err = &corruptRecord{key: text, err: errorf(ErrCorrupt, "record %s: %v", quote(text), h.err)}
		}
		h.v = v
		if !h.ok && h.err == nil && q.holds != nil && !q.holds(&v, rest) {
			r.dropLeftover(ctx, info)
		}
	}
}

// skipped tells list that a hit gave no result, so it may start one more.
func (qr *queryRun[T]) skipped() {
	qr.dropped.Add(1)
	select {
	case qr.more <- struct{}{}:
	default:
	}
}

// deliver passes the fetched records to emit in listing order.
func (qr *queryRun[T]) deliver(ctx context.Context, emit func(T, string, error) bool, fail func(error)) {
	r, q := qr.r, qr.q
	n := 0
	for h := range qr.results {
		<-h.done
		if h.held {
			<-qr.sem
		}
		if h.err != nil && recordError(h.err) && ctx.Err() == nil {
			qr.skipped()
			var zero T
			if !emit(zero, h.key, wrapErr(q.op, r.m.name, corruptKey(h.err), h.err)) {
				return
			}
			continue
		}
		if h.err != nil {
			if ctx.Err() == nil || errors.Is(h.err, context.Canceled) || errors.Is(h.err, context.DeadlineExceeded) {
				fail(wrapErr(q.op, r.m.name, "", h.err))
			}
			return
		}
		if !h.ok {
			qr.skipped()
			continue
		}
		if !emit(h.v, h.key, nil) {
			return
		}
		if n++; qr.limit > 0 && n >= qr.limit {
			return
		}
	}
}

type cursorData struct {
	After string `json:"a"`
	Query string `json:"q"`
}

// page runs q for one page.
func (r *Repo[T]) page(ctx context.Context, q *query[T], cursor string, limit int) (Page[T], error) {
	if limit <= 0 {
		return Page[T]{}, wrapErr(q.op, r.m.name, "", invalidf("limit %d: want a positive page size", limit))
	}
	startAfter := ""
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		var c cursorData
		if err == nil {
			err = json.Unmarshal(raw, &c)
		}
		if err != nil || c.Query != q.fingerprint || !strings.HasPrefix(c.After, q.prefix) {
			return Page[T]{}, wrapErr(q.op, r.m.name, "", invalidf("cursor %s is not a cursor of this query", quote(cursor)))
		}
		startAfter = c.After
	}
	p := Page[T]{Items: make([]T, 0, min(limit, 64))}
	var last string
	var failed error
	r.run(ctx, q, startAfter, limit, min(limit, r.o.Concurrency), func(v T, key string, err error) bool {
		if err != nil {
			p.Errors = append(p.Errors, err)
		} else {
			p.Items = append(p.Items, v)
		}
		last = key
		switch {
		case q.holds != nil && q.reverse && !q.groups:
			// Resume below every entry of this record under this value.
			last = q.prefix + entryOf(key[len(q.prefix):])
		case q.holds != nil:
			// Resume after every entry of this record under this value.
			last = q.prefix + entryOf(key[len(q.prefix):]) + entryWriteSep + "~"
		}
		return true
	}, func(err error) { failed = err })
	if failed != nil {
		return Page[T]{}, failed
	}
	if len(p.Items) == limit {
		b, _ := json.Marshal(cursorData{After: last, Query: q.fingerprint})
		p.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	return p, nil
}

// entryOf returns the part of a listed entry name (after a query's prefix)
// that names the record and value, without the write id: the entries of
// one record under one value share it.
func entryOf(rest string) string {
	if i := strings.Index(rest, entryWriteSep); i >= 0 {
		return rest[:i]
	}
	return rest
}

// dropLeftover deletes an index entry that a query met and found not backed
// by its record, if it is older than Options.ClaimLease by the store's
// clock: a leftover of a write that failed without cleaning up (a crash),
// whose writer is past its lease. An entry named with its write id is
// deleted by name; an older-style entry only if it is still the listed
// version, where the store deletes conditionally. Failures are ignored:
// Check removes what is left.
func (r *Repo[T]) dropLeftover(ctx context.Context, info object.Info) {
	if info.LastModified.IsZero() || !info.LastModified.Add(r.o.ClaimLease).Before(r.storeNow()) {
		return
	}
	_, _, _, write, ok := splitEntry(info.Key[len(r.base+"i/"):])
	switch {
	case !ok:
	case write != "":
		_ = r.deleteOwn(ctx, info.Key)
	case r.st.Capabilities().ConditionalDelete:
		_ = r.deleteIfMatch(ctx, info.Key, info.Version)
	}
}
