package change_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nodb-go/nodb/repo/change"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

const notification = `{"Records":[
 {"eventName":"ObjectCreated:Put","eventTime":"2026-11-30T12:00:00.000Z","s3":{"bucket":{"name":"b"},"object":{"key":"User/r/a%2120b+c%2B%C3%A9","eTag":"e1","versionId":"v1","sequencer":"0A"}}},
 {"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"x","sequencer":"0B"}}},
 {"eventName":"s3:TestEvent","s3":{"bucket":{"name":"b"},"object":{"key":"t"}}}
]}`

func TestParse(t *testing.T) {
	evs, err := change.Parse([]byte(notification))
	if err != nil || len(evs) != 2 {
		t.Fatalf("Parse: %d events, %v", len(evs), err)
	}
	e := evs[0]
	if e.Key != "User/r/a!20b c+é" || e.Bucket != "b" || e.ETag != "e1" || e.VersionID != "v1" || e.Sequencer != "0A" || e.Time.IsZero() || !e.Created() || e.Removed() {
		t.Errorf("first event: %+v", e)
	}
	if !evs[1].Removed() || evs[1].Created() {
		t.Errorf("second event: %+v", evs[1])
	}
	if _, err := change.Parse([]byte("not json")); err == nil {
		t.Error("Parse(not json): no error")
	}
	if evs, err := change.Parse([]byte(`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"%zz"}}}]}`)); err == nil || !strings.Contains(err.Error(), "%zz") || len(evs) != 0 {
		t.Errorf("Parse with a bad key: %v, %v", evs, err)
	}
}

func TestLater(t *testing.T) {
	if !change.Later("0A1", "0A") || change.Later("0A", "0A0") || !change.Later("0B", "0A9") {
		t.Error("Later")
	}
}

func TestWithinAndDedup(t *testing.T) {
	ctx := context.Background()
	var got []string
	h := change.Handler(func(_ context.Context, e change.Event) error { got = append(got, e.Key); return nil })
	w := change.Within("b", "app/", change.NewDedup(2).Handler(h))
	for _, e := range []change.Event{
		{Bucket: "b", Key: "app/x", Sequencer: "1"},
		{Bucket: "b", Key: "app/x", Sequencer: "1"}, // duplicate
		{Bucket: "other", Key: "app/y", Sequencer: "2"},
		{Bucket: "b", Key: "y", Sequencer: "3"},
		{Bucket: "b", Key: "app/x", Sequencer: "4"},
	} {
		if err := w(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(got, ",") != "x,x" {
		t.Errorf("passed on %q, want x twice (sequencers 1 and 4)", got)
	}
	// A failed event is not remembered: its retry goes through.
	fail := true
	d := change.NewDedup(4).Handler(func(context.Context, change.Event) error {
		if fail {
			fail = false
			return errors.New("boom")
		}
		return nil
	})
	e := change.Event{Key: "k", Sequencer: "1"}
	if d(ctx, e) == nil || d(ctx, e) != nil {
		t.Error("Dedup: a failed event's retry was skipped, or did not succeed")
	}
}

func TestNotifyAndWebhook(t *testing.T) {
	ctx := context.Background()
	seen := make(chan change.Event, 10)
	n := change.Notify(memstore.New(), func(_ context.Context, e change.Event) error {
		seen <- e
		if e.Key == "bad" {
			return errors.New("handler failed")
		}
		return nil
	})
	if _, err := n.Put(ctx, "k", []byte("v"), object.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Put(ctx, "k", []byte("v"), object.PutOptions{IfNoneMatch: "*"}); err == nil {
		t.Fatal("conditional Put over an existing key succeeded")
	}
	if err := n.Delete(ctx, "k", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Put(ctx, "bad", []byte("v"), object.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := n.Wait(); err == nil || !strings.Contains(err.Error(), "handler failed") {
		t.Errorf("Wait: %v", err)
	}
	if len(seen) != 3 { // the failed conditional Put is not reported
		t.Errorf("%d events, want 3", len(seen))
	}

	var keys []string
	srv := httptest.NewServer(change.Webhook(func(_ context.Context, e change.Event) error {
		keys = append(keys, e.Key)
		return nil
	}))
	defer srv.Close()
	for body, want := range map[string]int{notification: 204, "nope": 400, `{"Records":[]}`: 204} {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST %.20q: %d, want %d", body, resp.StatusCode, want)
		}
	}
	if resp, err := http.Get(srv.URL); err != nil || resp.StatusCode != 405 {
		t.Errorf("GET: %v %v", resp, err)
	}
	if len(keys) != 2 {
		t.Errorf("webhook passed on %q", keys)
	}
}
