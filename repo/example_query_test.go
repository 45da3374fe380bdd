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

// Login has a unique field.
type Login struct {
	ID    string    `nodb:"key"`
	Email string    `nodb:"unique"`
	Plan  string    `nodb:"index"`
	Seen  time.Time `nodb:"index,desc"`
}

func ExampleQuery_OrderBy() {
	ctx := context.Background()
	logins, err := repo.New[Login](memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, plan := range []string{"free", "pro", "free", "pro", "free"} {
		l := Login{ID: fmt.Sprint("u", i), Email: fmt.Sprintf("%c@x.io", 'e'-i), Plan: plan, Seen: t0.Add(time.Duration(i) * time.Hour)}
		if err := logins.Create(ctx, l); err != nil {
			log.Fatal(err)
		}
	}
	// Every login, most recently seen first: no bounds needed.
	q := logins.Query().OrderBy("Seen").Desc().Limit(3)
	for l, err := range q.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(l.ID, l.Seen.Format("15:04"))
	}
	plan, _ := q.Explain()
	fmt.Print(plan)
	// A unique field in a query: its claim names the one candidate.
	l, err := logins.Query().Where("Email", "c@x.io").Where("Plan", "free").First(ctx)
	fmt.Println(l.ID, err)
	// Ordered by a unique field, with a condition on another.
	for l, err := range logins.Query().OrderBy("Email").Where("Plan", "free").All(ctx) {
		fmt.Println(l.Email, l.ID, err)
	}
	// Output:
	// u4 04:00
	// u3 03:00
	// u2 02:00
	// drive: every record by Seen (LIST Login/i/Seen/, descending, in stored order: stops at the end of the range or the limit)
	// fetch: 1 GET per key, verified against every condition
	// limit: 3 (the driving listing stops there)
	// u2 <nil>
	// a@x.io u4 <nil>
	// c@x.io u2 <nil>
	// e@x.io u0 <nil>
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
