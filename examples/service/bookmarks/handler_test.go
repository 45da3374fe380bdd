package bookmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// stores are the stores the service is tested on: a directory (the
// embedded default) and a real S3 server.
var stores = []struct {
	name string
	open func(t *testing.T) object.Store
}{
	{"file", func(t *testing.T) object.Store {
		u := (&url.URL{Scheme: "file", Path: t.TempDir()}).String()
		st, err := repo.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"s3", func(t *testing.T) object.Store {
		st := s3test.NewStore(t, nil)
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// client talks to a service over real HTTP.
type client struct {
	t    *testing.T
	base string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) etag() string { return r.header.Get("ETag") }

func (r reply) bookmark(t *testing.T) Bookmark {
	t.Helper()
	var b Bookmark
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("reply %d %s is not a bookmark: %v", r.status, r.body, err)
	}
	return b
}

func (r reply) errorText(t *testing.T) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("reply %d %s is not an error document", r.status, r.body)
	}
	return e.Error
}

// do sends a request; body is JSON-encoded unless it is a string. headers
// are name, value pairs.
func (c client) do(method, path string, body any, headers ...string) reply {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the reply: %v", method, path, err)
	}
	return reply{resp.StatusCode, resp.Header, got}
}

func (c client) want(r reply, status int) reply {
	c.t.Helper()
	if r.status != status {
		c.t.Fatalf("got status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

func (c client) list(query string) listPage {
	c.t.Helper()
	r := c.want(c.do("GET", "/bookmarks"+query, nil), 200)
	var p listPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		c.t.Fatalf("list %s: %v: %s", query, err, r.body)
	}
	return p
}

// serve starts the service on st over real HTTP, with a clock that ticks
// one second per bookmark created.
func serve(t *testing.T, st object.Store) client {
	s, err := New(st)
	if err != nil {
		t.Fatal(err)
	}
	var tick atomic.Int64
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Second) }
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return client{t: t, base: hs.URL}
}

func TestService(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				f    func(t *testing.T, c client)
			}{
				{"CRUD", testCRUD},
				{"Pages", testPages},
				{"ETags", testETags},
				{"BadInput", testBadInput},
				{"UniqueRace", testUniqueRace},
				{"ConcurrentIncrements", testConcurrentIncrements},
				{"SchemaUpgrade", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					store := st.open(t)
					if tc.f == nil {
						testSchemaUpgrade(t, store)
						return
					}
					tc.f(t, serve(t, store))
				})
			}
		})
	}
}

func testCRUD(t *testing.T, c client) {
	r := c.want(c.do("POST", "/bookmarks", map[string]any{"url": "https://go.dev/", "title": "Go", "tag": "go"}), 201)
	b := r.bookmark(t)
	if b.ID == "" || b.URL != "https://go.dev/" || b.Title != "Go" || b.Tag != "go" || b.Created.IsZero() || b.Clicks != 0 {
		t.Fatalf("created %+v", b)
	}
	if loc := r.header.Get("Location"); loc != "/bookmarks/"+b.ID {
		t.Errorf("Location %q", loc)
	}
	if r.etag() == "" {
		t.Fatal("no ETag on create")
	}
	g := c.want(c.do("GET", "/bookmarks/"+b.ID, nil), 200)
	if got := g.bookmark(t); got != b {
		t.Errorf("get: %+v, want %+v", got, b)
	}
	if g.etag() != r.etag() {
		t.Errorf("get ETag %s, create ETag %s", g.etag(), r.etag())
	}

	// A client-chosen id; taken twice is 409.
	c.want(c.do("POST", "/bookmarks", map[string]any{"id": "s3", "url": "https://aws.amazon.com/s3/"}), 201)
	e := c.want(c.do("POST", "/bookmarks", map[string]any{"id": "s3", "url": "https://example.com/"}), 409)
	if !strings.Contains(e.errorText(t), "s3") {
		t.Errorf("409 for a taken id: %s", e.body)
	}

	u := c.want(c.do("PUT", "/bookmarks/"+b.ID, map[string]any{"url": "https://go.dev/doc/", "title": "Go docs", "tag": "docs"}, "If-Match", g.etag()), 200)
	ub := u.bookmark(t)
	if ub.URL != "https://go.dev/doc/" || ub.Title != "Go docs" || ub.Tag != "docs" || !ub.Created.Equal(b.Created) {
		t.Errorf("updated %+v (created was %v)", ub, b.Created)
	}
	if u.etag() == g.etag() || u.etag() == "" {
		t.Errorf("ETag after update %q, before %q", u.etag(), g.etag())
	}
	// The old URL is free again, the new one is taken.
	c.want(c.do("POST", "/bookmarks", map[string]any{"url": "https://go.dev/"}), 201)
	c.want(c.do("POST", "/bookmarks", map[string]any{"url": "https://go.dev/doc/"}), 409)

	c.want(c.do("DELETE", "/bookmarks/"+b.ID, nil), 204)
	c.want(c.do("GET", "/bookmarks/"+b.ID, nil), 404)
	c.want(c.do("DELETE", "/bookmarks/"+b.ID, nil), 404)
	c.want(c.do("PUT", "/bookmarks/"+b.ID, map[string]any{"url": "https://go.dev/doc/"}, "If-Match", "*"), 404)
	if e := c.want(c.do("GET", "/bookmarks/nope", nil), 404); !strings.Contains(e.errorText(t), `"nope"`) {
		t.Errorf("404 body %s", e.body)
	}
	// Deleted, its URL is free.
	c.want(c.do("POST", "/bookmarks", map[string]any{"url": "https://go.dev/doc/"}), 201)
}

func testPages(t *testing.T, c client) {
	const n = 25
	var ids []string // in creation order
	for i := range n {
		tag := []string{"go", "s3", ""}[i%3]
		r := c.want(c.do("POST", "/bookmarks", map[string]any{"id": fmt.Sprintf("b%02d", i), "url": fmt.Sprintf("https://example.com/%d", i), "tag": tag}), 201)
		ids = append(ids, r.bookmark(t).ID)
	}
	// Newest first, a page of 10 at a time.
	var got []string
	cursor, pages := "", 0
	for {
		p := c.list("?limit=10&cursor=" + url.QueryEscape(cursor))
		pages++
		if len(p.Items) > 10 {
			t.Fatalf("page of %d items, limit 10", len(p.Items))
		}
		for _, b := range p.Items {
			got = append(got, b.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		if pages > 5 {
			t.Fatal("more than 5 pages for 25 bookmarks")
		}
	}
	var want []string
	for i := n - 1; i >= 0; i-- {
		want = append(want, ids[i])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("newest first:\n got %v\nwant %v", got, want)
	}

	// Filtered by tag, newest first, in pages of 3.
	got, cursor = nil, ""
	for range 10 {
		p := c.list("?tag=go&limit=3&cursor=" + url.QueryEscape(cursor))
		for _, b := range p.Items {
			if b.Tag != "go" {
				t.Errorf("tag=go listed %+v", b)
			}
			got = append(got, b.ID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	want = nil
	for i := n - 1; i >= 0; i-- {
		if i%3 == 0 {
			want = append(want, ids[i])
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tag=go:\n got %v\nwant %v", got, want)
	}
	if p := c.list("?tag=none"); len(p.Items) != 0 || p.Next != "" {
		t.Errorf("tag=none: %+v", p)
	}
	// Default page size.
	if p := c.list(""); len(p.Items) != DefaultLimit || p.Next == "" {
		t.Errorf("default page: %d items, next %q", len(p.Items), p.Next)
	}
	// A cursor of another query is a 400.
	p := c.list("?limit=3")
	e := c.want(c.do("GET", "/bookmarks?tag=go&cursor="+url.QueryEscape(p.Next), nil), 400)
	if !strings.Contains(e.errorText(t), "cursor") {
		t.Errorf("foreign cursor: %s", e.body)
	}
}

func testETags(t *testing.T, c client) {
	r := c.want(c.do("POST", "/bookmarks", map[string]any{"id": "a", "url": "https://a.example/"}), 201)
	v1 := r.etag()
	c.want(c.do("GET", "/bookmarks/a", nil, "If-None-Match", v1), 304)
	// PUT without If-Match: 428, and nothing changes.
	e := c.want(c.do("PUT", "/bookmarks/a", map[string]any{"url": "https://a.example/", "title": "x"}), 428)
	if !strings.Contains(e.errorText(t), "If-Match") {
		t.Errorf("428 body %s", e.body)
	}
	u := c.want(c.do("PUT", "/bookmarks/a", map[string]any{"url": "https://a.example/", "title": "one"}, "If-Match", v1), 200)
	v2 := u.etag()
	// Stale: 412, and the stored title stays.
	c.want(c.do("PUT", "/bookmarks/a", map[string]any{"url": "https://a.example/", "title": "two"}, "If-Match", v1), 412)
	c.want(c.do("DELETE", "/bookmarks/a", nil, "If-Match", v1), 412)
	g := c.want(c.do("GET", "/bookmarks/a", nil, "If-None-Match", v1), 200)
	if b := g.bookmark(t); b.Title != "one" || g.etag() != v2 {
		t.Errorf("after stale writes: %+v, ETag %s want %s", b, g.etag(), v2)
	}
	// * overwrites whatever is stored; echoing back a GET body works.
	b := g.bookmark(t)
	b.Title = "three"
	v3 := c.want(c.do("PUT", "/bookmarks/a", b, "If-Match", "*"), 200).etag()
	c.want(c.do("DELETE", "/bookmarks/a", nil, "If-Match", v2), 412)
	c.want(c.do("DELETE", "/bookmarks/a", nil, "If-Match", `"nope", *`), 204)
	c.want(c.do("DELETE", "/bookmarks/a", nil, "If-Match", v3), 404)
}

func testBadInput(t *testing.T, c client) {
	c.want(c.do("POST", "/bookmarks", map[string]any{"id": "x", "url": "https://x.example/"}), 201)
	for _, tc := range []struct {
		method, path string
		body         any
		want         string
	}{
		{"POST", "/bookmarks", "", "body is empty"},
		{"POST", "/bookmarks", "{", "not a bookmark"},
		{"POST", "/bookmarks", `{"url":"https://x.example/"} {}`, "more than one"},
		{"POST", "/bookmarks", map[string]any{"url": "https://y.example/", "color": "red"}, `unknown field "color"`},
		{"POST", "/bookmarks", map[string]any{"url": 7}, "url"},
		{"POST", "/bookmarks", map[string]any{"title": "no url"}, "url is missing"},
		{"POST", "/bookmarks", map[string]any{"url": "ftp://y.example/"}, "http or https"},
		{"POST", "/bookmarks", map[string]any{"url": "y.example"}, "http or https"},
		{"POST", "/bookmarks", map[string]any{"url": "https://y.example/" + strings.Repeat("a", maxURL)}, "at most"},
		{"POST", "/bookmarks", map[string]any{"url": "https://y.example/", "title": strings.Repeat("t", maxTitle+1)}, "title"},
		{"POST", "/bookmarks", map[string]any{"url": "https://y.example/", "tag": "Go Lang"}, `tag "Go Lang"`},
		{"POST", "/bookmarks", map[string]any{"url": "https://y.example/", "id": "a/b"}, `id "a/b"`},
		{"POST", "/bookmarks", map[string]any{"url": "https://y.example/", "clicks": 3}, "clicks"},
		{"PUT", "/bookmarks/x", map[string]any{"url": "https://y.example/", "id": "z"}, `"z"`},
		{"PUT", "/bookmarks/x", map[string]any{"url": "https://y.example/", "clicks": -1}, "negative"},
		{"GET", "/bookmarks?limit=0", nil, "limit"},
		{"GET", "/bookmarks?limit=abc", nil, "limit"},
		{"GET", "/bookmarks?limit=101", nil, "limit"},
		{"GET", "/bookmarks?tag=A*", nil, "tag"},
		{"GET", "/bookmarks?sort=old", nil, `"sort"`},
		{"GET", "/bookmarks?cursor=garbage", nil, "cursor"},
	} {
		r := c.do(tc.method, tc.path, tc.body, "If-Match", "*")
		if r.status != 400 {
			t.Errorf("%s %s %v: status %d, want 400; body %s", tc.method, tc.path, tc.body, r.status, r.body)
			continue
		}
		if msg := r.errorText(t); !strings.Contains(msg, tc.want) {
			t.Errorf("%s %s %v: error %q lacks %q", tc.method, tc.path, tc.body, msg, tc.want)
		}
	}
	r := c.do("POST", "/bookmarks", `{"url":"https://y.example/"}`, "Content-Type", "text/plain")
	if r.status != 400 || !strings.Contains(r.errorText(t), "application/json") {
		t.Errorf("text/plain body: %d %s", r.status, r.body)
	}
	// Nothing bad input sent was stored, and x is intact.
	if p := c.list(""); len(p.Items) != 1 || p.Items[0].ID != "x" || p.Items[0].URL != "https://x.example/" {
		t.Errorf("after bad input the store holds %+v", p.Items)
	}
}

func testUniqueRace(t *testing.T, c client) {
	const racers = 10
	var wg sync.WaitGroup
	status := make([]int, racers)
	bodies := make([][]byte, racers)
	for i := range racers {
		wg.Go(func() {
			r := c.do("POST", "/bookmarks", map[string]any{"id": fmt.Sprintf("r%d", i), "url": "https://race.example/"})
			status[i], bodies[i] = r.status, r.body
		})
	}
	wg.Wait()
	won := 0
	for i, s := range status {
		switch s {
		case 201:
			won++
		case 409:
			if !strings.Contains(string(bodies[i]), "race.example") {
				t.Errorf("racer %d: 409 without naming the URL: %s", i, bodies[i])
			}
		default:
			t.Errorf("racer %d: status %d: %s", i, s, bodies[i])
		}
	}
	if won != 1 {
		t.Errorf("%d racers won, want exactly 1 (statuses %v)", won, status)
	}
	if p := c.list(""); len(p.Items) != 1 {
		t.Errorf("after the race the store lists %d bookmarks, want 1", len(p.Items))
	}
}

func testConcurrentIncrements(t *testing.T, c client) {
	c.want(c.do("POST", "/bookmarks", map[string]any{"id": "hot", "url": "https://hot.example/"}), 201)
	const clients, each = 6, 5
	var done, stale atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for n := 0; n < each; {
				g := c.do("GET", "/bookmarks/hot", nil)
				if g.status != 200 {
					t.Errorf("GET: %d %s", g.status, g.body)
					return
				}
				b := g.bookmark(t)
				b.Clicks++
				r := c.do("PUT", "/bookmarks/hot", b, "If-Match", g.etag())
				switch r.status {
				case 200:
					n++
					done.Add(1)
				case 412:
					stale.Add(1) // someone else got there first: read again
				default:
					t.Errorf("PUT: %d %s", r.status, r.body)
					return
				}
			}
		})
	}
	wg.Wait()
	b := c.want(c.do("GET", "/bookmarks/hot", nil), 200).bookmark(t)
	if int64(b.Clicks) != done.Load() || done.Load() != clients*each {
		t.Errorf("clicks %d after %d successful increments (want %d); %d stale retries", b.Clicks, done.Load(), clients*each, stale.Load())
	}
	t.Logf("%d increments, %d answered 412 and retried", done.Load(), stale.Load())
}

// bookmarkV0 is the model as the service's first release stored it: the
// title was called "name".
type bookmarkV0 struct {
	ID      string    `nodb:"key" json:"id"`
	URL     string    `nodb:"unique" json:"url"`
	Name    string    `json:"name"`
	Tag     string    `nodb:"index,omitempty" json:"tag,omitempty"`
	Created time.Time `nodb:"index,desc" json:"created"`
	Clicks  int       `json:"clicks"`
}

func testSchemaUpgrade(t *testing.T, st object.Store) {
	ctx := context.Background()
	old, err := repo.New[bookmarkV0](st, func(o *repo.Options) { o.Model = "Bookmark" })
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := old.Create(ctx, bookmarkV0{ID: "old", URL: "https://old.example/", Name: "Old title", Tag: "go", Created: created}); err != nil {
		t.Fatal(err)
	}
	c := serve(t, st)
	g := c.want(c.do("GET", "/bookmarks/old", nil), 200)
	if b := g.bookmark(t); b.Title != "Old title" || b.Tag != "go" || !b.Created.Equal(created) {
		t.Errorf("version 0 record read as %+v", b)
	}
	if p := c.list("?tag=go"); len(p.Items) != 1 || p.Items[0].Title != "Old title" {
		t.Errorf("version 0 record listed as %+v", p.Items)
	}
	// A write stores version 1, with "title".
	b := g.bookmark(t)
	b.Title = "New title"
	c.want(c.do("PUT", "/bookmarks/old", b, "If-Match", g.etag()), 200)
	r, err := NewBookmarkRepo(st, Options)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.GetRecord(ctx, "old")
	if err != nil || rec.Schema != SchemaVersion || rec.Value.Title != "New title" {
		t.Errorf("after PUT: schema %d, %+v, %v", rec.Schema, rec.Value, err)
	}
	obj, err := st.Get(ctx, "Bookmark/r/old", object.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(obj.Body); !strings.Contains(s, `"title":"New title"`) || strings.Contains(s, `"name"`) {
		t.Errorf("stored record after PUT: %s", s)
	}
}

// beforeRecordDelete runs f once, before the first record DELETE it
// forwards: a writer that gets in between the handler's read and its
// DELETE.
type beforeRecordDelete struct {
	object.Store
	f    func()
	once sync.Once
}

func (s *beforeRecordDelete) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	if strings.Contains(key, "/r/") {
		s.once.Do(s.f)
	}
	return s.Store.Delete(ctx, key, opts)
}

// TestDeleteIfMatch: DELETE with If-Match is decided by the DELETE itself
// (Repo.DeleteVersion), so a write that lands after the client's GET, even
// after the handler has looked at the record, makes it 412 and is kept. On
// a store that cannot delete conditionally it is 501, and nothing is
// deleted.
func TestDeleteIfMatch(t *testing.T) {
	ctx := context.Background()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			store := st.open(t)
			other, err := NewBookmarkRepo(store, Options)
			if err != nil {
				t.Fatal(err)
			}
			ws := &beforeRecordDelete{Store: store, f: func() {
				if _, err := other.Update(ctx, "w", func(b *Bookmark) error { b.Clicks = 42; return nil }); err != nil {
					t.Errorf("the other writer: %v", err)
				}
			}}
			c := serve(t, ws)
			for _, ifMatch := range []func(etag string) string{
				func(etag string) string { return etag },           // one ETag: DeleteVersion at once
				func(etag string) string { return `"x", ` + etag }, // a list: GetRecord, then DeleteVersion
			} {
				ws.once = sync.Once{}
				c.want(c.do("POST", "/bookmarks", map[string]any{"id": "w", "url": "https://w.example/"}), 201)
				e := c.want(c.do("GET", "/bookmarks/w", nil), 200).etag()
				r := c.want(c.do("DELETE", "/bookmarks/w", nil, "If-Match", ifMatch(e)), 412)
				if !strings.Contains(r.errorText(t), "changed") {
					t.Errorf("412 body %s", r.body)
				}
				g := c.want(c.do("GET", "/bookmarks/w", nil), 200)
				if b := g.bookmark(t); b.Clicks != 42 {
					t.Errorf("the write that got in: clicks %d, want 42", b.Clicks)
				}
				// With the current ETag it goes.
				c.want(c.do("DELETE", "/bookmarks/w", nil, "If-Match", ifMatch(g.etag())), 204)
				c.want(c.do("GET", "/bookmarks/w", nil), 404)
				c.want(c.do("DELETE", "/bookmarks/w", nil, "If-Match", ifMatch(g.etag())), 404)
			}
		})
	}
	t.Run("s3 without conditional deletes", func(t *testing.T) {
		store := s3test.NewStore(t, &s3store.Options{NoConditionalDelete: true})
		t.Cleanup(func() { store.Close() })
		c := serve(t, store)
		e := c.want(c.do("POST", "/bookmarks", map[string]any{"id": "n", "url": "https://n.example/"}), 201).etag()
		r := c.want(c.do("DELETE", "/bookmarks/n", nil, "If-Match", e), 501)
		if !strings.Contains(r.errorText(t), "conditional") {
			t.Errorf("501 body %s", r.body)
		}
		c.want(c.do("GET", "/bookmarks/n", nil), 200)
		c.want(c.do("DELETE", "/bookmarks/n", nil), 204)
	})
}
