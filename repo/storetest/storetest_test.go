package storetest_test

import (
	"testing"

	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/storetest"
)

// TestMemstore checks the suite itself against the reference store.
func TestMemstore(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) object.Store { return memstore.New() })
}
