// Command lambda is an AWS Lambda function, fed by S3 event notifications,
// that keeps the asynchronous indexes of a NoDB model up to date and runs
// one typed trigger for it.
//
// Environment:
//
//	NODB_STORE   the store URL, s3://bucket/prefix?region=...
//	             (file:///dir for a local run, as in the emulator test)
//
// See README.md for the bucket notification configuration, the IAM
// permissions and deployment. Build:
//
//	GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap .
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/change"
	"github.com/nodb-go/nodb/repo/object"
	_ "github.com/nodb-go/nodb/repo/s3store"
)

// User is the model: City and Plan are async indexes, so a Create is one
// PUT and this function indexes the user a moment later.
type User struct {
	ID    string `nodb:"key"`
	Email string
	City  string `nodb:"index,async"`
	Plan  string `nodb:"index,async,omitempty"`
}

// dedup lives as long as the warm container: duplicates it has seen cost
// nothing.
var dedup = change.NewDedup(4096)

// app is the function's state, built once per container.
type app struct {
	users  *repo.Repo[User]
	handle change.Handler
	out    io.Writer
}

// newApp makes the function over st, which is rooted at prefix of bucket.
func newApp(st object.Store, bucket, prefix string, out io.Writer) (*app, error) {
	users, err := repo.New[User](st)
	if err != nil {
		return nil, err
	}
	a := &app{users: users, out: out}
	indexer := users.Indexer()
	trigger := users.OnChange(a.onUser)
	both := func(ctx context.Context, e change.Event) error {
		return errors.Join(indexer(ctx, e), trigger(ctx, e))
	}
	a.handle = change.Within(bucket, prefix, dedup.Handler(both))
	return a, nil
}

// onUser is the typed trigger. It sees the record's current state, and may
// run more than once for one write: what it does must be idempotent.
func (a *app) onUser(ctx context.Context, c repo.Change[User]) error {
	if !c.Found {
		fmt.Fprintf(a.out, "user %q is gone\n", c.Key)
		return nil
	}
	fmt.Fprintf(a.out, "user %q lives in %s on plan %q\n", c.Key, c.Record.Value.City, c.Record.Value.Plan)
	return nil
}

// Handle is the Lambda handler. An error makes Lambda retry the whole
// batch (twice, for asynchronous invocations): every step is idempotent.
func (a *app) Handle(ctx context.Context, ev events.S3Event) error {
	evs := make([]change.Event, 0, len(ev.Records))
	for _, r := range ev.Records {
		evs = append(evs, change.Event{
			Name: r.EventName, Bucket: r.S3.Bucket.Name, Key: r.S3.Object.URLDecodedKey,
			ETag: r.S3.Object.ETag, VersionID: r.S3.Object.VersionID, Sequencer: r.S3.Object.Sequencer, Time: r.EventTime,
		})
	}
	return change.Deliver(ctx, evs, a.handle)
}

// bucketPrefix returns the bucket and the key prefix whose events concern
// the store that storeURL names: for s3://bucket/prefix that bucket and
// prefix; for file:///dir (a local run, such as the emulator test) any
// bucket and no prefix, the event keys naming the directory's objects.
func bucketPrefix(storeURL string) (string, string, error) {
	u, err := url.Parse(storeURL)
	switch {
	case err == nil && u.Scheme == "file":
		return "", "", nil
	case err != nil || u.Scheme != "s3" || u.Host == "":
		return "", "", fmt.Errorf("NODB_STORE=%q: want s3://bucket/prefix (or file:///dir for a local run)", storeURL)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return u.Host, prefix, nil
}

func main() {
	ctx := context.Background()
	storeURL := os.Getenv("NODB_STORE")
	bucket, prefix, err := bucketPrefix(storeURL)
	if err != nil {
		log.Fatal(err)
	}
	st, err := repo.Open(ctx, storeURL)
	if err != nil {
		log.Fatal(err)
	}
	a, err := newApp(st, bucket, prefix, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.Handle)
}
