package bookmarks

import (
	"fmt"
	"testing"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
)

// TestCosts measures the S3 requests each call of the service makes, with
// repo/meter around the store, and asserts them: the table in README.md.
// Requests are counted at the object.Store interface, where each is one
// S3 request; the same counts hold on memstore and on versitygw. Rounds
// are not asserted (they depend on timing without latency).
func TestCosts(t *testing.T) {
	t.Run("mem", func(t *testing.T) { testCosts(t, meter.Wrap(memstore.New())) })
	t.Run("s3", func(t *testing.T) { testCosts(t, meter.Wrap(s3test.NewStore(t, nil))) })
}

func testCosts(t *testing.T, st *meter.Store) {
	defer st.Close()
	c := serve(t, st)
	// The Repo reads (here: writes) its manifest on its first call.
	c.want(c.do("POST", "/bookmarks", map[string]any{"id": "warm", "url": "https://warm.example/", "tag": "go"}), 201)
	for i := range 30 {
		c.want(c.do("POST", "/bookmarks", map[string]any{"id": fmt.Sprintf("b%02d", i), "url": fmt.Sprintf("https://example.com/%d", i), "tag": []string{"go", "s3"}[i%2]}), 201)
	}
	var etag string
	for _, tc := range []struct {
		what string
		call func()
		want meter.Counts
	}{
		{"POST, tagged (unique URL, Tag, Created)", func() {
			etag = c.want(c.do("POST", "/bookmarks", map[string]any{"id": "new", "url": "https://new.example/", "tag": "go"}), 201).etag()
		}, meter.Counts{Put: 4, Get: 1}},
		{"POST, untagged", func() {
			c.want(c.do("POST", "/bookmarks", map[string]any{"id": "plain", "url": "https://plain.example/"}), 201)
		}, meter.Counts{Put: 3, Get: 1}},
		{"GET", func() { c.want(c.do("GET", "/bookmarks/new", nil), 200) }, meter.Counts{Get: 1}},
		{"GET, If-None-Match current", func() { c.want(c.do("GET", "/bookmarks/new", nil, "If-None-Match", etag), 304) }, meter.Counts{Get: 1}},
		{"PUT, no indexed value changed", func() {
			etag = c.want(c.do("PUT", "/bookmarks/new", map[string]any{"url": "https://new.example/", "tag": "go", "clicks": 1}, "If-Match", etag), 200).etag()
		}, meter.Counts{Get: 2, Put: 1}},
		{"PUT, stale If-Match", func() {
			c.want(c.do("PUT", "/bookmarks/new", map[string]any{"url": "https://new.example/", "tag": "go"}, "If-Match", `"stale"`), 412)
		}, meter.Counts{Get: 1}},
		{"PUT, tag changed", func() {
			etag = c.want(c.do("PUT", "/bookmarks/new", map[string]any{"url": "https://new.example/", "tag": "s3"}, "If-Match", etag), 200).etag()
		}, meter.Counts{Get: 2, Put: 2, Delete: 1}},
		{"PUT, URL changed", func() {
			etag = c.want(c.do("PUT", "/bookmarks/new", map[string]any{"url": "https://new2.example/", "tag": "s3"}, "If-Match", etag), 200).etag()
		}, meter.Counts{Get: 2, Put: 2, Delete: 1}},
		{"POST, URL taken (409)", func() {
			c.want(c.do("POST", "/bookmarks", map[string]any{"id": "dup", "url": "https://new2.example/", "tag": "go"}), 409)
		}, meter.Counts{Put: 3, Get: 3, Delete: 2}},
		{"list, newest 20", func() { c.list("?limit=20") }, meter.Counts{List: 1, Get: 20}},
		{"list, tag=go, 10", func() { c.list("?tag=go&limit=10") }, meter.Counts{List: 2, Get: 10}},
		{"DELETE", func() { c.want(c.do("DELETE", "/bookmarks/new", nil), 204) }, meter.Counts{Delete: 4}},
		{"DELETE, If-Match", func() {
			e := c.want(c.do("GET", "/bookmarks/plain", nil), 200).etag()
			st.Reset()
			c.want(c.do("DELETE", "/bookmarks/plain", nil, "If-Match", e), 204)
		}, meter.Counts{Delete: 3}},
		{"GET, missing (404)", func() { c.want(c.do("GET", "/bookmarks/new", nil), 404) }, meter.Counts{Get: 1}},
	} {
		st.Reset()
		tc.call()
		got := st.Snapshot()
		got.Rounds, got.Conditional = 0, 0
		t.Logf("%-42s %v", tc.what, got)
		if got != tc.want {
			t.Errorf("%s: %v, want %v", tc.what, got, tc.want)
		}
	}
}
