package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"github.com/nodb-go/nodb/repo/object"
)

// Report is what Check found (and, with repair, fixed).
type Report struct {
	// Records, Entries and Claims count what was scanned.
	Records, Entries, Claims int
	// OrphanEntries are index entries that no record backs: leftovers of
	// interrupted or superseded writes. Readers skip them; repair deletes
	// those older than Options.ClaimLease.
	OrphanEntries int
	// MissingEntries are index values of records that have no entry (queries
	// would miss those records). Repair writes them.
	MissingEntries int
	// StaleClaims are unique claims whose owner does not hold the value.
	// Repair deletes those older than Options.ClaimLease, unless a stored
	// record holds the value: that record then takes the claim over.
	StaleClaims int
	// MissingClaims are unique values held by a record without a claim
	// naming it. Repair claims them (failing if another record holds the
	// same value, which is then listed in Problems).
	MissingClaims int
	// UnknownIndexes are index names found in the store that the model does
	// not have (or, for claims, does not have as unique). Repair leaves
	// their entries and claims alone: a program with a newer model may use
	// them.
	UnknownIndexes []string
	// Unreadable lists the keys of records that exist but could not be read
	// or decoded (each is also in Problems, with the reason). Their entries
	// and claims count as held: repair never removes them.
	Unreadable []string
	// Problems lists records that could not be read, values held twice, and
	// objects under the model's prefix that are not NoDB's (left alone).
	Problems []string
	// Repaired counts the objects repair wrote or deleted.
	Repaired int
}

// OK reports whether the check found nothing to repair.
func (rep Report) OK() bool {
	return rep.OrphanEntries == 0 && rep.MissingEntries == 0 && rep.StaleClaims == 0 &&
		rep.MissingClaims == 0 && len(rep.UnknownIndexes) == 0 && len(rep.Problems) == 0
}

// Check scans the model's records, index entries and unique claims and
// reports leftovers of interrupted writes, records missing from an index,
// and the trees of indexes the model does not have. With repair it also
// fixes what it safely can. Check reads every record: it is a maintenance
// operation, not a query. It costs one LIST per 1000 objects, one GET per
// record and one GET per unique claim, issued in parallel like a query's.
//
// Its memory is bounded: it holds at most Options.CheckPassRecords records
// at once, about 60 bytes each plus the key (no values are kept), besides
// what it reports. A model with more records is checked in passes of that
// many records in key order; each pass after the first lists the entries
// and claims again and reads every claim again, so P passes cost P times
// the LISTs of entries and claims and P times the claim GETs.
//
// Repair never makes anything worse, and is safe while other writers run:
//   - it removes only entries and claims older than Options.ClaimLease, each
//     only if it is still the object Check listed, and only after reading
//     the record it names again;
//   - it never removes an entry or claim whose record exists but cannot be
//     read or decoded (such records are listed in Report.Unreadable and
//     Problems), nor a claim on a value that a stored record holds;
//   - what it writes for a record missing an entry or claim, the record
//     tracks: it is rewritten (one PUT, If-Match on the version read; its
//     value and schema version unchanged, its version new), so the next
//     write that moves the value removes the repaired objects too; if the
//     record moved meanwhile, what Check wrote is removed again;
//   - it releases a claim only after every repair of the records has run,
//     and only if the claim is still the object it read, its owner does not
//     hold the value when read again, and no record named by an entry of
//     that value holds it;
//   - it leaves foreign objects and unknown indexes alone.
//
// Run again after a repair, Check finds nothing more to repair (Repaired is
// 0), unless writers ran meanwhile or the store holds problems only a
// person can settle (values held twice, unreadable records).
func (r *Repo[T]) Check(ctx context.Context, repair bool) (Report, error) {
	c := &checker[T]{r: r, repair: repair, k: len(r.m.indexes), passMax: r.o.CheckPassRecords, unknown: map[string]bool{}}
	err := r.checkLayout(ctx) // which unique indexes have no entries (unique.go)
	if err == nil {
		err = c.run(ctx)
	}
	rep := c.rep
	for name := range c.unknown {
		rep.UnknownIndexes = append(rep.UnknownIndexes, name)
	}
	slices.Sort(rep.UnknownIndexes)
	slices.Sort(rep.Unreadable)
	slices.Sort(rep.Problems)
	return rep, wrapErr("Check", r.m.name, "", err)
}

// checker is the state of one Check. Per record it keeps the record's
// segment and a 64-bit hash of each index value segment, not the value:
// entries list in value order and records in key order, so one side must
// be held to compare them, and this is the smallest form of it. (A hash
// collision, 2^-64 per comparison, could make an orphan entry look backed;
// readers verify every hit, so it would cost an uncollected leftover, never
// a wrong answer.)
//
// It holds one pass of at most passMax records: the pass judges the
// records with segments in (lo, hi], and the entries and claims that name
// them, so every object is judged in exactly one pass.
type checker[T any] struct {
	r       *Repo[T]
	repair  bool
	k       int // indexes
	passMax int // records per pass

	pass int    // number of this pass, from 0
	lo   string // this pass judges record segments > lo ...
	hi   string // ... and <= hi, unless last
	last bool   // no records after this pass's

	segs  []string // record number -> segment, in listing (byte) order
	vals  []uint64 // record number*k + index position -> value hash, 0: no value
	bad   []bool   // record number -> unreadable
	state []uint8  // record number*k + index position -> hasEntry|hasClaim
	// The elements of list indexes (list.go): record number n's are
	// elems[elemAt[n]:elemAt[n+1]], sorted by position and hash. For a
	// list position, vals holds the hash of the whole set.
	elems  []elemRec
	elemAt []int32

	unknown map[string]bool
	stale   []staleClaim // claims to release after the last pass

	mu    sync.Mutex // guards rep during repairs
	rep   Report
	tasks []func(context.Context) error // pending repairs
}

const (
	hasEntry = 1 << iota
	hasClaim
)

// elemRec is one element of a record's list index in a Check pass: 16
// bytes besides the record's.
type elemRec struct {
	h   uint64 // hashSeg of the element's segment
	pos int32
	st  uint8 // hasEntry
}

func cmpElem(a, b elemRec) int {
	if a.pos != b.pos {
		return int(a.pos - b.pos)
	}
	switch {
	case a.h < b.h:
		return -1
	case a.h > b.h:
		return 1
	}
	return 0
}

// elem returns the element of list index pos with hash h of record n, or
// nil.
func (c *checker[T]) elem(n int32, pos int, h uint64) *elemRec {
	rs := c.elems[c.elemAt[n]:c.elemAt[n+1]]
	i, ok := slices.BinarySearchFunc(rs, elemRec{h: h, pos: int32(pos)}, cmpElem)
	if !ok {
		return nil
	}
	return &rs[i]
}

// listElems returns the elements of the list indexes among segs, the
// indexOf strings of a record, sorted for elem.
func (c *checker[T]) listElems(segs []string) []elemRec {
	var out []elemRec
	for sl := range c.r.m.slots(segs) {
		if c.r.m.indexes[sl.pos].list {
			out = append(out, elemRec{h: hashSeg(sl.vseg), pos: int32(sl.pos)})
		}
	}
	slices.SortFunc(out, cmpElem)
	return slices.CompactFunc(out, func(a, b elemRec) bool { return cmpElem(a, b) == 0 })
}

// missingSlots returns the values whose entries fill writes: of each
// scalar index position in entries its value, of each list position the
// elements whose hashes are in elems.
func (c *checker[T]) missingSlots(segs []string, entries []int, elems []elemRec) []slot {
	var out []slot
	for sl := range c.r.m.slots(segs) {
		if !slices.Contains(entries, sl.pos) {
			continue
		}
		if c.r.m.indexes[sl.pos].list && !slices.ContainsFunc(elems, func(e elemRec) bool { return int(e.pos) == sl.pos && e.h == hashSeg(sl.vseg) }) {
			continue
		}
		out = append(out, sl)
	}
	return out
}

// checkBatch is how many listed objects Check reads before it processes
// them, and how many repairs it queues before it runs them.
const checkBatch = 1000

// staleClaim is a claim whose owner did not hold its value when read.
type staleClaim struct {
	info object.Info
	pos  int
	vseg string
}

// inPass reports whether this pass judges the record with segment seg.
func (c *checker[T]) inPass(seg string) bool {
	return seg > c.lo && (c.last || seg <= c.hi)
}

// find returns the number of the record with segment seg. Records are
// numbered in listing order, which is byte order, so a binary search finds
// them without a map (a map would double Check's memory per record).
func (c *checker[T]) find(seg string) (int32, bool) {
	n, ok := slices.BinarySearch(c.segs, seg)
	return int32(n), ok
}

// run checks the model pass by pass, then releases the stale claims found:
// only then have all missing claims been taken over, so a claim on a value
// that a record holds is never released.
func (c *checker[T]) run(ctx context.Context) error {
	for {
		for _, step := range []func(context.Context) error{c.scanRecords, c.scanEntries, c.scanClaims, c.fillMissing, c.flush} {
			if err := step(ctx); err != nil {
				return err
			}
		}
		if c.last {
			break
		}
		c.lo = c.hi
		c.pass++
	}
	if err := c.releaseStale(ctx); err != nil {
		return err
	}
	return c.flush(ctx)
}

func hashSeg(vseg string) uint64 {
	if vseg == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(vseg))
	if s := h.Sum64(); s != 0 {
		return s
	}
	return 1
}

// problem records a problem found.
func (c *checker[T]) problem(format string, args ...any) {
	c.mu.Lock()
	c.rep.Problems = append(c.rep.Problems, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *checker[T]) repaired() {
	c.mu.Lock()
	c.rep.Repaired++
	c.mu.Unlock()
}

// old reports whether a listed entry or claim is older than the claim lease.
func (c *checker[T]) old(info object.Info) bool {
	return !info.LastModified.IsZero() && info.LastModified.Add(c.r.o.ClaimLease).Before(c.r.storeNow())
}

// queue adds a repair, running the queue when it is full.
func (c *checker[T]) queue(ctx context.Context, task func(context.Context) error) error {
	c.tasks = append(c.tasks, task)
	if len(c.tasks) < checkBatch {
		return nil
	}
	return c.flush(ctx)
}

// flush runs the queued repairs.
func (c *checker[T]) flush(ctx context.Context) error {
	tasks := c.tasks
	c.tasks = nil
	return c.r.parallel(ctx, tasks)
}

// readRecord reads and decodes the record with segment seg without
// touching the state cache (Check must not fill it with every record). It
// returns found=false if the record does not exist, and an error wrapping
// ErrCorrupt (a *corruptRecord) if it exists but cannot be decoded.
func (c *checker[T]) readRecord(ctx context.Context, seg string) (v T, segs []string, version string, text string, found bool, err error) {
	r := c.r
	obj, err := r.st.Get(ctx, r.recordName(seg), object.GetOptions{})
	if errors.Is(err, object.ErrNotFound) {
		return v, nil, "", "", false, nil
	}
	if err != nil {
		return v, nil, "", "", false, err
	}
	v, env, err := r.decodeRecord(obj.Body, obj.Key)
	if err != nil {
		return v, nil, "", "", true, r.recordErr(seg, obj, err)
	}
	segs, err = r.indexOf(&v, make([]string, 0, c.k))
	if err != nil {
		return v, nil, "", env.Key, true, &corruptRecord{key: env.Key, err: errorf(ErrCorrupt, "record %s: %v", quote(env.Key), err)}
	}
	return v, segs, obj.Version, env.Key, true, nil
}

// scanRecords lists the records of this pass, the next passMax after lo,
// and reads them, a batch at a time in parallel, keeping each one's index
// value hashes. It sets hi and last.
func (c *checker[T]) scanRecords(ctx context.Context) error {
	r := c.r
	prefix := r.base + "r/"
	c.segs, c.vals, c.bad, c.state = c.segs[:0], c.vals[:0], c.bad[:0], c.state[:0]
	c.elems, c.elemAt = c.elems[:0], append(c.elemAt[:0], 0)
	type result struct {
		hashes []uint64
		elems  []elemRec
		found  bool
		bad    error
	}
	var batch []string
	process := func() error {
		results := make([]result, len(batch))
		tasks := make([]func(context.Context) error, len(batch))
		for i, seg := range batch {
			tasks[i] = func(ctx context.Context) error {
				_, segs, _, _, found, err := c.readRecord(ctx, seg)
				res := &results[i]
				res.found = found
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						return err
					}
					res.bad = err
					return nil
				}
				res.hashes = make([]uint64, len(segs))
				for j, s := range segs {
					res.hashes[j] = hashSeg(s)
				}
				res.elems = c.listElems(segs)
				return nil
			}
		}
		if err := r.parallel(ctx, tasks); err != nil {
			return err
		}
		for i, seg := range batch {
			res := &results[i]
			if !res.found {
				continue // deleted since it was listed
			}
			if len(c.segs) > 0 && seg <= c.segs[len(c.segs)-1] {
				return fmt.Errorf("the store listed record %s after %s: not in byte order, as object.Store.List must", quote(seg), quote(c.segs[len(c.segs)-1]))
			}
			c.segs = append(c.segs, seg)
			c.bad = append(c.bad, res.bad != nil)
			if res.bad != nil {
				c.vals = append(c.vals, make([]uint64, c.k)...)
				c.rep.Unreadable = append(c.rep.Unreadable, corruptKey(res.bad))
				c.rep.Problems = append(c.rep.Problems, strings.TrimPrefix(res.bad.Error(), ErrCorrupt.Error()+": ")+" (its entries and claims are kept)")
			} else {
				c.vals = append(c.vals, res.hashes...)
				c.elems = append(c.elems, res.elems...)
			}
			c.elemAt = append(c.elemAt, int32(len(c.elems)))
			c.state = append(c.state, make([]uint8, c.k)...)
		}
		batch = batch[:0]
		return nil
	}
	listed := 0
	c.last = true
	after := ""
	if c.pass > 0 {
		after = prefix + c.lo
	}
	for info, err := range object.All(ctx, r.st, prefix, after, 0) {
		if err != nil {
			return err
		}
		if listed == c.passMax {
			c.last = false // a record after this pass's: hi is the last listed
			break
		}
		listed++
		c.hi = strings.Clone(info.Key[len(prefix):])
		batch = append(batch, c.hi)
		if len(batch) == checkBatch {
			if err := process(); err != nil {
				return err
			}
		}
	}
	if err := process(); err != nil {
		return err
	}
	c.rep.Records += len(c.segs)
	return nil
}

// scanEntries lists the index entries and matches each against the record
// it names; orphans older than the lease are removed on repair.
func (c *checker[T]) scanEntries(ctx context.Context) error {
	r := c.r
	prefix := r.base + "i/"
	condDelete := r.st.Capabilities().ConditionalDelete
	first := c.pass == 0 // counts and reports what is not an entry
	for info, err := range object.All(ctx, r.st, prefix, "", 0) {
		if err != nil {
			return err
		}
		if first {
			c.rep.Entries++
		}
		name, vseg, seg, write, ok := splitEntry(info.Key[len(prefix):])
		if !ok {
			if first {
				c.problem("object %s is not an index entry (left alone)", quote(info.Key))
			}
			continue
		}
		pos, ok := r.m.byField[name]
		if !ok {
			c.unknown[name] = true
			continue
		}
		if !c.inPass(seg) {
			continue
		}
		if n, ok := c.find(seg); ok && r.expectsEntry(pos) {
			if c.bad[n] {
				continue // held by a record this model cannot read
			}
			if r.m.indexes[pos].list {
				if e := c.elem(n, pos, hashSeg(vseg)); e != nil {
					e.st |= hasEntry
					continue
				}
			} else if c.vals[int(n)*c.k+pos] == hashSeg(vseg) {
				c.state[int(n)*c.k+pos] |= hasEntry
				continue
			}
		}
		c.rep.OrphanEntries++
		if !c.repair || !c.old(info) {
			continue
		}
		err = c.queue(ctx, func(ctx context.Context) error {
			// Read the record again: it may have been written since it
			// was scanned, and may hold the value now.
			_, segs, _, _, found, err := c.readRecord(ctx, seg)
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					return nil // exists, unreadable: its entries are kept
				}
				return err
			}
			if found && hasSeg(segs[pos], vseg) && r.expectsEntry(pos) {
				return nil
			}
			switch {
			case write != "":
				err = r.deleteOwn(ctx, info.Key) // its write alone writes this name
			case condDelete:
				err = r.deleteIfMatch(ctx, info.Key, info.Version)
			default:
				err = r.st.Delete(ctx, info.Key, object.DeleteOptions{})
			}
			if err == nil {
				c.repaired()
			}
			return nil // a failed delete is left for the next Check
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// scanClaims lists the unique claims, reads them a batch at a time in
// parallel, and matches each against the record it names.
func (c *checker[T]) scanClaims(ctx context.Context) error {
	r := c.r
	prefix := r.base + "u/"
	condDelete := r.st.Capabilities().ConditionalDelete
	first := c.pass == 0 // counts and reports what is not a claim
	var batch []object.Info
	process := func() error {
		objs := make([]object.Object, len(batch))
		gone := make([]bool, len(batch))
		tasks := make([]func(context.Context) error, len(batch))
		for i, info := range batch {
			tasks[i] = func(ctx context.Context) error {
				obj, err := r.st.Get(ctx, info.Key, object.GetOptions{})
				if errors.Is(err, object.ErrNotFound) {
					gone[i] = true
					return nil
				}
				objs[i] = obj
				return err
			}
		}
		if err := r.parallel(ctx, tasks); err != nil {
			return err
		}
		for i, info := range batch {
			if gone[i] {
				if first {
					c.rep.Claims--
				}
				continue
			}
			name, vseg, _ := strings.Cut(info.Key[len(prefix):], "/")
			pos := r.m.byField[name]
			var owner claimBody
			if err := json.Unmarshal(objs[i].Body, &owner); err != nil {
				if first {
					c.problem("claim %s is not a NoDB claim (left alone): %v", quote(info.Key), err)
				}
				continue
			}
			switch {
			case owner.Seg == "" && !condDelete:
				continue // released: free for anyone, and cannot be deleted safely here
			case owner.Seg == "" && !first, owner.Seg != "" && !c.inPass(owner.Seg):
				continue // judged in another pass
			}
			if n, ok := c.find(owner.Seg); ok {
				if c.bad[n] {
					continue // held by a record this model cannot read
				}
				if c.vals[int(n)*c.k+pos] == hashSeg(vseg) {
					c.state[int(n)*c.k+pos] |= hasClaim
					continue
				}
			}
			c.rep.StaleClaims++
			if c.repair && c.old(objs[i].Info) {
				c.stale = append(c.stale, staleClaim{info: objs[i].Info, pos: pos, vseg: vseg})
			}
		}
		batch = batch[:0]
		return nil
	}
	for info, err := range object.All(ctx, r.st, prefix, "", 0) {
		if err != nil {
			return err
		}
		if first {
			c.rep.Claims++
		}
		name, vseg, _ := strings.Cut(info.Key[len(prefix):], "/")
		if _, _, err := decodeIndexValue(vseg); err != nil || name == "" || strings.Contains(vseg, "/") {
			if first {
				c.problem("object %s is not a unique claim (left alone)", quote(info.Key))
			}
			continue
		}
		if pos, ok := r.m.byField[name]; !ok || !r.m.indexes[pos].unique {
			c.unknown[name] = true
			continue
		}
		batch = append(batch, info)
		if len(batch) == checkBatch {
			if err := process(); err != nil {
				return err
			}
		}
	}
	return process()
}

// releaseStale removes the stale claims found, once every pass has run
// and its repairs with it: a record that holds the value of a stale claim
// without a claim of its own has taken the claim over by then (its
// version differs, and the release is skipped). Each release reads the
// claim and its owner again, and lists the entries of the value to read
// every record they name: if one holds the value, the claim stays.
func (c *checker[T]) releaseStale(ctx context.Context) error {
	r := c.r
	for _, s := range c.stale {
		err := c.queue(ctx, func(ctx context.Context) error {
			obj, err := r.st.Get(ctx, s.info.Key, object.GetOptions{})
			if errors.Is(err, object.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if obj.Version != s.info.Version {
				return nil // taken over or rewritten since it was read
			}
			var owner claimBody
			if json.Unmarshal(obj.Body, &owner) != nil {
				return nil
			}
			holds := func(seg string) (bool, error) {
				_, segs, _, _, found, err := c.readRecord(ctx, seg)
				if errors.Is(err, ErrCorrupt) {
					return true, nil // a record this model cannot read may hold it
				}
				return found && segs[s.pos] == s.vseg, err
			}
			if owner.Seg != "" {
				if held, err := holds(owner.Seg); held || err != nil {
					return err
				}
			}
			prefix := r.entryName(r.m.indexes[s.pos].name, s.vseg, "", "")
			for info, err := range object.All(ctx, r.st, prefix, "", 0) {
				if err != nil {
					return err
				}
				if seg := entrySeg(info.Key[len(prefix):]); seg != owner.Seg {
					if held, err := holds(seg); held || err != nil {
						return err
					}
				}
			}
			if r.releaseClaim(ctx, s.info.Key, s.info.Version) == nil {
				c.repaired()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	c.stale = nil
	return nil
}

// fillMissing reports the index values of readable records that have no
// entry or no claim, and on repair writes them: each record is read again,
// and an entry or claim written for a value the record no longer holds
// when read a third time is removed again.
func (c *checker[T]) fillMissing(ctx context.Context) error {
	for n, seg := range c.segs {
		if c.bad[n] {
			continue
		}
		var entries, claims []int
		var elems []elemRec // the missing elements of lists
		for pos := range c.k {
			if c.vals[n*c.k+pos] == 0 || c.r.m.indexerKept(pos) {
				continue
			}
			if c.r.m.indexes[pos].list {
				had := len(elems)
				for _, e := range c.elems[c.elemAt[n]:c.elemAt[n+1]] {
					if int(e.pos) == pos && e.st&hasEntry == 0 {
						c.rep.MissingEntries++
						elems = append(elems, e)
					}
				}
				if len(elems) > had {
					entries = append(entries, pos)
				}
				continue
			}
			state := c.state[n*c.k+pos]
			if state&hasEntry == 0 && c.r.expectsEntry(pos) {
				c.rep.MissingEntries++
				entries = append(entries, pos)
			}
			if c.r.m.indexes[pos].unique && state&hasClaim == 0 {
				c.rep.MissingClaims++
				claims = append(claims, pos)
			}
		}
		if !c.repair || len(entries)+len(claims) == 0 {
			continue
		}
		scanned := slices.Clone(c.vals[n*c.k : (n+1)*c.k])
		if err := c.queue(ctx, func(ctx context.Context) error { return c.fill(ctx, seg, scanned, entries, claims, elems) }); err != nil {
			return err
		}
	}
	return nil
}

// fill writes the missing entries (positions entries; of a list, the
// elements elems) and claims (claims) of the record with segment seg, whose
// value hashes the scan saw are scanned, through retrack: the record is
// rewritten, If-Match on the version read, to track what was written, so
// that the writer who next moves the value removes them (an entry the
// record did not track would outlive the value as an orphan). A value the
// record no longer holds when read again is left alone, and a record that
// changes before the rewrite lands is left to its writer, which maintains
// its entries; what fill wrote for it is removed again.
func (c *checker[T]) fill(ctx context.Context, seg string, scanned []uint64, entries, claims []int, elems []elemRec) error {
	r := c.r
	obj, err := r.st.Get(ctx, r.recordName(seg), object.GetOptions{})
	if errors.Is(err, object.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	v, _, err := r.decodeRecord(obj.Body, obj.Key)
	var env *envelope
	if err == nil {
		env, err = decodeEnvelope(obj.Body)
	}
	var segs []string
	if err == nil {
		segs, err = r.indexOf(&v, nil)
	}
	if err != nil {
		return nil // changed into something unreadable: a writer's doing
	}
	unchanged := func(p int) bool { return segs[p] != "" && hashSeg(segs[p]) == scanned[p] }
	strip := map[string]missing{}
	n := 0
	for _, sl := range c.missingSlots(segs, entries, elems) {
		if unchanged(sl.pos) {
			m := strip[sl.key]
			m.entry = true
			strip[sl.key] = m
			n++
		}
	}
	for _, p := range claims {
		if unchanged(p) {
			m := strip[r.m.indexes[p].name]
			m.claim = true
			strip[r.m.indexes[p].name] = m
			n++
		}
	}
	for try := 0; n > 0 && try < 2; try++ {
		err = r.retrack(ctx, seg, obj, env, &v, segs, strip)
		switch {
		case err == nil:
			for range n {
				c.repaired()
			}
			return nil
		case retryable(err):
			return nil // the record moved: its writer maintains it
		case !errors.Is(err, ErrUnique):
			return err
		}
		// A value another record holds: report it, and fill the rest
		// (once: a record that tracks no state for the value claims it
		// again in retrack).
		if try > 0 {
			break
		}
		c.problem("record %s: %s", quote(env.Key), strings.TrimPrefix(err.Error(), ErrUnique.Error()+": "))
		n = 0
		for name, m := range strip {
			if m.claim {
				m.claim = false
				strip[name] = m
			}
			if m.entry {
				n++
			}
		}
	}
	return nil
}

// --- undecodable records ---

// corruptRecord is the error for a record that exists but cannot be
// decoded: it wraps an error wrapping ErrCorrupt, and knows the key.
type corruptRecord struct {
	key string
	err error
}

func (e *corruptRecord) Error() string { return e.err.Error() }
func (e *corruptRecord) Unwrap() error { return e.err }

// corruptKey returns the key a corruptRecord error names, or "".
func corruptKey(err error) string {
	var cr *corruptRecord
	if errors.As(err, &cr) {
		return cr.key
	}
	return ""
}

// recordErr turns a decodeRecord error about the record object obj
// (segment seg) into one that names the record's key and schema version
// and says what to do. Errors not wrapping ErrCorrupt are returned as they
// are.
func (r *Repo[T]) recordErr(seg string, obj object.Object, err error) error {
	if !errors.Is(err, ErrCorrupt) {
		return err
	}
	cause := strings.TrimPrefix(err.Error(), ErrCorrupt.Error()+": ")
	cause = strings.TrimPrefix(cause, "record "+obj.Key+": ")
	env, eerr := decodeEnvelope(obj.Body)
	if eerr != nil {
		cause = strings.TrimPrefix(cause, "not a NoDB record: ")
		return &corruptRecord{key: seg, err: errorf(ErrCorrupt, "record %s (object %s) is not a NoDB record: %s; fix or remove the object", quote(seg), quote(obj.Key), cause)}
	}
	key := env.Key
	switch {
	case env.Schema > r.o.SchemaVersion:
		return &corruptRecord{key: key, err: errorf(ErrCorrupt, "record %s (object %s) was written by schema version %d, this Repo knows up to %d: read it with a Repo whose Options.SchemaVersion is %d or later", quote(key), quote(obj.Key), env.Schema, r.o.SchemaVersion, env.Schema)}
	case env.Codec != r.o.Codec.Name():
		return &corruptRecord{key: key, err: errorf(ErrCorrupt, "record %s (object %s, schema version %d) %s", quote(key), quote(obj.Key), env.Schema, strings.TrimPrefix(cause, "record "+obj.Key+" "))}
	}
	return &corruptRecord{key: key, err: errorf(ErrCorrupt, "record %s (object %s, schema version %d) cannot be decoded: %s; add an upgrade step for schema version %d or fix the record", quote(key), quote(obj.Key), env.Schema, cause, env.Schema)}
}
