package object_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nodb-go/nodb/repo/object"
)

// TestGate checks each Gate method's verdicts and their order: closed
// before the context, the context before the key, the key before the
// options.
func TestGate(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(live)
	cancel()
	var open, closed object.Gate
	if !closed.Close() || closed.Close() {
		t.Fatal("Close should report true once, then false")
	}
	if open.Closed() || !closed.Closed() {
		t.Fatal("Closed disagrees with Close")
	}
	bad := object.PutOptions{IfNoneMatch: "x"}
	for _, tc := range []struct {
		what string
		err  error
		want error  // nil for no error
		msg  string // part of the message
	}{
		{"Key ok", open.Key(live, "a/b"), nil, ""},
		{"Key closed", closed.Key(done, ""), object.ErrClosed, "closed"},
		{"Key done", open.Key(done, ""), context.Canceled, ""},
		{"Key empty", open.Key(live, ""), object.ErrInvalidKey, "empty key"},
		{"Key backslash", open.Key(live, `a\b`), object.ErrInvalidKey, "backslash"},
		{"Put ok", open.Put(live, "k", object.PutOptions{IfNoneMatch: "*"}), nil, ""},
		{"Put closed", closed.Put(live, "k", object.PutOptions{}), object.ErrClosed, ""},
		{"Put bad key first", open.Put(live, "", bad), object.ErrInvalidKey, ""},
		{"Put bad options", open.Put(live, "k", bad), object.ErrInvalidOptions, "IfNoneMatch"},
		{"Put both conditions", open.Put(live, "k", object.PutOptions{IfMatch: "v", IfNoneMatch: "*"}), object.ErrInvalidOptions, "mutually exclusive"},
		{"List ok", open.List(live, object.ListOptions{Prefix: "a/", StartAfter: "a/b"}), nil, ""},
		{"List closed", closed.List(live, object.ListOptions{}), object.ErrClosed, ""},
		{"List done", open.List(done, object.ListOptions{}), context.Canceled, ""},
		{"List prefix", open.List(live, object.ListOptions{Prefix: "\xff"}), object.ErrInvalidKey, "ListOptions.Prefix"},
		{"List StartAfter", open.List(live, object.ListOptions{StartAfter: "nul\x00"}), object.ErrInvalidKey, "ListOptions.StartAfter"},
	} {
		switch {
		case tc.want == nil && tc.err != nil:
			t.Errorf("%s: %v; want no error", tc.what, tc.err)
		case tc.want != nil && !errors.Is(tc.err, tc.want):
			t.Errorf("%s: %v; want one wrapping %v", tc.what, tc.err, tc.want)
		case tc.err != nil && !strings.Contains(tc.err.Error(), tc.msg):
			t.Errorf("%s: %q does not say %q", tc.what, tc.err, tc.msg)
		}
	}
}
