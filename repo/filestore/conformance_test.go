package filestore_test

import (
	"testing"

	"github.com/nodb-go/nodb/repo/filestore"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) object.Store {
		st, err := filestore.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
