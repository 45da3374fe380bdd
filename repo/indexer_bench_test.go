package repo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
)

// SyncPair and AsyncPair have the same two indexes, maintained by writers
// and by the indexer.
type SyncPair struct {
	ID   string `nodb:"key"`
	City string `nodb:"index"`
	Age  int    `nodb:"index"`
}

type AsyncPair struct {
	ID   string `nodb:"key"`
	City string `nodb:"index,async"`
	Age  int    `nodb:"index,async"`
}

// BenchmarkCreateSyncVsAsync measures Create latency with two indexes,
// sync and async, at 20 ms injected latency per request (meter.WithLatency),
// and reports requests and rounds per Create.
func BenchmarkCreateSyncVsAsync(b *testing.B) {
	ctx := context.Background()
	b.Run("sync", func(b *testing.B) {
		m := meter.Wrap(memstore.New(), meter.WithLatency(20*time.Millisecond))
		r, err := repo.New[SyncPair](m)
		if err != nil {
			b.Fatal(err)
		}
		benchSyncAsyncCreate(b, m, func(i int) error { return r.Create(ctx, SyncPair{ID: fmt.Sprint(i), City: "Paris", Age: i}) })
	})
	b.Run("async", func(b *testing.B) {
		m := meter.Wrap(memstore.New(), meter.WithLatency(20*time.Millisecond))
		r, err := repo.New[AsyncPair](m)
		if err != nil {
			b.Fatal(err)
		}
		benchSyncAsyncCreate(b, m, func(i int) error { return r.Create(ctx, AsyncPair{ID: fmt.Sprint(i), City: "Paris", Age: i}) })
	})
}

func benchSyncAsyncCreate(b *testing.B, m *meter.Store, create func(i int) error) {
	if err := create(-1); err != nil { // attach: the manifest
		b.Fatal(err)
	}
	m.Reset()
	b.ResetTimer()
	for i := range b.N {
		if err := create(i); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c := m.Reset()
	b.ReportMetric(float64(c.Total())/float64(b.N), "req/op")
	b.ReportMetric(float64(c.Rounds)/float64(b.N), "rounds/op")
}
