package repo

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/nodb-go/nodb/repo/change"
	"github.com/nodb-go/nodb/repo/internal/encode"
	"github.com/nodb-go/nodb/repo/object"
)

// Change is what a change event says about one record of a model, with the
// record's state read from the store when the handler runs.
//
// Events arrive at least once, in any order, possibly late, and one event
// may stand for several quick writes: a handler must be idempotent, and act
// on the current state (Found, Record), not on what the event reports
// (Removed). A record written again after a delete arrives as Removed with
// Found set; a record deleted after a write, as not Removed and not Found.
type Change[T any] struct {
	// Model is the model's name in the store.
	Model string
	// Key is the record's key as text, decoded from the object name. With
	// Options.HashKeys the name holds a digest only: Key is then read from
	// the record, and is "" when the record is gone (Object still names it).
	Key string
	// Object is the record's object name in the store.
	Object string
	// Removed reports that the event reported a deletion.
	Removed bool
	// Found reports whether the record exists now; Record is its current
	// state when it does.
	Found  bool
	Record Record[T]
	// Event is the notification itself.
	Event change.Event
}

// OnChange returns a change handler that calls fn once per event that names
// a record of this model, with the record read from the store (one GET per
// event). Events for other objects (index entries, unique claims,
// manifests, the indexer's state objects, other models, other prefixes)
// are dropped without a request. A record that cannot be read or decoded is
// an error wrapping ErrCorrupt, and fn is not called. Wrap the handler in a
// change.Dedup to skip duplicate events without the GET. Event keys are
// object names as the store names them: for a store rooted at a prefix of
// a bucket, see change.Within.
func (r *Repo[T]) OnChange(fn func(ctx context.Context, c Change[T]) error) change.Handler {
	return func(ctx context.Context, e change.Event) error {
		seg, ok := r.recordSeg(e.Key)
		if !ok {
			return nil
		}
		c := Change[T]{Model: r.m.name, Key: r.keyOfSeg(seg), Object: e.Key, Removed: e.Removed(), Event: e}
		v, rs, _, err := r.load(ctx, seg)
		switch {
		case errors.Is(err, object.ErrNotFound):
		case err != nil:
			return wrapErr("OnChange", r.m.name, c.Key, err)
		default:
			c.Found = true
			c.Record = Record[T]{Value: v, Version: rs.version, Created: rs.created, Updated: rs.updated, Schema: rs.schema}
			if text, _, err := r.keyOf(&v); err == nil {
				c.Key = text
			}
		}
		return fn(ctx, c)
	}
}

// recordSeg returns the record segment of an object name, if it names a
// record of this model: "<base>r/<segment>" with a segment that the key
// encoding could have produced.
func (r *Repo[T]) recordSeg(name string) (string, bool) {
	seg, ok := strings.CutPrefix(name, r.base+"r/")
	if !ok || seg == "" || strings.Contains(seg, "/") {
		return "", false
	}
	if r.o.HashKeys {
		if len(seg) != 64 || strings.Trim(seg, "0123456789abcdef") != "" {
			return "", false
		}
		return seg, true
	}
	if _, ok := decodeKeySeg(r.m.key.kind, seg); !ok {
		return "", false
	}
	return seg, true
}

// keyOfSeg returns the key text of a record segment, "" if it cannot be
// recovered (hashed keys).
func (r *Repo[T]) keyOfSeg(seg string) string {
	if r.o.HashKeys {
		return ""
	}
	text, _ := decodeKeySeg(r.m.key.kind, seg)
	return text
}

// decodeKeySeg inverts the record segment encoding of a key of kind k (see
// repo/internal/encode): the key's text, and whether seg is a segment the
// encoding produces for some key.
func decodeKeySeg(k valueKind, seg string) (string, bool) {
	switch k {
	case kindInt:
		if len(seg) != 20 {
			return "", false
		}
		u, err := strconv.ParseUint(seg[1:], 10, 64)
		if err != nil {
			return "", false
		}
		var v int64
		switch seg[0] {
		case 'p':
			if u > math.MaxInt64 {
				return "", false
			}
			v = int64(u)
		case 'n':
			v = int64(u) + math.MinInt64 // wraps as encode's v-MinInt64 did
			if v >= 0 {
				return "", false
			}
		default:
			return "", false
		}
		return strconv.FormatInt(v, 10), encode.EncodeKeyInt(v) == seg
	case kindUint:
		if len(seg) != 21 || seg[0] != 'p' {
			return "", false
		}
		u, err := strconv.ParseUint(seg[1:], 10, 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatUint(u, 10), encode.EncodeKeyUint(u) == seg
	case kindString, kindText:
		var b strings.Builder
		for i := 0; i < len(seg); {
			c := seg[i]
			switch {
			case i+5 <= len(seg) && seg[i+1:i+3] == "~~":
				x, err := strconv.ParseUint(seg[i+3:i+5], 16, 8)
				if err != nil {
					return "", false
				}
				b.WriteByte(byte(x))
				i += 5
			case c == '!' || c == '~':
				if i+3 > len(seg) {
					return "", false
				}
				x, err := strconv.ParseUint(seg[i+1:i+3], 16, 8)
				if err != nil {
					return "", false
				}
				b.WriteByte(byte(x))
				i += 3
			default:
				b.WriteByte(c)
				i++
			}
		}
		text := b.String()
		if encode.CheckKeyString(text) != nil || encode.EncodeKeyString(text) != seg {
			return "", false
		}
		return text, true
	}
	return "", false
}
