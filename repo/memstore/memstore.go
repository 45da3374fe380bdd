package memstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

// New returns a new, empty in-memory store, safe for concurrent use.
func New() object.Store {
	var nonce [6]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails (Go 1.24+).
	return &store{
		nonce:   hex.EncodeToString(nonce[:]),
		objects: make(map[string]*entry),
	}
}

// seq numbers writes across all stores of the process, so that a version is
// never reused, not even by another store.
var seq atomic.Uint64

type entry struct {
	info object.Info
	body []byte // never modified after the entry is created
}

type store struct {
	nonce string // random per store, part of every version

	mu      sync.RWMutex
	objects map[string]*entry
	keys    []string // the keys of objects, sorted
}

func opErr(op, key string, err error) error {
	return fmt.Errorf("memstore: %s %q: %w", op, key, err)
}

func (s *store) newVersion() string {
	return strconv.FormatUint(seq.Add(1), 16) + "-" + s.nonce
}

// Get implements [object.Store.Get].
func (s *store) Get(ctx context.Context, key string, opts object.GetOptions) (object.Object, error) {
	if err := ctx.Err(); err != nil {
		return object.Object{}, opErr("Get", key, err)
	}
	if err := object.CheckKey(key); err != nil {
		return object.Object{}, opErr("Get", key, err)
	}
	s.mu.RLock()
	e := s.objects[key]
	s.mu.RUnlock()
	if e == nil {
		return object.Object{}, opErr("Get", key, object.ErrNotFound)
	}
	if opts.IfNoneMatch != "" && opts.IfNoneMatch == e.info.Version {
		return object.Object{}, opErr("Get", key, object.ErrNotModified)
	}
	return object.Object{Info: e.info, Body: slices.Clone(e.body)}, nil
}

// Head implements [object.Store.Head].
func (s *store) Head(ctx context.Context, key string) (object.Info, error) {
	if err := ctx.Err(); err != nil {
		return object.Info{}, opErr("Head", key, err)
	}
	if err := object.CheckKey(key); err != nil {
		return object.Info{}, opErr("Head", key, err)
	}
	s.mu.RLock()
	e := s.objects[key]
	s.mu.RUnlock()
	if e == nil {
		return object.Info{}, opErr("Head", key, object.ErrNotFound)
	}
	return e.info, nil
}

// Put implements [object.Store.Put]. With IfMatch, a missing key gives
// ErrNotFound, as on S3.
func (s *store) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	if err := ctx.Err(); err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	if err := object.CheckKey(key); err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	if err := object.CheckPutOptions(opts); err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	e := &entry{body: make([]byte, len(body))}
	copy(e.body, body)

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.objects[key]
	switch {
	case opts.IfNoneMatch == "*" && old != nil:
		return object.Info{}, opErr("Put", key, fmt.Errorf("%w: If-None-Match \"*\": the key exists", object.ErrPrecondition))
	case opts.IfMatch != "" && old == nil:
		return object.Info{}, opErr("Put", key, fmt.Errorf("%w (If-Match %q)", object.ErrNotFound, opts.IfMatch))
	case opts.IfMatch != "" && old.info.Version != opts.IfMatch:
		return object.Info{}, opErr("Put", key, fmt.Errorf("%w: If-Match %q: the current version is %q", object.ErrPrecondition, opts.IfMatch, old.info.Version))
	}
	e.info = object.Info{
		Key:          key,
		Version:      s.newVersion(),
		Size:         int64(len(body)),
		LastModified: time.Now().UTC(), // UTC also drops the monotonic reading
	}
	if old == nil {
		i, _ := slices.BinarySearch(s.keys, key)
		s.keys = slices.Insert(s.keys, i, key)
	}
	s.objects[key] = e
	return e.info, nil
}

// Delete implements [object.Store.Delete].
func (s *store) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	if err := ctx.Err(); err != nil {
		return opErr("Delete", key, err)
	}
	if err := object.CheckKey(key); err != nil {
		return opErr("Delete", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.objects[key]
	switch {
	case old == nil && opts.IfMatch != "":
		return opErr("Delete", key, fmt.Errorf("%w (If-Match %q)", object.ErrNotFound, opts.IfMatch))
	case old == nil:
		return nil
	case opts.IfMatch != "" && old.info.Version != opts.IfMatch:
		return opErr("Delete", key, fmt.Errorf("%w: If-Match %q: the current version is %q", object.ErrPrecondition, opts.IfMatch, old.info.Version))
	}
	delete(s.objects, key)
	if i, ok := slices.BinarySearch(s.keys, key); ok {
		s.keys = slices.Delete(s.keys, i, i+1)
	}
	return nil
}

// List implements [object.Store.List]. More is exact: it is true only when
// another matching key follows the page.
func (s *store) List(ctx context.Context, opts object.ListOptions) (object.ListPage, error) {
	if err := ctx.Err(); err != nil {
		return object.ListPage{}, fmt.Errorf("memstore: List %q: %w", opts.Prefix, err)
	}
	n := opts.PageSize
	if n <= 0 || n > object.MaxPageSize {
		n = object.MaxPageSize
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, _ := slices.BinarySearch(s.keys, opts.Prefix)
	if opts.StartAfter >= opts.Prefix {
		j, found := slices.BinarySearch(s.keys, opts.StartAfter)
		if found {
			j++
		}
		i = j
	}
	var page object.ListPage
	for ; i < len(s.keys) && strings.HasPrefix(s.keys[i], opts.Prefix); i++ {
		if len(page.Objects) == n {
			page.More = true
			break
		}
		page.Objects = append(page.Objects, s.objects[s.keys[i]].info)
	}
	return page, nil
}

// Capabilities implements [object.Store.Capabilities]: conditional deletes
// are supported.
func (s *store) Capabilities() object.Capabilities {
	return object.Capabilities{ConditionalDelete: true}
}
