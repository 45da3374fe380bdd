package repo

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

// ReadCache configures the read cache of a Repo (Options.ReadCache). It is
// off unless TTL is positive.
//
// With it, Get, GetRecord, GetBy, Find and Range answer from memory, at no
// request, what this Repo read or wrote less than TTL ago. After TTL, a
// cached record is revalidated with a conditional GET (If-None-Match on
// its version: the server answers 304 without a body when it has not
// changed, and a GET costs 1/12.5 of a PUT on S3); a cached GetBy reads the
// claim again the same way; a cached query runs again.
//
// Staleness: a reader accepts answers up to TTL old. A record written,
// deleted, or moved to another index value by another Repo (in this
// process or any other) is seen by this Repo's cached reads at most TTL
// later. This Repo's own writes are seen at once: they update the cached
// records and void every cached unique lookup and query result (a read of
// a record that races this Repo's own write of it may still cache the
// older state, for at most TTL). Writes (Create, Put,
// Replace, Update, Delete) never trust the cache: they stay conditional
// on the stored version, so a stale cache never loses a write. Use it
// where TTL-old answers are fine (a warm Lambda, a web handler serving
// mostly reads), and not to read-then-decide across processes.
type ReadCache struct {
	// TTL is how long an answer is served without a request. 0: no cache.
	TTL time.Duration
	// MaxEntries bounds the records, unique lookups and query results
	// held; the least recently used go first. The default is 10,000.
	MaxEntries int
	// MaxBytes bounds the bytes of record bodies held (a query result
	// holds its records' names only). The default is 32 MiB. A record
	// larger than a quarter of it is not cached.
	MaxBytes int
}

// readCache is a Repo's read cache: an LRU over records ("r"+segment),
// unique lookups ("u"+claim name) and query results ("q"+fingerprint).
type readCache struct {
	cfg ReadCache

	mu    sync.Mutex
	ll    *list.List // of *cached, most recently used first
	m     map[string]*list.Element
	bytes int
	gen   uint64 // bumped by this Repo's writes: older lookups and queries are void
}

type cached struct {
	key     string
	at      time.Time // when it was last known current
	version string    // of the record or claim
	body    []byte    // record body
	seg     string    // unique lookup: the owner's segment ("" none)
	owner   string    // unique lookup: the owner's key, for messages
	hits    []cachedHit
	gen     uint64
}

// cachedHit is one result of a cached query: the record and the key it
// was listed under.
type cachedHit struct{ seg, key string }

func newReadCache(cfg ReadCache) *readCache {
	if cfg.TTL <= 0 {
		return nil
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 32 << 20
	}
	return &readCache{cfg: cfg, ll: list.New(), m: map[string]*list.Element{}}
}

// get returns a copy of the entry under key and whether it is fresh.
func (c *readCache) get(key string) (cached, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return cached{}, false, false
	}
	ce := e.Value.(*cached)
	if ce.key[0] != 'r' && ce.gen != c.gen {
		c.remove(key) // this Repo wrote since: it may have changed the answer
		return cached{}, false, false
	}
	c.ll.MoveToFront(e)
	return *ce, true, time.Since(ce.at) < c.cfg.TTL
}

// set stores ce, evicting the least recently used entries over a bound.
func (c *readCache) set(ce cached) {
	if len(ce.body) > c.cfg.MaxBytes/4 {
		c.drop(ce.key)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(ce.key)
	if ce.key[0] != 'r' && ce.gen != c.gen {
		return // answered from before a write of this Repo
	}
	c.m[ce.key] = c.ll.PushFront(&ce)
	c.bytes += len(ce.body)
	for c.ll.Len() > c.cfg.MaxEntries || c.bytes > c.cfg.MaxBytes {
		c.remove(c.ll.Back().Value.(*cached).key)
	}
}

// touch marks the entry under key as current now (a 304).
func (c *readCache) touch(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		e.Value.(*cached).at = time.Now()
	}
}

func (c *readCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key)
}

func (c *readCache) remove(key string) {
	if e, ok := c.m[key]; ok {
		c.bytes -= len(e.Value.(*cached).body)
		c.ll.Remove(e)
		delete(c.m, key)
	}
}

// generation returns the current generation: an answer read from the
// store is cached with the generation it started in, so that one that
// started before a write of this Repo is not kept.
func (c *readCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// bump voids every cached unique lookup and query result (after a write
// of this Repo). Records are kept: each is updated by the write itself.
func (c *readCache) bump() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
}

// wrote tells the read cache that this Repo stored body as record seg's
// state at version ("" body: deleted, or the state is not known).
func (r *Repo[T]) wrote(seg string, body []byte, version string) {
	c := r.rc
	if c == nil {
		return
	}
	c.bump()
	if body == nil || version == "" {
		c.drop("r" + seg)
		return
	}
	c.set(cached{key: "r" + seg, at: time.Now(), version: version, body: body})
}

// read returns the record with segment seg, from the read cache when it
// is on and fresh, revalidating it with a conditional GET when stale, and
// with load otherwise. Writers use load: they never trust the cache.
func (r *Repo[T]) read(ctx context.Context, seg string) (T, *recState, error) {
	c := r.rc
	if c == nil {
		v, rs, _, err := r.load(ctx, seg)
		return v, rs, err
	}
	var zero T
	key := "r" + seg
	ce, ok, fresh := c.get(key)
	if !fresh {
		var opts object.GetOptions
		if ok {
			opts.IfNoneMatch = ce.version
		}
		obj, err := r.st.Get(ctx, r.recordName(seg), opts)
		switch {
		case ok && errors.Is(err, object.ErrNotModified):
			c.touch(key)
		case err != nil:
			c.drop(key)
			return zero, nil, err
		default:
			ce = cached{key: key, at: time.Now(), version: obj.Version, body: obj.Body}
			c.set(ce)
		}
	}
	v, env, err := r.decodeRecord(ce.body, r.recordName(seg))
	if err != nil {
		return zero, nil, r.recordErr(seg, object.Object{Info: object.Info{Key: r.recordName(seg), Version: ce.version}, Body: ce.body}, err)
	}
	return v, newRecState(object.Info{Version: ce.version}, env, ce.body), nil
}

// claimOwnerCached is claimOwner through the read cache: a unique lookup
// answered less than TTL ago is answered again at no request, and
// revalidated with a conditional GET after.
func (r *Repo[T]) claimOwnerCached(ctx context.Context, name string) (seg, owner string, err error) {
	c := r.rc
	if c == nil {
		return r.claimOwner(ctx, name)
	}
	key := "u" + name
	gen := c.generation()
	ce, ok, fresh := c.get(key)
	if fresh {
		return ce.seg, ce.owner, nil
	}
	var opts object.GetOptions
	if ok && ce.version != "" {
		opts.IfNoneMatch = ce.version
	}
	obj, err := r.st.Get(ctx, name, opts)
	switch {
	case ok && errors.Is(err, object.ErrNotModified):
		c.touch(key)
		return ce.seg, ce.owner, nil
	case errors.Is(err, object.ErrNotFound):
		c.set(cached{key: key, at: time.Now(), gen: gen})
		return "", "", nil
	case err != nil:
		c.drop(key)
		return "", "", err
	}
	seg, owner = ownerOf(obj.Body)
	c.set(cached{key: key, at: time.Now(), version: obj.Version, seg: seg, owner: owner, gen: gen})
	return seg, owner, nil
}

// runCached runs q for Find or Range: from the cached result when it is
// fresh (each record through read, verified again), else by running it and
// caching the result if the run finished without errors.
func (r *Repo[T]) runCached(ctx context.Context, q *query[T], yield func(T, error) bool) {
	fail := func(err error) { var zero T; yield(zero, err) }
	c := r.rc
	if c == nil {
		r.run(ctx, q, "", 0, r.o.Concurrency, yieldTo(yield), fail)
		return
	}
	key := "q" + q.fingerprint
	gen := c.generation()
	if ce, _, fresh := c.get(key); fresh {
		for _, h := range ce.hits {
			v, _, err := r.read(ctx, h.seg)
			if errors.Is(err, object.ErrNotFound) {
				continue
			}
			if err != nil && !recordError(err) {
				fail(wrapErr(q.op, r.m.name, "", err))
				return
			}
			if err == nil && q.keep != nil {
				var ok bool
				if ok, err = q.keep(&v, h.key[len(q.prefix):]); err == nil && !ok {
					continue // moved by this Repo's own write since
				}
			}
			if err != nil {
				if !yield(v, wrapErr(q.op, r.m.name, corruptKey(err), err)) {
					return
				}
				continue
			}
			if !yield(v, nil) {
				return
			}
		}
		return
	}
	var hits []cachedHit
	complete := true
	r.run(ctx, q, "", 0, r.o.Concurrency, func(v T, key string, err error) bool {
		if err != nil {
			complete = false
		} else if _, seg, kerr := r.keyOf(&v); kerr == nil {
			hits = append(hits, cachedHit{seg: seg, key: key})
		} else {
			complete = false
		}
		if !yield(v, err) {
			complete = false
			return false
		}
		return true
	}, func(err error) { complete = false; fail(err) })
	if complete {
		c.set(cached{key: key, at: time.Now(), hits: hits, gen: gen})
	}
}
