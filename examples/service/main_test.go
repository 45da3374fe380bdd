package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun starts the program as main does, on a directory, and creates
// and reads a bookmark over HTTP; a second run on the same directory finds
// it.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	serveOnce := func(f func(base string)) {
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, "127.0.0.1:0", dir, "", func(addr, store string) {
				if !strings.HasPrefix(store, "file:///") {
					t.Errorf("store %q, want a file:// URL", store)
				}
				ready <- addr
			})
		}()
		select {
		case addr := <-ready:
			f("http://" + addr)
		case err := <-done:
			t.Fatalf("run: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	}
	serveOnce(func(base string) {
		resp, err := http.Post(base+"/bookmarks", "application/json", strings.NewReader(`{"id":"go","url":"https://go.dev/"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("POST: %d", resp.StatusCode)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, "Bookmark", "r", "go")); err != nil {
		t.Errorf("the record is not a file in the data directory: %v", err)
	}
	serveOnce(func(base string) {
		resp, err := http.Get(base + "/bookmarks/go")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"url":"https://go.dev/"`) {
			t.Errorf("GET after restart: %d %s", resp.StatusCode, body)
		}
	})
}

func TestRunBadStore(t *testing.T) {
	err := run(context.Background(), "127.0.0.1:0", "", "nope://x", func(string, string) { t.Error("served on a bad store") })
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("run on nope://x: %v, want an error naming the scheme", err)
	}
	if _, err := urlFor("", ""); err == nil {
		t.Error(`urlFor("", "") succeeded`)
	}
	if got, _ := urlFor("/srv/x", "mem://"); got != "mem://" {
		t.Errorf("NODB_URL not preferred: %q", got)
	}
}
