package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/nodb-go/nodb/repo/change"
	"github.com/nodb-go/nodb/repo/object"
)

// Asynchronous indexes (nodb:"index,async") are not maintained by writers:
// a Create of a model whose indexes are all async is one PUT. The indexer
// maintains them, one record at a time, from change events or a sweep.
//
// Writers record in a record's envelope the entries they wrote, so that the
// next write removes the stale ones. The indexer cannot write there (that
// would be a write of the record, racing the writers and feeding the
// indexer its own events), so it keeps its own account per record:
//
//	<model>/a/<E(key)>   {"nodb":1,"key":"...","index":{"City":{"v":"<vseg>","w":"<id>"}}}
//
// naming the async entries it wrote for the record. One pass over a record
// (indexOnce):
//
//  1. GET the state object (its version S; missing: none yet), then
//  2. GET the record (missing: deleted). Reading the record after the state
//     means a run that sees state S reads a record at least as new as the
//     one the run that wrote S read.
//  3. If the state's values equal the record's async values, stop: two GETs.
//  4. Else PUT entries for the values that changed, named with this run's
//     id (so no two runs share an entry object), then write the state with
//     If-Match S (If-None-Match "*" when there was none; a conditional
//     DELETE when the record is gone): the commit point. A failed condition
//     means another run committed meanwhile: delete this run's entries and
//     start again from 1.
//  5. After the commit, delete the entries of the old state that the new
//     one no longer names: they belonged to the run that wrote S, which can
//     no longer use them, and only the one run that replaced S deletes them.
//  6. GET the record again; if its async values moved meanwhile, start
//     again from 1. (A run that finds nothing to do commits nothing, so it
//     cannot fail a slower run that read the record before the write the
//     fast run was sent for; the slow run catches itself here.)
//
// So runs are idempotent, runs on one key converge (after the last commit
// its run saw the record hold what it committed, and the run of every
// later write's event sees that state), and the order and number of events
// do not matter, as long as every write's event reaches some run. A run that dies leaves entries
// no state names: readers verify every hit, and such leftovers are removed
// like a crashed writer's (by queries once older than the claim lease, and
// by Check).

// asyncState is the stored form of the indexer's account of one record.
type asyncState struct {
	NoDB  int                   `json:"nodb"`
	Key   string                `json:"key,omitempty"`
	Index map[string]asyncEntry `json:"index"`

	version string
}

// asyncEntry is one async index value of a record and the id in its entry's
// name ("" for a record segment too long to take one).
type asyncEntry struct {
	V string `json:"v"`
	W string `json:"w,omitempty"`
}

// asyncPrefix is the subtree of the indexer's state objects.
const asyncPrefix = "a/"

func (r *Repo[T]) asyncName(seg string) string { return r.base + asyncPrefix + seg }

// hasAsync reports whether the model has an async index.
func (m *model) hasAsync() bool {
	for i := range m.indexes {
		if m.indexes[i].async {
			return true
		}
	}
	return false
}

// indexerKept reports whether the index at pos is kept by the indexer, not
// by writers: Check does not count its missing entries (they are the
// indexer's lag) and does not write them.
func (m *model) indexerKept(pos int) bool { return m.indexes[pos].async }

// indexOutcome is what one indexer run did to a record's entries.
type indexOutcome int

const (
	indexUnchanged indexOutcome = iota // the entries matched
	indexChanged                       // entries written or removed
)

// errIndexRace is a failed commit of the state: another run committed.
// errIndexMoved: the record changed while a run committed its state.
var (
	errIndexRace  = errors.New("the indexer state changed meanwhile")
	errIndexMoved = errors.New("the record changed while it was indexed")
)

// indexSeg brings the async entries of record seg in line with its current
// state, again if another run commits meanwhile.
func (r *Repo[T]) indexSeg(ctx context.Context, seg string) (indexOutcome, error) {
	if !r.m.hasAsync() {
		return indexUnchanged, nil
	}
	changed := indexUnchanged
	for attempt := 0; ; attempt++ {
		out, err := r.indexOnce(ctx, seg)
		changed = max(changed, out)
		if errors.Is(err, errIndexMoved) && attempt < r.o.MaxRetries {
			continue // at once: the record is newer, not contended
		}
		if !errors.Is(err, errIndexRace) && !errors.Is(err, object.ErrConcurrentRequest) || attempt >= r.o.MaxRetries {
			return changed, err
		}
		r.backoff(ctx, attempt)
	}
}

// readAsync returns the indexer state of record seg, or nil if it has none.
func (r *Repo[T]) readAsync(ctx context.Context, seg string) (*asyncState, error) {
	obj, err := r.st.Get(ctx, r.asyncName(seg), object.GetOptions{})
	if errors.Is(err, object.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st := new(asyncState)
	if err := json.Unmarshal(obj.Body, st); err != nil || st.NoDB != envelopeVersion {
		// Not ours: start afresh over it (the entries it may name are
		// left for readers and Check as leftovers).
		st = &asyncState{NoDB: envelopeVersion}
	}
	st.version = obj.Version
	return st, nil
}

// asyncWant returns the async index values of the record stored as body.
func (r *Repo[T]) asyncWant(body []byte, name string) (key string, want map[string]string, err error) {
	v, env, err := r.decodeRecord(body, name)
	if err != nil {
		return "", nil, err
	}
	segs, err := r.indexOf(&v, nil)
	if err != nil {
		return env.Key, nil, errorf(ErrCorrupt, "record %s: %v", quote(env.Key), err)
	}
	want = map[string]string{}
	for sl := range r.m.slots(segs) {
		if r.m.indexes[sl.pos].async {
			want[sl.key] = sl.vseg // a list's elements each (list.go)
		}
	}
	return env.Key, want, nil
}

// indexOnce makes one pass of the protocol above over record seg.
func (r *Repo[T]) indexOnce(ctx context.Context, seg string) (indexOutcome, error) {
	old, err := r.readAsync(ctx, seg)
	if err != nil {
		return indexUnchanged, err
	}
	var key string
	want := map[string]string{}
	obj, err := r.st.Get(ctx, r.recordName(seg), object.GetOptions{})
	switch {
	case errors.Is(err, object.ErrNotFound):
	case err != nil:
		return indexUnchanged, err
	default:
		if key, want, err = r.asyncWant(obj.Body, obj.Key); err != nil {
			return indexUnchanged, err // unreadable: its entries are left alone
		}
	}
	var have map[string]asyncEntry
	if old != nil {
		have = old.Index
	}
	if same(have, want) && (old != nil || len(want) == 0) {
		return indexUnchanged, nil
	}
	run := newWriteID()
	next := make(map[string]asyncEntry, len(want))
	var mine []string // entries this run writes, named with its id
	var tasks []func(context.Context) error
	for name, v := range want {
		if e, ok := have[name]; ok && e.V == v {
			next[name] = e
			continue
		}
		id := entryWrite(seg, run)
		next[name] = asyncEntry{V: v, W: id}
		entry := r.entryName(stateIndex(name), v, seg, id)
		if id != "" {
			mine = append(mine, entry)
		}
		tasks = append(tasks, func(ctx context.Context) error {
			_, err := r.st.Put(ctx, entry, entryBody(run), object.PutOptions{})
			return err
		})
	}
	if err := r.parallel(ctx, tasks); err != nil {
		r.dropOwn(ctx, mine)
		return indexUnchanged, err
	}
	if err := r.commitAsync(ctx, seg, key, old, next); err != nil {
		if errors.Is(err, errIndexRace) || definite(err) {
			r.dropOwn(ctx, mine)
		}
		return indexUnchanged, err
	}
	var stale []string
	for name, e := range have {
		if n, ok := next[name]; ok && n == e {
			continue
		}
		if e.W == "" {
			if n, ok := next[name]; ok && n.V == e.V {
				continue // the same shared name goes on
			}
		}
		stale = append(stale, r.entryName(stateIndex(name), e.V, seg, e.W))
	}
	r.dropOwn(ctx, stale)
	// A run that found nothing to do commits nothing, so it cannot make a
	// concurrent run's commit fail: a run that read the record before a
	// write (or delete) could commit after the run of that write's event
	// found nothing to do. So a run that committed reads the record again,
	// and goes round again if its values moved meanwhile.
	obj, err = r.st.Get(ctx, r.recordName(seg), object.GetOptions{})
	now := map[string]string{}
	switch {
	case errors.Is(err, object.ErrNotFound):
	case err != nil:
		return indexChanged, err
	default:
		if _, now, err = r.asyncWant(obj.Body, obj.Key); err != nil {
			return indexChanged, err
		}
	}
	if !same(next, now) {
		return indexChanged, errIndexMoved
	}
	return indexChanged, nil
}

// same reports whether the state's entries hold exactly the values want.
func same(have map[string]asyncEntry, want map[string]string) bool {
	if len(have) != len(want) {
		return false
	}
	for name, v := range want {
		if have[name].V != v {
			return false
		}
	}
	return true
}

// commitAsync replaces the indexer state old (nil: none) of record seg by
// one naming next, conditionally on old's version. A failed condition is
// errIndexRace.
func (r *Repo[T]) commitAsync(ctx context.Context, seg, key string, old *asyncState, next map[string]asyncEntry) error {
	name := r.asyncName(seg)
	var err error
	switch {
	case len(next) == 0 && old == nil:
		return nil
	case len(next) == 0 && r.st.Capabilities().ConditionalDelete:
		err = r.st.Delete(ctx, name, object.DeleteOptions{IfMatch: old.version})
	default:
		// Without conditional deletes a record's state stays, empty, once
		// the record is gone: deleting it unconditionally could remove a
		// state that a run for a new record of the same key just wrote.
		body, merr := json.Marshal(&asyncState{NoDB: envelopeVersion, Key: key, Index: next})
		if merr != nil {
			return merr
		}
		opts := object.PutOptions{IfNoneMatch: "*"}
		if old != nil {
			opts = object.PutOptions{IfMatch: old.version}
		}
		_, err = r.st.Put(ctx, name, body, opts)
	}
	if errors.Is(err, object.ErrPrecondition) || errors.Is(err, object.ErrNotFound) && old != nil {
		return fmt.Errorf("%w: %v", errIndexRace, err)
	}
	return err
}

// dropOwn deletes entries by name, ignoring failures (they are leftovers
// for readers and Check).
func (r *Repo[T]) dropOwn(ctx context.Context, names []string) {
	tasks := make([]func(context.Context) error, len(names))
	for i, name := range names {
		tasks[i] = func(ctx context.Context) error { return r.deleteOwn(ctx, name) }
	}
	_ = r.parallel(context.WithoutCancel(ctx), tasks)
}

// IndexKey brings the asynchronous index entries of the record under key in
// line with its current state: it writes the entries of its values, and
// removes those of values it no longer holds (all of them if the record is
// gone). It is what Indexer does for one event, and is idempotent and safe
// beside other runs for the same key. It costs two GETs when nothing
// changed; otherwise one PUT per changed value, one PUT (or conditional
// DELETE) of the indexer's state object, one DELETE per stale entry and a
// third GET (the record again, to catch a write made meanwhile). A model
// without async indexes costs nothing.
func (r *Repo[T]) IndexKey(ctx context.Context, key any) error {
	text, seg, err := r.keySeg(key)
	if err != nil {
		return wrapErr("IndexKey", r.m.name, keyText(key), err)
	}
	_, err = r.indexSeg(ctx, seg)
	return wrapErr("IndexKey", r.m.name, text, err)
}

// Indexer returns a change handler that keeps the model's asynchronous
// indexes up to date: for an event naming one of its records, created or
// removed, it does what IndexKey does, whatever the event says (the record's
// current state decides). Events for other objects (index entries, claims,
// manifests, the indexer's own state objects, other models) are dropped
// without a request, so the indexer's own writes cannot feed it work. Feed
// it from S3 notifications (change.Parse), change.Notify or change.Webhook;
// lost events are caught up by SweepIndexes.
func (r *Repo[T]) Indexer() change.Handler {
	return func(ctx context.Context, e change.Event) error {
		seg, ok := r.recordSeg(e.Key)
		if !ok || !r.m.hasAsync() {
			return nil
		}
		_, err := r.indexSeg(ctx, seg)
		return wrapErr("Indexer", r.m.name, r.keyOfSeg(seg), err)
	}
}

// SweepOptions configure SweepIndexes.
type SweepOptions struct {
	// Cursor resumes a sweep after the record it names: pass the Cursor of
	// the report of an interrupted sweep. "" starts at the first record.
	Cursor string
	// Progress, when set, is called after each batch of records with the
	// report so far; its Cursor is where a new sweep would resume.
	Progress func(SweepReport)
}

// SweepReport says what a sweep did.
type SweepReport struct {
	// Records is the number of records (and states of deleted records)
	// looked at, Changed the number whose entries were written or removed.
	Records, Changed int
	// Cursor is an opaque position: the sweep has done every record up to
	// it. Pass it to SweepOptions.Cursor to resume.
	Cursor string
}

// sweepBatch is how many records a sweep handles at once, in parallel
// under Options.Concurrency, before it moves its cursor.
const sweepBatch = 256

// SweepIndexes brings the asynchronous index entries of every record up to
// date, as IndexKey does per record, and removes the entries of records
// deleted without the indexer hearing of it. Run it after events were lost
// (S3-compatible servers may lose notifications; Lambda may drop events
// under throttling), after adding an async index to a model with records,
// or on a schedule. Once a sweep has gone through every record, the
// model's async indexes that were not built are marked ready.
//
// It costs one LIST per 1000 records and per 1000 indexer states, and two
// GETs per record when nothing changed (the record and the indexer's state
// of it); a record whose entries changed costs what IndexKey says. It is
// resumable (SweepOptions.Cursor), safe beside writers and other indexer
// runs, and idempotent. A record that cannot be read or decoded is left
// alone with its entries; the sweep goes on and returns an error wrapping
// ErrCorrupt that names them.
func (r *Repo[T]) SweepIndexes(ctx context.Context, opts ...func(*SweepOptions)) (SweepReport, error) {
	var o SweepOptions
	for _, f := range opts {
		f(&o)
	}
	rep := SweepReport{Cursor: o.Cursor}
	if !r.m.hasAsync() {
		return rep, nil
	}
	if _, err := r.attach(ctx, false); err != nil {
		return rep, wrapErr("SweepIndexes", r.m.name, "", err)
	}
	var corrupt []error
	batch := make([]string, 0, sweepBatch)
	flush := func() error {
		outs := make([]indexOutcome, len(batch))
		errs := make([]error, len(batch))
		tasks := make([]func(context.Context) error, len(batch))
		for i, seg := range batch {
			tasks[i] = func(ctx context.Context) error {
				outs[i], errs[i] = r.indexSeg(ctx, seg)
				if errs[i] != nil && !errors.Is(errs[i], ErrCorrupt) {
					return errs[i]
				}
				return nil
			}
		}
		if err := r.parallel(ctx, tasks); err != nil {
			return err
		}
		for i := range batch {
			rep.Records++
			if outs[i] == indexChanged {
				rep.Changed++
			}
			if errs[i] != nil {
				corrupt = append(corrupt, wrapErr("SweepIndexes", r.m.name, r.keyOfSeg(batch[i]), errs[i]))
			}
		}
		rep.Cursor = batch[len(batch)-1]
		batch = batch[:0]
		if o.Progress != nil {
			o.Progress(rep)
		}
		return nil
	}
	for seg, err := range r.sweepSegs(ctx, o.Cursor) {
		if err != nil {
			return rep, wrapErr("SweepIndexes", r.m.name, "", err)
		}
		batch = append(batch, seg)
		if len(batch) == sweepBatch {
			if err := flush(); err != nil {
				return rep, wrapErr("SweepIndexes", r.m.name, "", err)
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return rep, wrapErr("SweepIndexes", r.m.name, "", err)
		}
	}
	if len(corrupt) > 0 {
		return rep, errors.Join(corrupt...)
	}
	return rep, wrapErr("SweepIndexes", r.m.name, "", r.markAsyncReady(ctx))
}

// markAsyncReady marks the model's async indexes that are building as
// ready, after a sweep went through every record.
func (r *Repo[T]) markAsyncReady(ctx context.Context) error {
	m, err := r.attach(ctx, false) // updateManifest rereads it if needed
	if err != nil {
		return err
	}
	todo := false
	for i := range r.m.indexes {
		if ix := &r.m.indexes[i]; ix.async && m.Indexes[ix.name].State == stateBuilding {
			todo = true
		}
	}
	if !todo {
		return nil
	}
	return r.updateManifest(ctx, func(m *manifest) error {
		for i := range r.m.indexes {
			ix := &r.m.indexes[i]
			if mi := m.Indexes[ix.name]; ix.async && mi.State == stateBuilding && indexChange(mi, r.describe(ix, stateReady)) == "" {
				m.Indexes[ix.name] = r.describe(ix, stateReady)
			}
		}
		return nil
	})
}

// sweepSegs yields, in byte order and after cursor, the segments of the
// records and of the indexer states (whose records may be gone): a merge
// of two listings.
func (r *Repo[T]) sweepSegs(ctx context.Context, cursor string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		startR, startA := "", ""
		if cursor != "" {
			startR, startA = r.base+"r/"+cursor, r.base+asyncPrefix+cursor
		}
		pr := r.base + "r/"
		pa := r.base + asyncPrefix
		nextR, stopR := iter.Pull2(object.All(ctx, r.st, pr, startR, 0))
		defer stopR()
		nextA, stopA := iter.Pull2(object.All(ctx, r.st, pa, startA, 0))
		defer stopA()
		pull := func(next func() (object.Info, error, bool), prefix string) (string, bool, error) {
			for {
				info, err, ok := next()
				if !ok || err != nil {
					return "", false, err
				}
				if seg := info.Key[len(prefix):]; seg != "" && !strings.Contains(seg, "/") {
					return seg, true, nil
				}
			}
		}
		a, okA, err := pull(nextA, pa)
		if err != nil {
			yield("", err)
			return
		}
		b, okB, err := pull(nextR, pr)
		if err != nil {
			yield("", err)
			return
		}
		for okA || okB {
			var seg string
			switch {
			case okA && (!okB || a < b):
				seg = a
				a, okA, err = pull(nextA, pa)
			case okB && (!okA || b < a):
				seg = b
				b, okB, err = pull(nextR, pr)
			default: // equal
				seg = a
				if a, okA, err = pull(nextA, pa); err == nil {
					b, okB, err = pull(nextR, pr)
				}
			}
			if !yield(seg, nil) {
				return
			}
			if err != nil {
				yield("", err)
				return
			}
		}
	}
}

// buildAsync runs a sweep if an async index of the model is not built
// (Reindex and Rebuild call it).
func (r *Repo[T]) buildAsync(ctx context.Context) error {
	if !r.m.hasAsync() {
		return nil
	}
	m, err := r.attach(ctx, true)
	if err != nil {
		return err
	}
	for i := range r.m.indexes {
		if ix := &r.m.indexes[i]; ix.async && m.Indexes[ix.name].State != stateReady {
			_, err := r.SweepIndexes(ctx)
			return err
		}
	}
	return nil
}
