package repo_test

import (
	"context"
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
	{"s3", func(t *testing.T) (object.Store, func() object.Store) {
		client, bucket := s3test.NewBucket(t)
		open := func() object.Store {
			st, err := s3store.Open(context.Background(), client, bucket, nil)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		return open(), open
	}},
}

// eachBackend runs f as a parallel-free subtest on every backend.
func eachBackend(t *testing.T, f func(t *testing.T, st object.Store, reopen func() object.Store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st, reopen := b.open(t)
			f(t, st, reopen)
		})
	}
}
