package repo_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
)

// Saved is a bookmark: the newest first, by tag.
type Saved struct {
	ID      string    `nodb:"key"`
	Tag     string    `nodb:"index"`
	Created time.Time `nodb:"index,desc"`
}

func ExampleRepo_Query() {
	ctx := context.Background()
	saved, err := repo.New[Saved](memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, tag := range []string{"go", "s3", "go", "go", "s3"} {
		if err := saved.Create(ctx, Saved{ID: fmt.Sprint("l", i), Tag: tag, Created: t0.Add(time.Duration(i) * 24 * time.Hour)}); err != nil {
			log.Fatal(err)
		}
	}
	// Tag "go" added this week, newest first.
	q := saved.Query().Where("Tag", "go").Between("Created", t0.Add(24*time.Hour), t0.Add(7*24*time.Hour)).Desc().Limit(20)
	for l, err := range q.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(l.ID, l.Created.Format("Jan 2"))
	}
	plan, _ := q.Explain()
	fmt.Print(plan)
	// Output:
	// l3 Nov 4
	// l2 Nov 3
	// drive: Created between 2026-11-02 00:00:00 +0000 UTC and 2026-11-08 00:00:00 +0000 UTC (LIST Saved/i/Created/, descending, in stored order: stops at the end of the range or the limit)
	// intersect: Tag = go (LIST Saved/i/Tag/vPrx/, key order), listed in full before any GET
	// fetch: 1 GET per key in the intersection, verified against every condition
	// limit: 20 (the driving listing stops there)
}

// Session2 is a login session that expires.
type Session2 struct {
	ID      string    `nodb:"key"`
	Expires time.Time `nodb:"expires"`
}

func ExampleRepo_DeleteExpired() {
	ctx := context.Background()
	sessions, err := repo.New[Session2](memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	_ = sessions.Create(ctx, Session2{ID: "old", Expires: now.Add(-time.Minute)})
	_ = sessions.Create(ctx, Session2{ID: "new", Expires: now.Add(time.Hour)})
	_, err = sessions.Get(ctx, "old")
	fmt.Println(err)
	rep, err := sessions.DeleteExpired(ctx, "", nil)
	fmt.Println(rep.Scanned, rep.Deleted, err)
	// Output:
	// repo: Get Session2 "old": not found: record "old" has expired
	// 2 1 <nil>
}
