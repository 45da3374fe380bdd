package repo_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
)

// Bookmark has a list field: every tag is indexed.
type Bookmark struct {
	URL  string   `nodb:"key"`
	Tags []string `nodb:"index"`
}

// A list field is queried one element at a time: Find returns the records
// holding the element, and Update moves only the entries of the elements
// added and removed.
func ExampleRepo_Find_listField() {
	ctx := context.Background()
	bookmarks, err := repo.New[Bookmark](memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range []Bookmark{
		{URL: "https://go.dev", Tags: []string{"go", "docs"}},
		{URL: "https://pkg.go.dev", Tags: []string{"go", "packages"}},
		{URL: "https://aws.amazon.com/s3", Tags: []string{"s3", "docs"}},
	} {
		if err := bookmarks.Create(ctx, b); err != nil {
			log.Fatal(err)
		}
	}
	for b, err := range bookmarks.Find(ctx, "Tags", "docs") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("docs:", b.URL)
	}
	// Two conditions on one list: records holding both elements.
	for b, err := range bookmarks.Query().Where("Tags", "go").Where("Tags", "docs").All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("go and docs:", b.URL)
	}
	if _, err := bookmarks.Update(ctx, "https://go.dev", func(b *Bookmark) error {
		b.Tags = []string{"go", "tour"} // "docs" removed, "tour" added
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	n, err := bookmarks.CountBy(ctx, "Tags", "docs")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("docs now:", n)
	// Output:
	// docs: https://aws.amazon.com/s3
	// docs: https://go.dev
	// go and docs: https://go.dev
	// docs now: 1
}
