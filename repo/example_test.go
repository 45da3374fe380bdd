package repo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

// User is the model of the examples: the key, a unique field and two
// indexes, one of them ordered by number.
type User struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Age   int    `nodb:"index"`
}

// users returns a Repo[User] on a new in-memory store holding a few users.
func users(ctx context.Context) *repo.Repo[User] {
	st, err := repo.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	users, err := repo.New[User](st)
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range []User{
		{ID: "alice", Email: "alice@example.com", City: "Paris", Age: 31},
		{ID: "bob", Email: "bob@example.com", City: "Lyon", Age: 25},
		{ID: "carol", Email: "carol@example.com", City: "Paris", Age: 42},
		{ID: "dave", Email: "dave@example.com", City: "Paris", Age: 19},
	} {
		if err := users.Create(ctx, u); err != nil {
			log.Fatal(err)
		}
	}
	return users
}

// Open a store and make a Repo for a struct type. New checks the model's
// tags and makes no request.
func ExampleNew() {
	ctx := context.Background()
	st, err := repo.Open(ctx, "mem://") // or "file://./data", "s3://bucket/prefix"
	if err != nil {
		log.Fatal(err)
	}
	users, err := repo.New[User](st)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("model:", users.Model())

	// A bad tag is an error that names the type and the field.
	type Bad struct {
		ID   string   `nodb:"key"`
		Tags []string `nodb:"unique"`
	}
	_, err = repo.New[Bad](memstore.New())
	fmt.Println(errors.Is(err, repo.ErrInvalid))
	fmt.Println(err)
	// Output:
	// model: User
	// true
	// repo: invalid: model repo_test.Bad field Tags: a slice cannot be unique (no two records sharing an element would cost one claim per element on every write); use nodb:"index"
}

// Create inserts a record and fails with ErrExists if the key is taken.
// Put would overwrite it instead.
func ExampleRepo_Create() {
	ctx := context.Background()
	users, err := repo.New[User](memstore.New())
	if err != nil {
		log.Fatal(err)
	}

	alice := User{ID: "alice", Email: "alice@example.com", City: "Paris", Age: 31}
	if err := users.Create(ctx, alice); err != nil {
		log.Fatal(err)
	}
	err = users.Create(ctx, alice)
	fmt.Println(errors.Is(err, repo.ErrExists))
	fmt.Println(err)
	// Output:
	// true
	// repo: Create User "alice": already exists
}

// Get loads a record by key; a missing key is ErrNotFound.
func ExampleRepo_Get() {
	ctx := context.Background()
	users := users(ctx)

	u, err := users.Get(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Email, u.City, u.Age)

	_, err = users.Get(ctx, "zoe")
	fmt.Println(errors.Is(err, repo.ErrNotFound))
	fmt.Println(err)
	// Output:
	// alice@example.com Paris 31
	// true
	// repo: Get User "zoe": not found
}

// Optimistic concurrency by hand: GetRecord returns the record's version,
// and Replace writes only if the record is still at that version.
func ExampleRepo_GetRecord() {
	ctx := context.Background()
	users := users(ctx)

	rec, err := users.GetRecord(ctx, "bob")
	if err != nil {
		log.Fatal(err)
	}
	u := rec.Value
	u.Age++
	if err := users.Replace(ctx, u, rec.Version); err != nil {
		log.Fatal(err)
	}
	fmt.Println("replaced: age", u.Age)

	// rec.Version is stale now: the record has moved on.
	u.City = "Nice"
	err = users.Replace(ctx, u, rec.Version)
	fmt.Println("stale version:", errors.Is(err, repo.ErrConflict))
	// Output:
	// replaced: age 26
	// stale version: true
}

// Update is a read-modify-write that retries by itself when another writer
// changed the record in between.
func ExampleRepo_Update() {
	ctx := context.Background()
	users := users(ctx)

	u, err := users.Update(ctx, "bob", func(u *User) error {
		u.City = "Marseille"
		u.Age++
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.ID, u.City, u.Age)

	// The indexes follow the change.
	for u, err := range users.Find(ctx, "City", "Marseille") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("in Marseille:", u.ID)
	}
	// Output:
	// bob Marseille 26
	// in Marseille: bob
}

// Delete removes a record and its index entries; a missing key is
// ErrNotFound.
func ExampleRepo_Delete() {
	ctx := context.Background()
	users := users(ctx)

	if err := users.Delete(ctx, "bob"); err != nil {
		log.Fatal(err)
	}
	n, err := users.Count(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "users left")

	err = users.Delete(ctx, "bob")
	fmt.Println(errors.Is(err, repo.ErrNotFound))
	// Output:
	// 3 users left
	// true
}

// All ranges over every record in key order. An error is yielded once, as
// the last element.
func ExampleRepo_All() {
	ctx := context.Background()
	users := users(ctx)

	for u, err := range users.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.ID, u.City)
	}
	// Output:
	// alice Paris
	// bob Lyon
	// carol Paris
	// dave Paris
}

// Find returns the records whose indexed field equals a value, in key
// order. No match is an empty sequence, not an error.
func ExampleRepo_Find() {
	ctx := context.Background()
	users := users(ctx)

	for u, err := range users.Find(ctx, "City", "Paris") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.ID)
	}
	// Output:
	// alice
	// carol
	// dave
}

// Range returns the records whose indexed field lies between two values,
// both included, in the order of that field.
func ExampleRepo_Range() {
	ctx := context.Background()
	users := users(ctx)

	for u, err := range users.Range(ctx, "Age", 18, 35) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.Age, u.ID)
	}
	// Output:
	// 19 dave
	// 25 bob
	// 31 alice
}

// GetBy looks a record up by a unique field. A second record with the same
// value is refused with ErrUnique.
func ExampleRepo_GetBy() {
	ctx := context.Background()
	users := users(ctx)

	u, err := users.GetBy(ctx, "Email", "carol@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.ID)

	err = users.Create(ctx, User{ID: "carol2", Email: "carol@example.com"})
	fmt.Println(errors.Is(err, repo.ErrUnique))
	fmt.Println(err)
	// Output:
	// carol
	// true
	// repo: Create User "carol2": unique constraint violated: Email "carol@example.com" is held by key "carol"
}

// FindPage returns one page of a Find at a time, with a cursor to resume
// from, for example in the next request of a web client.
func ExampleRepo_FindPage() {
	ctx := context.Background()
	users := users(ctx)

	cursor := ""
	for {
		page, err := users.FindPage(ctx, "City", "Paris", cursor, 2)
		if err != nil {
			log.Fatal(err)
		}
		for _, u := range page.Items {
			fmt.Print(u.ID, " ")
		}
		fmt.Println("| end of page")
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	// Output:
	// alice carol | end of page
	// dave | end of page
}

// A file:// URL keeps the data in a local directory, so it outlives the
// process: a store opened later on the same directory finds it.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "nodb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	url := "file://" + filepath.ToSlash(dir) // file:///tmp/nodb-example123

	st, err := repo.Open(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	users, err := repo.New[User](st)
	if err != nil {
		log.Fatal(err)
	}
	if err := users.Put(ctx, User{ID: "alice", Email: "alice@example.com", City: "Paris"}); err != nil {
		log.Fatal(err)
	}

	// Later, another program opens the same directory.
	st, err = repo.Open(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	users, err = repo.New[User](st)
	if err != nil {
		log.Fatal(err)
	}
	u, err := users.Get(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.ID, u.City)
	// Output:
	// alice Paris
}

// An s3:// URL names a bucket and an optional key prefix. Credentials come
// from the standard AWS chain (environment, profile, instance role), never
// from the URL. For an S3-compatible server, add its address and path-style
// addressing:
//
//	s3://my-bucket/myapp?region=us-east-1&endpoint=http://127.0.0.1:9000&path_style=true
func ExampleOpen_s3() {
	ctx := context.Background()
	st, err := repo.Open(ctx, "s3://my-bucket/myapp?region=eu-west-1")
	if err != nil {
		log.Fatal(err)
	}
	users, err := repo.New[User](st)
	if err != nil {
		log.Fatal(err)
	}
	if err := users.Put(ctx, User{ID: "alice", Email: "alice@example.com"}); err != nil {
		log.Fatal(err)
	}
}

// Add an index to a model that already has records: queries on it fail
// with ErrNotBuilt until Reindex has indexed the old records.
func ExampleRepo_Reindex() {
	ctx := context.Background()
	st := memstore.New()
	type ProductV1 struct {
		SKU   string `nodb:"key"`
		Color string
	}
	type ProductV2 struct {
		SKU   string `nodb:"key"`
		Color string `nodb:"index"` // new
	}
	model := func(o *repo.Options) { o.Model = "Product" }

	v1, _ := repo.New[ProductV1](st, model)
	for _, p := range []ProductV1{{"a1", "red"}, {"b2", "blue"}, {"c3", "red"}} {
		if err := v1.Create(ctx, p); err != nil {
			log.Fatal(err)
		}
	}

	v2, _ := repo.New[ProductV2](st, model)
	for _, err := range v2.Find(ctx, "Color", "red") {
		fmt.Println("before Reindex:", errors.Is(err, repo.ErrNotBuilt))
	}
	if err := v2.Reindex(ctx); err != nil {
		log.Fatal(err)
	}
	for p, err := range v2.Find(ctx, "Color", "red") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("red:", p.SKU)
	}
	// Output:
	// before Reindex: true
	// red: a1
	// red: c3
}

// Check scans a model for leftovers of interrupted writes and, with repair,
// removes them. Here an index entry is deleted behind NoDB's back, so a
// query would miss a record until Check repairs it.
func ExampleRepo_Check() {
	ctx := context.Background()
	st := memstore.New()
	users, _ := repo.New[User](st)
	if err := users.Create(ctx, User{ID: "alice", Email: "alice@example.com", City: "Paris"}); err != nil {
		log.Fatal(err)
	}
	// Lose alice's City entry, as a crash of another tool might.
	for info, err := range object.All(ctx, st, "User/i/City/"+gen.IndexString("Paris")+"/alice", "", 0) {
		if err != nil {
			log.Fatal(err)
		}
		if err := st.Delete(ctx, info.Key, object.DeleteOptions{}); err != nil {
			log.Fatal(err)
		}
	}

	report, err := users.Check(ctx, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("records:", report.Records, "missing entries:", report.MissingEntries, "repaired:", report.Repaired)
	for u, err := range users.Find(ctx, "City", "Paris") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("in Paris:", u.ID)
	}
	// Output:
	// records: 1 missing entries: 1 repaired: 1
	// in Paris: alice
}
