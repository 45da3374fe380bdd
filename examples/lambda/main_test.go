package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/change"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
)

func readEvent(t *testing.T, name string) events.S3Event {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.S3Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// setup returns an app over a memstore holding the users the recorded
// events name (written without an indexer: their async entries are missing).
func setup(t *testing.T) (*app, *meter.Store, *bytes.Buffer) {
	t.Helper()
	dedup = change.NewDedup(4096) // a cold container
	m := meter.Wrap(memstore.New())
	var out bytes.Buffer
	a, err := newApp(m, "nodb-lambda-test", "", &out)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, a.users)
	return a, m, &out
}

// seed creates the users the recorded events name, without an indexer:
// their async entries are missing until the events are handled.
func seed(t *testing.T, users *repo.Repo[User]) {
	t.Helper()
	for _, u := range []User{{ID: "a b", City: "Paris", Plan: "pro"}, {ID: "x+y", City: "Oslo"}, {ID: "50%", City: "Paris"}, {ID: "été", City: "Nice", Plan: "free"}} {
		if err := users.Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
}

func find(t *testing.T, users *repo.Repo[User], field, value string) []string {
	t.Helper()
	var ids []string
	for u, err := range users.Find(context.Background(), field, value) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}

func TestHandler(t *testing.T) {
	ctx := context.Background()
	for _, file := range []string{"put.json", "put-reversed.json"} {
		t.Run(file, func(t *testing.T) {
			a, m, out := setup(t)
			if got := find(t, a.users, "City", "Paris"); len(got) != 0 {
				t.Fatalf("before any event, Find City Paris = %q", got)
			}
			ev := readEvent(t, file)
			m.Reset()
			if err := a.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
			// 4 users indexed: per user 3 GETs for the indexer and 1 for
			// the trigger, 1 entry PUT per value (6 values: "x+y" and "50%"
			// have no Plan) and 1 state PUT; the deleted record: 2
			// GETs for the indexer, 1 for the trigger. The duplicate, the
			// index entry, state, manifest and foreign objects: nothing.
			if c := m.Reset(); c.Get != 4*4+3 || c.Put != 6+4 || c.Total() != 29 {
				t.Errorf("requests for %s: %v", file, c)
			}
			if got, want := find(t, a.users, "City", "Paris"), []string{"50%", "a b"}; !slices.Equal(got, want) {
				t.Errorf("Find City Paris = %q, want %q", got, want)
			}
			if got, want := find(t, a.users, "Plan", "free"), []string{"été"}; !slices.Equal(got, want) {
				t.Errorf("Find Plan free = %q, want %q", got, want)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			slices.Sort(lines)
			want := []string{
				`user "50%" lives in Paris on plan ""`,
				`user "a b" lives in Paris on plan "pro"`,
				`user "gone" is gone`,
				`user "x+y" lives in Oslo on plan ""`,
				`user "été" lives in Nice on plan "free"`,
			}
			if !slices.Equal(lines, want) {
				t.Errorf("trigger output:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			// Sent again (Lambda's retry, or S3's duplicate): skipped.
			m.Reset()
			if err := a.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
			if c := m.Reset(); c.Total() != 0 {
				t.Errorf("the same events again: %v, want no request", c)
			}
		})
	}
	t.Run("delete.json", func(t *testing.T) {
		a, _, out := setup(t)
		if err := a.Handle(ctx, readEvent(t, "put.json")); err != nil {
			t.Fatal(err)
		}
		if err := a.users.Delete(ctx, "x+y"); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if err := a.Handle(ctx, readEvent(t, "delete.json")); err != nil {
			t.Fatal(err)
		}
		if got := find(t, a.users, "City", "Oslo"); len(got) != 0 {
			t.Errorf("Find City Oslo after the delete = %q", got)
		}
		if got := out.String(); got != "user \"x+y\" is gone\n" {
			t.Errorf("trigger output %q", got)
		}
	})
}

func TestBucketPrefix(t *testing.T) {
	for in, want := range map[string][2]string{
		"s3://b":                      {"b", ""},
		"s3://b/app?region=eu-west-1": {"b", "app/"},
		"s3://b/app/":                 {"b", "app/"},
		"file:///tmp/store":           {"", ""},
	} {
		b, p, err := bucketPrefix(in)
		if err != nil || b != want[0] || p != want[1] {
			t.Errorf("bucketPrefix(%q) = %q, %q, %v; want %q", in, b, p, err, want)
		}
	}
	for _, bad := range []string{"mem://", "s3:///nobucket", "http://b/x", ""} {
		if _, _, err := bucketPrefix(bad); err == nil {
			t.Errorf("bucketPrefix(%q): no error", bad)
		}
	}
}
