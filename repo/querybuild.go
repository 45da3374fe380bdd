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
// One condition drives the query: the first Between or Prefix, else the
// first Where, else the key order (All, or a Prefix on the key field).
// Results come in the driving index's value order, then key order (key
// order for Where and for no condition). Desc reverses the value order,
// keeping keys ascending within one value; with no Between or Prefix, it
// reverses the key order. Every other
// condition is answered from its own index's listing before any GET:
// entry names carry their record's key, so the keys listed for each
// condition are intersected and only records in the intersection are
// fetched, at most Options.Concurrency at once. Each fetched record is
// verified against every condition, then the predicate, so the results
// are exact whatever leftovers the indexes hold.
//
// Cost, with e_c the entries condition c lists and n the records fetched:
// sum over c of ceil(e_c/1000) LISTs, plus n GETs, in 2 rounds (the other
// conditions' listings, then the driving listing with its GETs). With a
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
// On an indexed slice field it matches records holding value.
func (q *Query[T]) Where(field string, value any) *Query[T] {
	return q.with(func(c *Query[T]) { c.conds = append(c.conds, qcond{kind: qWhere, field: field, a: value}) })
}

// Between adds the condition lo <= field <= hi on an indexed field of an
// ordered kind (as Range).
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
// no GET. Like [Repo.CountBy], it cannot verify entries against records,
// so right after a crash it may yield the key of a write that never
// committed, and a record whose nodb:"expires" time has passed is listed
// until the sweep removes it. Values longer than 160 bytes match a Between
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
		for info, err := range q.r.listing(ctx, p.q, "", 0) {
			if err != nil {
				fail(err)
				return
			}
			rest := info.Key[len(p.q.prefix):]
			if !p.q.reverse && p.q.stop != nil && p.q.stop(rest) {
				return
			}
			if p.q.skip != nil && p.q.skip(rest) {
				continue
			}
			seg := p.q.seg(rest)
			if seg == last || seen[seg] {
				continue
			}
			last = seg
			if seen != nil {
				seen[seg] = true
			}
			text, err := q.r.keyTextOf(seg)
			if err != nil {
				fail(err)
				return
			}
			if !yield(text, nil) {
				return
			}
			if n++; q.limit > 0 && n >= q.limit {
				return
			}
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
	q      *query[T]   // the driving listing
	others []*query[T] // listed in full and intersected before any GET
	driver string      // how the driving listing reads, in words
	lines  []string    // the other listings, in words
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
	if ix.unique {
		// A unique index is stored as its claims (unique.go), which the
		// builder's listings and intersections do not read yet.
		return nil, invalidf("field %s is unique: Query does not take conditions on unique fields yet; use GetBy for one value and Range for a range", ix.name)
	}
	switch c.kind {
	case qBetween:
		if !ix.kind.ordered() {
			return nil, invalidf("field %s is a %s: Between needs an ordered kind (use Where)", ix.name, ix.kind)
		}
	case qPrefix:
		if ix.kind != kindString && ix.kind != kindText {
			return nil, invalidf("field %s is a %s: Prefix needs a string or TextMarshaler field", ix.name, ix.kind)
		}
	}
	return ix, nil
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
	switch c.kind {
	case qWhere:
		vseg, _, err := r.eqSegment(ix, c.a)
		if err != nil {
			return nil, "", err
		}
		fq := r.eqQuery(ix, vseg)
		fq.op, fq.reverse = "Query", desc
		fq.match = func(v *T) (bool, error) { return fq.keep(v, "") }
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
		return sq, fmt.Sprintf("%s between %v and %v (LIST %s, %s)", ix.name, c.a, c.b, sq.prefix, orderWords(desc, ix.desc)), nil
	default:
		sq := r.scanQuery(ix, scanBounds{prefix: []byte(c.prefix), isPref: true}, desc, "Query", "prefix")
		return sq, fmt.Sprintf("%s with prefix %q (LIST %s, %s)", ix.name, c.prefix, sq.prefix, orderWords(desc, ix.desc)), nil
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
func (q *Query[T]) plan(ctx context.Context, fetch bool) (*qplan[T], error) {
	if q.r == nil {
		return nil, invalidf("Query: use Repo.Query to make one")
	}
	drive := -1
	for i, c := range q.conds {
		if c.kind != qWhere {
			drive = i
			break
		}
	}
	if drive < 0 && len(q.conds) > 0 {
		drive = 0
	}
	p := &qplan[T]{}
	if drive < 0 {
		aq := q.r.allQuery()
		aq.op = "Query"
		aq.reverse = q.desc
		if q.desc {
			aq.fingerprint += "/desc"
		}
		p.q = aq
		p.driver = fmt.Sprintf("every record (LIST %sr/, %s)", q.r.base, orderWords(q.desc, false))
	} else {
		dq, words, err := q.condQuery(ctx, q.conds[drive], q.desc)
		if err != nil {
			return nil, err
		}
		p.q, p.driver = dq, words
	}
	var checks []func(v *T) (bool, error)
	for i, c := range q.conds {
		if i == drive {
			continue
		}
		oq, words, err := q.condQuery(ctx, c, false)
		if err != nil {
			return nil, err
		}
		p.others = append(p.others, oq)
		p.lines = append(p.lines, words)
		p.q.fingerprint += "&" + oq.fingerprint
		checks = append(checks, oq.match)
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
		p.q.fullPages = true
		base := p.q.skip
		p.q.skip = func(rest string) bool {
			if base != nil && base(rest) {
				return true
			}
			seg := p.q.seg(rest)
			for _, s := range sets {
				if !s[seg] {
					return true
				}
			}
			return false
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

// segsOf lists q in full and returns the record segments it names.
func (r *Repo[T]) segsOf(ctx context.Context, q *query[T]) (map[string]bool, error) {
	out := map[string]bool{}
	for info, err := range r.listing(ctx, q, "", 0) {
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
		out[q.seg(rest)] = true
	}
	return out, nil
}

func (p *qplan[T]) explain(q *Query[T]) string {
	var b strings.Builder
	fmt.Fprintf(&b, "drive: %s\n", p.driver)
	for _, l := range p.lines {
		fmt.Fprintf(&b, "intersect: %s, listed in full before any GET\n", l)
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
