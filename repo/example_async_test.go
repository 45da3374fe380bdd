package repo_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/change"
)

// Shop's City index is async: writers do not maintain it, the indexer does.
type Shop struct {
	ID   string `nodb:"key"`
	City string `nodb:"index,async"`
}

// An async index: a Create costs one PUT, and the indexer, fed by change
// events, makes the record findable a moment later. Locally, change.Notify
// gives the events; Wait waits until the indexer has caught up (use it in
// tests before querying).
func ExampleRepo_Indexer() {
	ctx := context.Background()
	mem, err := repo.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	var indexer change.Handler
	st := change.Notify(mem, func(ctx context.Context, e change.Event) error { return indexer(ctx, e) })
	shops, err := repo.New[Shop](st)
	if err != nil {
		log.Fatal(err)
	}
	indexer = shops.Indexer()

	for _, s := range []Shop{{"bakery", "Paris"}, {"books", "Lyon"}, {"cafe", "Paris"}} {
		if err := shops.Create(ctx, s); err != nil { // one PUT each
			log.Fatal(err)
		}
	}
	if err := st.Wait(); err != nil { // the indexer has caught up
		log.Fatal(err)
	}
	for s, err := range shops.Find(ctx, "City", "Paris") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.ID)
	}
	// Output:
	// bakery
	// cafe
}

// React to writes with typed Go code: OnChange reads the record an event
// names and passes its current state. Events come at least once and in any
// order, so act on c.Found and c.Record, not on the event.
func ExampleRepo_OnChange() {
	ctx := context.Background()
	mem, err := repo.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	var h change.Handler
	st := change.Notify(mem, func(ctx context.Context, e change.Event) error { return h(ctx, e) })
	shops, err := repo.New[Shop](st)
	if err != nil {
		log.Fatal(err)
	}
	h = shops.OnChange(func(ctx context.Context, c repo.Change[Shop]) error {
		if c.Found {
			fmt.Printf("%s is in %s\n", c.Key, c.Record.Value.City)
		} else {
			fmt.Printf("%s is gone\n", c.Key)
		}
		return nil
	})
	if err := shops.Create(ctx, Shop{ID: "tea room", City: "Nice"}); err != nil {
		log.Fatal(err)
	}
	if err := st.Wait(); err != nil {
		log.Fatal(err)
	}
	if err := shops.Delete(ctx, "tea room"); err != nil {
		log.Fatal(err)
	}
	if err := st.Wait(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// tea room is in Nice
	// tea room is gone
}

// A sweep catches up after lost events: here no event reached an indexer.
func ExampleRepo_SweepIndexes() {
	ctx := context.Background()
	st, err := repo.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	shops, err := repo.New[Shop](st)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range []Shop{{"bakery", "Paris"}, {"books", "Lyon"}} {
		if err := shops.Create(ctx, s); err != nil {
			log.Fatal(err)
		}
	}
	rep, err := shops.SweepIndexes(ctx, func(o *repo.SweepOptions) {
		o.Progress = func(p repo.SweepReport) { fmt.Println("done up to", p.Cursor) }
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d records, %d updated\n", rep.Records, rep.Changed)
	for s, err := range shops.Find(ctx, "City", "Lyon") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.ID)
	}
	// Output:
	// done up to books
	// 2 records, 2 updated
	// books
}
