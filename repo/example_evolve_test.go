package repo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

// Recipes for changing a model that has records (README, "Evolving a
// model"). Each version of a model is its own Go type here; in a program it
// is the same type in successive releases.

// Add a field, with a default for the records written before it: raise
// SchemaVersion and give the old version a step. (Without a step, old
// records simply decode with the zero value.)
func ExampleSetDefault() {
	ctx := context.Background()
	st := memstore.New()
	type TaskV0 struct {
		ID    string `nodb:"key"`
		Title string
	}
	type TaskV1 struct {
		ID       string `nodb:"key"`
		Title    string
		Priority int
	}
	v0, _ := repo.New[TaskV0](st, func(o *repo.Options) { o.Model = "Task" })
	if err := v0.Create(ctx, TaskV0{ID: "t1", Title: "write docs"}); err != nil {
		log.Fatal(err)
	}

	v1, _ := repo.New[TaskV1](st, func(o *repo.Options) {
		o.Model = "Task"
		o.SchemaVersion = 1
		o.Upgrades = map[int]repo.Upgrade{0: repo.SetDefault("Priority", 3)}
	})
	t, err := v1.Get(ctx, "t1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", t)
	// Output:
	// {ID:t1 Title:write docs Priority:3}
}

// Rename an indexed field: raise SchemaVersion with a RenameField step,
// build the new index with Reindex, drop the old one, and optionally
// rewrite the old records with Migrate (after which the step may go).
func ExampleRenameField() {
	ctx := context.Background()
	st := memstore.New()
	type ShopV0 struct {
		ID   string `nodb:"key"`
		City string `nodb:"index"`
	}
	type ShopV1 struct {
		ID   string `nodb:"key"`
		Town string `nodb:"index"` // was City
	}
	v0, _ := repo.New[ShopV0](st, func(o *repo.Options) { o.Model = "Shop" })
	for _, s := range []ShopV0{{"a", "Paris"}, {"b", "Lyon"}, {"c", "Paris"}} {
		if err := v0.Create(ctx, s); err != nil {
			log.Fatal(err)
		}
	}

	v1, _ := repo.New[ShopV1](st, func(o *repo.Options) {
		o.Model = "Shop"
		o.SchemaVersion = 1
		o.Upgrades = map[int]repo.Upgrade{0: repo.RenameField("City", "Town")}
	})
	if err := v1.Reindex(ctx); err != nil { // builds Town
		log.Fatal(err)
	}
	if err := v1.DropIndex(ctx, "City"); err != nil { // deletes City's entries
		log.Fatal(err)
	}
	for s, err := range v1.Find(ctx, "Town", "Paris") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("in Paris:", s.ID)
	}
	rep, err := v1.Migrate(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("migrated %d of %d records to version %d\n", rep.Migrated, rep.Records, rep.Version)
	// Output:
	// in Paris: a
	// in Paris: c
	// migrated 3 of 3 records to version 1
}

// Retype an indexed field: raise SchemaVersion with a ConvertField step.
// The index's kind changed, so it is not answered until Reindex has
// rebuilt it.
func ExampleConvertField() {
	ctx := context.Background()
	st := memstore.New()
	type ItemV0 struct {
		SKU   string `nodb:"key"`
		Stock string `nodb:"index"` // a number, stored as text
	}
	type ItemV1 struct {
		SKU   string `nodb:"key"`
		Stock int    `nodb:"index"`
	}
	v0, _ := repo.New[ItemV0](st, func(o *repo.Options) { o.Model = "Item" })
	for _, it := range []ItemV0{{"a", "12"}, {"b", "3"}, {"c", "40"}} {
		if err := v0.Create(ctx, it); err != nil {
			log.Fatal(err)
		}
	}

	v1, _ := repo.New[ItemV1](st, func(o *repo.Options) {
		o.Model = "Item"
		o.SchemaVersion = 1
		o.Upgrades = map[int]repo.Upgrade{0: repo.ConvertField("Stock", func(old any) (any, error) {
			s, ok := old.(string)
			if !ok {
				return nil, fmt.Errorf("Stock is %T", old)
			}
			return strconv.Atoi(s)
		})}
	})
	for _, err := range v1.Range(ctx, "Stock", 10, 100) {
		fmt.Println("before Reindex:", errors.Is(err, repo.ErrNotBuilt))
	}
	if err := v1.Reindex(ctx); err != nil {
		log.Fatal(err)
	}
	for it, err := range v1.Range(ctx, "Stock", 10, 100) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(it.SKU, it.Stock)
	}
	// Output:
	// before Reindex: true
	// a 12
	// c 40
}

// Add a unique constraint to existing data: Reindex lists every value held
// twice and leaves the index unbuilt until the data is fixed.
func ExampleRepo_Reindex_unique() {
	ctx := context.Background()
	st := memstore.New()
	type UserV0 struct {
		ID    string `nodb:"key"`
		Email string
	}
	type UserV1 struct {
		ID    string `nodb:"key"`
		Email string `nodb:"unique"`
	}
	v0, _ := repo.New[UserV0](st, func(o *repo.Options) { o.Model = "User" })
	for _, u := range []UserV0{{"ann", "a@x.io"}, {"bob", "b@x.io"}, {"bobby", "b@x.io"}} {
		if err := v0.Create(ctx, u); err != nil {
			log.Fatal(err)
		}
	}

	v1, _ := repo.New[UserV1](st, func(o *repo.Options) { o.Model = "User" })
	err := v1.Reindex(ctx)
	fmt.Println(errors.Is(err, repo.ErrUnique), strings.Contains(err.Error(), `Email "b@x.io" is held by "bob", "bobby"`))
	if err := v1.Put(ctx, UserV1{ID: "bobby", Email: "bobby@x.io"}); err != nil {
		log.Fatal(err)
	}
	if err := v1.Reindex(ctx); err != nil {
		log.Fatal(err)
	}
	u, err := v1.GetBy(ctx, "Email", "b@x.io")
	fmt.Println(u.ID, err)
	// Output:
	// true true
	// bob <nil>
}

// Remove an index: take the tag off; Diff (and Check) report its entries
// until DropIndex deletes them.
func ExampleRepo_DropIndex() {
	ctx := context.Background()
	st := memstore.New()
	type NoteV0 struct {
		ID     string `nodb:"key"`
		Author string `nodb:"index"`
	}
	type NoteV1 struct {
		ID     string `nodb:"key"`
		Author string // no longer indexed
	}
	v0, _ := repo.New[NoteV0](st, func(o *repo.Options) { o.Model = "Note" })
	if err := v0.Create(ctx, NoteV0{ID: "n1", Author: "ann"}); err != nil {
		log.Fatal(err)
	}

	v1, _ := repo.New[NoteV1](st, func(o *repo.Options) { o.Model = "Note" })
	if err := v1.Put(ctx, NoteV1{ID: "n2", Author: "bob"}); err != nil {
		log.Fatal(err)
	}
	diff, _ := v1.Diff(ctx)
	fmt.Println(strings.Join(diff, "\n"))
	if err := v1.DropIndex(ctx, "Author"); err != nil {
		log.Fatal(err)
	}
	diff, _ = v1.Diff(ctx)
	fmt.Println(len(diff), "differences")
	// Output:
	// index Author is no longer in the model; its entries and claims are still stored: run DropIndex(ctx, "Author")
	// 0 differences
}

// Diff says in plain words what differs between the model and the store,
// and what to run.
func ExampleRepo_Diff() {
	ctx := context.Background()
	st := memstore.New()
	type CarV0 struct {
		Plate string `nodb:"key"`
		Color string `nodb:"index"`
	}
	type CarV1 struct {
		Plate  string `nodb:"key"`
		Colour string `nodb:"index"` // renamed, but no upgrade step
	}
	v0, _ := repo.New[CarV0](st, func(o *repo.Options) { o.Model = "Car" })
	if err := v0.Create(ctx, CarV0{Plate: "AB-123", Color: "red"}); err != nil {
		log.Fatal(err)
	}
	v1, _ := repo.New[CarV1](st, func(o *repo.Options) { o.Model = "Car" })
	diff, err := v1.Diff(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range diff {
		fmt.Println(d)
	}
	// Output:
	// field Color (string, stored as "Color") is no longer in the model: records keep its data until they are rewritten; if it was renamed to Colour, add Upgrades[0] = repo.RenameField("Color", "Colour") and set SchemaVersion to 1
	// index Colour is new: it is built on the first write or query (at once if the model has no records; else run Reindex)
	// index Color is no longer in the model; its entries and claims are still stored: run DropIndex(ctx, "Color")
}

// Change the key field: a model's key cannot change in place (its records
// are stored under their keys). Copy the records into a new model, then
// delete the old ones.
func Example_changeKeyField() {
	ctx := context.Background()
	st := memstore.New()
	type ByName struct {
		Name  string `nodb:"key"`
		Email string `nodb:"unique"`
	}
	type ByEmail struct {
		Email string `nodb:"key"`
		Name  string `nodb:"index"`
	}
	old, _ := repo.New[ByName](st, func(o *repo.Options) { o.Model = "Person" })
	for _, p := range []ByName{{"ann", "a@x.io"}, {"bob", "b@x.io"}} {
		if err := old.Create(ctx, p); err != nil {
			log.Fatal(err)
		}
	}

	moved, _ := repo.New[ByEmail](st, func(o *repo.Options) { o.Model = "PersonByEmail" })
	for p, err := range old.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		if err := moved.Put(ctx, ByEmail{Email: p.Email, Name: p.Name}); err != nil {
			log.Fatal(err)
		}
	}
	for p, err := range old.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		if err := old.Delete(ctx, p.Name); err != nil {
			log.Fatal(err)
		}
	}
	p, err := moved.Get(ctx, "b@x.io")
	fmt.Println(p.Name, err)
	// Output:
	// bob <nil>
}

// Migrate rewrites the records of older schema versions at the current one,
// in batches, reporting progress; run again, it finds nothing to do.
func ExampleRepo_Migrate() {
	ctx := context.Background()
	st := memstore.New()
	type EventV0 struct {
		ID   string `nodb:"key"`
		When string
	}
	type EventV1 struct {
		ID string `nodb:"key"`
		At string
	}
	v0, _ := repo.New[EventV0](st, func(o *repo.Options) { o.Model = "Event" })
	for i := range 300 {
		if err := v0.Create(ctx, EventV0{ID: fmt.Sprintf("e%03d", i), When: "2026-11-30"}); err != nil {
			log.Fatal(err)
		}
	}

	v1, _ := repo.New[EventV1](st, func(o *repo.Options) {
		o.Model = "Event"
		o.SchemaVersion = 1
		o.Upgrades = map[int]repo.Upgrade{0: repo.RenameField("When", "At")}
	})
	rep, err := v1.Migrate(ctx, func(o *repo.MigrateOptions) {
		o.Progress = func(r repo.MigrateReport) { fmt.Println("done so far:", r.Records) }
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("migrated %d, already current %d, failed %d\n", rep.Migrated, rep.Current, len(rep.Failed))
	rep, _ = v1.Migrate(ctx)
	fmt.Printf("again: migrated %d, already current %d\n", rep.Migrated, rep.Current)
	// Output:
	// done so far: 256
	// done so far: 300
	// migrated 300, already current 0, failed 0
	// again: migrated 0, already current 300
}

// Rebuild verifies every entry and claim of an index against the records,
// writing missing ones and deleting wrong ones: here after an entry was
// deleted behind NoDB's back.
func ExampleRepo_Rebuild() {
	ctx := context.Background()
	st := memstore.New()
	type Book struct {
		ISBN  string `nodb:"key"`
		Genre string `nodb:"index"`
	}
	books, _ := repo.New[Book](st)
	for _, b := range []Book{{"1", "sf"}, {"2", "sf"}} {
		if err := books.Create(ctx, b); err != nil {
			log.Fatal(err)
		}
	}
	for info, err := range object.All(ctx, st, "Book/i/Genre/", "", 1) {
		if err != nil {
			log.Fatal(err)
		}
		_ = st.Delete(ctx, info.Key, object.DeleteOptions{}) // lose one entry
		break
	}
	n, _ := books.CountBy(ctx, "Genre", "sf")
	fmt.Println("before:", n)
	if err := books.Rebuild(ctx, "Genre"); err != nil {
		log.Fatal(err)
	}
	n, _ = books.CountBy(ctx, "Genre", "sf")
	fmt.Println("after:", n)
	// Output:
	// before: 1
	// after: 2
}
