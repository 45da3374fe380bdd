package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo/object"
)

// Repo stores values of the struct type T in an object.Store. It is safe for
// concurrent use; several Repos, in one process or many, may share a store.
type Repo[T any] struct {
	st   object.Store
	m    *model
	o    Options
	base string // "<prefix><model>/"

	keyOf   func(v *T) (text, seg string, err error)
	indexOf func(v *T, dst []string) ([]string, error)

	cache stateCache
	rc    *readCache   // Options.ReadCache; nil when off
	skew  atomic.Int64 // store clock minus local clock, in ns

	attachMu sync.Mutex
	man      *manifest // nil until attached
}

// Record is a value with its metadata.
type Record[T any] struct {
	// Value is the stored value.
	Value T
	// Version identifies this state of the record; pass it to Replace.
	Version string
	// Created is when the record was first written, Updated when it was last
	// written (the writer's clock, UTC).
	Created, Updated time.Time
	// Schema is the Options.SchemaVersion of the writer. Value has been
	// upgraded to this Repo's version; Schema says what is stored.
	Schema int
}

var modelNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// New returns a Repo for T over st. It validates T's tags: an invalid model
// is an error wrapping ErrInvalid that names the type, the field and the
// problem. New does no I/O.
func New[T any](st object.Store, opts ...func(*Options)) (*Repo[T], error) {
	t := reflect.TypeFor[T]()
	if st == nil {
		return nil, invalidf("New[%s]: nil store", t)
	}
	m, err := parseModel(t)
	if err != nil {
		return nil, err
	}
	return newRepo[T](st, m, opts)
}

// newRepo returns a Repo for T described by m (from T's tags, or from a
// manifest for dynamic.Doc).
func newRepo[T any](st object.Store, m *model, opts []func(*Options)) (*Repo[T], error) {
	t := m.typ
	var o Options
	for _, f := range opts {
		f(&o)
	}
	o.fill()
	if err := checkUpgrades(&o, t.String()); err != nil {
		return nil, err
	}
	name := o.Model
	if name == "" {
		name = t.Name()
	}
	if !modelNameRE.MatchString(name) || name == "." || name == ".." || name == "_nodb" {
		return nil, invalidf("model name %q: use 1 to 100 letters, digits, '-', '.' or '_'", name)
	}
	mm := *m
	mm.name = name
	prefix := o.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if prefix != "" {
		if err := object.CheckKey(prefix + "x"); err != nil {
			return nil, invalidf("prefix %q: %v", o.Prefix, err)
		}
		for _, seg := range strings.Split(strings.TrimSuffix(prefix, "/"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				return nil, invalidf("prefix %q: empty, \".\" and \"..\" segments are not allowed", o.Prefix)
			}
		}
	}
	r := &Repo[T]{st: st, m: &mm, o: o, base: prefix + name + "/", rc: newReadCache(o.ReadCache)}
	r.keyOf = r.reflectKeyOf
	r.indexOf = r.reflectIndexOf
	return r, nil
}

// Model returns the model's name in the store.
func (r *Repo[T]) Model() string { return r.m.name }

func (r *Repo[T]) reflectKeyOf(v *T) (string, string, error) {
	return r.m.keyOf(reflect.ValueOf(v).Elem(), r.o.HashKeys)
}

func (r *Repo[T]) reflectIndexOf(v *T, dst []string) ([]string, error) {
	rv := reflect.ValueOf(v).Elem()
	for i := range r.m.indexes {
		ix := &r.m.indexes[i]
		s, err := ix.segment(rv.FieldByIndex(ix.index))
		if err != nil {
			return nil, invalidf("%v", err)
		}
		dst = append(dst, s)
	}
	return dst, nil
}

// keySeg converts a key argument to its text and record segment.
func (r *Repo[T]) keySeg(key any) (string, string, error) {
	kv, err := r.m.keyArg(key)
	if err != nil {
		return "", "", err
	}
	return r.m.keyFromValue(kv, r.o.HashKeys)
}

// keyText is a best-effort text of a key argument for error messages.
func keyText(key any) string {
	if key == nil {
		return ""
	}
	return fmt.Sprint(key)
}

func (r *Repo[T]) recordName(seg string) string { return r.base + "r/" + seg }

// --- reading ---

// load reads the record with segment seg.
func (r *Repo[T]) load(ctx context.Context, seg string) (T, *recState, *envelope, error) {
	var zero T
	obj, err := r.st.Get(ctx, r.recordName(seg), object.GetOptions{})
	if err != nil {
		return zero, nil, nil, err
	}
	v, env, err := r.decodeRecord(obj.Body, obj.Key)
	if err != nil {
		return zero, nil, nil, r.recordErr(seg, obj, err)
	}
	rs := newRecState(obj.Info, env, obj.Body)
	r.cache.put(seg, rs)
	if d, ok := any(&v).(*dynamic.Doc); ok {
		d.SetMeta(rs.version, rs.created, rs.updated, rs.schema)
	}
	return v, rs, env, nil
}

// Get returns the value stored under key. A missing key is an error for
// which errors.Is(err, ErrNotFound) holds. Get makes one GET request.
func (r *Repo[T]) Get(ctx context.Context, key any) (T, error) {
	rec, err := r.getRecord(ctx, "Get", key)
	return rec.Value, err
}

// GetRecord returns the value stored under key with its version and times.
func (r *Repo[T]) GetRecord(ctx context.Context, key any) (Record[T], error) {
	return r.getRecord(ctx, "GetRecord", key)
}

func (r *Repo[T]) getRecord(ctx context.Context, op string, key any) (Record[T], error) {
	text, seg, err := r.keySeg(key)
	if err != nil {
		return Record[T]{}, wrapErr(op, r.m.name, keyText(key), err)
	}
	v, rs, err := r.read(ctx, seg)
	if err == nil && r.expired(&v) {
		err = r.expiredErr(text)
	}
	if err != nil {
		return Record[T]{}, wrapErr(op, r.m.name, text, err)
	}
	return Record[T]{Value: v, Version: rs.version, Created: rs.created, Updated: rs.updated, Schema: rs.schema}, nil
}

// --- writing ---

// Create stores v, which must not exist yet: if a record with v's key
// exists, Create fails with an error for which errors.Is(err, ErrExists)
// holds. With k indexed fields (unique ones included), Create makes k+1 PUT
// requests in two rounds: index entries and unique claims (a unique field's
// claim is its entry) in parallel, then the record. On a unique index
// still in the older layout (see Rebuild), its entry is one PUT more.
// Async indexes (nodb:"index,async") are not counted in k: with only
// those, Create is one PUT in one round.
func (r *Repo[T]) Create(ctx context.Context, v T) error {
	text, seg, err := r.keyOf(&v)
	if err != nil {
		return wrapErr("Create", r.m.name, text, err)
	}
	if err := r.attachForWrite(ctx); err != nil {
		return wrapErr("Create", r.m.name, text, err)
	}
	write := newWriteID()
	var cur *recState // an expired record that this Create replaces
	for attempt := 0; ; attempt++ {
		_, err = r.commit(ctx, &v, text, seg, cur, write)
		if (errors.Is(err, object.ErrConcurrentRequest) || outcomeOf(err) == busy) && attempt < r.o.MaxRetries {
			r.backoff(ctx, attempt)
			continue
		}
		if outcomeOf(err) == stale && attempt < r.o.MaxRetries {
			if cur = r.expiredState(ctx, seg); cur != nil {
				continue
			}
		}
		if errors.Is(err, ErrUnique) && cur == nil && attempt < r.o.MaxRetries {
			// An expired record under the key does not exist for readers:
			// replace it, and let its values decide.
			if cur = r.expiredState(ctx, seg); cur != nil {
				continue
			}
		}
		if errors.Is(err, ErrUnique) && cur == nil {
			// An existing record is the better answer than its values.
			if cur, cerr := r.current(ctx, seg); cerr == nil && cur != nil {
				err = ErrExists
			}
		}
		if outcomeOf(err) == stale {
			err = ErrExists
		}
		return wrapErr("Create", r.m.name, text, giveUp(err))
	}
}

// Put stores v, creating the record or replacing it whatever its version
// (an upsert; Created is kept). It reads the current record first unless it
// knows its version from an earlier call on this Repo; a new record costs
// one GET and the writes of Create.
func (r *Repo[T]) Put(ctx context.Context, v T) error {
	text, seg, err := r.keyOf(&v)
	if err != nil {
		return wrapErr("Put", r.m.name, text, err)
	}
	if err := r.attachForWrite(ctx); err != nil {
		return wrapErr("Put", r.m.name, text, err)
	}
	write := newWriteID()
	for attempt := 0; ; attempt++ {
		cur, ok := r.cache.get(seg)
		if !ok {
			cur, err = r.current(ctx, seg)
			if err != nil {
				return wrapErr("Put", r.m.name, text, err)
			}
		}
		_, err = r.commit(ctx, &v, text, seg, cur, write)
		if retryable(err) && attempt < r.o.MaxRetries {
			r.cache.drop(seg)
			if ok { // the cached version was stale: try again at once
				continue
			}
			r.backoff(ctx, attempt)
			continue
		}
		return wrapErr("Put", r.m.name, text, giveUp(err))
	}
}

// Replace stores v only if the record's current version is version (from
// GetRecord). If the record changed since, Replace fails with an error for
// which errors.Is(err, ErrConflict) holds and stores nothing; if it was
// deleted, with ErrNotFound. When this Repo read or wrote that version and
// no indexed value changed, Replace makes exactly one PUT request.
func (r *Repo[T]) Replace(ctx context.Context, v T, version string) error {
	text, seg, err := r.keyOf(&v)
	if err != nil {
		return wrapErr("Replace", r.m.name, text, err)
	}
	if version == "" {
		return wrapErr("Replace", r.m.name, text, invalidf("empty version (use Put to write whatever the version)"))
	}
	if err := r.attachForWrite(ctx); err != nil {
		return wrapErr("Replace", r.m.name, text, err)
	}
	cur, ok := r.cache.get(seg)
	if !ok || cur.version != version {
		cur, err = r.current(ctx, seg)
		if err != nil {
			return wrapErr("Replace", r.m.name, text, err)
		}
		if cur == nil {
			return wrapErr("Replace", r.m.name, text, ErrNotFound)
		}
		if cur.version != version {
			return wrapErr("Replace", r.m.name, text, errorf(ErrConflict, "the record is at version %s, not %s", cur.version, version))
		}
	}
	if _, err = r.commit(ctx, &v, text, seg, cur, newWriteID()); err != nil {
		r.cache.drop(seg)
		switch o := outcomeOf(err); {
		case o == busy:
			err = errorf(ErrConflict, "another write of the record is in progress")
		case o == stale && errors.Is(err, object.ErrNotFound):
			err = errorf(ErrNotFound, "deleted since version %s", version)
		case o == stale:
			err = errorf(ErrConflict, "the record changed since version %s", version)
		}
	}
	return wrapErr("Replace", r.m.name, text, err)
}

// Update calls fn on a copy of the record under key and writes the result
// back if the record did not change meanwhile; if it did, Update reads it
// again and calls fn again, with jittered backoff, up to Options.MaxRetries
// times. So fn may run more than once, and must only change the value it is
// given. fn must not change the key. If fn returns an error, Update returns
// it and writes nothing. Update returns the value it stored.
//
// fn never runs again after a write whose outcome is unknown (a lost
// response that reading the record back could not settle): Update then
// returns an error for which errors.Is(err, ErrOutcomeUnknown) holds. Read
// the record to see whether the change is there before doing it again.
//
// Update starts from the last state of the record this Repo read or wrote,
// if it knows it; then, without index changes, it costs one PUT. Otherwise it
// reads the record first (one GET more).
func (r *Repo[T]) Update(ctx context.Context, key any, fn func(*T) error) (T, error) {
	var zero T
	text, seg, err := r.keySeg(key)
	if err != nil {
		return zero, wrapErr("Update", r.m.name, keyText(key), err)
	}
	if err := r.attachForWrite(ctx); err != nil {
		return zero, wrapErr("Update", r.m.name, text, err)
	}
	write := newWriteID()
	for attempt := 0; ; attempt++ {
		// Start from the state this Repo last saw, if it has it: when that
		// is still current, Update costs one PUT; when not, the conditional
		// write fails and the next attempt reads the record.
		var v T
		cur, ok := r.cache.get(seg)
		if ok && cur.body != nil && attempt == 0 {
			v, _, err = r.decodeRecord(cur.body, r.recordName(seg))
		}
		if !ok || cur.body == nil || attempt > 0 || err != nil {
			v, cur, _, err = r.load(ctx, seg)
		}
		if err == nil && r.expired(&v) {
			err = r.expiredErr(text)
		}
		if err != nil {
			return zero, wrapErr("Update", r.m.name, text, err)
		}
		if err := fn(&v); err != nil {
			return zero, err
		}
		t2, seg2, err := r.keyOf(&v)
		if err != nil {
			return zero, wrapErr("Update", r.m.name, text, err)
		}
		if seg2 != seg {
			return zero, wrapErr("Update", r.m.name, text, invalidf("fn changed the key to %s", quote(t2)))
		}
		_, err = r.commit(ctx, &v, text, seg, cur, write)
		if retryable(err) && attempt < r.o.MaxRetries {
			r.cache.drop(seg)
			r.backoff(ctx, attempt)
			continue
		}
		if err != nil {
			return zero, wrapErr("Update", r.m.name, text, giveUp(err))
		}
		return v, nil
	}
}

// Delete removes the record under key and its index entries. A missing key
// is an error for which errors.Is(err, ErrNotFound) holds.
func (r *Repo[T]) Delete(ctx context.Context, key any) error {
	text, seg, err := r.keySeg(key)
	if err != nil {
		return wrapErr("Delete", r.m.name, keyText(key), err)
	}
	condDelete := r.st.Capabilities().ConditionalDelete
	for attempt := 0; ; attempt++ {
		cur, ok := r.cache.get(seg)
		if !ok || !condDelete {
			cur, err = r.current(ctx, seg)
			if err != nil {
				return wrapErr("Delete", r.m.name, text, err)
			}
			if cur == nil {
				return wrapErr("Delete", r.m.name, text, ErrNotFound)
			}
		}
		var opts object.DeleteOptions
		if condDelete {
			opts.IfMatch = cur.version
		}
		err = r.st.Delete(ctx, r.recordName(seg), opts)
		r.cache.drop(seg)
		r.wrote(seg, nil, "")
		if err != nil && !definite(err) {
			err = r.deleteOutcome(ctx, seg, cur.version, err)
		}
		if err != nil {
			stale := errors.Is(err, object.ErrPrecondition) || errors.Is(err, object.ErrConcurrentRequest) || ok && errors.Is(err, object.ErrNotFound)
			if stale && attempt < r.o.MaxRetries {
				if !ok {
					r.backoff(ctx, attempt)
				}
				continue
			}
			return wrapErr("Delete", r.m.name, text, err)
		}
		r.removeStale(ctx, seg, cur.index, nil)
		return nil
	}
}

// deleteOutcome decides a record DELETE of version that failed with err
// and may have landed (a lost response, say): the record gone means it
// landed (deleting is idempotent, whoever else deleted it too); the record
// still at version means it did not, and the caller may simply try again
// (ErrPrecondition); the record at another version leaves it unknown.
func (r *Repo[T]) deleteOutcome(ctx context.Context, seg, version string, err error) error {
	if ctx.Err() != nil {
		return &unknownErr{cause: err}
	}
	info, herr := r.st.Head(ctx, r.recordName(seg))
	switch {
	case errors.Is(herr, object.ErrNotFound):
		return nil
	case herr == nil && info.Version == version:
		return fmt.Errorf("%w: the record is still there after a failed delete (%v)", object.ErrPrecondition, err)
	}
	return &unknownErr{cause: err}
}

// current returns the record's state, or nil if it does not exist.
func (r *Repo[T]) current(ctx context.Context, seg string) (*recState, error) {
	obj, err := r.st.Get(ctx, r.recordName(seg), object.GetOptions{})
	if errors.Is(err, object.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	env, err := decodeMeta(obj.Body)
	if err != nil {
		return nil, errorf(ErrCorrupt, "record %s: %v", obj.Key, err)
	}
	rs := newRecState(obj.Info, env, obj.Body)
	r.cache.put(seg, rs)
	return rs, nil
}

// definite reports whether a store error says for sure that a write did
// not happen.
func definite(err error) bool {
	return errors.Is(err, object.ErrPrecondition) || errors.Is(err, object.ErrConcurrentRequest) ||
		errors.Is(err, object.ErrNotFound) || errors.Is(err, object.ErrInvalidKey) ||
		errors.Is(err, object.ErrPermission) || errors.Is(err, object.ErrUnsupported) ||
		errors.Is(err, object.ErrTooLarge)
}

// giveUp turns the internal retry signals into ErrConflict once an
// operation has run out of attempts.
func giveUp(err error) error {
	switch outcomeOf(err) {
	case busy:
		return errorf(ErrConflict, "gave up: %v", err)
	case stale:
		return errorf(ErrConflict, "gave up: the record kept changing")
	}
	return err
}

// retryable reports whether a commit failed because the record changed
// under it (or the store asked for a retry).
func retryable(err error) bool {
	o := outcomeOf(err)
	return errors.Is(err, object.ErrConcurrentRequest) || o == stale || o == busy
}

// backoff sleeps a jittered, exponentially growing time, or until ctx is done.
func (r *Repo[T]) backoff(ctx context.Context, attempt int) {
	d := time.Millisecond << min(attempt, 7) // up to 128 ms
	d = time.Duration(mrand.Int64N(int64(d))) + time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// newWriteID returns a random id naming one write.
func newWriteID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		return n.String()
	}
	return hex.EncodeToString(b[:])
}

// --- the state cache ---

// recState is what a writer must know about a record's current state.
type recState struct {
	version string
	write   string // the write id that made this state
	created time.Time
	updated time.Time
	schema  int
	index   map[string]ixState
	body    []byte // the stored record, kept for Update if small; else nil
}

// maxCachedBody is the largest record whose body the state cache keeps.
const maxCachedBody = 64 << 10

func newRecState(info object.Info, env *envelope, body []byte) *recState {
	rs := &recState{version: info.Version, write: env.Write, created: env.Created, updated: env.Updated, schema: env.Schema, index: env.Index}
	if len(body) <= maxCachedBody {
		rs.body = body
	}
	return rs
}

// stateCache remembers the last state this Repo saw of each record, so that
// Replace with a known version and Put of a known record need no GET. A
// stale entry only costs a failed conditional write and a retry. It holds
// at most stateCacheSize records and stateCacheBytes of record bodies, so
// that scanning a large model through All does not pin its records.
type stateCache struct {
	mu    sync.Mutex
	m     map[string]*recState
	bytes int // of bodies held
}

const (
	stateCacheSize  = 4096
	stateCacheBytes = 16 << 20
)

func (c *stateCache) get(seg string) (*recState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs, ok := c.m[seg]
	return rs, ok
}

func (c *stateCache) put(seg string, rs *recState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*recState)
	}
	c.remove(seg)
	for k := range c.m { // evict arbitrary entries while over a bound
		if len(c.m) < stateCacheSize && c.bytes+len(rs.body) <= stateCacheBytes {
			break
		}
		c.remove(k)
	}
	c.m[seg] = rs
	c.bytes += len(rs.body)
}

func (c *stateCache) remove(seg string) {
	if old, ok := c.m[seg]; ok {
		c.bytes -= len(old.body)
		delete(c.m, seg)
	}
}

func (c *stateCache) drop(seg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(seg)
}
