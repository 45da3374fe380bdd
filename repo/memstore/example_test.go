package memstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

// Two clients of one in-memory store see each other's writes at once, and
// closing one leaves the other working.
func ExampleShare() {
	ctx := context.Background()
	a := memstore.New()
	b, err := memstore.Share(a)
	if err != nil {
		panic(err)
	}
	if _, err := a.Put(ctx, "greeting", []byte("hello"), object.PutOptions{}); err != nil {
		panic(err)
	}
	obj, err := b.Get(ctx, "greeting", object.GetOptions{})
	fmt.Printf("b reads %q, %v\n", obj.Body, err)

	_, err = b.Put(ctx, "greeting", []byte("again"), object.PutOptions{IfNoneMatch: "*"})
	fmt.Println("b creates it again:", errors.Is(err, object.ErrPrecondition))

	a.Close()
	_, err = a.Head(ctx, "greeting")
	fmt.Println("a after Close:", errors.Is(err, object.ErrClosed))
	_, err = b.Head(ctx, "greeting")
	fmt.Println("b after a's Close:", err)
	// Output:
	// b reads "hello", <nil>
	// b creates it again: true
	// a after Close: true
	// b after a's Close: <nil>
}
