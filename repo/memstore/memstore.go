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
	return &store{data: &data{
		nonce:   hex.EncodeToString(nonce[:]),
		objects: make(map[string]*entry),
	}}
}

// Share returns another client of the data of st, which must be a store
// returned by [New] or Share: what one writes, the other reads at once, as
// two clients of one bucket do. Each client is closed on its own; closing
// one does not disturb the others, and st may already be closed. The data
// lives as long as any client of it is reachable.
func Share(st object.Store) (object.Store, error) {
	s, ok := st.(*store)
	if !ok {
		return nil, fmt.Errorf("memstore: Share: %T is not a memstore store", st)
	}
	return &store{data: s.data}, nil
}

// seq numbers writes across all stores of the process, so that a version is
// never reused, not even by another store.
var seq atomic.Uint64

type entry struct {
	info object.Info
	body []byte // never modified after the entry is created
}

// store is one client of some data.
type store struct {
	gate object.Gate
	data *data
}

// data is what the clients from one New share.
type data struct {
	nonce string // random per New, part of every version

	mu      sync.RWMutex
	objects map[string]*entry
	keys    []string // the keys of objects, sorted
}

func opErr(op, key string, err error) error {
	return fmt.Errorf("memstore: %s %q: %w", op, key, err)
}

func (d *data) newVersion() string {
	return strconv.FormatUint(seq.Add(1), 16) + "-" + d.nonce
}

// Get implements [object.Store.Get].
func (s *store) Get(ctx context.Context, key string, opts object.GetOptions) (object.Object, error) {
	if err := s.gate.Key(ctx, key); err != nil {
		return object.Object{}, opErr("Get", key, err)
	}
	d := s.data
	d.mu.RLock()
	e := d.objects[key]
	d.mu.RUnlock()
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
	if err := s.gate.Key(ctx, key); err != nil {
		return object.Info{}, opErr("Head", key, err)
	}
	d := s.data
	d.mu.RLock()
	e := d.objects[key]
	d.mu.RUnlock()
	if e == nil {
		return object.Info{}, opErr("Head", key, object.ErrNotFound)
	}
	return e.info, nil
}

// Put implements [object.Store.Put]. With IfMatch, a missing key gives
// ErrNotFound, as on S3.
func (s *store) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	if err := s.gate.Put(ctx, key, opts); err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	e := &entry{body: make([]byte, len(body))}
	copy(e.body, body)

	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.objects[key]
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
		Version:      d.newVersion(),
		Size:         int64(len(body)),
		LastModified: time.Now().UTC(), // UTC also drops the monotonic reading
	}
	if old == nil {
		i, _ := slices.BinarySearch(d.keys, key)
		d.keys = slices.Insert(d.keys, i, key)
	}
	d.objects[key] = e
	return e.info, nil
}

// Delete implements [object.Store.Delete].
func (s *store) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	if err := s.gate.Key(ctx, key); err != nil {
		return opErr("Delete", key, err)
	}
	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.objects[key]
	switch {
	case old == nil && opts.IfMatch != "":
		return opErr("Delete", key, fmt.Errorf("%w (If-Match %q)", object.ErrNotFound, opts.IfMatch))
	case old == nil:
		return nil
	case opts.IfMatch != "" && old.info.Version != opts.IfMatch:
		return opErr("Delete", key, fmt.Errorf("%w: If-Match %q: the current version is %q", object.ErrPrecondition, opts.IfMatch, old.info.Version))
	}
	delete(d.objects, key)
	if i, ok := slices.BinarySearch(d.keys, key); ok {
		d.keys = slices.Delete(d.keys, i, i+1)
	}
	return nil
}

// List implements [object.Store.List]. More is exact: it is true only when
// another matching key follows the page.
func (s *store) List(ctx context.Context, opts object.ListOptions) (object.ListPage, error) {
	if err := s.gate.List(ctx, opts); err != nil {
		return object.ListPage{}, fmt.Errorf("memstore: List %q: %w", opts.Prefix, err)
	}
	n := opts.PageSize
	if n <= 0 || n > object.MaxPageSize {
		n = object.MaxPageSize
	}
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, _ := slices.BinarySearch(d.keys, opts.Prefix)
	if opts.StartAfter >= opts.Prefix {
		j, found := slices.BinarySearch(d.keys, opts.StartAfter)
		if found {
			j++
		}
		i = j
	}
	var page object.ListPage
	for ; i < len(d.keys) && strings.HasPrefix(d.keys[i], opts.Prefix); i++ {
		if len(page.Objects) == n {
			page.More = true
			break
		}
		page.Objects = append(page.Objects, d.objects[d.keys[i]].info)
	}
	return page, nil
}

// Capabilities implements [object.Store.Capabilities]: conditional deletes
// are supported.
func (s *store) Capabilities() object.Capabilities {
	return object.Capabilities{ConditionalDelete: true}
}

// Close implements [object.Store.Close]. The data stays readable through
// the other clients from [Share], and through new ones.
func (s *store) Close() error {
	s.gate.Close()
	return nil
}
