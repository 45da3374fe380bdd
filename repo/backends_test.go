package repo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/filestore"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// TestMain (in open_test.go) runs s3test.Main, which stops the S3 server.

// backend opens a fresh store, and a function that opens a second,
// independent client of the same data (a new process, as far as the store
// can tell).
type backend struct {
	name string
	open func(t *testing.T) (st object.Store, reopen func() object.Store)
}

var backends = []backend{
	{"mem", func(t *testing.T) (object.Store, func() object.Store) {
		st := memstore.New()
		return st, func() object.Store { return st }
	}},
	{"file", func(t *testing.T) (object.Store, func() object.Store) {
		dir := t.TempDir()
		open := func() object.Store {
			st, err := filestore.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		return open(), open
	}},
	{"s3", openS3(nil)},
}

func openS3(opts *s3store.Options) func(t *testing.T) (object.Store, func() object.Store) {
	return func(t *testing.T) (object.Store, func() object.Store) {
		client, bucket := s3test.NewBucket(t)
		open := func() object.Store {
			st, err := s3store.Open(context.Background(), client, bucket, s3test.StoreOptions(opts))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		return open(), open
	}
}

// racingBackends are the backends for tests where writers race on the same
// keys. versitygw's DELETE is not atomic against a concurrent conditional
// PUT of the same object: both can succeed, the PUT landing after the
// DELETE (s3store.BenchmarkDeletePutRace measures it). So on versitygw
// these tests run as NoDB is documented to run on such a server, without
// conditional deletes, and no Delete overlaps a write of the same record
// (see deleteRace); on SeaweedFS, whose conditional DELETE is atomic, and
// on an external server, they run with conditional deletes and every race.
var racingBackends = []backend{backends[0], backends[1], {"s3", openRacingS3}, memNoCondDelete}

func openRacingS3(t *testing.T) (object.Store, func() object.Store) {
	if s3test.Server(t).Name != "versitygw" {
		return openS3(nil)(t)
	}
	st, reopen := openS3(&s3store.Options{NoConditionalDelete: true})(t)
	wrap := func(st object.Store) object.Store { return noDeleteRace{st, &keyLocks{}} }
	return wrap(st), func() object.Store { return wrap(reopen()) }
}

// noDeleteRace marks a store on which a Delete must not overlap a write of
// the same record: its server's DELETE is not atomic against a conditional
// PUT (versitygw). Tests that race Delete against writes take deleteRace's
// lock around each operation.
type noDeleteRace struct {
	object.Store
	locks *keyLocks
}

// keyLocks are per-key read-write locks.
type keyLocks struct{ m sync.Map }

func (k *keyLocks) of(key string) *sync.RWMutex {
	l, _ := k.m.LoadOrStore(key, &sync.RWMutex{})
	return l.(*sync.RWMutex)
}

// deleteRace returns the locking a racing test wraps its operations on
// record key in: none where the store's DELETE is atomic against a
// conditional PUT; otherwise a Delete excludes writes of the same key.
func deleteRace(st object.Store, key string, isDelete bool) (unlock func()) {
	nd, ok := st.(noDeleteRace)
	if !ok {
		return func() {}
	}
	l := nd.locks.of(key)
	if isDelete {
		l.Lock()
		return l.Unlock
	}
	l.RLock()
	return l.RUnlock
}

// memNoCondDelete is a memstore that cannot delete conditionally, to test
// NoDB's fallback for such stores.
var memNoCondDelete = backend{"mem-no-conditional-delete", func(t *testing.T) (object.Store, func() object.Store) {
	st := noCondDelete{memstore.New()}
	return st, func() object.Store { return st }
}}

type noCondDelete struct{ object.Store }

func (s noCondDelete) Capabilities() object.Capabilities { return object.Capabilities{} }

func (s noCondDelete) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	if opts.IfMatch != "" {
		return fmt.Errorf("noCondDelete: %w", object.ErrUnsupported)
	}
	return s.Store.Delete(ctx, key, opts)
}

// eachRacingBackend is eachBackend over racingBackends.
func eachRacingBackend(t *testing.T, f func(t *testing.T, st object.Store, reopen func() object.Store)) {
	t.Helper()
	eachOf(t, racingBackends, f)
}

// eachBackendAndFallback is eachBackend plus memNoCondDelete.
func eachBackendAndFallback(t *testing.T, f func(t *testing.T, st object.Store, reopen func() object.Store)) {
	t.Helper()
	eachOf(t, append(backends[:len(backends):len(backends)], memNoCondDelete), f)
}

func eachOf(t *testing.T, bs []backend, f func(t *testing.T, st object.Store, reopen func() object.Store)) {
	t.Helper()
	for _, b := range bs {
		t.Run(b.name, func(t *testing.T) {
			st, reopen := b.open(t)
			f(t, st, reopen)
		})
	}
}

// eachBackend runs f as a parallel-free subtest on every backend.
func eachBackend(t *testing.T, f func(t *testing.T, st object.Store, reopen func() object.Store)) {
	t.Helper()
	eachOf(t, backends, f)
}
