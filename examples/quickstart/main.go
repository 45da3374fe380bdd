// Quickstart is a first NoDB program: it keeps users in a store, looks them
// up by key, by an index, by a range and by a unique field, updates and
// deletes them, and prints what it does.
//
// By default the store is a local directory (NoDB's embedded default), so
// the program needs no bucket and no credentials:
//
//	go run ./examples/quickstart                  # data in ./data
//	go run ./examples/quickstart -data /tmp/nodb  # data in /tmp/nodb
//
// The records are plain JSON files under the directory; look at them with
// ls and jq. Running the program again on the same directory works: the
// users from the earlier run are found and reset.
//
// The environment variable NODB_URL, when set, replaces the store entirely
// (-data is then ignored). It takes any URL that repo.Open accepts:
//
//	NODB_URL=mem:// go run ./examples/quickstart
//	NODB_URL=file:///var/lib/myapp go run ./examples/quickstart
//	NODB_URL='s3://my-bucket/quickstart?region=eu-west-1' go run ./examples/quickstart
//	NODB_URL='s3://nodb/quickstart?endpoint=http://127.0.0.1:9000&path_style=true' \
//		AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... go run ./examples/quickstart
//
// For s3:// URLs, credentials come from the standard AWS chain (environment,
// shared config and profile, instance or container role), never from the
// URL. The program exits with status 1 and a message on any error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/nodb-go/nodb/repo"
	_ "github.com/nodb-go/nodb/repo/s3store" // registers s3:// with repo.Open
)

// User is the model. The struct tags tell NoDB what to look records up by:
// the key, a unique field, and two indexes (a string and an int, which also
// answers range queries).
type User struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
	Age   int    `nodb:"index"`
	Name  string // stored, not indexed
}

// seed is what the program starts from on every run.
var seed = []User{
	{ID: "alice", Email: "alice@example.com", City: "Paris", Age: 31, Name: "Alice Martin"},
	{ID: "bob", Email: "bob@example.com", City: "Lyon", Age: 25, Name: "Bob Durand"},
	{ID: "carol", Email: "carol@example.com", City: "Paris", Age: 42, Name: "Carol Petit"},
	{ID: "dave", Email: "dave@example.com", City: "Paris", Age: 19, Name: "Dave Moreau"},
}

func main() {
	data := flag.String("data", "./data", "directory to keep the data in (ignored when NODB_URL is set)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: quickstart [-data dir]\n\nEnvironment: NODB_URL (mem://, file:///dir, s3://bucket/prefix?region=...) replaces -data.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	storeURL, err := urlFor(*data, os.Getenv("NODB_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, storeURL, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		stop()
		os.Exit(1)
	}
}

// urlFor returns the store URL: env if set, else a file:// URL for the
// directory dir.
func urlFor(dir, env string) (string, error) {
	if env != "" {
		return env, nil
	}
	if dir == "" {
		return "", errors.New("-data is empty; name a directory, or set NODB_URL")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("-data %s: %v", dir, err)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return (&url.URL{Scheme: "file", Path: p}).String(), nil
}

// run does the whole tour on the store at storeURL and writes what it does
// to out.
func run(ctx context.Context, storeURL string, out io.Writer) error {
	st, err := repo.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := repo.New[User](st)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "store:", storeURL)

	// Create inserts; a user left by an earlier run is reset with Put, which
	// writes whatever is there.
	for _, u := range seed {
		err := users.Create(ctx, u)
		switch {
		case errors.Is(err, repo.ErrExists):
			if err := users.Put(ctx, u); err != nil {
				return err
			}
			fmt.Fprintf(out, "%s exists from an earlier run: reset it with Put\n", u.ID)
		case err != nil:
			return err
		default:
			fmt.Fprintf(out, "created %s\n", u.ID)
		}
	}

	// Get loads by key.
	bob, err := users.Get(ctx, "bob")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "get bob: %s\n", show(bob))

	// Update is a read-modify-write, retried if another writer got there
	// first. The indexes follow the change.
	alice, err := users.Update(ctx, "alice", func(u *User) error {
		u.Age++
		u.City = "Lyon"
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "updated alice: %s\n", show(alice))

	// All lists every user, in key order.
	fmt.Fprintln(out, "all users:")
	for u, err := range users.All(ctx) {
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %s\n", show(u))
	}

	// Find: equality on an index.
	var ids []string
	for u, err := range users.Find(ctx, "City", "Lyon") {
		if err != nil {
			return err
		}
		ids = append(ids, u.ID)
	}
	fmt.Fprintf(out, "find City=Lyon: %s\n", strings.Join(ids, ", "))

	// Range: an inclusive range on an index, in the order of its values.
	ids = ids[:0]
	for u, err := range users.Range(ctx, "Age", 20, 35) {
		if err != nil {
			return err
		}
		ids = append(ids, fmt.Sprintf("%s (%d)", u.ID, u.Age))
	}
	fmt.Fprintf(out, "range Age 20..35: %s\n", strings.Join(ids, ", "))

	// GetBy: a lookup on a unique field.
	carol, err := users.GetBy(ctx, "Email", "carol@example.com")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "getby Email=carol@example.com: %s\n", carol.ID)

	// A unique field holds each value for one record only.
	err = users.Create(ctx, User{ID: "mallory", Email: "alice@example.com", City: "Nice", Age: 50})
	if !errors.Is(err, repo.ErrUnique) {
		return fmt.Errorf("creating a second user with alice's email: got %v, want a unique violation", err)
	}
	fmt.Fprintf(out, "unique violation, as expected: %v\n", err)

	// A missing key is an error too (an empty query result is not).
	_, err = users.Get(ctx, "zoe")
	if !errors.Is(err, repo.ErrNotFound) {
		return fmt.Errorf("getting zoe: got %v, want not found", err)
	}
	fmt.Fprintf(out, "not found, as expected: %v\n", err)

	if err := users.Delete(ctx, "dave"); err != nil {
		return err
	}
	fmt.Fprintln(out, "deleted dave")

	n, err := users.Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "count: %d users\n", n)
	return nil
}

func show(u User) string {
	return fmt.Sprintf("%s <%s>, %s, %d, %s", u.ID, u.Email, u.City, u.Age, u.Name)
}
