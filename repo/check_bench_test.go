package repo_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
)

// CheckRec is a small record with an index and a unique index.
type CheckRec struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
}

// BenchmarkCheckMemory runs Check over 100,000 small records on memstore
// and reports the peak heap in use during Check above the heap in use
// before it (HeapInuse sampled every millisecond), as peak-MB. The garbage
// collector runs at GOGC=5 meanwhile, so that the heap in use follows the
// live heap instead of the collector's headroom.
//
//	go test ./repo -run '^$' -bench BenchmarkCheckMemory -benchtime 1x
func BenchmarkCheckMemory(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	st := memstore.New()
	r, err := repo.New[CheckRec](st)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				v := CheckRec{ID: fmt.Sprintf("k%07d", i), Email: fmt.Sprintf("e%07d@x.io", i), City: fmt.Sprint("c", i%100)}
				if err := r.Create(ctx, v); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	var peak uint64
	b.ResetTimer()
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	for range b.N {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		stop := make(chan struct{})
		done := make(chan uint64)
		go func() {
			var top uint64
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				top = max(top, ms.HeapInuse)
				select {
				case <-stop:
					done <- top
					return
				case <-t.C:
				}
			}
		}()
		rep, err := r.Check(ctx, false)
		close(stop)
		top := <-done
		if err != nil || !rep.OK() || rep.Records != n {
			b.Fatalf("Check: %+v %v", rep, err)
		}
		if top > base {
			peak = max(peak, top-base)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	b.ReportMetric(0, "ns/op")
}
