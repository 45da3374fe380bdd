package repo

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo/object"
)

// The manifest, <model>/_manifest, records what the bucket holds for a
// model: its key field, codec, and for each index whether it is built. A
// Repo reads it once, on its first write (models with indexes only) or
// query. An index that the manifest lacks while the model has records is
// "building": writers maintain it from then on, queries on it fail with
// ErrNotBuilt until Reindex has backfilled the old records.
//
// The manifest describes the model well enough for tools without the Go
// type (the nodb command, through dynamic.go): the key field's JSON name
// and kind, every stored field's JSON name, and each index's kind, JSON
// name, options and state. Format counts the additions: a manifest of an
// older format is upgraded by the next attach of a Repo that has the Go
// type (its first write or query), which fills in what was missing.

type manifest struct {
	NoDB int `json:"nodb"`
	// Format is manifestFormat when written by this version; 0 (absent)
	// before KeyJSON and Opaque were recorded.
	Format   int    `json:"format,omitempty"`
	Model    string `json:"model"`
	KeyField string `json:"keyField"`
	// KeyJSON is the key field's member name in the value document ("" if
	// json:"-" leaves it out).
	KeyJSON  string `json:"keyJSON,omitempty"`
	KeyKind  string `json:"keyKind"`
	HashKeys bool   `json:"hashKeys,omitempty"`
	Codec    string `json:"codec"`
	// Schema is the highest Options.SchemaVersion that has written to the
	// model, and Fields the fields of that version's model. A manifest
	// written before fields were recorded has none: unknown, not empty.
	Schema int             `json:"schema,omitempty"`
	Fields []manifestField `json:"fields,omitempty"`
	// Migrated is a schema version that every record had reached when a
	// Migrate last finished; Migration is the progress of one under way.
	Migrated  int                      `json:"migrated,omitempty"`
	Migration *manifestMigration       `json:"migration,omitempty"`
	Indexes   map[string]manifestIndex `json:"indexes"`

	version string
}

// The manifest's parts are defined once, in internal/dynamic, which the
// nodb command reads them with: a member added here reaches it too.
type (
	manifestField     = dynamic.Field
	manifestMigration = dynamic.Migration
	manifestIndex     = dynamic.Index
)

const (
	stateReady    = "ready"
	stateBuilding = "building"
	// stateRemoved: the model no longer has the index; its entries and
	// claims stay until DropIndex, and writers no longer maintain them.
	stateRemoved = "removed"
	// stateDropped: DropIndex deleted the index's objects. Kept so that an
	// index added back later is verified, not trusted.
	stateDropped = "dropped"
)

func (r *Repo[T]) manifestName() string { return r.base + "_manifest" }

func (r *Repo[T]) describe(ix *indexDef, state string) manifestIndex {
	opaque := ix.opaque
	if r.m.dyn == nil {
		t := ix.typ
		if ix.list {
			t = t.Elem()
		}
		opaque = opaqueJSON(t, ix.kind)
	}
	return manifestIndex{Kind: ix.kind.String(), JSON: r.m.jsonOf(&ix.field), Unique: ix.unique, Sparse: ix.sparse, Desc: ix.desc, Opaque: opaque, Async: ix.async, State: state, Claims: ix.unique, List: ix.list}
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
		newIndexState := ""
		stateOfNew := func() (string, error) {
			if newIndexState == "" {
				empty, err := r.empty(ctx)
				if err != nil {
					return "", err
				}
				newIndexState = stateBuilding
				if empty {
					newIndexState = stateReady
				}
			}
			return newIndexState, nil
		}
		opts := object.PutOptions{IfNoneMatch: "*"}
		if m == nil {
			state, err := stateOfNew()
			if err != nil {
				return nil, err
			}
			m = &manifest{NoDB: envelopeVersion, Format: manifestFormat, Model: r.m.name, KeyField: r.m.key.name, KeyJSON: r.m.keyJSON(), KeyKind: r.m.key.kind.String(),
				HashKeys: r.o.HashKeys, Codec: r.o.Codec.Name(), Schema: r.o.SchemaVersion, Fields: r.fields(),
				Indexes: map[string]manifestIndex{}}
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
				why := indexChange(have, want)
				if ok && why == "" {
					if have.JSON == "" || have.Opaque != want.Opaque { // recorded before JSON names (or Opaque) were
						have.JSON, have.Opaque = want.JSON, want.Opaque
						m.Indexes[ix.name] = have
						changed = true
					}
					if have.Async != want.Async { // made async: its entries stay valid
						have.Async = want.Async
						m.Indexes[ix.name] = have
						changed = true
					}
					continue
				}
				if !ok {
					if want.State, err = stateOfNew(); err != nil {
						return nil, err
					}
					if want.State != stateReady {
						want.Reason = "it was added to the model after records existed"
					}
				} else {
					if want.State, err = stateOfNew(); err != nil {
						return nil, err
					}
					if want.State != stateReady {
						want.Reason, want.Sweep = why, true
					}
				}
				m.Indexes[ix.name] = want
				changed = true
			}
			for name, have := range m.Indexes {
				if _, ok := r.m.byField[name]; !ok && (have.State == stateReady || have.State == stateBuilding) {
					have.State, have.Cursor, have.Reason = stateRemoved, "", "it is no longer in the model"
					m.Indexes[name] = have
					changed = true
				}
			}
			if r.o.SchemaVersion > m.Schema || r.o.SchemaVersion == m.Schema && m.Fields == nil {
				m.Schema, m.Fields = r.o.SchemaVersion, r.fields()
				changed = true
			}
			if m.Format < manifestFormat && r.m.dyn == nil {
				m.Format, m.KeyJSON = manifestFormat, r.m.keyJSON()
				changed = true
			}
			if !changed {
				r.man = m
				return m, nil
			}
			if err := r.checkDynManifest(m, false); err != nil {
				return nil, err
			}
			opts = object.PutOptions{IfMatch: m.version}
		}
		err = r.writeManifest(ctx, m, opts)
		if err == nil {
			r.man = m
			return m, nil
		}
		if !errors.Is(err, object.ErrPrecondition) && !errors.Is(err, object.ErrConcurrentRequest) && !errors.Is(err, object.ErrNotFound) || attempt >= r.o.MaxRetries {
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
	why := m.Indexes[ix.name].Reason
	if why == "" {
		why = "it was added to the model after records existed"
	}
	return errorf(ErrNotBuilt, "index %s of model %s is not built (%s): run Reindex", ix.name, r.m.name, why)
}
