package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/nodb-go/nodb/repo/object"
)

// Model changes: what the manifest records of a model, how a Repo tells
// what differs, and the calls that bring the store in line (Reindex,
// Rebuild, Migrate, DropIndex).

// jsonName returns the member name encoding/json gives the field at index
// in t, or "" if json:"-" leaves it out.
func jsonName(t reflect.Type, index []int) string {
	f := t.FieldByIndex(index)
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

// fields describes the stored fields of the model, sorted by Go name.
func (r *Repo[T]) fields() []manifestField {
	if r.m.dyn != nil {
		return r.m.dyn.fields
	}
	skip := map[string]bool{}
	for _, idx := range r.m.skip {
		skip[fmt.Sprint(idx)] = true
	}
	var out []manifestField
	for _, f := range reflect.VisibleFields(r.m.typ) {
		if !f.IsExported() || skip[fmt.Sprint(f.Index)] {
			continue
		}
		name := jsonName(r.m.typ, f.Index)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if name == "" || f.Anonymous && ft.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			continue // left out, or flattened into its parent
		}
		kind := kindOf(f.Type).String()
		if kindOf(f.Type) == kindInvalid {
			kind = f.Type.Kind().String()
		}
		out = append(out, manifestField{Field: f.Name, JSON: name, Kind: kind})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// indexChange says, in words for an error, why an index recorded as have
// does not match the model's index want, or "" if it does.
func indexChange(have, want manifestIndex) string {
	switch {
	case have.State == stateRemoved || have.State == stateDropped:
		return "it was removed from the model and added back, so its entries are not trusted"
	case have.Kind != want.Kind:
		return fmt.Sprintf("its kind changed from %s to %s", have.Kind, want.Kind)
	case have.JSON != "" && have.JSON != want.JSON:
		return fmt.Sprintf("its field is now stored as %q; the index was built from %q", want.JSON, have.JSON)
	case have.Unique && !want.Unique:
		return "it is no longer unique"
	case !have.Unique && want.Unique:
		return "it was made unique"
	case have.Sparse != want.Sparse:
		return "its omitempty option changed"
	case have.Async && !want.Async:
		return "it is no longer async, so writers must track its entries"
	case have.Desc != want.Desc:
		return "its desc option changed"
	case have.List != want.List && want.List:
		return "its field became a list"
	case have.List != want.List:
		return "its field is no longer a list"
	}
	return ""
}

// updateManifest applies fn to the current manifest and writes it back,
// conditionally, again if another writer changed it meanwhile.
func (r *Repo[T]) updateManifest(ctx context.Context, fn func(m *manifest) error) error {
	if _, err := r.attach(ctx, false); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		m, err := r.readManifest(ctx)
		if err != nil {
			return err
		}
		if m == nil {
			return fmt.Errorf("manifest %s disappeared", r.manifestName())
		}
		if err := fn(m); err != nil {
			return err
		}
		err = r.writeManifest(ctx, m, object.PutOptions{IfMatch: m.version})
		if err == nil {
			r.attachMu.Lock()
			r.man = m
			r.attachMu.Unlock()
			return nil
		}
		if !errors.Is(err, object.ErrPrecondition) && !errors.Is(err, object.ErrConcurrentRequest) || attempt >= r.o.MaxRetries {
			return err
		}
		r.backoff(ctx, attempt)
	}
}

// quoteCapped quotes s for a message, cut to 64 bytes.
func quoteCapped(s string) string {
	const max = 64
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}

// showCapped shows a field value for a message, cut like quoteCapped.
func showCapped(fv reflect.Value) string {
	if fv.Kind() == reflect.String {
		return quoteCapped(fv.String())
	}
	s := fmt.Sprint(fv.Interface())
	if q := quoteCapped(s); len(q) < len(s) {
		return q
	}
	return s
}

// joinList joins items for a message.
func joinList(items []string) string { return strings.Join(items, "; ") }

// recordLabel names a record object in reports: its key if the envelope can
// be read, else its segment.
func (r *Repo[T]) recordLabel(ctx context.Context, seg string) string {
	if obj, err := r.st.Get(ctx, r.recordName(seg), object.GetOptions{}); err == nil {
		if env, err := decodeEnvelope(obj.Body); err == nil {
			return fmt.Sprintf("%s (schema version %d)", quoteCapped(env.Key), env.Schema)
		}
	}
	return quoteCapped(seg)
}

// rewriteErr re-labels an error of Update with the maintenance op.
func rewriteErr(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Op = op
		return &c
	}
	return err
}

// rewrite writes the record v back unchanged through Update, which reads
// (and so upgrades) it, writes the current schema version, maintains its
// index entries and claims, and retries if a writer changed it meanwhile.
// The returned value is the one stored.
func (r *Repo[T]) rewrite(ctx context.Context, v *T) (T, error) {
	key := fieldValue(v, &indexDef{field: r.m.key}).Interface()
	return r.Update(ctx, key, func(*T) error { return nil })
}

// --- Reindex and Rebuild ---

// Reindex builds every index that is not ready: indexes added to a model
// that had records, indexes whose kind, JSON name, unique or omitempty
// option changed, indexes removed and added back, and indexes Rebuild asked
// for. Queries on such an index fail with ErrNotBuilt until it is built.
//
// Reindex reads every record (upgrading old ones in memory), writes the
// entries and claims it lacks, and rewrites the record with If-Match on its
// version so that it tracks them (later writes then remove them when the
// value changes); the stored value and its schema version are kept, so an
// older program still running can go on reading it. An index that may hold
// entries that do not match the model (a changed or re-added one) is also
// listed in full, and its wrong entries and claims are deleted once the
// record they name has been rewritten, so that no concurrent writer's entry
// is lost. Reindex is safe beside live writers, idempotent, and resumable:
// the progress of a new index is saved in the manifest, so an interrupted
// Reindex continues where it stopped.
//
// It costs one LIST per 1000 records and one GET per record, and per record
// that needs it one PUT per missing entry or claim plus one PUT of the
// record; a changed index adds its LISTs and one GET per claim. Async
// indexes that are not built are built by SweepIndexes, which Reindex runs.
//
// Reindex finishes even when some records fail: a record it cannot read or
// decode is left alone with its entries and claims, and listed in an error
// wrapping ErrCorrupt (naming its key and schema version); values of a new
// unique index held by more than one record are all listed in an error
// wrapping ErrUnique. In both cases the indexes stay unbuilt.
func (r *Repo[T]) Reindex(ctx context.Context) error {
	return wrapErr("Reindex", r.m.name, "", errors.Join(r.reindex(ctx, "Reindex"), r.buildAsync(ctx)))
}

// Rebuild marks the named indexes (Go field names; none: all of them) as
// needing a rebuild, and runs Reindex: every entry and claim of those
// indexes is verified against its record, missing ones written and wrong
// ones deleted. Use it after changing stored data behind NoDB's back, or
// when unsure whether an index is exact.
func (r *Repo[T]) Rebuild(ctx context.Context, fields ...string) error {
	if len(fields) == 0 {
		for i := range r.m.indexes {
			fields = append(fields, r.m.indexes[i].name)
		}
	}
	for _, f := range fields {
		if _, err := r.index(f); err != nil {
			return wrapErr("Rebuild", r.m.name, "", err)
		}
	}
	err := r.updateManifest(ctx, func(m *manifest) error {
		for _, f := range fields {
			mi := r.describe(&r.m.indexes[r.m.byField[f]], stateBuilding)
			mi.Reason, mi.Sweep = "it is being rebuilt", true
			m.Indexes[f] = mi
		}
		return nil
	})
	if err != nil {
		return wrapErr("Rebuild", r.m.name, "", err)
	}
	return wrapErr("Rebuild", r.m.name, "", errors.Join(r.reindex(ctx, "Rebuild"), r.buildAsync(ctx)))
}

// seenObj is an index entry or claim listed by a sweep.
type seenObj struct {
	info  object.Info
	pos   int    // index position in the model
	vseg  string // value segment
	claim bool
	own   bool // an entry named with its write's id
}

type reindexer[T any] struct {
	r     *Repo[T]
	op    string
	todo  []int
	sweep map[int]bool

	// Listed by the sweep, before any record is rewritten.
	present map[string]bool      // "pos/vseg/seg" of entries
	owner   map[string]string    // "pos/vseg" of claims -> owner segment
	bySeg   map[string][]seenObj // entries and claims by the record they name

	mu      sync.Mutex
	seen    map[string]bool     // record segments read (even undecodable)
	holders map[string][]string // "pos/vseg" of unique todo values -> keys
	shown   map[string]string   // "pos/vseg" -> the value, for messages
	corrupt []string            // records that could not be read
	dupErrs map[string]string   // key -> ErrUnique message
	failed  []string            // records not finished (retry)
	errs    []error             // the underlying errors
}

func (r *Repo[T]) reindex(ctx context.Context, op string) error {
	m, err := r.attach(ctx, true)
	if err != nil {
		return err
	}
	x := &reindexer[T]{r: r, op: op, sweep: map[int]bool{}, present: map[string]bool{}, owner: map[string]string{},
		bySeg: map[string][]seenObj{}, seen: map[string]bool{}, holders: map[string][]string{}, shown: map[string]string{},
		dupErrs: map[string]string{}}
	cursor, resumable := "", true
	for i := range r.m.indexes {
		mi := m.Indexes[r.m.indexes[i].name]
		if mi.State == stateReady || r.m.indexes[i].async { // async: built by SweepIndexes
			continue
		}
		x.todo = append(x.todo, i)
		if mi.Sweep {
			x.sweep[i] = true
		}
		if mi.Cursor == "" {
			resumable = false
		} else if cursor == "" || mi.Cursor < cursor {
			cursor = mi.Cursor
		}
	}
	if len(x.todo) == 0 {
		return nil
	}
	if !resumable || len(x.sweep) > 0 {
		cursor = "" // an index without progress, or a sweep: every record
	}
	if err := x.list(ctx); err != nil {
		return err
	}
	start := ""
	if cursor != "" {
		start = r.base + "r/" + cursor
	}
	const batch = 256
	var pending []string
	flush := func() error {
		tasks := make([]func(context.Context) error, len(pending))
		for i, seg := range pending {
			tasks[i] = func(ctx context.Context) error { return x.one(ctx, seg) }
		}
		if err := r.parallel(ctx, tasks); err != nil {
			return err
		}
		last := pending[len(pending)-1]
		pending = pending[:0]
		if x.ok() && len(x.sweep) == 0 {
			return r.updateManifest(ctx, func(m *manifest) error {
				for _, i := range x.todo {
					mi := m.Indexes[r.m.indexes[i].name]
					if mi.State == stateBuilding {
						mi.Cursor = last
						m.Indexes[r.m.indexes[i].name] = mi
					}
				}
				return nil
			})
		}
		return nil
	}
	for info, err := range object.All(ctx, r.st, r.base+"r/", start, 0) {
		if err != nil {
			return err
		}
		pending = append(pending, info.Key[len(r.base+"r/"):])
		if len(pending) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(pending) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	x.leftovers(ctx)
	if err := x.result(); err != nil {
		return err
	}
	return r.updateManifest(ctx, func(m *manifest) error {
		for _, i := range x.todo {
			name := r.m.indexes[i].name
			if mi := m.Indexes[name]; mi.State == stateBuilding && indexChange(mi, r.describe(&r.m.indexes[i], stateReady)) == "" {
				m.Indexes[name] = r.describe(&r.m.indexes[i], stateReady)
			}
		}
		return nil
	})
}

func (x *reindexer[T]) ok() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.corrupt) == 0 && len(x.dupErrs) == 0 && len(x.failed) == 0
}

// list reads the entries and claims of the indexes being swept.
func (x *reindexer[T]) list(ctx context.Context) error {
	r := x.r
	var claims []seenObj
	for pos := range x.sweep {
		name := r.m.indexes[pos].name
		prefix := r.base + "i/" + name + "/"
		for info, err := range object.All(ctx, r.st, prefix, "", 0) {
			if err != nil {
				return err
			}
			_, vseg, seg, id, ok := splitEntry(info.Key[len(r.base+"i/"):])
			if !ok {
				continue
			}
			x.present[fmt.Sprint(pos, "/", vseg, "/", seg)] = true
			x.bySeg[seg] = append(x.bySeg[seg], seenObj{info: info, pos: pos, vseg: vseg, own: id != ""})
		}
		prefix = r.base + "u/" + name + "/"
		for info, err := range object.All(ctx, r.st, prefix, "", 0) {
			if err != nil {
				return err
			}
			claims = append(claims, seenObj{info: info, pos: pos, vseg: info.Key[len(prefix):], claim: true})
		}
	}
	var mu sync.Mutex
	tasks := make([]func(context.Context) error, len(claims))
	for i, c := range claims {
		tasks[i] = func(ctx context.Context) error {
			obj, err := r.st.Get(ctx, c.info.Key, object.GetOptions{})
			if errors.Is(err, object.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			c.info = obj.Info // the version whose body was read
			var cb claimBody
			_ = json.Unmarshal(obj.Body, &cb)
			mu.Lock()
			defer mu.Unlock()
			if cb.Seg == "" {
				return nil // released: free for anyone
			}
			x.owner[fmt.Sprint(c.pos, "/", c.vseg)] = cb.Seg
			x.bySeg[cb.Seg] = append(x.bySeg[cb.Seg], c)
			return nil
		}
	}
	return r.parallel(ctx, tasks)
}

// one brings the record seg in line with the indexes being built.
func (x *reindexer[T]) one(ctx context.Context, seg string) error {
	r := x.r
	for attempt := 0; ; attempt++ {
		done, err := x.try(ctx, seg)
		if done || err != nil {
			return err
		}
		if attempt >= r.o.MaxRetries {
			x.addFailed(quoteCapped(seg), fmt.Errorf("the record kept changing"))
			return nil
		}
		r.backoff(ctx, attempt)
	}
}

// try makes one attempt of one; done is false if the record changed
// meanwhile and the attempt must be made again.
func (x *reindexer[T]) try(ctx context.Context, seg string) (done bool, err error) {
	r := x.r
	obj, err := r.st.Get(ctx, r.recordName(seg), object.GetOptions{})
	if errors.Is(err, object.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return true, err
	}
	x.mu.Lock()
	x.seen[seg] = true
	x.mu.Unlock()
	v, _, err := r.decodeRecord(obj.Body, obj.Key)
	var env *envelope
	if err == nil {
		env, err = decodeEnvelope(obj.Body)
	}
	if err != nil {
		x.addCorrupt(r.recordLabel(ctx, seg), err)
		return true, nil
	}
	label := fmt.Sprintf("%s (schema version %d)", quoteCapped(env.Key), env.Schema)
	segs, err := r.indexOf(&v, nil)
	if err == nil {
		if _, kseg, kerr := r.keyOf(&v); kerr != nil || kseg != seg {
			err = errorf(ErrCorrupt, "record %s holds key %s, which is not stored under this name", obj.Key, quoteCapped(env.Key))
		}
	}
	if err != nil {
		x.addCorrupt(label, err)
		return true, nil
	}
	need := false
	strip := map[string]missing{}
	for _, i := range x.todo {
		ix := &r.m.indexes[i]
		s := segs[i]
		if ix.list {
			if x.listNeeds(i, seg, s, env.Index, strip) {
				need = true
			}
			continue
		}
		if ix.unique && s != "" {
			k := fmt.Sprint(i, "/", s)
			x.mu.Lock()
			if !slices.Contains(x.holders[k], env.Key) {
				x.holders[k] = append(x.holders[k], env.Key)
			}
			x.shown[k] = showCapped(fieldValue(&v, ix))
			x.mu.Unlock()
		}
		state, has := env.Index[ix.name]
		switch {
		case s == "":
			need = need || has
		case !has || state.V != s:
			need = true
		case x.sweep[i]:
			// The record says it has them, the store does not.
			m := missing{entry: r.expectsEntry(i) && !x.present[fmt.Sprint(i, "/", s, "/", seg)], claim: ix.unique && x.owner[fmt.Sprint(i, "/", s)] != seg}
			if m.entry || m.claim {
				strip[ix.name] = m
				need = true
			}
		}
	}
	for _, o := range x.bySeg[seg] {
		if x.wrong(o, segs) {
			need = true
		}
	}
	if !need {
		return true, nil
	}
	err = r.retrack(ctx, seg, obj, env, &v, segs, strip)
	switch {
	case err == nil:
	case retryable(err):
		return false, nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true, err
	case errors.Is(err, ErrUnique):
		x.mu.Lock()
		x.dupErrs[env.Key] = err.Error()
		x.errs = append(x.errs, err)
		x.mu.Unlock()
		return true, nil
	case isOurs(err):
		x.addFailed(label, err)
		return true, nil
	default: // the store failed: stop, a later run resumes
		return true, err
	}
	// The record was rewritten after the sweep listed its entries and
	// claims: a writer that put one of those there and had not committed
	// yet now fails its commit and writes it again, so deleting the listed
	// version cannot lose a live entry.
	for _, o := range x.bySeg[seg] {
		if x.wrong(o, segs) {
			x.remove(ctx, o)
		}
	}
	return true, nil
}

// missing says which objects a record tracks that the store lacks.
type missing struct{ entry, claim bool }

// retrack writes the entries and claims that record seg (stored as obj,
// envelope env, decoded and upgraded value v with index segments segs)
// lacks, and those in strip again, then rewrites the record with If-Match
// on its version, unchanged but for the index states it tracks and its
// write id; then it removes the entries and claims it no longer tracks.
// The stored value and its schema version stay as they are, so that an
// older program still running can go on reading the record. A record that
// changed meanwhile is an error for which retryable holds.
func (r *Repo[T]) retrack(ctx context.Context, seg string, obj object.Object, env *envelope, v *T, segs []string, strip map[string]missing) error {
	write := newWriteID()
	next := make(map[string]ixState, len(segs))
	w := &pendingWrite{}
	var tasks []func(context.Context) error
	set := func(name string, f func(*ixState)) {
		w.mu.Lock()
		defer w.mu.Unlock()
		is := next[name]
		f(&is)
		next[name] = is
	}
	for sl := range r.m.slots(segs) { // a list's elements each (list.go)
		ix, s, sk := &r.m.indexes[sl.pos], sl.vseg, sl.key
		if ix.async { // async: the indexer's (indexer.go)
			continue
		}
		claimsOnly := r.claimsOnly(ix)
		need := missing{entry: !claimsOnly, claim: ix.unique}
		if old, ok := env.Index[sk]; ok && old.V == s {
			need = strip[sk]
			if claimsOnly { // the older layout's entry goes (removeStale)
				old.E, old.W, need.entry = "", "", false
			}
			next[sk] = old
			if !need.entry && !need.claim {
				continue
			}
		} else {
			next[sk] = ixState{V: s}
		}
		if need.entry {
			id := entryWrite(seg, write)
			key := r.entryName(ix.name, s, seg, id)
			tasks = append(tasks, func(ctx context.Context) error {
				if id != "" {
					w.mu.Lock()
					w.entries = append(w.entries, key)
					w.mu.Unlock()
				}
				info, err := r.st.Put(ctx, key, entryBody(write), object.PutOptions{})
				if err != nil {
					return err
				}
				set(sk, func(is *ixState) { is.E, is.W = info.Version, id })
				return nil
			})
		}
		if need.claim {
			fv := fieldValue(v, ix)
			tasks = append(tasks, func(ctx context.Context) error {
				ver, err := r.claim(ctx, ix, s, fv, claimBody{Key: env.Key, Seg: seg, Write: write, Base: obj.Version})
				if err != nil {
					return err
				}
				set(sk, func(is *ixState) { is.C = ver })
				w.mu.Lock()
				if w.claims == nil {
					w.claims = map[string]string{}
				}
				w.claims[r.claimName(ix.name, s)] = ver
				w.mu.Unlock()
				return nil
			})
		}
	}
	if err := r.parallel(ctx, tasks); err != nil {
		r.undo(ctx, w)
		return err
	}
	old := env.Index
	env.Index, env.Prev, env.Write = next, env.Write, write
	body, err := env.encode()
	if err != nil {
		r.undo(ctx, w)
		return err
	}
	info, err := r.writeRecord(ctx, seg, body, &recState{version: obj.Version}, write)
	r.wrote(seg, body, info.Version)
	if err != nil {
		r.cache.drop(seg)
		if outcomeOf(err) == stale || definite(err) {
			r.undo(ctx, w)
		}
		return err
	}
	if info.Version != "" {
		r.observeClock(info.LastModified)
		info.Size = int64(len(body))
		r.cache.put(seg, newRecState(info, env, body))
	}
	r.removeStale(ctx, seg, old, next)
	return nil
}

// wrong reports whether a listed entry or claim does not match a record
// whose index segments are segs.
func (x *reindexer[T]) wrong(o seenObj, segs []string) bool {
	if o.claim && !x.r.m.indexes[o.pos].unique || !o.claim && !x.r.expectsEntry(o.pos) {
		return true
	}
	return !hasSeg(segs[o.pos], o.vseg)
}

// listNeeds reports whether the record seg, whose list index pos holds the
// set of segments set and whose envelope tracks index, must be retracked
// for that index: an element without a tracked entry, a tracked element it
// no longer holds, or (in a sweep) a tracked entry the store lacks, which
// it adds to strip.
func (x *reindexer[T]) listNeeds(pos int, seg, set string, index map[string]ixState, strip map[string]missing) bool {
	ix := &x.r.m.indexes[pos]
	need, n := false, 0
	for s := range segsOf(set) {
		n++
		state, has := index[ix.stateKey(s)]
		switch {
		case !has || state.V != s:
			need = true
		case x.sweep[pos] && !x.present[fmt.Sprint(pos, "/", s, "/", seg)]:
			strip[ix.stateKey(s)] = missing{entry: true}
			need = true
		}
	}
	held := 0
	for k := range index {
		if stateIndex(k) == ix.name && k != ix.name {
			held++
		}
	}
	_, scalar := index[ix.name] // tracked while the field was not a list
	return need || held != n || scalar
}

// remove deletes a wrong entry or claim if it is still the version listed.
func (x *reindexer[T]) remove(ctx context.Context, o seenObj) {
	r := x.r
	ctx = context.WithoutCancel(ctx)
	switch {
	case o.claim:
		_ = r.releaseClaim(ctx, o.info.Key, o.info.Version)
	case o.own:
		_ = r.deleteOwn(ctx, o.info.Key) // named with its write's id: that write's alone
	case r.st.Capabilities().ConditionalDelete:
		_ = r.deleteIfMatch(ctx, o.info.Key, o.info.Version)
	}
	// Without conditional deletes an entry stays for Check: readers skip it.
}

// leftovers removes swept entries and claims that name no record, once
// they are older than Options.ClaimLease (a create may still be pending).
func (x *reindexer[T]) leftovers(ctx context.Context) {
	r := x.r
	var tasks []func(context.Context) error
	for seg, objs := range x.bySeg {
		if x.seen[seg] {
			continue
		}
		for _, o := range objs {
			if o.info.LastModified.IsZero() || !o.info.LastModified.Add(r.o.ClaimLease).Before(r.storeNow()) {
				continue
			}
			tasks = append(tasks, func(ctx context.Context) error {
				if _, err := r.st.Head(ctx, r.recordName(seg)); !errors.Is(err, object.ErrNotFound) {
					return nil
				}
				x.remove(ctx, o)
				return nil
			})
		}
	}
	_ = r.parallel(ctx, tasks)
}

func (x *reindexer[T]) addCorrupt(label string, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	x.corrupt = append(x.corrupt, label+": "+msg)
	x.errs = append(x.errs, err)
}

func (x *reindexer[T]) addFailed(label string, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.failed = append(x.failed, label+": "+err.Error())
	x.errs = append(x.errs, err)
}

// result is the error that lists what kept the indexes from being built.
func (x *reindexer[T]) result() error {
	r := x.r
	var errs []error
	if len(x.corrupt) > 0 {
		slices.Sort(x.corrupt)
		errs = append(errs, errorf(ErrCorrupt, "%d records could not be read or decoded, so the indexes stay unbuilt; their entries and claims were left alone: %s. Add an upgrade step (Options.Upgrades), or fix or delete them, then run %s again", len(x.corrupt), joinList(x.corrupt), x.op))
	}
	var dups []string
	covered := map[string]bool{}
	for k, keys := range x.holders {
		if len(keys) < 2 {
			continue
		}
		slices.Sort(keys)
		quoted := make([]string, len(keys))
		for i, key := range keys {
			quoted[i] = quoteCapped(key)
			covered[key] = true
		}
		pos, _, _ := strings.Cut(k, "/")
		var p int
		fmt.Sscan(pos, &p)
		dups = append(dups, fmt.Sprintf("%s %s is held by %s", r.m.indexes[p].name, x.shown[k], strings.Join(quoted, ", ")))
	}
	for key, msg := range x.dupErrs {
		if !covered[key] {
			dups = append(dups, fmt.Sprintf("record %s: %s", quoteCapped(key), msg))
		}
	}
	if len(dups) > 0 {
		slices.Sort(dups)
		errs = append(errs, errorf(ErrUnique, "%d values of unique indexes are held by more than one record, so those indexes stay unbuilt: %s. Change or delete all but one record of each, then run %s again", len(dups), joinList(dups), x.op))
	}
	if len(x.failed) > 0 {
		slices.Sort(x.failed)
		errs = append(errs, fmt.Errorf("%d records could not be indexed, so the indexes stay unbuilt: %s. Run %s again: %w", len(x.failed), joinList(x.failed), x.op, errors.Join(x.errs...)))
	}
	return errors.Join(errs...)
}

// --- DropIndex ---

// DropIndex deletes the index entries and unique claims of an index that
// the model no longer has (name is the Go field name it had). Until then
// they stay in the store, unused: Diff and Check report them. It fails with
// ErrInvalid if the model still has the index (remove its nodb tag first,
// in every program that writes the model), and with ErrNotFound if the
// store has no such index. It costs one LIST per 1000 objects and one
// DELETE per object.
func (r *Repo[T]) DropIndex(ctx context.Context, name string) error {
	if _, ok := r.m.byField[name]; ok {
		return wrapErr("DropIndex", r.m.name, "", invalidf("index %s is still in the model: remove its nodb tag (from every program writing model %s) before dropping it", name, r.m.name))
	}
	if name == "" || strings.ContainsAny(name, "/") {
		return wrapErr("DropIndex", r.m.name, "", invalidf("index name %s: want the Go field name of a removed index", quoteCapped(name)))
	}
	m, err := r.attach(ctx, true)
	if err != nil {
		return wrapErr("DropIndex", r.m.name, "", err)
	}
	n := 0
	for _, prefix := range []string{r.base + "i/" + name + "/", r.base + "u/" + name + "/"} {
		var tasks []func(context.Context) error
		for info, err := range object.All(ctx, r.st, prefix, "", 0) {
			if err != nil {
				return wrapErr("DropIndex", r.m.name, "", err)
			}
			n++
			tasks = append(tasks, func(ctx context.Context) error {
				return r.st.Delete(ctx, info.Key, object.DeleteOptions{MissingOK: true})
			})
		}
		if err := r.parallel(ctx, tasks); err != nil {
			return wrapErr("DropIndex", r.m.name, "", err)
		}
	}
	if _, ok := m.Indexes[name]; !ok {
		if n == 0 {
			return wrapErr("DropIndex", r.m.name, "", errorf(ErrNotFound, "model %s has no index %s in the store", r.m.name, name))
		}
		return nil
	}
	err = r.updateManifest(ctx, func(m *manifest) error {
		if mi, ok := m.Indexes[name]; ok {
			mi.State, mi.Cursor, mi.Reason, mi.Sweep = stateDropped, "", "", false
			m.Indexes[name] = mi
		}
		return nil
	})
	return wrapErr("DropIndex", r.m.name, "", err)
}

// --- Migrate ---

// MigrateOptions configure Migrate.
type MigrateOptions struct {
	// Progress, if set, is called after every batch of records (256) with
	// the report so far.
	Progress func(MigrateReport)
	// Restart ignores the progress an interrupted Migrate saved in the
	// manifest and starts again from the first record.
	Restart bool
}

// MigrateReport is what Migrate did.
type MigrateReport struct {
	// Version is the schema version records were migrated to.
	Version int
	// Records counts the records read; Migrated those rewritten at Version;
	// Current those already at it.
	Records, Migrated, Current int
	// Failed lists the records that could not be migrated, each as its key
	// (or object name), its schema version where known, and the reason.
	Failed []string
	// Cursor is the last record done (the point an interrupted Migrate
	// resumes after); "" once Migrate has finished.
	Cursor string
}

// Migrate rewrites every record written at an older schema version than
// Options.SchemaVersion: it reads each record, upgrades it with
// Options.Upgrades, and writes it back at the current version through the
// same conditional write as Update, so index entries and claims follow any
// value the upgrade changed, and a concurrent writer is never overwritten
// (Migrate retries on conflict like Update). It is idempotent and
// resumable: progress is saved in the manifest after every batch of
// records, and a Migrate that was interrupted continues after the last
// batch done.
//
// Migrate finishes even when some records fail (one that cannot be decoded,
// one written by a newer schema, a value an upgrade made collide with a
// unique one): they are left as they are, listed in the report's Failed,
// and the returned error joins their errors. Once a Migrate finishes with
// no failure, every record is at the current version, and upgrade steps
// for older versions may be deleted from the program (records written
// later by an older program still need them).
//
// It costs one LIST per 1000 records, one GET per record, one PUT per old
// record (plus entries and claims of changed index values) and one
// manifest write per batch.
func (r *Repo[T]) Migrate(ctx context.Context, opts ...func(*MigrateOptions)) (MigrateReport, error) {
	var o MigrateOptions
	for _, f := range opts {
		f(&o)
	}
	rep := MigrateReport{Version: r.o.SchemaVersion}
	m, err := r.attach(ctx, true)
	if err != nil {
		return rep, wrapErr("Migrate", r.m.name, "", err)
	}
	start := ""
	if mg := m.Migration; mg != nil && mg.To == r.o.SchemaVersion && mg.Cursor != "" && !o.Restart {
		start = r.base + "r/" + mg.Cursor
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	fail := func(label string, err error) {
		mu.Lock()
		defer mu.Unlock()
		msg := err.Error()
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		rep.Failed = append(rep.Failed, label+": "+msg)
		errs = append(errs, err)
	}
	one := func(ctx context.Context, seg string) error {
		v, _, env, err := r.load(ctx, seg)
		if errors.Is(err, object.ErrNotFound) {
			return nil
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				return err
			}
			mu.Lock()
			rep.Records++
			mu.Unlock()
			fail(r.recordLabel(ctx, seg), err)
			return nil
		}
		mu.Lock()
		rep.Records++
		mu.Unlock()
		if env.Schema >= r.o.SchemaVersion {
			mu.Lock()
			rep.Current++
			mu.Unlock()
			return nil
		}
		if _, kseg, kerr := r.keyOf(&v); kerr != nil || kseg != seg {
			fail(quoteCapped(env.Key), errorf(ErrCorrupt, "record %s holds key %s, which is not stored under this name", r.recordName(seg), quoteCapped(env.Key)))
			return nil
		}
		_, err = r.rewrite(ctx, &v)
		switch {
		case err == nil:
			mu.Lock()
			rep.Migrated++
			mu.Unlock()
		case errors.Is(err, ErrNotFound):
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), !isOurs(err):
			return err // the store failed: stop, a later run resumes
		default:
			fail(fmt.Sprintf("%s (schema version %d)", quoteCapped(env.Key), env.Schema), rewriteErr("Migrate", err))
		}
		return nil
	}
	const batch = 256
	var pending []string
	flush := func() error {
		tasks := make([]func(context.Context) error, len(pending))
		for i, seg := range pending {
			tasks[i] = func(ctx context.Context) error { return one(ctx, seg) }
		}
		if err := r.parallel(ctx, tasks); err != nil {
			return err
		}
		last := pending[len(pending)-1]
		pending = pending[:0]
		if len(errs) == 0 { // a failed record is retried by the next run
			rep.Cursor = last
			if err := r.updateManifest(ctx, func(m *manifest) error {
				m.Migration = &manifestMigration{To: r.o.SchemaVersion, Cursor: last}
				return nil
			}); err != nil {
				return err
			}
		}
		if o.Progress != nil {
			o.Progress(rep)
		}
		return nil
	}
	for info, err := range object.All(ctx, r.st, r.base+"r/", start, 0) {
		if err != nil {
			return rep, wrapErr("Migrate", r.m.name, "", err)
		}
		pending = append(pending, info.Key[len(r.base+"r/"):])
		if len(pending) == batch {
			if err := flush(); err != nil {
				return rep, wrapErr("Migrate", r.m.name, "", err)
			}
		}
	}
	if len(pending) > 0 {
		if err := flush(); err != nil {
			return rep, wrapErr("Migrate", r.m.name, "", err)
		}
	}
	slices.Sort(rep.Failed)
	if len(errs) > 0 {
		return rep, wrapErr("Migrate", r.m.name, "", fmt.Errorf("%d of %d records could not be migrated to schema version %d: %s: %w", len(rep.Failed), rep.Records, r.o.SchemaVersion, joinList(rep.Failed), errors.Join(errs...)))
	}
	rep.Cursor = ""
	err = r.updateManifest(ctx, func(m *manifest) error {
		m.Migration = nil
		if start == "" || m.Migrated < r.o.SchemaVersion {
			m.Migrated = r.o.SchemaVersion
		}
		return nil
	})
	return rep, wrapErr("Migrate", r.m.name, "", err)
}

// --- Diff ---

// Diff compares the model with what the store's manifest records of it
// (fields with their JSON names and kinds, indexes with their kinds and
// states, schema versions) and says, one line each in plain words, what
// differs and what to run: Reindex for an index not built, DropIndex for a
// removed one, an upgrade step and a higher SchemaVersion for a field
// renamed or retyped, Migrate before deleting upgrade steps. No lines: the
// store matches the model. Diff reads the manifest and writes nothing.
func (r *Repo[T]) Diff(ctx context.Context) ([]string, error) {
	m, err := r.readManifest(ctx)
	if err != nil || m == nil {
		return nil, wrapErr("Diff", r.m.name, "", err)
	}
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if m.KeyKind != r.m.key.kind.String() || m.KeyField != r.m.key.name {
		say("the key field is %s (%s) in the store and %s (%s) in the model: a model's key cannot change; copy the records into a new model (Options.Model) instead", m.KeyField, m.KeyKind, r.m.key.name, r.m.key.kind)
	}
	if m.Schema > r.o.SchemaVersion {
		say("the store has records of schema version %d, this Repo knows up to %d: it cannot read them, run the newer program", m.Schema, r.o.SchemaVersion)
	}
	if len(r.o.Upgrades) > 0 {
		oldest := r.o.SchemaVersion
		for v := range r.o.Upgrades {
			oldest = min(oldest, v)
		}
		if m.Migrated < oldest && m.Migrated < r.o.SchemaVersion {
			say("records older than schema version %d may exist (no Migrate has finished since): keep Upgrades[%d] and older steps, or run Migrate", r.o.SchemaVersion, oldest)
		}
	}
	// Fields, when the manifest records them.
	if m.Fields != nil {
		have := map[string]manifestField{}
		for _, f := range m.Fields {
			have[f.Field] = f
		}
		want := map[string]manifestField{}
		for _, f := range r.fields() {
			want[f.Field] = f
		}
		var gone, added []manifestField
		for _, f := range m.Fields {
			if _, ok := want[f.Field]; !ok {
				gone = append(gone, f)
			}
		}
		for _, f := range r.fields() {
			h, ok := have[f.Field]
			switch {
			case !ok:
				added = append(added, f)
			case h.JSON != f.JSON:
				say("field %s is stored as %q in the model and as %q in records of schema version %d: add Upgrades[%d] = repo.RenameField(%q, %q) and set SchemaVersion to %d, or tag it json:%q", f.Field, f.JSON, h.JSON, m.Schema, m.Schema, h.JSON, f.JSON, m.Schema+1, h.JSON)
			case h.Kind != f.Kind:
				say("field %s is %s in the model and %s in records of schema version %d: add Upgrades[%d] = repo.ConvertField(%q, ...) and set SchemaVersion to %d", f.Field, f.Kind, h.Kind, m.Schema, m.Schema, f.JSON, m.Schema+1)
			}
		}
		for _, g := range gone {
			line := fmt.Sprintf("field %s (%s, stored as %q) is no longer in the model: records keep its data until they are rewritten", g.Field, g.Kind, g.JSON)
			for _, a := range added {
				if a.Kind == g.Kind {
					line += fmt.Sprintf("; if it was renamed to %s, add Upgrades[%d] = repo.RenameField(%q, %q) and set SchemaVersion to %d", a.Field, m.Schema, g.JSON, a.JSON, m.Schema+1)
					break
				}
			}
			out = append(out, line)
		}
	}
	// Indexes.
	for i := range r.m.indexes {
		ix := &r.m.indexes[i]
		want := r.describe(ix, stateReady)
		have, ok := m.Indexes[ix.name]
		switch {
		case !ok:
			say("index %s is new: it is built on the first write or query (at once if the model has no records; else run Reindex)", ix.name)
		case indexChange(have, want) != "":
			say("index %s is not built: %s: run Reindex", ix.name, indexChange(have, want))
		case have.State != stateReady:
			why := have.Reason
			if why == "" {
				why = "it was added to the model after records existed"
			}
			say("index %s is not built: %s: run Reindex", ix.name, why)
		}
	}
	var names []string
	for name := range m.Indexes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := r.m.byField[name]; ok || m.Indexes[name].State == stateDropped {
			continue
		}
		say("index %s is no longer in the model; its entries and claims are still stored: run DropIndex(ctx, %q)", name, name)
	}
	return out, nil
}
