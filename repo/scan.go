package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"iter"
	"strings"

	"github.com/nodb-go/nodb/repo/internal/encode"
	"github.com/nodb-go/nodb/repo/object"
)

// Ordered scans over an index: ranges and prefixes, ascending or
// descending. S3 lists in ascending byte order only, so a scan in the
// order the index stores (ascending for a plain index, descending for one
// tagged desc) reads the listing as it comes and stops at the far end of
// the range: ceil(entries/1000) LISTs, stopping early with a limit. A scan
// in the other order lists the whole range first (every LIST of it before
// the first GET) and walks it backwards; see query.reverse.

// scanBounds is a scan over an index's values: values in [lo, hi]
// (inclusive; nil means unbounded), or with a byte prefix.
type scanBounds struct {
	lo, hi []byte
	prefix []byte
	isPref bool
}

// within reports whether the ordered bytes b of a record's value satisfy
// the bounds (exact: b is the value's full bytes).
func (sb *scanBounds) within(b []byte) bool {
	if sb.isPref {
		return bytes.HasPrefix(b, sb.prefix)
	}
	return (sb.lo == nil || bytes.Compare(b, sb.lo) >= 0) && (sb.hi == nil || bytes.Compare(b, sb.hi) <= 0)
}

// cmpKnown compares the value whose ordered bytes start with b (all of
// them unless long) with x: -1 or 1 when certain, 0 when equal or, for a
// long value, undecided.
func cmpKnown(b []byte, long bool, x []byte) int {
	if !long {
		return bytes.Compare(b, x)
	}
	n := min(len(b), len(x))
	if c := bytes.Compare(b[:n], x[:n]); c != 0 {
		return c
	}
	if len(x) <= len(b) {
		return 1 // longer than x, with x as its prefix
	}
	return 0
}

// above reports whether a listed value (b, long) is certainly above the
// bounds, below them, or neither.
func (sb *scanBounds) above(b []byte, long bool) bool {
	if sb.isPref {
		n := min(len(b), len(sb.prefix))
		return bytes.Compare(b[:n], sb.prefix[:n]) > 0
	}
	return sb.hi != nil && cmpKnown(b, long, sb.hi) > 0
}

func (sb *scanBounds) below(b []byte, long bool) bool {
	if sb.isPref {
		n := min(len(b), len(sb.prefix))
		c := bytes.Compare(b[:n], sb.prefix[:n])
		return c < 0 || c == 0 && !long && len(b) < len(sb.prefix)
	}
	return sb.lo != nil && cmpKnown(b, long, sb.lo) < 0
}

// scanQuery returns the query over index ix within sb, in descending
// value order if desc (then keys descending within a value too). On a list
// index a record is kept at the first of its elements in the scan's order
// that lies within sb (firstWithin), so that it is a result once.
func (r *Repo[T]) scanQuery(ix *indexDef, sb scanBounds, desc bool, op, fp string) *query[T] {
	pos := r.m.byField[ix.name]
	prefix := r.base + "i/" + ix.name + "/"
	q := &query[T]{
		op:      op,
		prefix:  prefix,
		reverse: desc != ix.desc,
		groups:  desc != ix.desc,
		multi:   ix.list,
		seg: func(rest string) string {
			_, tail, _ := strings.Cut(rest, "/")
			return entrySeg(tail)
		},
		holds: func(v *T, rest string) bool {
			vseg, _, _ := strings.Cut(rest, "/")
			segs, err := r.indexOf(v, nil)
			return err != nil || hasSeg(segs[pos], vseg)
		},
		keep: func(v *T, rest string) (bool, error) {
			vseg, _, _ := strings.Cut(rest, "/")
			segs, err := r.indexOf(v, nil)
			if err != nil || !hasSeg(segs[pos], vseg) {
				return false, err
			}
			if ix.list {
				// A result once, at its first element in the range.
				first, err := ix.firstWithin(fieldValue(v, ix), &sb, desc != ix.desc)
				return err == nil && first == vseg, err
			}
			b, err := orderedBytes(ix.kind, fieldValue(v, ix))
			if err != nil {
				return false, err
			}
			return sb.within(b), nil
		},
	}
	q.match = func(v *T) (bool, error) {
		segs, err := r.indexOf(v, nil)
		if err != nil || segs[pos] == "" {
			return false, err
		}
		if ix.list {
			first, err := ix.firstWithin(fieldValue(v, ix), &sb, false)
			return err == nil && first != "", err
		}
		b, err := orderedBytes(ix.kind, fieldValue(v, ix))
		if err != nil {
			return false, err
		}
		return sb.within(b), nil
	}
	empty := !sb.isPref && sb.lo != nil && sb.hi != nil && bytes.Compare(sb.lo, sb.hi) > 0
	decode := func(rest string) ([]byte, bool, bool) {
		vseg, _, _ := strings.Cut(rest, "/")
		b, long, err := decodeIndexValue(vseg)
		return b, long, err == nil
	}
	// The near end starts the listing, the far end stops it, and values
	// past the near end that the start could not exclude are skipped
	// without a GET.
	if !ix.desc {
		near := sb.lo
		if sb.isPref {
			near = sb.prefix
		}
		if near != nil {
			var start strings.Builder
			start.WriteByte('v')
			lexEncode(&start, near[:min(len(near), longPrefix)])
			q.startAfter = prefix + start.String()
		}
		q.stop = func(rest string) bool {
			b, long, ok := decode(rest)
			return empty || ok && sb.above(b, long)
		}
		q.skip = func(rest string) bool {
			b, long, ok := decode(rest)
			return ok && sb.below(b, long)
		}
	} else {
		near := sb.hi
		if sb.isPref {
			near = sb.prefix
		}
		if near != nil {
			q.startAfter = prefix + encode.DescendFrom(near)
		} else {
			q.startAfter = prefix + "w"
		}
		q.stop = func(rest string) bool {
			b, long, ok := decode(rest)
			return empty || ok && sb.below(b, long)
		}
		q.skip = func(rest string) bool {
			b, long, ok := decode(rest)
			return ok && sb.above(b, long)
		}
	}
	var h bytes.Buffer
	for _, b := range [][]byte{sb.lo, sb.hi, sb.prefix} {
		h.WriteString(hex.EncodeToString(b))
		h.WriteByte(0)
	}
	sum := sha256.Sum256(h.Bytes())
	q.fingerprint = fp + "/" + ix.name + "/" + hex.EncodeToString(sum[:8])
	if desc {
		q.fingerprint += "/desc"
	}
	return q
}

// listing returns the keys q lists, after startAfter. For a reverse query
// it lists the whole range from q.startAfter up to q.stop (and below
// startAfter, a cursor, if set), then yields it backwards.
func (r *Repo[T]) listing(ctx context.Context, q *query[T], startAfter string, pageSize int) iter.Seq2[object.Info, error] {
	if !q.reverse {
		if startAfter == "" {
			startAfter = q.startAfter
		}
		return object.All(ctx, r.st, q.prefix, startAfter, pageSize)
	}
	return func(yield func(object.Info, error) bool) {
		var infos []object.Info
		// With groups, a cursor is a forward one inside its value's group:
		// what is left is that group after the cursor, and every group
		// below it.
		group := ""
		if q.groups && startAfter != "" {
			vseg, _, _ := strings.Cut(startAfter[len(q.prefix):], "/")
			group = q.prefix + vseg + "/"
		}
		for info, err := range object.All(ctx, r.st, q.prefix, q.startAfter, 0) {
			if err != nil {
				yield(object.Info{}, err)
				return
			}
			if q.stop != nil && q.stop(info.Key[len(q.prefix):]) {
				break
			}
			switch {
			case startAfter == "":
			case !q.groups && info.Key >= startAfter:
				continue
			case q.groups && info.Key >= group && (!strings.HasPrefix(info.Key, group) || info.Key <= startAfter):
				continue
			}
			infos = append(infos, info)
		}
		if !q.groups {
			for i := len(infos) - 1; i >= 0; i-- {
				if !yield(infos[i], nil) {
					return
				}
			}
			return
		}
		end := len(infos)
		for end > 0 {
			vseg, _, _ := strings.Cut(infos[end-1].Key[len(q.prefix):], "/")
			start := end - 1
			for start > 0 && strings.HasPrefix(infos[start-1].Key[len(q.prefix):], vseg+"/") {
				start--
			}
			for _, info := range infos[start:end] {
				if !yield(info, nil) {
					return
				}
			}
			end = start
		}
	}
}
