package repo

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/nodb-go/nodb/repo/internal/encode"
	"github.com/nodb-go/nodb/repo/object"
)

// Query is a query under construction: conditions on indexed fields,
// ANDed, an order, a limit and an optional Go predicate. Build one with
// [Repo.Query] and run it with All, Page, First, Exists or Keys:
//
//	q := bookmarks.Query().Where("Tag", "go").Between("Created", lo, hi).Desc().Limit(20)
//	for b, err := range q.All(ctx) { ... }
//
// Each method returns a new Query, so a Query can be kept and extended.
// Errors in the conditions (a field that is not indexed, a value of the
// wrong type) are reported when the query runs, and by Explain.
//
// # Plan and cost
//
// One condition drives the query: a Where on a unique field, else the
// first Between or Prefix, else an OrderBy (an unbounded scan of its
// index), else the first Where, else the key order (All, or a Prefix on
// the key field). Results come in the driving index's value order, then
// key order (key order for Where and for no condition). Desc reverses the
// value order, keeping keys ascending within one value; with no Between,
// Prefix or OrderBy, it reverses the key order.
//
// A Where on a unique field names at most one record, through the one
// claim that holds its value (see [Repo.GetBy]): the query then costs 2
// GETs (the claim, then the record), whatever its other conditions, which
// are checked on that record rather than listed. Between, Prefix and
// OrderBy on a unique field list its claims, in value order like any
// index; a claim's name does not carry its owner, so each claim in range
// is read before its record: 2 GETs per result.
//
// Every other
// condition is answered from its own index's listing before any GET:
// entry names carry their record's key, so the keys listed for each
// condition are intersected and only records in the intersection are
// fetched, at most Options.Concurrency at once. Each fetched record is
// verified against every condition, then the predicate, so the results
// are exact whatever leftovers the indexes hold.
//
// Cost, with e_c the entries condition c lists and n the records fetched:
// sum over c of ceil(e_c/1000) LISTs, plus n GETs, in 2 rounds (the other
// conditions' listings, then the driving listing with its GETs), plus 1
// GET per claim a condition on a unique field lists. With a
// limit, the driving listing stops once enough records passed, so a
// driving scan in the order its index stores costs ceil(limit/1000) LISTs
// when every listed record is a result: the first page of the 20 largest
// values of an index tagged desc is 1 LIST and 20 GETs. Desc on an index
// stored ascending, or ascending order on one tagged desc, lists the whole
// range first (its LISTs come before the first GET). Explain says which.
// Records whose nodb:"expires" time has passed are skipped after their GET,
// at no extra request.
type Query[T any] struct {
	r     *Repo[T]
	conds []qcond
	desc  bool
	limit int
	pred  func(T) bool
}

type qkind uint8

const (
	qWhere qkind = iota
	qBetween
	qPrefix
	qOrder // OrderBy: no condition, an order
)

// qcond is one condition of a Query.
type qcond struct {
	kind   qkind
	field  string
	a, b   any
	prefix string
}

// Query returns an empty query over r: every record, in key order.
func (r *Repo[T]) Query() *Query[T] { return &Query[T]{r: r} }

func (q *Query[T]) with(f func(*Query[T])) *Query[T] {
	c := *q
	c.conds = append([]qcond(nil), q.conds...)
	f(&c)
	return &c
}

// Where adds the condition field == value on an indexed field (as Find).
// On an indexed slice field it matches records holding value. On a unique
// field it drives the query: 1 GET of the value's claim and 1 GET of the
// record it names, the query's other conditions checked on that record.
func (q *Query[T]) Where(field string, value any) *Query[T] {
	return q.with(func(c *Query[T]) { c.conds = append(c.conds, qcond{kind: qWhere, field: field, a: value}) })
}

// Between adds the condition lo <= field <= hi on an indexed field of an
// ordered kind (as Range). On a unique field it lists the field's claims
// and reads each one in range (1 GET) before its record.
func (q *Query[T]) Between(field string, lo, hi any) *Query[T] {
	return q.with(func(c *Query[T]) { c.conds = append(c.conds, qcond{kind: qBetween, field: field, a: lo, b: hi}) })
}

// Prefix adds the condition that field starts with prefix. field is an
// indexed string or encoding.TextMarshaler field (its text), or the key
// field, if it is a string or TextMarshaler key and Options.HashKeys is
// off. A prefix scan costs ceil(entries/1000) LISTs over the entries with
// the prefix, plus one GET per result.
func (q *Query[T]) Prefix(field string, prefix string) *Query[T] {
	return q.with(func(c *Query[T]) { c.conds = append(c.conds, qcond{kind: qPrefix, field: field, prefix: prefix}) })
}

// OrderBy orders the results by field, an indexed field of an ordered
// kind (not bool), ascending, or descending with Desc; records with equal
// values come in key order. OrderBy on the key field asks for key order,
// the order of a query without Between or Prefix. OrderBy drives the
// query as an unbounded Between on field would, at its cost:
// ceil(entries/1000) LISTs (claims for a unique field, then 1 GET per
// claim for its owner) plus 1 GET per result, and with a Limit or a page
// in the index's stored order it stops early: the first page of 20 of
// OrderBy("Created").Desc() on an index tagged desc is 1 LIST and 20 GETs.
// Where conditions on other fields are intersected with it as usual.
//
// OrderBy is refused (ErrInvalid, when the query runs) on a field that is
// not indexed or not ordered; together with a Between or Prefix on another
// field, since that range drives the query and orders it by its own field
// (put the range on the ordering field, or use Filter); together with
// OrderBy on another field; and on an omitempty index unless the query
// also has a condition on that field: such an index has no entry for a
// record with the zero value, so ordering by it would silently leave those
// records out.
func (q *Query[T]) OrderBy(field string) *Query[T] {
	return q.with(func(c *Query[T]) { c.conds = append(c.conds, qcond{kind: qOrder, field: field}) })
}

// Desc makes the query return its results in descending order: largest
// (newest) values of the driving index first (keys ascending within one
// value), or keys descending where the query has no Between or Prefix.
func (q *Query[T]) Desc() *Query[T] { return q.with(func(c *Query[T]) { c.desc = true }) }

// Limit makes All, Keys stop after n results (n <= 0: no limit). The
// driving listing stops there too, instead of listing the whole range.
func (q *Query[T]) Limit(n int) *Query[T] { return q.with(func(c *Query[T]) { c.limit = max(n, 0) }) }

// Filter adds a Go predicate: only records for which keep returns true
// are results. It runs on fetched records, so it saves no GET; a
// filtered-out record does not count towards a limit or a page.
func (q *Query[T]) Filter(keep func(T) bool) *Query[T] {
	return q.with(func(c *Query[T]) {
		prev := c.pred
		if prev == nil {
			c.pred = keep
			return
		}
		c.pred = func(v T) bool { return prev(v) && keep(v) }
	})
}

// All returns the query's results. The sequence can be ranged over more
// than once; each range queries afresh. Errors as for [Repo.Find].
func (q *Query[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		p, err := q.plan(ctx, true)
		if err != nil {
			yield(zero, wrapErr("Query", q.r.m.name, "", err))
			return
		}
		q.r.run(ctx, p.q, "", q.limit, q.r.o.Concurrency, yieldTo(yield), func(err error) { yield(zero, err) })
	}
}

// Page returns up to limit results, starting after cursor ("" for the
// first page), and the cursor of the next page. The query's own Limit is
// ignored: limit is the page size. A cursor is valid for the same query
// (conditions, values and order) only.
func (q *Query[T]) Page(ctx context.Context, cursor string, limit int) (Page[T], error) {
	p, err := q.plan(ctx, true)
	if err != nil {
		return Page[T]{}, wrapErr("QueryPage", q.r.m.name, "", err)
	}
	p.q.op = "QueryPage"
	return q.r.page(ctx, p.q, cursor, limit)
}

// First returns the query's first result; none is an error for which
// errors.Is(err, ErrNotFound) holds. The driving listing stops at the first
// verified record: with a driving scan in stored order, 1 LIST and
// 1 GET when its first entry is a result.
func (q *Query[T]) First(ctx context.Context) (T, error) {
	for v, err := range q.Limit(1).All(ctx) {
		return v, err
	}
	var zero T
	return zero, wrapErr("First", q.r.m.name, "", errorf(ErrNotFound, "no record matches the query"))
}

// Exists reports whether any record matches the query, at the cost of
// First.
func (q *Query[T]) Exists(ctx context.Context) (bool, error) {
	_, err := q.First(ctx)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Keys returns the keys (their text: a string key as it is, an integer in
// decimal) of the records the query matches, from index listings alone:
// no GET of a record. A condition on a unique field is the exception,
// since the names of its claims do not carry their owners (a store
// written before a claim served as the index, see docs/design.md, lists
// entries for Between, Prefix and OrderBy instead): each claim it lists,
// and the claim of a Where, is read, 1 GET per claim, in parallel at most
// Options.Concurrency at once. Like [Repo.CountBy], it cannot verify entries against records,
// so right after a crash it may yield the key of a write that never
// committed (and, where writers race on a store without conditional
// deletes, a key twice: once for an entry left under a value its record no
// longer holds), and a record whose nodb:"expires" time has passed is
// listed until the sweep removes it. Values longer than 160 bytes match a Between
// or Prefix by their first 160 bytes. A Query with a Filter, and a Repo
// with Options.HashKeys (its object names hold digests, not keys), cannot
// answer Keys: that is an error.
func (q *Query[T]) Keys(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		fail := func(err error) { yield("", wrapErr("Keys", q.r.m.name, "", err)) }
		if q.pred != nil {
			fail(invalidf("a query with a Filter needs the records: use All"))
			return
		}
		if q.r.o.HashKeys {
			fail(invalidf("with Options.HashKeys object names hold key digests, not keys: use All"))
			return
		}
		p, err := q.plan(ctx, false)
		if err != nil {
			fail(err)
			return
		}
		n, last := 0, "\x00"
		var seen map[string]bool // a list's scan meets a record once per element in range
		if p.q.multi {
			seen = map[string]bool{}
		}
		// emit yields the key of the record segment seg, once: entries of
		// one record under one value list together.
		emit := func(seg string) bool {
			if seg == "" || seg == last || seen[seg] {
				return true
			}
			last = seg
			if seen != nil {
				seen[seg] = true
			}
			text, err := q.r.keyTextOf(seg)
			if err != nil {
				fail(err)
				return false
			}
			if !yield(text, nil) {
				return false
			}
			n++
			return q.limit <= 0 || n < q.limit
		}
		// Claims name their owners in their bodies: read them in batches
		// of Options.Concurrency, in parallel, yielding in listing order.
		var claims []string
		flush := func() bool {
			segs, err := q.r.owners(ctx, p.q.owner, claims)
			claims = claims[:0]
			if err != nil {
				fail(err)
				return false
			}
			for _, seg := range segs {
				if !emit(seg) {
					return false
				}
			}
			return true
		}
		for info, err := range q.r.listed(ctx, p.q, "", 0) {
			if err != nil {
				fail(err)
				return
			}
			rest := info.Key[len(p.q.prefix):]
			if !p.q.reverse && p.q.stop != nil && p.q.stop(rest) {
				break
			}
			if p.q.skip != nil && p.q.skip(rest) {
				continue
			}
			if p.q.owner == nil {
				if !emit(p.q.seg(rest)) {
					return
				}
				continue
			}
			claims = append(claims, info.Key)
			batch := q.r.o.Concurrency
			if q.limit > 0 {
				batch = min(batch, q.limit-n)
			}
			if len(claims) >= batch && !flush() {
				return
			}
		}
		if len(claims) > 0 {
			flush()
		}
	}
}

// keyTextOf returns the text of the key whose record segment is seg.
func (r *Repo[T]) keyTextOf(seg string) (string, error) {
	switch r.m.key.kind {
	case kindInt, kindUint:
		if len(seg) < 2 || seg[0] != 'n' && seg[0] != 'p' {
			return "", errorf(ErrCorrupt, "object name %s is not an integer key", quote(seg))
		}
		digits := strings.TrimLeft(seg[1:], "0")
		if seg[0] == 'n' {
			// n + (v - MinInt64): recompute the negative value.
			var u uint64
			if _, err := fmt.Sscan(seg[1:], &u); err != nil {
				return "", errorf(ErrCorrupt, "object name %s: %v", quote(seg), err)
			}
			return fmt.Sprint(int64(u - 1<<63)), nil
		}
		if digits == "" {
			digits = "0"
		}
		return digits, nil
	}
	text, err := encode.DecodeKeyString(seg)
	if err != nil {
		return "", errorf(ErrCorrupt, "object name %s: %v", quote(seg), err)
	}
	return text, nil
}

// Explain says how the query would run: what it lists, in which order,
// what it intersects and what it fetches, and the cost in requests. It
// makes no request, so it does not check that the indexes are built.
func (q *Query[T]) Explain() (string, error) {
	p, err := q.plan(nil, true)
	if err != nil {
		return "", wrapErr("Explain", q.r.m.name, "", err)
	}
	return p.explain(q), nil
}

// --- planning ---

// qplan is a planned Query.
type qplan[T any] struct {
	q       *query[T]   // the driving listing
	others  []*query[T] // listed in full and intersected before any GET
	driver  string      // how the driving listing reads, in words
	lines   []string    // the other listings, in words
	checked []string    // conditions verified on the fetched record alone, in words
}

// condIndex returns the index of c's field, or nil for the key field.
func (q *Query[T]) condIndex(c qcond) (*indexDef, error) {
	if c.kind == qPrefix && c.field == q.r.m.key.name {
		switch {
		case q.r.m.key.kind != kindString && q.r.m.key.kind != kindText:
			return nil, invalidf("Prefix on the key field %s needs a string or TextMarshaler key, not %s", c.field, q.r.m.key.typ)
		case q.r.o.HashKeys:
			return nil, invalidf("Prefix on the key field %s: with Options.HashKeys records are stored by key digest", c.field)
		}
		return nil, nil
	}
	ix, err := q.r.index(c.field)
	if err != nil {
		return nil, err
	}
	switch c.kind {
	case qBetween:
		if !ix.kind.ordered() {
			return nil, invalidf("field %s is a %s: Between needs an ordered kind (use Where)", ix.name, ix.kind)
		}
	case qOrder:
		if !ix.kind.ordered() {
			return nil, invalidf("field %s is a %s: OrderBy needs an ordered kind", ix.name, ix.kind)
		}
	case qPrefix:
		if ix.kind != kindString && ix.kind != kindText {
			return nil, invalidf("field %s is a %s: Prefix needs a string or TextMarshaler field", ix.name, ix.kind)
		}
	}
	return ix, nil
}

// uniqueWhere reports whether c is a Where on a unique field: it names at
// most one record, through one claim.
func (q *Query[T]) uniqueWhere(c qcond) bool {
	if c.kind != qWhere {
		return false
	}
	ix, err := q.r.index(c.field)
	return err == nil && ix.unique
}

// orderField checks the query's OrderBy conditions against the others and
// returns the field it orders by, "" for none.
func (q *Query[T]) orderField() (string, error) {
	r := q.r
	order := ""
	for _, c := range q.conds {
		if c.kind != qOrder {
			continue
		}
		if order != "" && c.field != order {
			return "", invalidf("OrderBy %s and OrderBy %s: a query has one order", order, c.field)
		}
		order = c.field
	}
	if order == "" {
		return "", nil
	}
	key := order == r.m.key.name
	if key && r.o.HashKeys {
		return "", invalidf("OrderBy on the key field %s: with Options.HashKeys records are stored by key digest, so there is no key order to list", order)
	}
	var ix *indexDef
	if !key {
		var err error
		if ix, err = q.condIndex(qcond{kind: qOrder, field: order}); err != nil {
			return "", err
		}
	}
	if ix != nil && ix.list {
		return "", invalidf("OrderBy %s: %s is a list field, and a record holding several elements has no one place in its order; use Between on %s (each record once, at its first element in range)", order, order, order)
	}
	restricted := false // a condition on the order field: only records holding a value
	for _, c := range q.conds {
		switch {
		case c.kind == qOrder:
		case c.field == order:
			restricted = true
		case c.kind == qBetween || c.kind == qPrefix:
			what := map[qkind]string{qBetween: "Between", qPrefix: "Prefix"}[c.kind]
			return "", invalidf("OrderBy %s with %s on %s: the %s drives the query and orders its results by %s, and one listing gives one order; put the range on %s, or test %s with Filter", order, what, c.field, what, c.field, order, c.field)
		}
	}
	if ix != nil && ix.sparse && !restricted {
		return "", invalidf("OrderBy %s: index %s is omitempty, so records whose %s is the zero value have no entry and ordering by it would leave them out; add a condition on %s (Between) or drop omitempty", order, ix.name, order, order)
	}
	return order, nil
}

// claimsLayout reports whether the unique index ix is read from its claims
// alone (unique.go). Before the manifest is read (Explain) it assumes the
// layout of new stores.
func (r *Repo[T]) claimsLayout(ix *indexDef) bool {
	r.attachMu.Lock()
	attached := r.man != nil
	r.attachMu.Unlock()
	return !attached || r.claimsOnly(ix)
}

// condQuery builds the listing for one condition, in order desc.
// ctx nil: no readiness check (Explain).
func (q *Query[T]) condQuery(ctx context.Context, c qcond, desc bool) (*query[T], string, error) {
	r := q.r
	ix, err := q.condIndex(c)
	if err != nil {
		return nil, "", err
	}
	if ix == nil { // key prefix
		text, seg, err := encodeKeyPrefix(c.prefix)
		if err != nil {
			return nil, "", err
		}
		aq := r.allQuery()
		aq.op = "Query"
		aq.prefix = r.base + "r/" + seg
		aq.seg = func(rest string) string { return seg + rest }
		aq.reverse = desc
		aq.keep = func(v *T, _ string) (bool, error) {
			t, _, err := r.keyOf(v)
			return err == nil && strings.HasPrefix(t, text), err
		}
		aq.match = func(v *T) (bool, error) { return aq.keep(v, "") }
		aq.fingerprint = "keyprefix/" + seg
		if desc {
			aq.fingerprint += "/desc"
		}
		return aq, fmt.Sprintf("records with key prefix %q (LIST %sr/%s, %s)", c.prefix, r.base, seg, orderWords(desc, false)), nil
	}
	if ctx != nil {
		if err := r.ready(ctx, ix); err != nil {
			return nil, "", err
		}
	}
	// scan finishes an ordered scan: over the claims of a unique index in
	// the claims layout, else over its entries.
	scan := func(sq *query[T], what string) (*query[T], string, error) {
		if ix.unique && r.claimsLayout(ix) {
			r.uniqueRange(sq, ix)
			return sq, fmt.Sprintf("%s (LIST claims %s, %s; 1 GET per claim for the record it names)", what, sq.prefix, orderWords(desc, ix.desc)), nil
		}
		return sq, fmt.Sprintf("%s (LIST %s, %s)", what, sq.prefix, orderWords(desc, ix.desc)), nil
	}
	switch c.kind {
	case qWhere:
		vseg, _, err := r.eqSegment(ix, c.a)
		if err != nil {
			return nil, "", err
		}
		fq := r.eqQuery(ix, vseg)
		keep := fq.keep
		fq.op = "Query"
		fq.match = func(v *T) (bool, error) { return keep(v, "") }
		if ix.unique {
			// One claim names the one record that can hold the value, in
			// both layouts (unique.go): order does not matter.
			r.uniqueFind(fq, ix, vseg)
			return fq, fmt.Sprintf("%s = %v (GET claim %s, no LIST; then the record it names)", ix.name, c.a, fq.prefix+vseg), nil
		}
		fq.reverse = desc
		if desc {
			fq.fingerprint += "/desc"
		}
		return fq, fmt.Sprintf("%s = %v (LIST %s, key order%s)", ix.name, c.a, fq.prefix, map[bool]string{true: ", listed in full then reversed", false: ""}[desc]), nil
	case qBetween:
		bound := func(x any) ([]byte, error) {
			fv, err := ix.valueArg(x)
			if err != nil {
				return nil, err
			}
			return orderedBytes(ix.kind, fv)
		}
		lo, err := bound(c.a)
		if err != nil {
			return nil, "", err
		}
		hi, err := bound(c.b)
		if err != nil {
			return nil, "", err
		}
		sq := r.scanQuery(ix, scanBounds{lo: lo, hi: hi}, desc, "Query", "range")
		return scan(sq, fmt.Sprintf("%s between %v and %v", ix.name, c.a, c.b))
	case qOrder:
		sq := r.scanQuery(ix, scanBounds{}, desc, "Query", "order")
		return scan(sq, fmt.Sprintf("every record by %s", ix.name))
	default:
		sq := r.scanQuery(ix, scanBounds{prefix: []byte(c.prefix), isPref: true}, desc, "Query", "prefix")
		return scan(sq, fmt.Sprintf("%s with prefix %q", ix.name, c.prefix))
	}
}

// orderWords describes a scan's order and what it costs.
func orderWords(desc, storedDesc bool) string {
	order := "ascending"
	if desc {
		order = "descending"
	}
	if desc == storedDesc {
		return order + ", in stored order: stops at the end of the range or the limit"
	}
	return order + ", against stored order: lists the whole range, then walks it backwards"
}

// encodeKeyPrefix returns the record-segment prefix of the string keys
// starting with p: the readable key encoding is per byte, so it is the
// encoding of p.
func encodeKeyPrefix(p string) (string, string, error) {
	if p == "" {
		return "", "", nil
	}
	return p, encode.EncodeKeyString(p), nil
}

// plan builds the query's listings. With fetch set the driving listing's
// keep verifies every condition and the predicate.
//
// The driver is the first Where on a unique field (at most one record, at
// 2 GETs: with fetch set the other conditions are then checked on that
// record instead of listed), else the first Between or Prefix, else an
// OrderBy on an index (an unbounded scan of it) unless a Where on the same
// field makes every result share one value, else the first Where, else
// every record in key order.
func (q *Query[T]) plan(ctx context.Context, fetch bool) (*qplan[T], error) {
	if q.r == nil {
		return nil, invalidf("Query: use Repo.Query to make one")
	}
	order, err := q.orderField()
	if err != nil {
		return nil, err
	}
	var conds []qcond
	whereOnOrder := false
	for _, c := range q.conds {
		if c.kind != qOrder {
			conds = append(conds, c)
			whereOnOrder = whereOnOrder || c.kind == qWhere && c.field == order
		}
	}
	drive := -1
	for i, c := range conds {
		if q.uniqueWhere(c) {
			drive = i
			break
		}
	}
	for i, c := range conds {
		if drive < 0 && c.kind != qWhere {
			drive = i
		}
	}
	orderDrives := drive < 0 && order != "" && order != q.r.m.key.name && !whereOnOrder
	if drive < 0 && !orderDrives && len(conds) > 0 {
		drive = 0
	}
	uniqueDrive := drive >= 0 && q.uniqueWhere(conds[drive])
	p := &qplan[T]{}
	switch {
	case orderDrives:
		dq, words, err := q.condQuery(ctx, qcond{kind: qOrder, field: order}, q.desc)
		if err != nil {
			return nil, err
		}
		p.q, p.driver = dq, words
	case drive < 0:
		aq := q.r.allQuery()
		aq.op = "Query"
		aq.reverse = q.desc
		if q.desc {
			aq.fingerprint += "/desc"
		}
		p.q = aq
		p.driver = fmt.Sprintf("every record (LIST %sr/, %s)", q.r.base, orderWords(q.desc, false))
	default:
		dq, words, err := q.condQuery(ctx, conds[drive], q.desc)
		if err != nil {
			return nil, err
		}
		p.q, p.driver = dq, words
	}
	var checks []func(v *T) (bool, error)
	for i, c := range conds {
		if i == drive {
			continue
		}
		oq, words, err := q.condQuery(ctx, c, false)
		if err != nil {
			return nil, err
		}
		p.q.fingerprint += "&" + oq.fingerprint
		checks = append(checks, oq.match)
		if uniqueDrive && fetch {
			p.checked = append(p.checked, words)
			continue
		}
		p.others = append(p.others, oq)
		p.lines = append(p.lines, words)
	}
	if len(p.others) > 0 && ctx != nil {
		sets := make([]map[string]bool, 0, len(p.others))
		for _, oq := range p.others {
			s, err := q.r.segsOf(ctx, oq)
			if err != nil {
				return nil, err
			}
			sets = append(sets, s)
		}
		inAll := func(seg string) bool {
			for _, s := range sets {
				if !s[seg] {
					return false
				}
			}
			return true
		}
		p.q.fullPages = true
		if owner := p.q.owner; owner != nil {
			// A claim's name does not carry its owner: intersect once its
			// GET named the record, before the record's GET.
			p.q.owner = func(ctx context.Context, key string) (string, error) {
				seg, err := owner(ctx, key)
				if err != nil || seg == "" || inAll(seg) {
					return seg, err
				}
				return "", nil
			}
		} else {
			base := p.q.skip
			p.q.skip = func(rest string) bool {
				return base != nil && base(rest) || !inAll(p.q.seg(rest))
			}
		}
	}
	if fetch && (len(checks) > 0 || q.pred != nil) {
		keep := p.q.keep
		pred := q.pred
		p.q.keep = func(v *T, rest string) (bool, error) {
			if keep != nil {
				if ok, err := keep(v, rest); !ok || err != nil {
					return ok, err
				}
			}
			for _, ch := range checks {
				if ok, err := ch(v); !ok || err != nil {
					return ok, err
				}
			}
			return pred == nil || pred(*v), nil
		}
	}
	return p, nil
}

// listed returns what q lists after startAfter: its keys function's
// names where it has one (a unique Where's one claim), else the LIST.
func (r *Repo[T]) listed(ctx context.Context, q *query[T], startAfter string, pageSize int) iter.Seq2[object.Info, error] {
	if q.keys != nil {
		return q.keys(ctx, startAfter, pageSize)
	}
	return r.listing(ctx, q, startAfter, pageSize)
}

// segsOf lists q in full and returns the record segments it names. The
// names of claims do not carry their owners: each listed claim is read
// (1 GET each, at most Options.Concurrency at once).
func (r *Repo[T]) segsOf(ctx context.Context, q *query[T]) (map[string]bool, error) {
	out := map[string]bool{}
	var claims []string
	for info, err := range r.listed(ctx, q, "", 0) {
		if err != nil {
			return nil, err
		}
		rest := info.Key[len(q.prefix):]
		if !q.reverse && q.stop != nil && q.stop(rest) {
			break
		}
		if q.skip != nil && q.skip(rest) {
			continue
		}
		if q.owner != nil {
			claims = append(claims, info.Key)
			continue
		}
		out[q.seg(rest)] = true
	}
	segs, err := r.owners(ctx, q.owner, claims)
	if err != nil {
		return nil, err
	}
	for _, s := range segs {
		if s != "" {
			out[s] = true
		}
	}
	return out, nil
}

// owners reads the claims named and returns the segments of the records
// they name ("" for none), in parallel, at most Options.Concurrency at once.
func (r *Repo[T]) owners(ctx context.Context, owner func(context.Context, string) (string, error), names []string) ([]string, error) {
	segs := make([]string, len(names))
	tasks := make([]func(context.Context) error, len(names))
	for i, name := range names {
		tasks[i] = func(ctx context.Context) error {
			s, err := owner(ctx, name)
			segs[i] = s
			return err
		}
	}
	return segs, r.parallel(ctx, tasks)
}

func (p *qplan[T]) explain(q *Query[T]) string {
	var b strings.Builder
	fmt.Fprintf(&b, "drive: %s\n", p.driver)
	for _, l := range p.lines {
		fmt.Fprintf(&b, "intersect: %s, listed in full before any GET\n", l)
	}
	for _, l := range p.checked {
		fmt.Fprintf(&b, "check: %s, not listed: checked on the one record the driving claim names\n", l)
	}
	b.WriteString("fetch: 1 GET per key")
	if len(p.lines) > 0 {
		b.WriteString(" in the intersection")
	}
	b.WriteString(", verified against every condition")
	if q.pred != nil {
		b.WriteString(" and the filter")
	}
	b.WriteString("\n")
	if q.limit > 0 {
		fmt.Fprintf(&b, "limit: %d (the driving listing stops there)\n", q.limit)
	}
	return b.String()
}

// Exists reports whether a record is stored under key. It makes one HEAD
// request, or one GET where the model has a nodb:"expires" field (an
// expired record does not exist for readers). A record that cannot be
// decoded exists.
func (r *Repo[T]) Exists(ctx context.Context, key any) (bool, error) {
	text, seg, err := r.keySeg(key)
	if err != nil {
		return false, wrapErr("Exists", r.m.name, keyText(key), err)
	}
	if r.m.expires == nil {
		_, err = r.st.Head(ctx, r.recordName(seg))
	} else {
		var v T
		v, _, _, err = r.load(ctx, seg)
		if err == nil && r.expired(&v) {
			return false, nil
		}
		if recordError(err) {
			return true, nil
		}
	}
	if errors.Is(err, object.ErrNotFound) {
		return false, nil
	}
	return err == nil, wrapErr("Exists", r.m.name, text, err)
}
