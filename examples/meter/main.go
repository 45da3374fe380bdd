// Meter shows what NoDB operations cost: it runs each main operation of a
// Repo once and prints the requests it made (GET, PUT, LIST, ...) and the
// sequential round trips they took. On S3 every request costs money and
// every round trip tens of milliseconds, so these counts are what to watch.
//
// Usage:
//
//	go run ./examples/meter              # in memory, with 20ms of latency per request
//	go run ./examples/meter -latency 0   # no latency: rounds may then merge or split
//
// The store is an in-memory one wrapped in meter.Wrap, which counts requests
// and adds latency so that requests issued in parallel overlap, as they would
// on S3. Wrap any object.Store the same way to measure your own code.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
)

// User has a key, a unique field and two indexes: three index entries and
// one unique claim per record.
type User struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Age   int    `nodb:"index"`
}

func main() {
	latency := flag.Duration("latency", 20*time.Millisecond, "latency added to each request")
	flag.Parse()
	if err := run(context.Background(), *latency, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "meter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, latency time.Duration, out io.Writer) error {
	st := meter.Wrap(memstore.New(), meter.WithLatency(latency))
	defer st.Close() // closes the wrapped store
	users, err := repo.New[User](st)
	if err != nil {
		return err
	}
	// The first write of a Repo reads (and here creates) the model's
	// manifest; do it before measuring.
	if err := users.Create(ctx, User{ID: "alice", Email: "alice@example.com", City: "Paris", Age: 31}); err != nil {
		return err
	}

	// measure runs f and prints the requests it made.
	measure := func(what string, f func() error) error {
		st.Reset()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		c := st.Snapshot()
		fmt.Fprintf(out, "%-32s GET=%d PUT=%d DELETE=%d LIST=%d  rounds=%d\n", what, c.Get, c.Put, c.Delete, c.List, c.Rounds)
		return nil
	}
	steps := []struct {
		what string
		f    func() error
	}{
		{"Create (3 indexes, 1 unique)", func() error {
			return users.Create(ctx, User{ID: "bob", Email: "bob@example.com", City: "Lyon", Age: 25})
		}},
		{"Get", func() error {
			_, err := users.Get(ctx, "bob")
			return err
		}},
		{"Update, no index change", func() error {
			_, err := users.Update(ctx, "bob", func(u *User) error { return nil })
			return err
		}},
		{"Update, City changed", func() error {
			_, err := users.Update(ctx, "bob", func(u *User) error { u.City = "Paris"; return nil })
			return err
		}},
		{"GetBy Email", func() error {
			_, err := users.GetBy(ctx, "Email", "bob@example.com")
			return err
		}},
		{"Find City=Paris (2 results)", func() error {
			for _, err := range users.Find(ctx, "City", "Paris") {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"Count", func() error {
			_, err := users.Count(ctx)
			return err
		}},
		{"Delete", func() error {
			return users.Delete(ctx, "bob")
		}},
	}
	for _, s := range steps {
		if err := measure(s.what, s.f); err != nil {
			return err
		}
	}
	return nil
}
