package repo

import (
	"fmt"
	"iter"
	"reflect"
	"strings"

	"github.com/nodb-go/nodb/repo/internal/encode"
)

// List fields: nodb:"index" on a slice of an indexable kind ([]string,
// []int, []time.Time, []SomeTextMarshaler, ...) indexes every distinct
// element: a record holding k distinct elements has k entries,
// <index>/<E(element)>/<E(key)>!-<write id>, exactly the entries k scalar
// records would have, so Find, Range and the query builder list them as
// they list any index.
//
// The entries a record should have are computed in one place, the
// per-index strings of indexOf (Repo.indexOf, generated IndexOf): for a
// scalar index the value's segment, for a list index the set of its
// elements' segments, sorted and distinct, joined with listSep, which no
// segment contains ("" for an empty list). Everything that maintains or
// verifies entries (writers, the indexer, Reindex, Check) iterates that
// set with segsOf or slots, and every reader tests membership with hasSeg,
// which is plain equality for a scalar.
//
// A record remembers the state of each element's entry in its envelope
// under the key "<index>/<element segment>" (stateKey), beside the scalar
// indexes' "<index>": adding one element writes one entry, removing one
// deletes one, and the others stay as they are.

// listSep separates the element segments of a list index's set.
const listSep = encode.ListSep

// segsOf returns the value segments of set, an indexOf string: none for "",
// one for a scalar, the elements for a list.
func segsOf(set string) iter.Seq[string] {
	if set == "" {
		return func(func(string) bool) {}
	}
	return strings.SplitSeq(set, listSep)
}

// hasSeg reports whether set, an indexOf string, holds value segment vseg.
func hasSeg(set, vseg string) bool {
	if vseg == "" || len(set) < len(vseg) {
		return false
	}
	if len(set) == len(vseg) {
		return set == vseg
	}
	for s := range segsOf(set) {
		if s == vseg {
			return true
		}
	}
	return false
}

// joinSegs returns the set of segs (in any order, with duplicates and ""
// for skipped zero values) as an indexOf string. Generated code makes the
// same string (gen.IndexList).
func joinSegs(segs []string) string { return encode.JoinSet(segs) }

// slot is one index value a record holds: value segment vseg of index
// m.indexes[pos], whose state the record's envelope keeps under key.
type slot struct {
	pos       int
	key, vseg string
}

// stateKey returns the envelope key of value segment vseg of index ix.
func (ix *indexDef) stateKey(vseg string) string {
	if ix.list {
		return ix.name + "/" + vseg
	}
	return ix.name
}

// stateIndex returns the index name of an envelope state key.
func stateIndex(key string) string {
	name, _, _ := strings.Cut(key, "/")
	return name
}

// slots returns the index values of a record whose indexOf strings are
// segs, in index order, elements of a list in segment order.
func (m *model) slots(segs []string) iter.Seq[slot] {
	return func(yield func(slot) bool) {
		for pos, set := range segs {
			ix := &m.indexes[pos]
			for s := range segsOf(set) {
				if !yield(slot{pos: pos, key: ix.stateKey(s), vseg: s}) {
					return
				}
			}
		}
	}
}

// listSegment returns the set of the segments of the elements of the
// slice fv (see segment).
func (ix *indexDef) listSegment(fv reflect.Value) (string, error) {
	n := fv.Len()
	switch n {
	case 0:
		return "", nil
	case 1:
		return ix.valueSegment(fv.Index(0))
	}
	segs := make([]string, n)
	for i := range n {
		s, err := ix.valueSegment(fv.Index(i))
		if err != nil {
			return "", fmt.Errorf("%w (element %d)", err, i)
		}
		segs[i] = s
	}
	return joinSegs(segs), nil
}

// firstWithin returns, of the elements of the list field value fv whose
// values satisfy sb, the segment a scan over the index meets first: the
// smallest segment, or the largest if reverse is set (a scan listed
// backwards). A record with several elements in a range is a result of
// that scan at that element only, so it is returned once, in the order of
// its first matching element. "" means no element satisfies sb.
func (ix *indexDef) firstWithin(fv reflect.Value, sb *scanBounds, reverse bool) (string, error) {
	first := ""
	for i := range fv.Len() {
		e := fv.Index(i)
		s, err := ix.valueSegment(e)
		if err != nil || s == "" {
			if err != nil {
				return "", fmt.Errorf("%w (element %d)", err, i)
			}
			continue
		}
		b, err := orderedBytes(ix.kind, e)
		if err != nil {
			return "", err
		}
		if !sb.within(b) {
			continue
		}
		if first == "" || reverse && s > first || !reverse && s < first {
			first = s
		}
	}
	return first, nil
}
