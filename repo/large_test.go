package repo_test

// Large values: a 64 MiB value written and read on every backend, with the
// bytes each operation allocates bounded in multiples of the value's size
// (an upper bound on the copies it makes), and BenchmarkLargeValue, which
// reports the peak live heap and the bytes allocated per Put and Get.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/filestore"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

// LargeDoc is a record whose Data may be large.
type LargeDoc struct {
	ID   string `nodb:"key"`
	Tag  string `nodb:"index"`
	Note string
	Data string
}

const largeSize = 64 << 20

// largeData returns n bytes of letters that depend on seed and position,
// so that a value cut short, shifted or taken from another write does not
// compare equal. It allocates the string once.
func largeData(n int, seed uint32) string {
	var b strings.Builder
	b.Grow(n)
	x := seed*2654435761 + 1
	for range n {
		x = x*1664525 + 1013904223
		b.WriteByte('a' + byte(x>>24)%26)
	}
	return b.String()
}

// allocated returns the bytes the process has allocated on the heap so
// far: an exact counter, unlike the heap in use.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// allocs runs f and returns what it allocated, in multiples of largeSize.
func allocs(t *testing.T, f func() error) float64 {
	t.Helper()
	// Start each measured call from the same heap: two collections empty
	// sync.Pools, encoding/json's buffer pool too, so that every call makes
	// the copies a cold call makes and the counts are exact.
	runtime.GC()
	runtime.GC()
	a := allocated()
	if err := f(); err != nil {
		t.Fatal(err)
	}
	return float64(allocated()-a) / largeSize
}

// sameData reports a difference between two large strings without
// printing them.
func sameData(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Fatalf("%s: got %d bytes, want %d; first difference at byte %d", what, len(got), len(want), i)
}

// TestLargeValue writes a 64 MiB value and reads it back on every backend:
// through the Repo that wrote it, through a fresh Repo on a second client
// (no state cache), by an index query, after a replace by a fresh Repo
// (which reads the current record first). The bytes each call allocates
// are bounded: they count every copy of the value the call makes, and the
// bounds below fail if one more copy is made.
//
//   - Put of a known record: encoding/json's own buffer and, on its first
//     use after a collection, a temporary for the string, plus the stored
//     document: 3 sizes; memstore keeps a copy of its own, 4. (Before the
//     value was framed, json.Marshal's copy and the document made it 4.)
//   - Put of a record the Repo has not seen: the GET of the current record
//     first, 1 more (its value is not decoded; it was copied before).
//   - Get: the body and the decoded value, 2 sizes; nothing else of size.
func TestLargeValue(t *testing.T) {
	ctx := context.Background()
	v := LargeDoc{ID: "big", Tag: "t", Note: "escaped: \" <&> \n \u2028", Data: largeData(largeSize, 1)}
	eachBackend(t, func(t *testing.T, st object.Store, reopen func() object.Store) {
		own := 0.0 // copies the store itself keeps on Put
		if strings.HasSuffix(t.Name(), "/mem") {
			own = 1
		}
		r, err := repo.New[LargeDoc](st)
		if err != nil {
			t.Fatal(err)
		}
		put := allocs(t, func() error { return r.Create(ctx, v) })
		t.Logf("Create allocated %.2f sizes", put)
		if limit := 3.1 + own; put > limit {
			t.Errorf("Create allocated %.2f times the value's size, want at most %.1f", put, limit)
		}
		// Put of the record this Repo wrote: one conditional PUT.
		put = allocs(t, func() error { return r.Put(ctx, v) })
		t.Logf("Put (known version) allocated %.2f sizes", put)
		if limit := 3.1 + own; put > limit {
			t.Errorf("Put (known version) allocated %.2f times the value's size, want at most %.1f", put, limit)
		}

		// The stored document is the usual one: metadata first, the value
		// last, readable without this library.
		obj, err := st.Get(ctx, r.Model()+"/r/big", object.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"nodb":1,"model":"LargeDoc","key":"big","codec":"json",`; !bytes.HasPrefix(obj.Body, []byte(want)) {
			t.Errorf("stored record begins %.80q, want %q", obj.Body, want)
		}
		if want := v.Data[len(v.Data)-16:] + `"}}`; !bytes.HasSuffix(obj.Body, []byte(want)) {
			t.Errorf("stored record ends %q, want %q", obj.Body[len(obj.Body)-len(want):], want)
		}
		if extra := len(obj.Body) - largeSize; extra < 0 || extra > 1024 {
			t.Errorf("stored record is %d bytes for a value of %d", len(obj.Body), largeSize)
		}
		obj = object.Object{}

		// A fresh Repo on a second client reads it without any cache.
		r2, err := repo.New[LargeDoc](reopen())
		if err != nil {
			t.Fatal(err)
		}
		var got LargeDoc
		get := allocs(t, func() (err error) { got, err = r2.Get(ctx, "big"); return err })
		t.Logf("Get allocated %.2f sizes", get)
		if get > 2.1 {
			t.Errorf("Get allocated %.2f times the value's size, want at most 2.1", get)
		}
		sameData(t, "Get", got.Data, v.Data)
		if got.Note != v.Note || got.Tag != v.Tag {
			t.Errorf("Get: Note %q Tag %q, want %q %q", got.Note, got.Tag, v.Note, v.Tag)
		}
		got = LargeDoc{}

		// Replaced by another fresh Repo, which reads the record first.
		r3, err := repo.New[LargeDoc](reopen())
		if err != nil {
			t.Fatal(err)
		}
		v2 := v
		v2.Data = largeData(largeSize, 2)
		put = allocs(t, func() error { return r3.Put(ctx, v2) })
		t.Logf("Put (unknown version) allocated %.2f sizes", put)
		if limit := 4.1 + own; put > limit {
			t.Errorf("Put (unknown version) allocated %.2f times the value's size, want at most %.1f", put, limit)
		}
		n := 0
		for d, err := range r.Find(ctx, "Tag", "t") {
			if err != nil {
				t.Fatal(err)
			}
			n++
			sameData(t, "Find after the replace", d.Data, v2.Data)
		}
		if n != 1 {
			t.Fatalf("Find returned %d records, want 1", n)
		}
		rec, err := r.GetRecord(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		sameData(t, "GetRecord after the replace", rec.Value.Data, v2.Data)
	})
}

// TestLargeValueCompressed round-trips a 64 MiB value with
// Options.Compress on a filestore: the stored record is gzipped and reads
// back whole.
func TestLargeValueCompressed(t *testing.T) {
	ctx := context.Background()
	st, err := filestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.New[LargeDoc](st, func(o *repo.Options) { o.Compress = true })
	if err != nil {
		t.Fatal(err)
	}
	v := LargeDoc{ID: "big", Data: largeData(largeSize, 3)}
	if err := r.Put(ctx, v); err != nil {
		t.Fatal(err)
	}
	obj, err := st.Get(ctx, r.Model()+"/r/big", object.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(obj.Body) < 2 || obj.Body[0] != 0x1f || obj.Body[1] != 0x8b || len(obj.Body) >= largeSize {
		t.Fatalf("stored record (%d bytes) is not gzipped", len(obj.Body))
	}
	r2, err := repo.New[LargeDoc](st, func(o *repo.Options) { o.Compress = true })
	if err != nil {
		t.Fatal(err)
	}
	got, err := r2.Get(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	sameData(t, "Get", got.Data, v.Data)
}

// BenchmarkLargeValue writes and reads a 64 MiB value on filestore,
// versitygw and memstore, and reports per operation, as multiples of the
// value's size:
//
//   - peak-live-x: the peak live heap during the call above the live heap
//     before it (the live heap of the last collection, sampled every
//     millisecond, with GOGC=5 so that collections are frequent, as in
//     BenchmarkCheckMemory). The caller's value is live before the call and
//     not counted. Each call starts after two collections, so that
//     encoding/json's pooled buffer from the previous call is gone (the
//     worst case).
//   - alloc-x: the bytes allocated during the call (exact).
//
// Put is of a record the Repo wrote (one conditional PUT); Get is by a
// Repo that keeps no state of the record it reads (one GET).
//
//	go test ./repo -run '^$' -bench LargeValue -benchtime 3x
func BenchmarkLargeValue(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) object.Store
	}{
		{"file", func(b *testing.B) object.Store {
			st, err := filestore.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"s3", func(b *testing.B) object.Store { return s3test.NewStore(b, nil) }},
		{"mem", func(b *testing.B) object.Store { return memstore.New() }},
	}
	for _, sc := range stores {
		b.Run(sc.name, func(b *testing.B) {
			ctx := context.Background()
			st := sc.open(b)
			w, err := repo.New[LargeDoc](st)
			if err != nil {
				b.Fatal(err)
			}
			v := LargeDoc{ID: "big", Data: largeData(largeSize, 4)}
			if err := w.Put(ctx, v); err != nil {
				b.Fatal(err)
			}
			b.Run("Put", func(b *testing.B) {
				measureLarge(b, func() error { return w.Put(ctx, v) })
			})
			b.Run("Get", func(b *testing.B) {
				measureLarge(b, func() error {
					r, err := repo.New[LargeDoc](st) // no state of the record
					if err != nil {
						return err
					}
					got, err := r.Get(ctx, "big")
					if err == nil && len(got.Data) != largeSize {
						err = fmt.Errorf("got %d bytes, want %d", len(got.Data), largeSize)
					}
					return err
				})
			})
		})
	}
}

// measureLarge runs op b.N times and reports its peak live heap and bytes
// allocated, as multiples of largeSize (see BenchmarkLargeValue).
func measureLarge(b *testing.B, op func() error) {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	var peak, alloc uint64
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		runtime.GC() // the second one empties sync.Pools, encoding/json's too
		base := liveHeap()
		peakOf := sampleLiveHeap()
		a := allocated()
		b.StartTimer()
		start := time.Now()
		err := op()
		elapsed += time.Since(start)
		b.StopTimer()
		alloc += allocated() - a
		runtime.GC() // a last sample, of what the call left live
		top := peakOf()
		if err != nil {
			b.Fatal(err)
		}
		if top > base {
			peak = max(peak, top-base)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(peak)/largeSize, "peak-live-x")
	b.ReportMetric(float64(alloc)/float64(b.N)/largeSize, "alloc-x")
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(0, "ns/op")
}

// TestRecordTooLarge: a record over the size limit is refused with a clear
// error before any request, and what is stored stays.
func TestRecordTooLarge(t *testing.T) {
	ctx := context.Background()
	defer repo.SetMaxRecordSize(1 << 20)()
	st := memstore.New()
	r, err := repo.New[LargeDoc](st)
	if err != nil {
		t.Fatal(err)
	}
	small := LargeDoc{ID: "k", Tag: "t", Data: "small"}
	if err := r.Put(ctx, small); err != nil {
		t.Fatal(err)
	}
	big := LargeDoc{ID: "k", Tag: "u", Data: largeData(1<<20, 5)}
	err = r.Put(ctx, big)
	if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "5 GiB") || !strings.Contains(err.Error(), "bytes encoded") {
		t.Fatalf("Put of a record over the limit: %v, want ErrInvalid naming the size and the limit", err)
	}
	for _, k := range []string{"LargeDoc/i/Tag/"} {
		page, err := st.List(ctx, object.ListOptions{Prefix: k})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Objects) != 1 {
			t.Errorf("index entries under %s: %d, want 1 (the refused write wrote none)", k, len(page.Objects))
		}
	}
	got, err := r.Get(ctx, "k")
	if err != nil || got != small {
		t.Fatalf("Get after the refused Put: %+v, %v; want the stored record", got, err)
	}
}
