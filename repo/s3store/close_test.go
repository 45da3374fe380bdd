package s3store_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// connServer is an S3 stand-in that answers every request 404 and records
// its connections' states.
type connServer struct {
	*httptest.Server
	mu     sync.Mutex
	opened int
	closed chan struct{} // receives once per closed connection
}

func newConnServer(t *testing.T) *connServer {
	cs := &connServer{closed: make(chan struct{}, 16)}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	cs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			cs.mu.Lock()
			cs.opened++
			cs.mu.Unlock()
		case http.StateClosed, http.StateHijacked:
			cs.closed <- struct{}{}
		}
	}
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

func (cs *connServer) connections() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.opened
}

// noAWSConfig keeps the AWS configuration chain to static test
// credentials.
func noAWSConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestCloseOwnedClient: a store opened from a URL built its client, and
// Close closes that client's idle connection; later calls fail with
// ErrClosed without a request.
func TestCloseOwnedClient(t *testing.T) {
	noAWSConfig(t)
	cs := newConnServer(t)
	u, err := url.Parse("s3://bucket?skip_probe=true&path_style=true&endpoint=" + url.QueryEscape(cs.URL))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3store.OpenURL(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Head(t.Context(), "k"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Head: %v; want ErrNotFound", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cs.closed:
	case <-time.After(30 * time.Second): // a deadline for a failure, not a measured time
		t.Fatal("the idle connection was not closed by Close")
	}
	if _, err := st.Head(t.Context(), "k"); !errors.Is(err, object.ErrClosed) {
		t.Errorf("Head after Close: %v; want ErrClosed", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := cs.connections(); n != 1 {
		t.Errorf("%d connections; want 1 (no request after Close)", n)
	}
}

// TestCloseLeavesCallersClient: a store opened on the caller's client
// leaves it alone: after Close the client reuses its idle connection.
func TestCloseLeavesCallersClient(t *testing.T) {
	noAWSConfig(t)
	cs := newConnServer(t)
	ctx := context.Background()
	client, err := s3store.NewClient(ctx, "", cs.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3store.Open(ctx, client, "bucket", func(o *s3store.Options) { o.SkipProbe = true })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Head(ctx, "k"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Head: %v; want ErrNotFound", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	other, err := s3store.Open(ctx, client, "bucket", func(o *s3store.Options) { o.SkipProbe = true })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Head(ctx, "k"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Head through the caller's client after Close: %v; want ErrNotFound", err)
	}
	if n := cs.connections(); n != 1 {
		t.Errorf("%d connections; want 1: Close of the store closed the caller's connection", n)
	}
}
