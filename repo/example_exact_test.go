package repo_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

// A record the model cannot decode is an error for that record only: the
// iteration yields it and goes on with the others.
func ExampleRepo_All_undecodable() {
	ctx := context.Background()
	st := memstore.New()
	users, _ := repo.New[User](st)
	for _, id := range []string{"alice", "carol"} {
		if err := users.Create(ctx, User{ID: id, Email: id + "@example.com"}); err != nil {
			log.Fatal(err)
		}
	}
	// Another program stored Age as a string.
	bad := `{"nodb":1,"model":"User","key":"bob","codec":"json","value":{"ID":"bob","Age":"forty"}}`
	if _, err := st.Put(ctx, "User/r/bob", []byte(bad), object.PutOptions{}); err != nil {
		log.Fatal(err)
	}

	for u, err := range users.All(ctx) {
		var e *repo.Error
		if errors.Is(err, repo.ErrCorrupt) && errors.As(err, &e) {
			fmt.Println("cannot decode:", e.Key)
			continue
		}
		if err != nil {
			log.Fatal(err) // a failed LIST or GET ends the iteration
		}
		fmt.Println("user:", u.ID)
	}
	// Output:
	// user: alice
	// cannot decode: bob
	// user: carol
}

// Page calls return the records that decode in Items and the others in
// Errors; the cursor leads past both.
func ExampleRepo_AllPage() {
	ctx := context.Background()
	st := memstore.New()
	users, _ := repo.New[User](st)
	for _, id := range []string{"alice", "carol", "dave"} {
		if err := users.Create(ctx, User{ID: id, Email: id + "@example.com"}); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := st.Put(ctx, "User/r/bob", []byte("not a record"), object.PutOptions{}); err != nil {
		log.Fatal(err)
	}

	cursor := ""
	for {
		page, err := users.AllPage(ctx, cursor, 2)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("items:", len(page.Items), "errors:", len(page.Errors))
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	// Output:
	// items: 2 errors: 1
	// items: 1 errors: 0
}
