package filestore_test

import (
	"testing"

	"github.com/nodb-go/nodb/repo/filestore"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/storetest"
)

// TestConformance runs the suite on a fresh directory per subtest; the
// second client is a second Open of the same directory.
func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) (object.Store, func() object.Store) {
		dir := t.TempDir()
		open := func() object.Store {
			st, err := filestore.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		return open(), open
	})
}
