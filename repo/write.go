package repo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

// The write protocol (see DESIGN.md "Writes"). Invariant: a query never
// misses a committed record and never returns a record that does not match.
//
//  1. Index entries and unique claims for values the record does not hold
//     yet are written first, in parallel.
//  2. The record is written with If-None-Match "*" (new) or If-Match on the
//     version the writer read: this PUT is the commit point.
//  3. Entries and claims of values the record no longer holds are deleted,
//     each with If-Match on the version recorded when it was written, so a
//     delayed cleanup can never remove an entry that a later write of the
//     same value put back (the A -> B -> A case).
//
// A writer that dies anywhere leaves only entries and claims that no
// committed record backs; readers verify every hit against the record, and
// Check removes them. A failed commit leaves its entries too: deleting them
// could remove an entry that a concurrent writer of the same key and value
// has just committed.

// ixState is what a record remembers of one of its index values: the value
// segment and the versions of the entry and claim written for it.
type ixState struct {
	V string `json:"v"`
	E string `json:"e,omitempty"`
	C string `json:"c,omitempty"`
}

// envelope is the stored form of a record: a JSON document.
type envelope struct {
	NoDB    int                `json:"nodb"`
	Model   string             `json:"model"`
	Key     string             `json:"key"`
	Codec   string             `json:"codec"`
	Schema  int                `json:"schema,omitempty"`
	Created time.Time          `json:"created"`
	Updated time.Time          `json:"updated"`
	Write   string             `json:"write"`
	Index   map[string]ixState `json:"index,omitempty"`
	Value   json.RawMessage    `json:"value,omitempty"`
	Data    []byte             `json:"data,omitempty"`

	gz bool // the body was gzipped
}

const envelopeVersion = 1

// gunzip returns body uncompressed, and whether it was gzipped.
func gunzip(body []byte) ([]byte, bool, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return body, false, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, true, fmt.Errorf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, true, fmt.Errorf("gzip: %v", err)
	}
	return out, true, nil
}

func decodeEnvelope(body []byte) (*envelope, error) {
	raw, gz, err := gunzip(body)
	if err != nil {
		return nil, err
	}
	env := &envelope{gz: gz}
	if err := json.Unmarshal(raw, env); err != nil {
		return nil, fmt.Errorf("not a NoDB record: %v", err)
	}
	if env.NoDB != envelopeVersion {
		return nil, fmt.Errorf("not a NoDB record (format %d)", env.NoDB)
	}
	return env, nil
}

// decodeRecord decodes a stored record into its value and envelope. With
// the JSON codec it decodes both in one pass over the body (the envelope's
// Value is then nil); otherwise it decodes the envelope, then the value.
func (r *Repo[T]) decodeRecord(body []byte, name string) (T, *envelope, error) {
	var v T
	if r.o.Codec != JSON {
		env, err := decodeEnvelope(body)
		if err != nil {
			return v, nil, errorf(ErrCorrupt, "record %s: %v", name, err)
		}
		v, err = r.decodeValue(env, name)
		return v, env, err
	}
	raw, gz, err := gunzip(body)
	if err != nil {
		return v, nil, errorf(ErrCorrupt, "record %s: %v", name, err)
	}
	var typed struct {
		envelope
		Value *T `json:"value"` // shadows envelope.Value
	}
	typed.Value = &v
	if err := json.Unmarshal(raw, &typed); err != nil || typed.Schema != r.o.SchemaVersion {
		// Another schema version (upgrade steps, or a newer writer):
		// decode the envelope first, then the value.
		if env, eerr := decodeEnvelope(body); eerr == nil && env.Codec == JSON.Name() {
			v, err = r.decodeValue(env, name)
			return v, env, err
		}
		if env, eerr := decodeEnvelope(body); eerr != nil {
			err = eerr // not a record at all: say so
		} else if env.Codec != JSON.Name() {
			_, err = r.decodeValue(env, name) // the codec mismatch
			return v, nil, err
		}
		return v, nil, errorf(ErrCorrupt, "record %s: %v", name, err)
	}
	env := &typed.envelope
	env.gz = gz
	if env.NoDB != envelopeVersion {
		return v, nil, errorf(ErrCorrupt, "record %s: not a NoDB record (format %d)", name, env.NoDB)
	}
	if env.Codec != JSON.Name() {
		_, err := r.decodeValue(env, name)
		return v, nil, err
	}
	return v, env, nil
}

// encode returns the stored form of env. The value is spliced in as it is,
// without the second pass json.Marshal would make over a RawMessage.
func (env *envelope) encode() ([]byte, error) {
	value := env.Value
	env.Value = nil
	b, err := json.Marshal(env)
	env.Value = value
	if err != nil {
		return nil, err
	}
	if value != nil {
		b = append(b[:len(b)-1], `,"value":`...)
		b = append(b, value...)
		b = append(b, '}')
	}
	if !env.gz {
		return b, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeValue decodes the value held in env.
func (r *Repo[T]) decodeValue(env *envelope, name string) (T, error) {
	var v T
	if env.Codec != r.o.Codec.Name() {
		return v, errorf(ErrCorrupt, "record %s was written with codec %q, this Repo uses %q (set Options.Codec)", name, env.Codec, r.o.Codec.Name())
	}
	data := []byte(env.Value)
	if env.Value == nil {
		data = env.Data
	}
	if err := r.checkSchema(env, name); err != nil {
		return v, err
	}
	data, err := r.upgrade(env, name, data)
	if err != nil {
		return v, err
	}
	if err := r.o.Codec.Unmarshal(data, &v); err != nil {
		return v, errorf(ErrCorrupt, "record %s: %v", name, err)
	}
	return v, nil
}

// encodeValue encodes v for storage, leaving out nodb:"-" fields.
func (r *Repo[T]) encodeValue(v *T) ([]byte, error) {
	if len(r.m.skip) > 0 {
		c := *v
		rv := reflect.ValueOf(&c).Elem()
		for _, idx := range r.m.skip {
			f := rv.FieldByIndex(idx)
			f.Set(reflect.Zero(f.Type()))
		}
		v = &c
	}
	return r.o.Codec.Marshal(v)
}

// errStaleBase reports that the record was not in the state the write was
// conditioned on. Create turns it into ErrExists, Replace into ErrConflict;
// Put and Update retry.
var errStaleBase = errors.New("record changed since it was read")

// commit writes v as the next state of the record with segment seg, whose
// current state is cur (nil: it does not exist).
//
// write names the operation; its attempts share it, so that an attempt can
// recognise a claim that an earlier attempt made but lost the response of.
func (r *Repo[T]) commit(ctx context.Context, v *T, text, seg string, cur *recState, write string) (*recState, error) {
	if err := r.checkOverwrite(cur, seg); err != nil {
		return nil, err
	}
	segs, err := r.indexOf(v, make([]string, 0, len(r.m.indexes)))
	if err != nil {
		return nil, err
	}
	data, err := r.encodeValue(v)
	if err != nil {
		return nil, invalidf("%s: %v", r.o.Codec.Name(), err)
	}
	now := time.Now().UTC()
	env := &envelope{
		NoDB: envelopeVersion, Model: r.m.name, Key: text, Codec: r.o.Codec.Name(),
		Schema: r.o.SchemaVersion, Created: now, Updated: now, Write: write, gz: r.o.Compress,
	}
	if r.o.Codec == JSON || json.Valid(data) {
		env.Value = data
	} else {
		env.Data = data
	}
	base := ""
	if cur != nil {
		base = cur.version
		if !cur.created.IsZero() {
			env.Created = cur.created
		}
	}

	// Round 1: entries and claims for values the record does not hold yet.
	var (
		mu     sync.Mutex
		tasks  []func(context.Context) error
		claims = map[string]string{} // claims made by this attempt: name -> version
	)
	if len(segs) > 0 {
		env.Index = make(map[string]ixState, len(segs))
	}
	for i, s := range segs {
		if s == "" {
			continue
		}
		ix := &r.m.indexes[i]
		if cur != nil {
			if old, ok := cur.index[ix.name]; ok && old.V == s {
				env.Index[ix.name] = old
				continue
			}
		}
		env.Index[ix.name] = ixState{V: s}
		name := ix.name
		tasks = append(tasks, func(ctx context.Context) error {
			info, err := r.st.Put(ctx, r.entryName(name, s, seg), entryBody(write), object.PutOptions{})
			if err != nil {
				return err
			}
			r.observeClock(info.LastModified)
			mu.Lock()
			st := env.Index[name]
			st.E = info.Version
			env.Index[name] = st
			mu.Unlock()
			return nil
		})
		if ix.unique {
			fv := reflect.ValueOf(v).Elem().FieldByIndex(ix.index)
			tasks = append(tasks, func(ctx context.Context) error {
				ver, err := r.claim(ctx, ix, s, fv, claimBody{Key: text, Seg: seg, Write: write, Base: base, Create: cur == nil})
				if err != nil {
					return err
				}
				mu.Lock()
				st := env.Index[name]
				st.C = ver
				env.Index[name] = st
				claims[r.claimName(name, s)] = ver
				mu.Unlock()
				return nil
			})
		}
	}
	if err := r.parallel(ctx, tasks); err != nil {
		r.release(ctx, claims)
		return nil, err
	}

	// Round 2: the record, the commit point.
	body, err := env.encode()
	if err != nil {
		return nil, invalidf("encoding record: %v", err)
	}
	opts := object.PutOptions{IfNoneMatch: "*"}
	if cur != nil {
		opts = object.PutOptions{IfMatch: cur.version}
	}
	info, err := r.st.Put(ctx, r.recordName(seg), body, opts)
	if err != nil {
		if errors.Is(err, object.ErrPrecondition) || errors.Is(err, object.ErrNotFound) && cur != nil {
			r.cache.drop(seg)
			r.release(ctx, claims)
			return nil, &staleErr{cause: err}
		}
		// The outcome is unknown (a lost response, say): the record
		// names the write that made it, so read it back to see whether
		// it is ours.
		landed, ok := r.landed(ctx, seg, env.Write)
		if !ok {
			r.cache.drop(seg)
			return nil, err
		}
		info = landed
	}
	r.observeClock(info.LastModified)
	info.Size = int64(len(body))
	next := newState(info, env, body)
	r.cache.put(seg, next)

	// Round 3: entries and claims of values the record no longer holds.
	if cur != nil {
		r.removeStale(ctx, seg, cur.index, env.Index)
	}
	return next, nil
}

// landed reports whether the record's current state is the one written by
// write, and its Info if so.
func (r *Repo[T]) landed(ctx context.Context, seg, write string) (object.Info, bool) {
	if ctx.Err() != nil {
		return object.Info{}, false
	}
	obj, err := r.st.Get(ctx, r.recordName(seg), object.GetOptions{})
	if err != nil {
		return object.Info{}, false
	}
	env, err := decodeEnvelope(obj.Body)
	if err != nil || env.Write != write {
		return object.Info{}, false
	}
	return obj.Info, true
}

// staleErr wraps errStaleBase and the store's error.
type staleErr struct{ cause error }

func (e *staleErr) Error() string   { return errStaleBase.Error() }
func (e *staleErr) Unwrap() []error { return []error{errStaleBase, e.cause} }

// removeStale deletes the entries and claims of old that next no longer
// holds (all of them when next is nil), each only if it is still the object
// that was recorded in old. On a store without conditional deletes, entries
// stay for Check (an unconditional delete could remove an entry a later
// write put back) and claims are released with a conditional rewrite.
// Failures are left for Check.
func (r *Repo[T]) removeStale(ctx context.Context, seg string, old, next map[string]ixState) {
	condDelete := r.st.Capabilities().ConditionalDelete
	var tasks []func(context.Context) error
	for name, st := range old {
		if n, ok := next[name]; ok && n.V == st.V {
			continue
		}
		if st.E != "" && condDelete {
			key := r.entryName(name, st.V, seg)
			ver := st.E
			tasks = append(tasks, func(ctx context.Context) error {
				return r.deleteIfMatch(ctx, key, ver)
			})
		}
		if st.C != "" {
			key := r.claimName(name, st.V)
			ver := st.C
			tasks = append(tasks, func(ctx context.Context) error {
				return r.releaseClaim(ctx, key, ver)
			})
		}
	}
	_ = r.parallel(context.WithoutCancel(ctx), tasks)
}

// release gives up the claims an attempt made before it failed for sure
// (its record was not written). Each claim version is relied on by this
// attempt only (see claim.go), so releasing it with If-Match is safe.
func (r *Repo[T]) release(ctx context.Context, claims map[string]string) {
	if len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	tasks := make([]func(context.Context) error, 0, len(claims))
	for name, ver := range claims {
		tasks = append(tasks, func(ctx context.Context) error { return r.releaseClaim(ctx, name, ver) })
	}
	_ = r.parallel(ctx, tasks)
}

// releasedClaim is the body of a claim given up by its writer where the
// store cannot delete conditionally: it names no owner, so anyone may take
// it over at once.
var releasedClaim = []byte(`{"released":true}`)

// releaseClaim gives up the claim key if it is still at version: deleted
// with If-Match, or, on a store without conditional deletes, rewritten with
// If-Match to name no owner.
func (r *Repo[T]) releaseClaim(ctx context.Context, key, version string) error {
	if r.st.Capabilities().ConditionalDelete {
		return r.deleteIfMatch(ctx, key, version)
	}
	_, err := r.st.Put(ctx, key, releasedClaim, object.PutOptions{IfMatch: version})
	return err
}

// deleteIfMatch deletes a leftover entry or claim if it is still at version;
// whether it still existed does not matter.
func (r *Repo[T]) deleteIfMatch(ctx context.Context, key, version string) error {
	return r.st.Delete(ctx, key, object.DeleteOptions{IfMatch: version, MissingOK: true})
}

func (r *Repo[T]) entryName(index, valueSeg, seg string) string {
	return r.base + "i/" + index + "/" + valueSeg + "/" + seg
}

func (r *Repo[T]) claimName(index, valueSeg string) string {
	return r.base + "u/" + index + "/" + valueSeg
}

func entryBody(write string) []byte { return []byte(`{"write":"` + write + `"}`) }

// parallel runs tasks with at most Options.Concurrency at once and returns
// the first error. A single task runs on the caller's goroutine.
func (r *Repo[T]) parallel(ctx context.Context, tasks []func(context.Context) error) error {
	switch len(tasks) {
	case 0:
		return nil
	case 1:
		return tasks[0](ctx)
	}
	sem := make(chan struct{}, r.o.Concurrency)
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = t(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// observeClock learns the store's clock from a write's LastModified.
func (r *Repo[T]) observeClock(t time.Time) {
	if !t.IsZero() {
		r.skew.Store(int64(time.Until(t)))
	}
}

// storeNow estimates the store's current time.
func (r *Repo[T]) storeNow() time.Time {
	return time.Now().Add(time.Duration(r.skew.Load()))
}
