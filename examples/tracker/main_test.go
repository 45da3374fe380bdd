package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRun starts the program as main does, on a directory, and sends it a
// malformed announce: the answer is a bencoded failure reason.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, "127.0.0.1:0", t.TempDir(), "", time.Minute, func(addr, _ string) { ready <- addr })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	resp, err := http.Get("http://" + addr + "/announce?port=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "d14:failure reason") || !strings.Contains(string(body), "info_hash is missing") {
		t.Errorf("malformed announce answered %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after shutdown: %v", err)
	}
	if err := run(context.Background(), "127.0.0.1:0", "", "nope://", time.Minute, func(string, string) {}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("run on nope://: %v", err)
	}
}
