// Command memonly opens the store a URL names and stores one record, with no
// backend imported beyond repo: it shows that a program using only mem:// or
// file:// does not carry the AWS SDK, and what Open says for s3:// without
// the s3store import.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/nodb-go/nodb/repo"
)

type Note struct {
	ID   string `nodb:"key"`
	Body string
}

func main() {
	ctx := context.Background()
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: memonly URL")
		os.Exit(2)
	}
	st, err := repo.Open(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	notes, err := repo.New[Note](st)
	if err == nil {
		err = notes.Put(ctx, Note{ID: "a", Body: "hello"})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("stored")
}
