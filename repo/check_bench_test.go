package repo_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
)

// CheckRec is a small record with an index and a unique index.
type CheckRec struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
}

// BenchmarkCheckMemory runs Check over small records on memstore and
// reports the peak live heap during Check above the live heap before it
// (the live heap of the last collection, sampled every millisecond, with
// GOGC=5 so that collections are frequent), as peak-live-MB, and the
// requests Check sent. With the default pass size the 100,000 records are
// checked in one pass; with passes of 25,000 records the peak is the same
// for 50,000 and 100,000 records, at the cost of a LIST of entries and
// claims and a GET of every claim per pass.
//
//	go test ./repo -run '^$' -bench BenchmarkCheckMemory -benchtime 1x
func BenchmarkCheckMemory(b *testing.B) {
	for _, bc := range []struct{ records, pass int }{{100_000, 0}, {50_000, 25_000}, {100_000, 25_000}} {
		b.Run(fmt.Sprintf("records=%d/pass=%d", bc.records, bc.pass), func(b *testing.B) {
			benchCheckMemory(b, bc.records, bc.pass)
		})
	}
}

// checkStores holds the populated stores of BenchmarkCheckMemory by record
// count, so that each is written once per run.
var checkStores = map[int]*meter.Store{}

func benchCheckMemory(b *testing.B, n, pass int) {
	ctx := context.Background()
	st := checkStores[n]
	if st == nil {
		st = meter.Wrap(memstore.New())
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
		checkStores[n] = st
	}
	r, err := repo.New[CheckRec](st, func(o *repo.Options) { o.CheckPassRecords = pass })
	if err != nil {
		b.Fatal(err)
	}
	var peak uint64
	var reqs meter.Counts
	b.ResetTimer()
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	for range b.N {
		runtime.GC()
		base := liveHeap()
		peakOf := sampleLiveHeap()
		st.Reset()
		rep, err := r.Check(ctx, false)
		reqs = st.Reset()
		top := peakOf()
		if err != nil || !rep.OK() || rep.Records != n {
			b.Fatalf("Check: %+v %v", rep, err)
		}
		if top > base {
			peak = max(peak, top-base)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-live-MB")
	b.ReportMetric(float64(reqs.List), "LISTs")
	b.ReportMetric(float64(reqs.Get), "GETs")
	b.ReportMetric(0, "ns/op")
}

// liveHeap returns the heap the last garbage collection found live: unlike
// the heap in use, it does not count garbage the collector has yet to
// reach, which on a busy machine can be most of it.
// sampleLiveHeap samples the live heap every millisecond until the
// function it returns is called; that returns the highest sample.
func sampleLiveHeap() (peak func() uint64) {
	stop := make(chan struct{})
	done := make(chan uint64)
	go func() {
		var top uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			top = max(top, liveHeap())
			select {
			case <-stop:
				done <- top
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return <-done
	}
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
