// Readme is the usage snippet of README.md as a program that CI builds and
// runs; readme_test.go checks that the README shows exactly this code.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/nodb-go/nodb/repo"
)

// README:begin
type User struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Age   int    `nodb:"index"`
}

func main() {
	ctx := context.Background()
	st, err := repo.Open(ctx, "mem://") // or "file://./data", "s3://bucket/prefix?region=eu-west-1"
	check(err)
	defer st.Close()
	users, err := repo.New[User](st)
	check(err)
	check(users.Create(ctx, User{ID: "alice", Email: "alice@example.com", City: "Paris", Age: 31}))
	check(users.Put(ctx, User{ID: "bob", Email: "bob@example.com", City: "Lyon", Age: 25}))
	u, err := users.GetBy(ctx, "Email", "bob@example.com")
	check(err)
	fmt.Println("by email:", u.ID)
	for u, err := range users.Range(ctx, "Age", 18, 30) {
		check(err)
		fmt.Println("aged 18 to 30:", u.ID)
	}
	_, err = users.Update(ctx, "alice", func(u *User) error { u.City = "Lyon"; return nil })
	check(err)
	for u, err := range users.Find(ctx, "City", "Lyon") {
		check(err)
		fmt.Println("in Lyon:", u.ID)
	}
}

// README:end

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
