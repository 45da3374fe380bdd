package s3store_test

import (
	"context"
	"testing"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
	"github.com/nodb-go/nodb/repo/storetest"
)

// TestConformance runs the conformance suite against the test S3 server
// (see internal/s3test: versitygw, SeaweedFS, or NODB_S3_ENDPOINT), one
// bucket per subtest, with the lost-reply behaviours.
func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, clients(nil), storetest.WithLostReplies(lossy(nil)))
}

// TestConformancePrefix runs the suite on a store under a key prefix.
func TestConformancePrefix(t *testing.T) {
	opts := &s3store.Options{Prefix: "nodb/pre"}
	storetest.RunConformanceTests(t, clients(opts), storetest.WithLostReplies(lossy(opts)))
}

// clients makes a store on a fresh bucket; each reopen is a store of the
// same bucket with a client of its own (its own connections and probe).
func clients(opts *s3store.Options) storetest.Maker {
	return func(t *testing.T) (object.Store, func() object.Store) {
		client, bucket := s3test.NewBucket(t)
		open := func(c s3store.Client) object.Store {
			st, err := s3store.Open(context.Background(), c, bucket, s3test.StoreOptions(opts))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		return open(client), func() object.Store { return open(s3test.Server(t).NewClient()) }
	}
}

// lossy makes stores whose HTTP transport loses the replies the suite
// asks it to lose (s3test.LoseReplies); the SDK then retries.
func lossy(opts *s3store.Options) func(t *testing.T) storetest.LossyStore {
	prefix := ""
	if opts != nil && opts.Prefix != "" {
		prefix = opts.Prefix + "/"
	}
	return func(t *testing.T) storetest.LossyStore {
		lr := &s3test.LoseReplies{}
		raw, bucket := s3test.NewBucket(t)
		st, err := s3store.Open(context.Background(), s3test.Server(t).NewClient(noBackoff, lr.Option), bucket, s3test.StoreOptions(opts))
		if err != nil {
			t.Fatal(err)
		}
		other, err := s3store.Open(context.Background(), raw, bucket, s3test.StoreOptions(opts))
		if err != nil {
			t.Fatal(err)
		}
		return storetest.LossyStore{
			Store: st,
			Other: other,
			LoseNext: func(op, key string, meanwhile func()) {
				method := map[string]string{"Put": "PUT", "Delete": "DELETE"}[op]
				if method == "" {
					t.Fatalf("LoseNext(%q): unknown operation", op)
				}
				lr.LoseNext(s3test.Request(method, prefix+key), meanwhile)
			},
			Lost: func() int { return len(lr.Lost()) },
		}
	}
}
