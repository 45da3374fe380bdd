// Package bookmarks is a JSON HTTP service for bookmarks kept in NoDB: the
// handler behind examples/service, in a package of its own so that tests
// can serve it.
//
//	POST   /bookmarks                 create: {"url", "title", "tag"}; 201, ETag; 409 if the URL or id is taken
//	GET    /bookmarks/{id}            read; ETag; 304 on If-None-Match; 404
//	PUT    /bookmarks/{id}            replace url, title, tag, clicks; If-Match required (428 without, 412 when stale)
//	DELETE /bookmarks/{id}            delete; optional If-Match (412 when stale, checked by the DELETE itself); 204; 404
//	GET    /bookmarks?tag=&limit=&cursor=   newest first, a page at a time: {"items": [...], "next": "..."}
//
// An ETag is the record's NoDB version in quotes: If-Match maps onto
// Repo.Replace and Repo.DeleteVersion with that version, so two clients
// that read the same state cannot both write over it (or delete it). Errors are JSON too: {"error": "..."}, with
// 400 for bad input naming what was wrong.
package bookmarks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
)

// Page sizes of the list call.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Limits on a bookmark's fields.
const (
	maxURL   = 2000
	maxTitle = 500
	maxTag   = 64
	maxID    = 64
	maxBody  = 64 << 10
)

// Server serves the bookmarks API over a NoDB store.
type Server struct {
	r   *BookmarkRepo
	mux *http.ServeMux
	now func() time.Time
}

// New returns a Server keeping its bookmarks in st, with the schema of
// [Options]. st stays the caller's to close.
func New(st object.Store) (*Server, error) {
	r, err := NewBookmarkRepo(st, Options)
	if err != nil {
		return nil, err
	}
	s := &Server{r: r, mux: http.NewServeMux(), now: func() time.Time { return time.Now().UTC() }}
	s.mux.HandleFunc("POST /bookmarks", s.create)
	s.mux.HandleFunc("GET /bookmarks", s.list)
	s.mux.HandleFunc("GET /bookmarks/{id}", s.get)
	s.mux.HandleFunc("PUT /bookmarks/{id}", s.replace)
	s.mux.HandleFunc("DELETE /bookmarks/{id}", s.delete)
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) { s.mux.ServeHTTP(w, req) }

// input is what a client sends on POST and PUT. id and created may be
// echoed back from a GET: id must then match, created is ignored (the
// server keeps it).
type input struct {
	ID      string     `json:"id"`
	URL     string     `json:"url"`
	Title   string     `json:"title"`
	Tag     string     `json:"tag"`
	Clicks  int        `json:"clicks"`
	Created *time.Time `json:"created"`
}

// listPage is the body of the list call.
type listPage struct {
	Items []Bookmark `json:"items"`
	Next  string     `json:"next,omitempty"`
}

func (s *Server) create(w http.ResponseWriter, req *http.Request) {
	in, err := decode(req)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	if in.ID == "" {
		in.ID = newID()
	} else if err := checkID(in.ID); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	if in.Clicks != 0 {
		fail(w, http.StatusBadRequest, errors.New("clicks: a new bookmark starts at 0"))
		return
	}
	b := Bookmark{ID: in.ID, URL: in.URL, Title: in.Title, Tag: in.Tag, Created: s.now()}
	if err := s.r.Create(req.Context(), b); err != nil {
		failRepo(w, err)
		return
	}
	// Create does not return the new version; one GET reads it for the ETag.
	s.respond(w, req, b.ID, http.StatusCreated)
}

func (s *Server) get(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	rec, err := s.r.GetRecord(req.Context(), id)
	if err != nil {
		failRepo(w, err)
		return
	}
	etag := quoteETag(rec.Version)
	if inm := req.Header.Get("If-None-Match"); inm != "" && matches(inm, rec.Version) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	write(w, http.StatusOK, etag, rec.Value)
}

func (s *Server) replace(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	ifMatch := req.Header.Get("If-Match")
	if ifMatch == "" {
		fail(w, http.StatusPreconditionRequired, errors.New("PUT needs an If-Match header with the ETag of the bookmark you read (or * to overwrite whatever is stored)"))
		return
	}
	in, err := decode(req)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	if in.ID != "" && in.ID != id {
		fail(w, http.StatusBadRequest, fmt.Errorf("id %q in the body differs from %q in the path", in.ID, id))
		return
	}
	if in.Clicks < 0 {
		fail(w, http.StatusBadRequest, fmt.Errorf("clicks: %d is negative", in.Clicks))
		return
	}
	ctx := req.Context()
	rec, err := s.r.GetRecord(ctx, id)
	if err != nil {
		failRepo(w, err)
		return
	}
	if !matches(ifMatch, rec.Version) {
		fail(w, http.StatusPreconditionFailed, fmt.Errorf("bookmark %q has changed since version %s: GET it again", id, ifMatch))
		return
	}
	b := rec.Value
	b.URL, b.Title, b.Tag, b.Clicks = in.URL, in.Title, in.Tag, in.Clicks
	// Replace is conditioned on the version read: a writer that got in
	// between makes it fail with ErrConflict, answered with 412.
	if err := s.r.Replace(ctx, b, rec.Version); err != nil {
		failRepo(w, err)
		return
	}
	s.respond(w, req, id, http.StatusOK)
}

func (s *Server) delete(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	ctx := req.Context()
	ifMatch := req.Header.Get("If-Match")
	if ifMatch == "" {
		if err := s.r.Delete(ctx, id); err != nil {
			failRepo(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	version, ok := oneETag(ifMatch)
	if !ok {
		// "*" or a list: the current version, if the header names it.
		rec, err := s.r.GetRecord(ctx, id)
		if err != nil {
			failRepo(w, err)
			return
		}
		if !matches(ifMatch, rec.Version) {
			fail(w, http.StatusPreconditionFailed, fmt.Errorf("bookmark %q has changed since version %s: GET it again", id, ifMatch))
			return
		}
		version = rec.Version
	}
	// DeleteVersion conditions the DELETE itself on the version: a writer
	// that got in after the client's GET makes it fail with ErrConflict,
	// answered with 412, and nothing is deleted.
	err := s.r.DeleteVersion(ctx, id, version)
	switch {
	case errors.Is(err, object.ErrUnsupported):
		// A store without conditional deletes (s3store with
		// conditional_delete=false): say so rather than delete unsafely.
		fail(w, http.StatusNotImplemented, fmt.Errorf("DELETE with If-Match needs a store that deletes conditionally: %w", err))
	case errors.Is(err, repo.ErrConflict):
		fail(w, http.StatusPreconditionFailed, fmt.Errorf("bookmark %q has changed since version %s: GET it again", id, ifMatch))
	case err != nil:
		failRepo(w, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) list(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	for name := range q {
		if name != "tag" && name != "limit" && name != "cursor" {
			fail(w, http.StatusBadRequest, fmt.Errorf("unknown query parameter %q (want tag, limit, cursor)", name))
			return
		}
	}
	limit := DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			fail(w, http.StatusBadRequest, fmt.Errorf("limit %q: want a whole number from 1 to %d", v, MaxLimit))
			return
		}
		limit = n
	}
	// Newest first: Created is stored descending, so a page reads one
	// LIST of Created entries (plus one LIST of the tag's entries when
	// filtering) and a GET per bookmark.
	bq := s.r.Query().OrderByCreated().Desc()
	if tag := q.Get("tag"); tag != "" {
		if err := checkTag(tag); err != nil {
			fail(w, http.StatusBadRequest, err)
			return
		}
		bq = bq.WhereTag(tag)
	}
	page, err := bq.Page(req.Context(), q.Get("cursor"), limit)
	if err != nil {
		failRepo(w, err)
		return
	}
	if len(page.Errors) > 0 {
		failRepo(w, page.Errors[0])
		return
	}
	write(w, http.StatusOK, "", listPage{Items: page.Items, Next: page.Next})
}

// respond answers a write with the bookmark as stored and its ETag.
func (s *Server) respond(w http.ResponseWriter, req *http.Request, id string, status int) {
	rec, err := s.r.GetRecord(req.Context(), id)
	if err != nil {
		failRepo(w, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/bookmarks/"+url.PathEscape(id))
	}
	write(w, status, quoteETag(rec.Version), rec.Value)
}

// decode reads and checks a POST or PUT body.
func decode(req *http.Request) (input, error) {
	var in input
	if ct := req.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return in, fmt.Errorf("Content-Type %q: send application/json", ct)
	}
	dec := json.NewDecoder(io.LimitReader(req.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if errors.Is(err, io.EOF) {
			return in, errors.New("the body is empty: send a JSON object")
		}
		return in, fmt.Errorf("the body is not a bookmark: %v", err)
	}
	if dec.More() {
		return in, errors.New("the body holds more than one JSON value")
	}
	switch u, err := url.Parse(in.URL); {
	case in.URL == "":
		return in, errors.New("url is missing")
	case len(in.URL) > maxURL:
		return in, fmt.Errorf("url is %d bytes long; at most %d", len(in.URL), maxURL)
	case err != nil:
		return in, fmt.Errorf("url %q: %v", in.URL, err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return in, fmt.Errorf("url %q: want an absolute http or https URL", in.URL)
	}
	if len(in.Title) > maxTitle {
		return in, fmt.Errorf("title is %d bytes long; at most %d", len(in.Title), maxTitle)
	}
	if in.Tag != "" {
		if err := checkTag(in.Tag); err != nil {
			return in, err
		}
	}
	return in, nil
}

func checkTag(tag string) error {
	if len(tag) > maxTag || strings.Trim(tag, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return fmt.Errorf("tag %q: want 1 to %d lowercase letters, digits and dashes", tag, maxTag)
	}
	return nil
}

func checkID(id string) error {
	if len(id) > maxID || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return fmt.Errorf("id %q: want 1 to %d letters, digits, dashes and underscores", id, maxID)
	}
	return nil
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func quoteETag(version string) string { return `"` + version + `"` }

// oneETag returns the version that an If-Match header of one strong ETag
// names; ok is false for "*", a list, or anything else.
func oneETag(header string) (version string, ok bool) {
	t := strings.TrimSpace(header)
	if len(t) < 3 || t[0] != '"' || t[len(t)-1] != '"' || strings.ContainsAny(t[1:len(t)-1], `",`) {
		return "", false
	}
	return t[1 : len(t)-1], true
}

// matches reports whether an If-Match or If-None-Match header names
// version: "*", or a list of strong ETags.
func matches(header, version string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == quoteETag(version) {
			return true
		}
	}
	return false
}

// failRepo answers a NoDB error with its status.
func failRepo(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, context.Canceled):
		status = 499 // the client went away; nobody reads this
	case errors.Is(err, repo.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, repo.ErrExists), errors.Is(err, repo.ErrUnique):
		status = http.StatusConflict
	case errors.Is(err, repo.ErrConflict):
		status = http.StatusPreconditionFailed
	case errors.Is(err, repo.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, repo.ErrOutcomeUnknown):
		// The write may have landed: the client should GET before retrying.
		status = http.StatusServiceUnavailable
	}
	fail(w, status, err)
}

func fail(w http.ResponseWriter, status int, err error) {
	write(w, status, "", map[string]string{"error": err.Error()})
}

func write(w http.ResponseWriter, status int, etag string, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if etag != "" {
		h.Set("ETag", etag)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
