package repo_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/nodb-go/nodb/repo"
)

// Read many records at once: one GET per key, in parallel. Items fail on
// their own; the others are returned.
func ExampleRepo_GetMany() {
	ctx := context.Background()
	users := users(ctx)
	got, err := users.GetMany(ctx, []any{"alice", "nobody", "carol"})
	var be *repo.BatchError
	if errors.As(err, &be) {
		for _, it := range be.Items {
			fmt.Printf("item %d (%s): not found: %v\n", it.Index, it.Key, errors.Is(it.Err, repo.ErrNotFound))
		}
	}
	fmt.Println(got[0].City, got[2].City)
	// Output:
	// item 1 (nobody): not found: true
	// Paris Paris
}

// Create many records at once. The error names each item that did not
// succeed and says whether it certainly stored nothing (Failed) or may
// have landed (Unknown).
func ExampleRepo_CreateMany() {
	ctx := context.Background()
	users := users(ctx)
	err := users.CreateMany(ctx, []User{
		{ID: "erin", Email: "erin@example.com", City: "Nice"},
		{ID: "frank", Email: "alice@example.com", City: "Nice"}, // alice holds the email
		{ID: "bob", Email: "bob2@example.com", City: "Nice"},    // bob exists
	})
	var be *repo.BatchError
	if !errors.As(err, &be) {
		log.Fatal(err)
	}
	fmt.Println("failed:", be.Failed(), "unknown:", be.Unknown())
	fmt.Println(errors.Is(be.Items[0].Err, repo.ErrUnique), errors.Is(be.Items[1].Err, repo.ErrExists))
	n, _ := users.CountBy(ctx, "City", "Nice")
	fmt.Println("in Nice:", n)
	// Output:
	// failed: [1 2] unknown: []
	// true true
	// in Nice: 1
}
