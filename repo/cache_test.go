package repo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

func withCache(ttl time.Duration, entries int) func(*repo.Options) {
	return func(o *repo.Options) { o.ReadCache = repo.ReadCache{TTL: ttl, MaxEntries: entries} }
}

// TestReadCacheRequests: within the TTL, Get, GetBy, Find and Range make no
// request; this Repo's own writes are seen at once; after the TTL a record
// is revalidated with one conditional GET.
func TestReadCacheRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st)
		writer := newRepo[Indexed](t, m)
		for i := range 4 {
			mustT(t, writer.Create(ctx, Indexed{ID: fmt.Sprint("k", i), Email: fmt.Sprint(i, "@x"), City: "X", Age: i}))
		}
		const ttl = 300 * time.Millisecond
		r := newRepo[Indexed](t, m, withCache(ttl, 0))
		mustT(t, collectErr(r.Find(ctx, "City", "none"))) // reads the manifest
		m.Reset()
		try := func(what string, f func(), get, list, cond int) {
			t.Helper()
			f()
			if c := m.Reset(); c.Get != get || c.List != list || c.Total() != get+list || c.Conditional != cond {
				t.Errorf("%s: %v, want %d GETs (%d conditional) + %d LISTs", what, c, get, cond, list)
			}
		}
		get := func(key string) Indexed {
			v, err := r.Get(ctx, key)
			mustT(t, err)
			return v
		}
		try("first Get", func() { get("k0") }, 1, 0, 0)
		try("Get again", func() { get("k0") }, 0, 0, 0)
		try("first GetBy", func() { _, err := r.GetBy(ctx, "Email", "1@x"); mustT(t, err) }, 2, 0, 0)
		try("GetBy again", func() { _, err := r.GetBy(ctx, "Email", "1@x"); mustT(t, err) }, 0, 0, 0)
		try("first Find (k0, k1 cached)", func() {
			if got := collect(t, r.Find(ctx, "City", "X")); len(got) != 4 {
				t.Errorf("Find: %d", len(got))
			}
		}, 2, 1, 0)
		try("Find again", func() { collect(t, r.Find(ctx, "City", "X")) }, 0, 0, 0)
		try("first Range", func() { collect(t, r.Range(ctx, "Age", 1, 2)) }, 0, 1, 0)
		try("Range again", func() { collect(t, r.Range(ctx, "Age", 1, 2)) }, 0, 0, 0)

		// Another Repo's write is not seen before the TTL (the staleness a
		// reader of the cache accepts) ...
		_, err := writer.Update(ctx, "k0", func(v *Indexed) error { v.Note = "new"; return nil })
		mustT(t, err)
		m.Reset()
		try("Get of a record changed elsewhere, within the TTL", func() {
			if v := get("k0"); v.Note != "" {
				t.Errorf("cached Get: %q", v.Note)
			}
		}, 0, 0, 0)
		// ... and after it, one conditional GET: 200 with the new value,
		// 304 without a body for k1, which did not change.
		time.Sleep(ttl + 50*time.Millisecond)
		try("Get after the TTL, changed", func() {
			if v := get("k0"); v.Note != "new" {
				t.Errorf("revalidated Get: %q", v.Note)
			}
		}, 1, 0, 1)
		try("Get after the TTL, unchanged (304)", func() { get("k1") }, 1, 0, 1)
		try("Get after the revalidation", func() { get("k1") }, 0, 0, 0)

		// This Repo's own writes are seen at once, at no read.
		_, err = r.Update(ctx, "k1", func(v *Indexed) error { v.City = "Y"; return nil })
		mustT(t, err)
		m.Reset()
		try("Get after an own write", func() {
			if v := get("k1"); v.City != "Y" {
				t.Errorf("Get after own Update: %q", v.City)
			}
		}, 0, 0, 0)
		mustT(t, r.Create(ctx, Indexed{ID: "k9", Email: "9@x", City: "Y"}))
		m.Reset()
		// The query runs again (its cached result is void); its records
		// are all cached.
		try("Find after own writes", func() {
			if got := collect(t, r.Find(ctx, "City", "Y")); len(got) != 2 {
				t.Errorf("Find after own writes: %v", got)
			}
		}, 0, 1, 0)
		try("GetBy of a value this Repo claimed", func() {
			if v, err := r.GetBy(ctx, "Email", "9@x"); err != nil || v.ID != "k9" {
				t.Errorf("GetBy: %v %v", v, err)
			}
		}, 1, 0, 0) // the claim; the record is cached
		mustT(t, r.Delete(ctx, "k9"))
		m.Reset()
		try("Get after an own Delete", func() {
			if _, err := r.Get(ctx, "k9"); err == nil {
				t.Error("Get after Delete found it")
			}
		}, 1, 0, 0)
	})
}

// TestReadCacheBounds: the cache holds at most MaxEntries answers, least
// recently used out first; off by default.
func TestReadCacheBounds(t *testing.T) {
	ctx := context.Background()
	m := meter.Wrap(memstore.New())
	w := newRepo[Indexed](t, m)
	for i := range 3 {
		mustT(t, w.Create(ctx, Indexed{ID: fmt.Sprint("k", i), Email: fmt.Sprint(i), City: "X"}))
	}
	r := newRepo[Indexed](t, m, withCache(time.Hour, 2))
	for _, k := range []string{"k0", "k1", "k0", "k2"} { // k1 is the least recently used
		_, err := r.Get(ctx, k)
		mustT(t, err)
	}
	m.Reset()
	for _, k := range []string{"k0", "k2", "k1"} {
		_, err := r.Get(ctx, k)
		mustT(t, err)
	}
	if c := m.Reset(); c.Get != 1 {
		t.Errorf("Gets with 2 entries cached: %v, want 1 GET (k1)", c)
	}
	plain := newRepo[Indexed](t, m)
	for range 2 {
		_, err := plain.Get(ctx, "k0")
		mustT(t, err)
	}
	if c := m.Reset(); c.Get != 2 {
		t.Errorf("Gets without a cache: %v, want 2", c)
	}
	big := newRepo[Indexed](t, m, func(o *repo.Options) { o.ReadCache = repo.ReadCache{TTL: time.Hour, MaxBytes: 100} })
	for range 2 {
		_, err := big.Get(ctx, "k0") // the record's body is over MaxBytes/4
		mustT(t, err)
	}
	if c := m.Reset(); c.Get != 2 {
		t.Errorf("Gets of a record too large to cache: %v, want 2", c)
	}
}

// BenchmarkReadCache measures the requests a read cache saves for Gets of
// 1,000 records whose popularity follows a Zipf law (s=1.1), as the pages
// of a web site or the users of a service do, with a TTL long enough
// that nothing expires within the run: GET/op is the requests per Get.
func BenchmarkReadCache(b *testing.B) {
	ctx := context.Background()
	const n = 1000
	for _, bc := range []struct {
		name string
		opts []func(*repo.Options)
	}{
		{"nocache", nil},
		{"cache-1000", []func(*repo.Options){withCache(time.Hour, 1000)}},
		{"cache-100", []func(*repo.Options){withCache(time.Hour, 100)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := meter.Wrap(memstore.New())
			w, _ := repo.New[Indexed](m)
			for i := range n {
				if err := w.Create(ctx, Indexed{ID: fmt.Sprint("k", i), Email: fmt.Sprint(i), City: "X"}); err != nil {
					b.Fatal(err)
				}
			}
			r, _ := repo.New[Indexed](m, bc.opts...)
			z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, n-1)
			m.Reset()
			b.ResetTimer()
			for range b.N {
				if _, err := r.Get(ctx, fmt.Sprint("k", z.Uint64())); err != nil {
					b.Fatal(err)
				}
			}
			c := m.Reset()
			b.ReportMetric(float64(c.Get)/float64(b.N), "GET/op")
		})
	}
}
