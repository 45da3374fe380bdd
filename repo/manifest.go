package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/nodb-go/nodb/repo/object"
)

// The manifest, <model>/_manifest, records what the bucket holds for a
// model: its key field, codec, and for each index whether it is built. A
// Repo reads it once, on its first write (models with indexes only) or
// query. An index that the manifest lacks while the model has records is
// "building": writers maintain it from then on, queries on it fail with
// ErrNotBuilt until Reindex has backfilled the old records.

type manifest struct {
	NoDB     int                      `json:"nodb"`
	Model    string                   `json:"model"`
	KeyField string                   `json:"keyField"`
	KeyKind  string                   `json:"keyKind"`
	HashKeys bool                     `json:"hashKeys,omitempty"`
	Codec    string                   `json:"codec"`
	Schema   int                      `json:"schema,omitempty"`
	Indexes  map[string]manifestIndex `json:"indexes"`

	version string
}

type manifestIndex struct {
	Kind   string `json:"kind"`
	Unique bool   `json:"unique,omitempty"`
	Sparse bool   `json:"sparse,omitempty"`
	State  string `json:"state"`            // stateReady or stateBuilding
	Cursor string `json:"cursor,omitempty"` // Reindex progress: last record done
}

const (
	stateReady    = "ready"
	stateBuilding = "building"
)

func (r *Repo[T]) manifestName() string { return r.base + "_manifest" }

func (r *Repo[T]) describe(ix *indexDef, state string) manifestIndex {
	return manifestIndex{Kind: ix.kind.String(), Unique: ix.unique, Sparse: ix.sparse, State: state}
}

func (r *Repo[T]) attachForWrite(ctx context.Context) error {
	if len(r.m.indexes) == 0 {
		return nil
	}
	_, err := r.attach(ctx, false)
	return err
}

// attach reads (or creates, or updates) the manifest once per Repo, or again
// when refresh is set.
func (r *Repo[T]) attach(ctx context.Context, refresh bool) (*manifest, error) {
	r.attachMu.Lock()
	defer r.attachMu.Unlock()
	if r.man != nil && !refresh {
		return r.man, nil
	}
	for attempt := 0; ; attempt++ {
		m, err := r.readManifest(ctx)
		if err != nil {
			return nil, err
		}
		// A new index is built already if the model has no records; the
		// emptiness LIST is made at most once per attempt, and only if needed.
		newState := ""
		stateOfNew := func() (string, error) {
			if newState == "" {
				empty, err := r.empty(ctx)
				if err != nil {
					return "", err
				}
				newState = stateBuilding
				if empty {
					newState = stateReady
				}
			}
			return newState, nil
		}
		opts := object.PutOptions{IfNoneMatch: "*"}
		if m == nil {
			state, err := stateOfNew()
			if err != nil {
				return nil, err
			}
			m = &manifest{NoDB: envelopeVersion, Model: r.m.name, KeyField: r.m.key.name, KeyKind: r.m.key.kind.String(),
				HashKeys: r.o.HashKeys, Codec: r.o.Codec.Name(), Schema: r.o.SchemaVersion, Indexes: map[string]manifestIndex{}}
			for i := range r.m.indexes {
				m.Indexes[r.m.indexes[i].name] = r.describe(&r.m.indexes[i], state)
			}
		} else {
			if m.KeyKind != r.m.key.kind.String() {
				return nil, invalidf("model %s in the store has a %s key (field %s); this program's key field %s is %s", r.m.name, m.KeyKind, m.KeyField, r.m.key.name, r.m.key.kind)
			}
			if m.HashKeys != r.o.HashKeys {
				return nil, invalidf("model %s in the store has HashKeys=%v; this Repo has HashKeys=%v", r.m.name, m.HashKeys, r.o.HashKeys)
			}
			changed := false
			for i := range r.m.indexes {
				ix := &r.m.indexes[i]
				want := r.describe(ix, stateBuilding)
				have, ok := m.Indexes[ix.name]
				if ok && have.Kind == want.Kind && have.Unique == want.Unique && have.Sparse == want.Sparse {
					continue
				}
				if !ok {
					if want.State, err = stateOfNew(); err != nil {
						return nil, err
					}
				}
				m.Indexes[ix.name] = want
				changed = true
			}
			if !changed {
				r.man = m
				return m, nil
			}
			opts = object.PutOptions{IfMatch: m.version}
		}
		err = r.writeManifest(ctx, m, opts)
		if err == nil {
			r.man = m
			return m, nil
		}
		if !errors.Is(err, object.ErrPrecondition) && !errors.Is(err, object.ErrConflict) && !errors.Is(err, object.ErrNotFound) || attempt >= r.o.MaxRetries {
			return nil, err
		}
		r.backoff(ctx, attempt)
	}
}

func (r *Repo[T]) readManifest(ctx context.Context) (*manifest, error) {
	obj, err := r.st.Get(ctx, r.manifestName(), object.GetOptions{})
	if errors.Is(err, object.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := new(manifest)
	if err := json.Unmarshal(obj.Body, m); err != nil || m.Indexes == nil {
		return nil, errorf(ErrCorrupt, "manifest %s: not a NoDB manifest", obj.Key)
	}
	m.version = obj.Version
	return m, nil
}

func (r *Repo[T]) writeManifest(ctx context.Context, m *manifest, opts object.PutOptions) error {
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	info, err := r.st.Put(ctx, r.manifestName(), body, opts)
	if err != nil {
		return err
	}
	m.version = info.Version
	return nil
}

// empty reports whether the model has no records.
func (r *Repo[T]) empty(ctx context.Context) (bool, error) {
	page, err := r.st.List(ctx, object.ListOptions{Prefix: r.base + "r/", PageSize: 1})
	if err != nil {
		return false, err
	}
	return len(page.Objects) == 0, nil
}

// ready returns nil if index ix may answer queries.
func (r *Repo[T]) ready(ctx context.Context, ix *indexDef) error {
	m, err := r.attach(ctx, false)
	if err != nil {
		return err
	}
	if m.Indexes[ix.name].State == stateReady {
		return nil
	}
	if m, err = r.attach(ctx, true); err != nil { // another process may have built it
		return err
	}
	if m.Indexes[ix.name].State == stateReady {
		return nil
	}
	return errorf(ErrNotBuilt, "index %s of model %s is not built yet (it was added after records existed): run Reindex", ix.name, r.m.name)
}

// Reindex builds every index that is not built yet: it writes the entries
// and claims of all existing records, then marks the index ready. It is
// idempotent, and resumable: progress is saved in the manifest, so a
// Reindex that was interrupted continues where it stopped. It fails with
// ErrUnique, naming the values, if existing records hold a value of a new
// unique index twice; the index then stays unbuilt.
func (r *Repo[T]) Reindex(ctx context.Context) error {
	m, err := r.attach(ctx, true)
	if err != nil {
		return wrapErr("Reindex", r.m.name, "", err)
	}
	var todo []int
	for i := range r.m.indexes {
		if m.Indexes[r.m.indexes[i].name].State != stateReady {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	cursor := ""
	for _, i := range todo {
		if c := m.Indexes[r.m.indexes[i].name].Cursor; c != "" && (cursor == "" || c < cursor) {
			cursor = c
		}
	}
	var dups []string
	const batch = 256
	var pending []object.Info
	flush := func() error {
		tasks := make([]func(context.Context) error, 0, len(pending))
		var mu sync.Mutex
		for _, info := range pending {
			seg := info.Key[len(r.base+"r/"):]
			tasks = append(tasks, func(ctx context.Context) error {
				err := r.reindexRecord(ctx, seg, todo)
				if errors.Is(err, ErrUnique) {
					mu.Lock()
					dups = append(dups, err.Error())
					mu.Unlock()
					return nil
				}
				return err
			})
		}
		if err := r.parallel(ctx, tasks); err != nil {
			return err
		}
		last := pending[len(pending)-1].Key[len(r.base+"r/"):]
		pending = pending[:0]
		for _, i := range todo {
			mi := m.Indexes[r.m.indexes[i].name]
			mi.Cursor = last
			m.Indexes[r.m.indexes[i].name] = mi
		}
		return r.saveManifest(ctx, m)
	}
	start := ""
	if cursor != "" {
		start = r.base + "r/" + cursor
	}
	for info, err := range object.All(ctx, r.st, r.base+"r/", start, 0) {
		if err != nil {
			return wrapErr("Reindex", r.m.name, "", err)
		}
		pending = append(pending, info)
		if len(pending) == batch {
			if err := flush(); err != nil {
				return wrapErr("Reindex", r.m.name, "", err)
			}
		}
	}
	if len(pending) > 0 {
		if err := flush(); err != nil {
			return wrapErr("Reindex", r.m.name, "", err)
		}
	}
	if len(dups) > 0 {
		slices.Sort(dups)
		return wrapErr("Reindex", r.m.name, "", errorf(ErrUnique, "%d duplicate values: %v", len(dups), dups))
	}
	for _, i := range todo {
		mi := m.Indexes[r.m.indexes[i].name]
		mi.State, mi.Cursor = stateReady, ""
		m.Indexes[r.m.indexes[i].name] = mi
	}
	return wrapErr("Reindex", r.m.name, "", r.saveManifest(ctx, m))
}

// saveManifest writes m over the version it was read at, re-reading and
// merging index states if another writer changed it.
func (r *Repo[T]) saveManifest(ctx context.Context, m *manifest) error {
	for attempt := 0; ; attempt++ {
		err := r.writeManifest(ctx, m, object.PutOptions{IfMatch: m.version})
		if err == nil {
			r.attachMu.Lock()
			r.man = m
			r.attachMu.Unlock()
			return nil
		}
		if !errors.Is(err, object.ErrPrecondition) && !errors.Is(err, object.ErrConflict) || attempt >= r.o.MaxRetries {
			return err
		}
		cur, err := r.readManifest(ctx)
		if err != nil {
			return err
		}
		if cur == nil {
			return fmt.Errorf("manifest %s disappeared", r.manifestName())
		}
		for name, mi := range m.Indexes {
			cur.Indexes[name] = mi
		}
		m = cur
	}
}

// reindexRecord writes the entries and claims of indexes todo for one record.
func (r *Repo[T]) reindexRecord(ctx context.Context, seg string, todo []int) error {
	v, st, _, err := r.load(ctx, seg)
	if errors.Is(err, object.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	segs, err := r.indexOf(&v, nil)
	if err != nil {
		return err
	}
	text, _, _ := r.keyOf(&v)
	write := newWriteID()
	for _, i := range todo {
		s := segs[i]
		if s == "" {
			continue
		}
		ix := &r.m.indexes[i]
		if ix.unique {
			fv := fieldValue(&v, ix)
			// errBusy, errStaleBase: a claim of this very key exists and a
			// write of the record maintains it.
			if _, err := r.claim(ctx, ix, s, fv, claimBody{Key: text, Seg: seg, Write: write, Base: st.version}); err != nil && !errors.Is(err, errBusy) && !errors.Is(err, errStaleBase) {
				return err
			}
		}
		if _, err := r.st.Put(ctx, r.entryName(ix.name, s, seg, entryWrite(seg, write)), entryBody(write), object.PutOptions{}); err != nil {
			return err
		}
	}
	return nil
}
