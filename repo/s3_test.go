package repo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// ignoreConditions makes a client behave as if its server silently
// ignored If-Match and If-None-Match on PutObject and DeleteObject, as some
// S3-compatible servers do.
var ignoreConditions = s3test.EditRequests(func(op string, req *smithyhttp.Request) error {
	switch op {
	case "PutObject", "DeleteObject":
		req.Header.Del("If-Match")
		req.Header.Del("If-None-Match")
	}
	return nil
})

// TestServerIgnoringConditions: on a server that ignores conditional
// writes, writes that rely on them fail with a clear error and change no
// stored record; reads keep working.
func TestServerIgnoringConditions(t *testing.T) {
	ctx := context.Background()
	_, bucket := s3test.NewBucket(t)
	good, err := s3store.Open(ctx, s3test.Server(t).NewClient(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := newRepo[Person](t, good).Create(ctx, Person{ID: "a", Email: "a@x", City: "Paris"}); err != nil {
		t.Fatal(err)
	}
	bad, err := s3store.Open(ctx, s3test.Server(t).NewClient(ignoreConditions), bucket)
	if err != nil {
		t.Fatal(err)
	}
	people := newRepo[Person](t, bad)
	writes := map[string]error{
		"Create": people.Create(ctx, Person{ID: "b", Email: "b@x"}),
		"Put":    people.Put(ctx, Person{ID: "a", Email: "a@x", City: "Rome"}),
		"Delete": people.Delete(ctx, "a"),
	}
	_, writes["Update"] = people.Update(ctx, "a", func(p *Person) error { p.City = "Oslo"; return nil })
	for op, err := range writes {
		if !errors.Is(err, object.ErrUnsupported) || !strings.Contains(err.Error(), "ignores If-None-Match/If-Match") {
			t.Errorf("%s on a server ignoring conditions: %v", op, err)
		}
	}
	// Reads work, and nothing stored changed.
	p, err := people.Get(ctx, "a")
	if err != nil || p.City != "Paris" {
		t.Fatalf("Get: %+v, %v", p, err)
	}
	if _, err := people.Get(ctx, "b"); !errors.Is(err, repo.ErrNotFound) {
		t.Fatalf("the refused Create stored a record: %v", err)
	}
	checkFind := collect(t, newRepo[Person](t, good).Find(ctx, "City", "Paris"))
	if len(checkFind) != 1 {
		t.Fatalf("Find after refused writes: %v", checkFind)
	}
}
