package meter_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// Count the requests and sequential rounds of an operation: two writes in
// parallel, then a conditional write after them. The latency makes memstore
// behave like a remote store, so that the parallel writes overlap.
func Example() {
	ctx := context.Background()
	st := meter.Wrap(memstore.New(), meter.WithLatency(50*time.Millisecond))

	var wg sync.WaitGroup
	for _, key := range []string{"i/a", "i/b"} {
		wg.Go(func() {
			if _, err := st.Put(ctx, key, nil, object.PutOptions{}); err != nil {
				log.Fatal(err)
			}
		})
	}
	wg.Wait()
	if _, err := st.Put(ctx, "r", []byte("{}"), object.PutOptions{IfNoneMatch: "*"}); err != nil {
		log.Fatal(err)
	}

	c := st.Snapshot()
	fmt.Println(c.Put, "PUTs in", c.Rounds, "rounds")
	fmt.Println(c)
	// Output:
	// 3 PUTs in 2 rounds
	// GET=0 HEAD=0 PUT=3 DELETE=0 LIST=0 total=3 conditional=1 rounds=2
}

// Log every request with a hook.
func ExampleWithHook() {
	ctx := context.Background()
	st := meter.Wrap(memstore.New(), meter.WithHook(func(kind, key string, err error) {
		switch {
		case err == nil:
			fmt.Printf("%s %q: ok\n", kind, key)
		case errors.Is(err, object.ErrNotFound):
			fmt.Printf("%s %q: not found\n", kind, key)
		default:
			fmt.Printf("%s %q: %v\n", kind, key, err)
		}
	}))

	st.Put(ctx, "users/alice", []byte("{}"), object.PutOptions{})
	st.Get(ctx, "users/bob", object.GetOptions{})
	for info, err := range object.All(ctx, st, "users/", "", 0) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("listed", info.Key)
	}
	// Output:
	// PUT "users/alice": ok
	// GET "users/bob": not found
	// LIST "users/": ok
	// listed users/alice
}
