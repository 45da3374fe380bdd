package s3store_test

import (
	"testing"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
	"github.com/nodb-go/nodb/repo/storetest"
)

// TestConformance runs the conformance suite against the test S3 server
// (versitygw unless NODB_S3_ENDPOINT names another), one bucket per subtest.
func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) object.Store {
		return s3test.NewStore(t, nil)
	})
}

// TestConformancePrefix runs the suite on a store under a key prefix.
func TestConformancePrefix(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) object.Store {
		return s3test.NewStore(t, &s3store.Options{Prefix: "nodb/pre"})
	})
}
