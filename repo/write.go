package repo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo/object"
)

// The write protocol (see docs/design.md, "Writes"). Invariant: a query never
// misses a committed record and never returns a record that does not match.
//
//  1. Index entries and unique claims for values the record does not hold
//     yet are written first, in parallel. An entry's name ends in the write
//     id of the operation that wrote it (<E(key)>!/<write id>), so that no
//     two writes ever share an entry object.
//  2. The record is written with If-None-Match "*" (new) or If-Match on the
//     version the writer read: this PUT is the commit point. The record
//     names its write and the write it replaced (Write, Prev).
//  3. Entries and claims of values the record no longer holds are deleted:
//     entries by their own name, claims with If-Match on the version
//     recorded when they were written, so a delayed cleanup can never remove
//     a claim that a later write of the same value put back (A -> B -> A).
//
// Every write ends in one of three outcomes. It landed; it certainly did not
// (a condition failed, a claim is held, the context ended before the
// commit), and then it deletes the entries and releases the claims it wrote
// before it returns, which touches nothing another writer relies on since
// its entries are its own and a claim version is relied on by one write
// only; or its outcome is unknown (the record PUT's response was lost and
// reading the record back cannot tell), and then it keeps everything and
// reports ErrOutcomeUnknown. A writer that dies anywhere leaves only entries
// and claims that no committed record backs; readers verify every hit
// against the record, remove leftovers older than the claim lease, and
// Check removes the rest.

// ixState is what a record remembers of one of its index values: the value
// segment and the versions of the entry and claim written for it.
type ixState struct {
	V string `json:"v"`
	E string `json:"e,omitempty"` // entry version
	W string `json:"w,omitempty"` // entry write id; "" for an entry named without one (older stores)
	C string `json:"c,omitempty"` // claim version
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
	Prev    string             `json:"prev,omitempty"` // the write this one replaced
	Index   map[string]ixState `json:"index,omitempty"`
	Value   json.RawMessage    `json:"value,omitempty"`
	Data    []byte             `json:"data,omitempty"`

	gz bool // the body was gzipped

	// buf, when not nil, holds Value at buf[room:] with room free bytes
	// before it and at least one after (marshalJSONFramed): encode writes
	// the rest of the document around the value instead of copying it.
	buf  []byte
	room int
}

const envelopeVersion = 1

// gunzip returns body uncompressed, and whether it was gzipped. The
// output buffer is sized from the gzip trailer's length (the size modulo
// 2^32), so that a large record is not grown by doubling as io.ReadAll
// would; a trailer that lies only costs a larger or smaller first buffer.
func gunzip(body []byte) ([]byte, bool, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return body, false, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, true, fmt.Errorf("gzip: %v", err)
	}
	size := 512
	if n := len(body); n >= 18 {
		isize := int64(binary.LittleEndian.Uint32(body[n-4:]))
		// DEFLATE expands at most about 1032 to 1. The hint stays below
		// 2 GiB, which also fits a 32-bit int.
		size = int(min(isize, int64(n)*1032, maxRecordSize, 1<<31-2)) + 1
	}
	out := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := out.ReadFrom(zr); err != nil {
		return nil, true, fmt.Errorf("gzip: %v", err)
	}
	return out.Bytes(), true, nil
}

// skipJSON is a member that decoding skips without copying it.
type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// decodeMeta decodes a record's envelope without its value (Value and Data
// are nil): what a writer needs to know of the current record, without a
// copy of a value that may be most of the body.
func decodeMeta(body []byte) (*envelope, error) {
	raw, gz, err := gunzip(body)
	if err != nil {
		return nil, err
	}
	var m struct {
		envelope
		Value skipJSON `json:"value"` // shadow envelope.Value and Data
		Data  skipJSON `json:"data"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("not a NoDB record: %v", err)
	}
	if m.NoDB != envelopeVersion {
		return nil, fmt.Errorf("not a NoDB record (format %d)", m.NoDB)
	}
	env := &m.envelope
	env.gz = gz
	return env, nil
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
		} else if serr := r.checkSchema(env, name); serr != nil {
			return v, nil, serr // a newer writer's value: say so, not why it fails
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
	if err := r.checkSchema(env, name); err != nil {
		return v, nil, err
	}
	return v, env, nil
}

// encode returns the stored form of env: its metadata, then the value
// as its last member. The value is spliced in as it is, without the second
// pass json.Marshal would make over a RawMessage; when it sits in env.buf
// (nextEnvelope), the metadata is written into the room before it, so the
// value is not copied at all. encode is called once per envelope state.
func (env *envelope) encode() ([]byte, error) {
	value := env.Value
	env.Value = nil
	meta, err := json.Marshal(env)
	env.Value = value
	if err != nil {
		return nil, err
	}
	const member = `,"value":`
	head := len(meta) - 1 // meta without its closing brace
	var b []byte
	switch {
	case value == nil:
		b = meta
	case env.framed(value, head+len(member)):
		start := env.room - head - len(member)
		copy(env.buf[start:], meta[:head])
		copy(env.buf[start+head:], member)
		b = append(env.buf[start:env.room+len(value)], '}')
	default:
		b = make([]byte, 0, head+len(member)+len(value)+1)
		b = append(b, meta[:head]...)
		b = append(b, member...)
		b = append(b, value...)
		b = append(b, '}')
	}
	if !env.gz {
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 512)
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// framed reports whether value is the one held in env.buf with at least
// head free bytes before it and room for a closing brace after it.
func (env *envelope) framed(value []byte, head int) bool {
	return env.buf != nil && len(value) > 0 && head <= env.room &&
		len(env.buf) == env.room+len(value) && cap(env.buf) > len(env.buf) &&
		&env.buf[env.room] == &value[0]
}

// decodeValue decodes the value held in env.
func (r *Repo[T]) decodeValue(env *envelope, name string) (T, error) {
	var v T
	if err := r.checkSchema(env, name); err != nil {
		return v, err
	}
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

// encodeValue encodes v for storage, leaving out nodb:"-" fields. With
// the JSON codec it returns the value framed (marshalJSONFramed) with room
// for the record's metadata before it, and room > 0; with other codecs the
// codec's output and room 0.
func (r *Repo[T]) encodeValue(v *T, text string) (buf []byte, room int, err error) {
	if len(r.m.skip) > 0 {
		c := *v
		rv := reflect.ValueOf(&c).Elem()
		for _, idx := range r.m.skip {
			f := rv.FieldByIndex(idx)
			f.Set(reflect.Zero(f.Type()))
		}
		v = &c
	}
	if r.o.Codec != JSON {
		buf, err = r.o.Codec.Marshal(v)
		return buf, 0, err
	}
	room = r.metaRoom(text)
	buf, err = marshalJSONFramed(v, room)
	return buf, room, err
}

// metaRoom bounds the length of a record's metadata as encode writes it
// before the value: fixed members (times, write ids) in 256 bytes, the
// model name, the key escaped (at most 6 bytes a byte), and per index its
// name, a value segment and three versions. A bound that falls short only
// costs encode a copy of the value.
func (r *Repo[T]) metaRoom(text string) int {
	n := 256 + len(r.m.name) + 6*len(text)
	for i := range r.m.indexes {
		n += 64 + len(r.m.indexes[i].name) + maxSegment + 3*80
	}
	return n
}

// maxRecordSize is the largest stored record in bytes: object.MaxBodySize,
// a variable so that tests can lower it.
var maxRecordSize int64 = object.MaxBodySize

// tooLarge is the error for a record of n bytes over maxRecordSize.
func tooLarge(n int) error {
	return invalidf("the record is %d bytes encoded, more than the %d a record can hold (%s: S3 stores at most 5 GiB in one PUT)", n, maxRecordSize, "object.MaxBodySize")
}

// unknownErr reports a record write whose outcome could not be decided. It
// wraps ErrOutcomeUnknown and the store's error.
type unknownErr struct{ cause error }

func (e *unknownErr) Error() string {
	return "outcome unknown: the record write may have landed (" + e.cause.Error() + "); read the record to decide"
}
func (e *unknownErr) Unwrap() []error { return []error{ErrOutcomeUnknown, e.cause} }

// commit writes v as the next state of the record with segment seg, whose
// current state is cur (nil: it does not exist).
//
// write names the operation; its attempts share it, so that an attempt can
// recognise a claim that an earlier attempt made but lost the response of.
// An attempt that fails for certain has removed what it wrote when commit
// returns; one whose outcome is unknown returns an error wrapping
// ErrOutcomeUnknown and leaves everything in place.
func (r *Repo[T]) commit(ctx context.Context, v *T, text, seg string, cur *recState, write string) (*recState, error) {
	if err := r.checkOverwrite(cur, seg); err != nil {
		return nil, err
	}
	env, err := r.nextEnvelope(v, text, cur, write)
	if err != nil {
		return nil, err
	}
	segs, err := r.indexOf(v, make([]string, 0, len(r.m.indexes)))
	if err != nil {
		return nil, err
	}
	w := &pendingWrite{id: newWriteID()}
	if err := r.writeIndexes(ctx, v, text, seg, segs, cur, env, w); err != nil {
		r.undo(ctx, w)
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		r.undo(ctx, w) // the record PUT was never sent
		return nil, err
	}
	body, err := env.encode()
	if err != nil {
		r.undo(ctx, w)
		return nil, invalidf("encoding record: %v", err)
	}
	if int64(len(body)) > maxRecordSize {
		r.undo(ctx, w)
		return nil, tooLarge(len(body))
	}
	info, err := r.writeRecord(ctx, seg, body, cur, env.Write)
	r.wrote(seg, body, info.Version) // the read cache (cache.go)
	if err != nil {
		r.cache.drop(seg)
		if outcomeOf(err) == stale || definite(err) {
			r.undo(ctx, w)
		}
		return nil, err
	}
	var next *recState
	if info.Version != "" { // else it landed and was replaced already
		r.observeClock(info.LastModified)
		info.Size = int64(len(body))
		next = newRecState(info, env, body)
		r.cache.put(seg, next)
	}
	if cur != nil {
		r.removeStale(ctx, seg, cur.index, env.Index)
	}
	return next, nil
}

// nextEnvelope builds the stored form of v as the state after cur.
func (r *Repo[T]) nextEnvelope(v *T, text string, cur *recState, write string) (*envelope, error) {
	buf, room, err := r.encodeValue(v, text)
	if err != nil {
		return nil, invalidf("%s: %v", r.o.Codec.Name(), err)
	}
	data := buf[room:]
	if int64(len(data)) > maxRecordSize && !r.o.Compress {
		return nil, tooLarge(len(data)) // before any request is made
	}
	now := time.Now().UTC()
	env := &envelope{
		NoDB: envelopeVersion, Model: r.m.name, Key: text, Codec: r.o.Codec.Name(),
		Schema: r.o.SchemaVersion, Created: now, Updated: now, Write: write, gz: r.o.Compress,
	}
	if r.o.Codec == JSON {
		env.Value, env.buf, env.room = data, buf, room
	} else if json.Valid(data) {
		env.Value = data
	} else {
		env.Data = data
	}
	if cur != nil {
		env.Prev = cur.write
		if !cur.created.IsZero() {
			env.Created = cur.created
		}
	} else if d, ok := any(v).(*dynamic.Doc); ok && !d.CreatedFor().IsZero() {
		env.Created = d.CreatedFor().UTC() // copied from another store
	}
	return env, nil
}

// pendingWrite is what one attempt wrote before its record PUT: what it
// must remove if it fails for certain.
type pendingWrite struct {
	id      string // names this attempt's entries
	mu      sync.Mutex
	entries []string          // entry names
	claims  map[string]string // claim name -> version
}

// writeIndexes writes, in parallel, the entries and claims of the values in
// segs that cur does not hold yet, and records them in env.Index and w.
func (r *Repo[T]) writeIndexes(ctx context.Context, v *T, text, seg string, segs []string, cur *recState, env *envelope, w *pendingWrite) error {
	base := ""
	if cur != nil {
		base = cur.version
	}
	if len(segs) > 0 {
		env.Index = make(map[string]ixState, len(segs))
	}
	set := func(name string, f func(*ixState)) {
		w.mu.Lock()
		defer w.mu.Unlock()
		is := env.Index[name]
		f(&is)
		env.Index[name] = is
	}
	var tasks []func(context.Context) error
	for sl := range r.m.slots(segs) { // one per value; a list's elements each (list.go)
		ix, s, key := &r.m.indexes[sl.pos], sl.vseg, sl.key
		if ix.async { // async: the indexer's (indexer.go)
			continue
		}
		claimsOnly := r.claimsOnly(ix)
		if cur != nil {
			if old, ok := cur.index[key]; ok && old.V == s {
				if claimsOnly {
					// An entry of the older layout is no longer tracked:
					// removeStale deletes it after the commit.
					old.E, old.W = "", ""
				}
				env.Index[key] = old
				continue
			}
		}
		name := ix.name
		// Entries are named per attempt, not per operation: an attempt
		// that failed has deleted its entries, and a later attempt must
		// not reuse a name that someone else (a sweep, Check) may still
		// delete by name on the strength of an earlier listing.
		id := entryWrite(seg, w.id)
		env.Index[key] = ixState{V: s, W: id}
		if claimsOnly {
			// The claim is the unique index's entry (unique.go).
			env.Index[key] = ixState{V: s}
		}
		entry := r.entryName(name, s, seg, id)
		if !claimsOnly {
			tasks = append(tasks, func(ctx context.Context) error {
				if id != "" {
					// Listed before the PUT is sent: a lost response may
					// still have stored the entry. An entry without an id is
					// shared with other writes of the record and stays.
					w.mu.Lock()
					w.entries = append(w.entries, entry)
					w.mu.Unlock()
				}
				info, err := r.st.Put(ctx, entry, entryBody(env.Write), object.PutOptions{})
				if err != nil {
					return err
				}
				r.observeClock(info.LastModified)
				set(key, func(is *ixState) { is.E = info.Version })
				return nil
			})
		}
		if ix.unique {
			fv := fieldValue(v, ix)
			tasks = append(tasks, func(ctx context.Context) error {
				ver, err := r.claim(ctx, ix, s, fv, claimBody{Key: text, Seg: seg, Write: env.Write, Base: base, Create: cur == nil})
				if err != nil {
					return err
				}
				set(key, func(is *ixState) { is.C = ver })
				w.mu.Lock()
				if w.claims == nil {
					w.claims = map[string]string{}
				}
				w.claims[r.claimName(name, s)] = ver
				w.mu.Unlock()
				return nil
			})
		}
	}
	return r.parallel(ctx, tasks)
}

// writeRecord writes the record body, the commit point, conditioned on
// cur. It returns an error carrying stale when the condition failed, an
// error wrapping ErrOutcomeUnknown when the write may or may not have
// landed, and the stored Info when it landed, also when its response was
// lost and reading the record back proves it.
func (r *Repo[T]) writeRecord(ctx context.Context, seg string, body []byte, cur *recState, write string) (object.Info, error) {
	opts := object.PutOptions{IfNoneMatch: "*"}
	if cur != nil {
		opts = object.PutOptions{IfMatch: cur.version}
	}
	info, err := r.st.Put(ctx, r.recordName(seg), body, opts)
	switch {
	case err == nil:
		return info, nil
	case errors.Is(err, object.ErrPrecondition) || errors.Is(err, object.ErrNotFound) && cur != nil:
		return object.Info{}, withOutcome(stale, err)
	case definite(err):
		return object.Info{}, err
	}
	// The request may have landed (a lost response, say). The record names
	// the write that made it and the write that one replaced: either proves
	// that ours landed. Anything else leaves the outcome unknown: ours may
	// never have landed, or landed and was replaced twice since.
	if ctx.Err() == nil {
		if obj, gerr := r.st.Get(ctx, r.recordName(seg), object.GetOptions{}); gerr == nil {
			if env, derr := decodeMeta(obj.Body); derr == nil {
				switch {
				case env.Write == write:
					return obj.Info, nil
				case env.Prev == write:
					// Landed and replaced already: the version we wrote
					// is unknown, so the caller must not cache one.
					return object.Info{Key: obj.Key}, nil
				}
			}
		}
	}
	return object.Info{}, &unknownErr{cause: err}
}

// removeStale deletes the entries and claims of old that next no longer
// holds (all of them when next is nil), and entries of old that next holds
// under another entry name. An entry named with its write id
// belongs to that write alone and is deleted by name; an entry named
// without one (written by an older version of this library) only if it is
// still the object recorded in old, and only where the store deletes
// conditionally. A claim is released only if it is still at the version
// recorded in old, so a delayed cleanup never removes a claim that a later
// write of the same value put back. Failures are left for Check.
func (r *Repo[T]) removeStale(ctx context.Context, seg string, old, next map[string]ixState) {
	condDelete := r.st.Capabilities().ConditionalDelete
	var tasks []func(context.Context) error
	for sk, is := range old {
		n, ok := next[sk]
		name := stateIndex(sk) // a list element's state is "<index>/<value>" (list.go)
		sameValue := ok && n.V == is.V
		if sameValue && n.W == is.W {
			continue // the same entry and claim go on
		}
		// The entry is superseded: by another value, or by an entry of the
		// same value named with another write id (Reindex's retrack).
		switch {
		case is.W != "":
			key := r.entryName(name, is.V, seg, is.W)
			tasks = append(tasks, func(ctx context.Context) error { return r.deleteOwn(ctx, key) })
		case is.E != "" && condDelete:
			key := r.entryName(name, is.V, seg, "")
			ver := is.E
			tasks = append(tasks, func(ctx context.Context) error { return r.deleteIfMatch(ctx, key, ver) })
		}
		if is.C != "" && !sameValue { // one value, one claim object
			key := r.claimName(name, is.V)
			ver := is.C
			tasks = append(tasks, func(ctx context.Context) error { return r.releaseClaim(ctx, key, ver) })
		}
	}
	_ = r.parallel(context.WithoutCancel(ctx), tasks)
}

// undo removes what an attempt wrote before it failed for certain (its
// record was not written): its own entries, and its claims, each of which
// this attempt alone relies on (see claim.go). It runs even if ctx is done,
// for at most cleanupTimeout; what it cannot remove is left for readers and
// Check.
func (r *Repo[T]) undo(ctx context.Context, w *pendingWrite) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.entries) == 0 && len(w.claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	tasks := make([]func(context.Context) error, 0, len(w.entries)+len(w.claims))
	for _, name := range w.entries {
		tasks = append(tasks, func(ctx context.Context) error { return r.deleteOwn(ctx, name) })
	}
	for name, ver := range w.claims {
		tasks = append(tasks, func(ctx context.Context) error { return r.releaseClaim(ctx, name, ver) })
	}
	_ = r.parallel(ctx, tasks)
}

// cleanupTimeout bounds the cleanup of a failed write.
const cleanupTimeout = 10 * time.Second

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

// deleteOwn deletes an entry named with its write id. Only that write ever
// writes the name, so the delete needs no condition.
func (r *Repo[T]) deleteOwn(ctx context.Context, key string) error {
	return r.st.Delete(ctx, key, object.DeleteOptions{})
}

// entryName returns the name of the entry of record seg under value vseg of
// index: "<index>/<vseg>/<seg>!-<write>" for an entry id write (see
// entryWrite), or "<index>/<vseg>/<seg>" for write "": the name entries had
// before they carried write ids, still used for record segments too long to
// take one.
//
// "!-" sorts below every character that can follow seg in another record
// segment ('!' is followed by two hex digits in the key encoding), so the
// entries of one record list together and in key order, and "<seg>!-..."
// can never be another record's segment.
func (r *Repo[T]) entryName(index, vseg, seg, write string) string {
	if write == "" {
		return r.base + "i/" + index + "/" + vseg + "/" + seg
	}
	return r.base + "i/" + index + "/" + vseg + "/" + seg + entryWriteSep + write
}

const (
	entryWriteSep = "!-"
	entryWriteLen = 12 // hex digits of the write id kept in entry names
)

// entryWrite returns the id that names an entry of record seg written by
// write, or "" if seg is too long for one (the name would exceed a segment).
func entryWrite(seg, write string) string {
	if len(seg)+len(entryWriteSep)+entryWriteLen > maxSegment || len(write) < entryWriteLen {
		return ""
	}
	return write[:entryWriteLen]
}

// splitEntry splits an entry name, after "<base>i/", into its index, value
// segment, record segment and entry id ("" for entries named without one).
// It is the one place that parses entry names; ok is false for a name that
// is not an entry's.
func splitEntry(rest string) (index, vseg, seg, write string, ok bool) {
	index, rest, ok1 := strings.Cut(rest, "/")
	vseg, tail, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || index == "" || vseg == "" || tail == "" || strings.Contains(tail, "/") {
		return "", "", "", "", false
	}
	seg, write, _ = strings.Cut(tail, entryWriteSep)
	if seg == "" {
		return "", "", "", "", false
	}
	if _, _, err := decodeIndexValue(vseg); err != nil {
		return "", "", "", "", false // not an entry: a foreign object
	}
	return index, vseg, seg, write, true
}

// entrySeg returns the record segment of an entry name's tail
// "<seg>[!-<write>]".
func entrySeg(tail string) string {
	seg, _, _ := strings.Cut(tail, entryWriteSep)
	return seg
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
