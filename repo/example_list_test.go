package repo_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
)

// TaggedPage has a list field: every tag is indexed.
type TaggedPage struct {
	URL  string   `nodb:"key"`
	Tags []string `nodb:"index"`
}

// A list field is queried one element at a time: Find returns the records
// holding the element, and Update moves only the entries of the elements
// added and removed.
func ExampleRepo_Find_listField() {
	ctx := context.Background()
	links, err := repo.New[TaggedPage](memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range []TaggedPage{
		{URL: "https://go.dev", Tags: []string{"go", "docs"}},
		{URL: "https://pkg.go.dev", Tags: []string{"go", "packages"}},
		{URL: "https://aws.amazon.com/s3", Tags: []string{"s3", "docs"}},
	} {
		if err := links.Create(ctx, b); err != nil {
			log.Fatal(err)
		}
	}
	for b, err := range links.Find(ctx, "Tags", "docs") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("docs:", b.URL)
	}
	// Two conditions on one list: records holding both elements.
	for b, err := range links.Query().Where("Tags", "go").Where("Tags", "docs").All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("go and docs:", b.URL)
	}
	if _, err := links.Update(ctx, "https://go.dev", func(b *TaggedPage) error {
		b.Tags = []string{"go", "tour"} // "docs" removed, "tour" added
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	n, err := links.CountBy(ctx, "Tags", "docs")
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
