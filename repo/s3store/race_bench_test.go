package s3store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/object"
)

// BenchmarkDeletePutRace measures whether the server makes a conditional
// DELETE and a conditional PUT on the same key, both with If-Match on the
// same version, mutually exclusive: on a correct server at most one of the
// two succeeds. It reports the fraction of races both won ("both/op") and
// in which the object was then gone although the PUT had succeeded
// ("lost/op"). Non-zero figures mean the server needs
// Options.NoConditionalDelete. See the package documentation.
func BenchmarkDeletePutRace(b *testing.B) {
	ctx := context.Background()
	st := s3test.NewStore(b, nil)
	both, lost := 0, 0
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("race/%d", i)
		info, err := st.Put(ctx, key, []byte(fmt.Sprint("v1-", i)), object.PutOptions{IfNoneMatch: "*"})
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		var perr, derr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, perr = st.Put(ctx, key, []byte(fmt.Sprint("v2-", i)), object.PutOptions{IfMatch: info.Version})
		}()
		go func() {
			defer wg.Done()
			derr = st.Delete(ctx, key, object.DeleteOptions{IfMatch: info.Version, MissingOK: true})
		}()
		wg.Wait()
		if perr == nil && derr == nil {
			both++
			if _, err := st.Head(ctx, key); err != nil {
				lost++
			}
		}
	}
	b.ReportMetric(float64(both)/float64(b.N), "both/op")
	b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
}
