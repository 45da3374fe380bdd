package memstore_test

import (
	"testing"

	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) (object.Store, func() object.Store) {
		st := memstore.New()
		return st, func() object.Store {
			other, err := memstore.Share(st)
			if err != nil {
				t.Fatal(err)
			}
			return other
		}
	})
}
