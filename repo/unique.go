package repo

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"strings"

	"github.com/nodb-go/nodb/repo/object"
)

// One object per unique value (docs/design.md, "Unique indexes"). A unique
// claim u/<index>/<V(value)> names the record that holds the value, so it
// can serve as the index's entry: a writer that claims a value writes no
// entry for it, and Create with k indexed fields costs k+1 PUTs whether or
// not some of them are unique.
//
// Queries on a unique index therefore read claims, in both layouts:
//
//   - GetBy, Find, CountBy: the claim (1 GET), then the record it names
//     (1 GET), verified. No LIST.
//   - Range, RangePage, and the query builder's Between, Prefix and
//     OrderBy: ceil(claims/1000) LISTs over u/<index>/, then per claim in
//     the range its GET and its record's GET (2 GETs per result, issued in
//     parallel like any query's fetches). Query.Keys reads the claims too
//     (1 GET each, no record GET): a claim names its owner in its body only.
//   - the query builder's Where: as Find, and intersected with other
//     conditions by the one record its claim names.
//
// Stores written before this layout hold an entry beside every claim; a
// claim was always written for every value a committed record holds, so
// reading claims answers them too. The manifest says, per unique index,
// whether writers still write entries (manifestIndex.Claims false: the
// older layout, kept so that programs built with an older version of this
// library, which read entries, still see every record). Rebuild of the
// index switches it: it sets Claims, drops each record's entry and deletes
// it. New models and indexes start in the claims layout.

// claimsOnly reports whether the unique index ix is stored as its claims
// alone (writers write no entries for it). It needs the manifest attached,
// as every write and query does first; unattached, it says false, which
// only ever writes an entry too many.
func (r *Repo[T]) claimsOnly(ix *indexDef) bool {
	if !ix.unique {
		return false
	}
	r.attachMu.Lock()
	defer r.attachMu.Unlock()
	return r.man != nil && r.man.Indexes[ix.name].Claims
}

// expectsEntry reports whether a record holding a value of the index at
// position pos should have an entry for it. Check asks: entries of a
// unique index in the claims layout are leftovers of the older layout.
func (r *Repo[T]) expectsEntry(pos int) bool {
	return !r.claimsOnly(&r.m.indexes[pos])
}

// checkLayout reads the manifest afresh before a Check, so that Check
// knows which unique indexes are stored as claims alone. A model without
// indexes has nothing to know.
func (r *Repo[T]) checkLayout(ctx context.Context) error {
	if len(r.m.indexes) == 0 {
		return nil
	}
	_, err := r.attach(ctx, true)
	return err
}

// claimOwner reads the claim named key and returns the segment and key of
// the record it names, "" if there is none (no claim, a released one, or
// an object that is not a claim: none of them can name a holder).
func (r *Repo[T]) claimOwner(ctx context.Context, key string) (seg, owner string, err error) {
	obj, err := r.st.Get(ctx, key, object.GetOptions{})
	if errors.Is(err, object.ErrNotFound) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	seg, owner = ownerOf(obj.Body)
	return seg, owner, nil
}

// ownerOf returns the segment and key of the record a claim's body names.
func ownerOf(body []byte) (seg, key string) {
	var owner claimBody
	if json.Unmarshal(body, &owner) != nil {
		return "", ""
	}
	return owner.Seg, owner.Key
}

// uniqueFind turns q, a Find over the entries of a unique index, into a
// Find over its one claim: no LIST, the claim's GET and its record's GET.
func (r *Repo[T]) uniqueFind(q *query[T], ix *indexDef, vseg string) *query[T] {
	prefix := r.base + "u/" + ix.name + "/"
	key := prefix + vseg
	q.prefix = prefix
	q.keys = func(ctx context.Context, startAfter string, _ int) iter.Seq2[object.Info, error] {
		return func(yield func(object.Info, error) bool) {
			if startAfter < key {
				yield(object.Info{Key: key}, nil)
			}
		}
	}
	q.owner = r.claimSeg
	q.holds = nil // a claim is freed by its own rules (claim.go), not by queries
	q.fingerprint = "findu/" + ix.name + "/" + vseg
	return q
}

// uniqueRange turns q, an ordered scan over the entries of a unique index
// (Range, or the query builder's Between, Prefix and OrderBy, ascending or
// descending), into the same scan over its claims, which list in value
// order as entries do. A claim's name does not carry its owner, so each
// listed claim is read (claimSeg) before its record.
func (r *Repo[T]) uniqueRange(q *query[T], ix *indexDef) *query[T] {
	entries := r.base + "i/" + ix.name + "/"
	prefix := r.base + "u/" + ix.name + "/"
	if q.startAfter != "" {
		// An entry's name only begins with the scan's start, but the claim
		// of the near bound may be named exactly that, which StartAfter
		// would leave out: start one byte earlier. The few names between
		// are outside the bounds, skipped without a GET.
		start := prefix + q.startAfter[len(entries):]
		q.startAfter = start[:len(start)-1]
	}
	q.prefix = prefix
	q.owner = r.claimSeg
	q.holds = nil
	// One claim per value: reversing the names reverses the values.
	q.groups = false
	q.fingerprint = strings.Replace(q.fingerprint, "/", "u/", 1) // range/... -> rangeu/...
	return q
}

// claimSeg is the query hook over claimOwnerCached: the owner's segment.
func (r *Repo[T]) claimSeg(ctx context.Context, key string) (string, error) {
	seg, _, err := r.claimOwnerCached(ctx, key)
	return seg, err
}

// countFound counts what q finds, reading the records: for a unique
// index at most one, from 2 GETs, exact. A record that holds the value
// but cannot be decoded counts, as its entry would.
func (r *Repo[T]) countFound(ctx context.Context, q *query[T]) (int, error) {
	n := 0
	var failed error
	r.run(ctx, q, "", 0, r.o.Concurrency, func(T, string, error) bool {
		n++
		return true
	}, func(err error) { failed = err })
	return n, failed
}
