// Package dynamic lets tools without a model's Go type (the nodb command)
// read and write a model through package repo's own protocol: a
// *repo.Repo[Doc] built from the model's manifest, whose values are JSON
// documents. Entries, unique claims, conditional writes, outcomes and
// errors are then the library's own.
//
// Package repo fills in New at init (as repo/internal/hook does for
// generated code), so repo's exported API does not grow: a program must
// import package repo for New to be set.
package dynamic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

// Doc is one model value as its stored JSON document (the "value" member
// of a record). Reads fill in the metadata of the record it came from.
type Doc struct {
	// JSON is the value document, a JSON object.
	JSON json.RawMessage
	// Version, Created, Updated and Schema describe the stored record a
	// read returned (zero for a Doc built by the caller).
	Version          string
	Created, Updated time.Time
	Schema           int
	// KeepCreated, when set on a Doc written as a new record, is stored as
	// the record's creation time instead of the time of the write (copy
	// and import keep the source's).
	KeepCreated time.Time
}

// MarshalJSON returns the document.
func (d Doc) MarshalJSON() ([]byte, error) {
	if len(d.JSON) == 0 {
		return []byte("null"), nil
	}
	return d.JSON, nil
}

// UnmarshalJSON keeps a copy of the document.
func (d *Doc) UnmarshalJSON(b []byte) error {
	d.JSON = append(json.RawMessage(nil), bytes.TrimSpace(b)...)
	return nil
}

// SetMeta records the metadata of the stored record d was read from.
// Package repo calls it on every read.
func (d *Doc) SetMeta(version string, created, updated time.Time, schema int) {
	d.Version, d.Created, d.Updated, d.Schema = version, created, updated, schema
}

// CreatedFor returns the creation time to store for a new record (zero:
// the time of the write). Package repo calls it.
func (d *Doc) CreatedFor() time.Time { return d.KeepCreated }

// Members decodes the document's top-level members.
func (d *Doc) Members() (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d.JSON, &m); err != nil || m == nil {
		return nil, fmt.Errorf("the value is not a JSON object")
	}
	return m, nil
}

// Text stands in for a TextMarshaler key or index field: its text.
type Text string

// MarshalText returns t.
func (t Text) MarshalText() ([]byte, error) { return []byte(t), nil }

// New returns a *repo.Repo[Doc] (as any) over st for the model that the
// manifest document describes, under the Options.Prefix prefix. It fails,
// naming what is missing, if the manifest cannot describe the model
// without its Go type (written by an older NoDB, a codec other than JSON).
// The Repo creates the manifest in st if st has none (copying a model) and
// refuses to change one that differs. Package repo sets it at init.
var New func(st object.Store, manifest []byte, prefix string) (any, error)

// AllCursor returns a cursor for r.AllPage (r a *repo.Repo[Doc]) that
// starts after key, or, with inclusive, at key. Package repo sets it at
// init.
var AllCursor func(r any, key any, inclusive bool) (string, error)

// ManifestFormat is the manifest format that describes a model fully; older
// manifests are upgraded by the next write of a program with the Go type.
const ManifestFormat = 2

// Manifest is what tools read of a model's manifest (<model>/_manifest).
// It mirrors the JSON that package repo writes; members it does not name
// are kept by repo and ignored here.
type Manifest struct {
	NoDB      int              `json:"nodb"`
	Format    int              `json:"format,omitempty"`
	Model     string           `json:"model"`
	KeyField  string           `json:"keyField"`
	KeyJSON   string           `json:"keyJSON,omitempty"`
	KeyKind   string           `json:"keyKind"`
	HashKeys  bool             `json:"hashKeys,omitempty"`
	Codec     string           `json:"codec"`
	Schema    int              `json:"schema,omitempty"`
	Fields    []Field          `json:"fields,omitempty"`
	Migrated  int              `json:"migrated,omitempty"`
	Indexes   map[string]Index `json:"indexes"`
	Migration *Migration       `json:"migration,omitempty"`
}

// Migration is the progress of a Migrate.
type Migration struct {
	To     int    `json:"to"`
	Cursor string `json:"cursor,omitempty"`
}

// Field is one stored field of a model.
type Field struct {
	Field string `json:"field"` // Go name
	JSON  string `json:"json"`  // member name in the stored value document
	Kind  string `json:"kind"`  // index kind (string, int, time.Time, ...), else the Go kind
}

// Index is one index of a model.
type Index struct {
	Kind   string `json:"kind"`
	JSON   string `json:"json,omitempty"` // the field's JSON name when built ("" unknown)
	Unique bool   `json:"unique,omitempty"`
	Sparse bool   `json:"sparse,omitempty"`
	// Opaque: the field's type has a JSON form of its own (it implements
	// json.Marshaler), so the index value cannot be computed from the
	// stored document without the Go type.
	Opaque bool `json:"opaque,omitempty"`
	// Async: writers do not maintain the index; the indexer does
	// (repo/indexer.go). Absent in manifests written before async indexes.
	Async  bool   `json:"async,omitempty"`
	Desc   bool   `json:"desc,omitempty"`   // values stored order-inverted
	State  string `json:"state"`            // "ready", "building" or "removed"
	Cursor string `json:"cursor,omitempty"` // Reindex progress: last record done
	// Reason says why the index is not ready, in words for an error.
	Reason string `json:"reason,omitempty"`
	// Sweep is set when the index may hold entries or claims that do not
	// match the model (its kind or JSON name changed, it was removed and
	// added back, a rebuild was asked for): Reindex then verifies every
	// entry and claim, not only the records.
	Sweep bool `json:"sweep,omitempty"`
	// Claims is set for a unique index stored as its claims alone: writers
	// write no entries for it (repo/unique.go). Unset on a unique index
	// written by an older version, whose writers keep writing entries
	// until Rebuild.
	Claims bool `json:"claims,omitempty"`
	// List: the field is a list (a JSON array) whose every element is
	// indexed; Kind is the elements' kind. Absent in manifests written
	// before list fields, whose indexes are all single values.
	List bool `json:"list,omitempty"`
}

// Active reports whether the model has the index (built or building).
func (ix Index) Active() bool { return ix.State == "ready" || ix.State == "building" }

// Lacks says, in words for an error, what an old manifest lacks for
// writes and index queries without the Go type, or "" if nothing.
func (m *Manifest) Lacks() string {
	var missing []string
	if m.Format < ManifestFormat {
		missing = append(missing, fmt.Sprintf("it is in format %d, before key JSON names were recorded", m.Format))
	}
	if m.KeyJSON == "" && m.Format >= ManifestFormat {
		missing = append(missing, fmt.Sprintf("the key field %s is not stored in the JSON document (json:\"-\")", m.KeyField))
	}
	for name, ix := range m.Indexes {
		if !ix.Active() {
			continue
		}
		if ix.JSON == "" {
			missing = append(missing, "index "+name+" has no JSON name")
		}
		if ix.Opaque {
			missing = append(missing, "index "+name+" is of a type with its own JSON form (json.Marshaler), so its value cannot be computed from the document")
		}
	}
	if m.Codec != "json" {
		missing = append(missing, fmt.Sprintf("its codec is %q, and only JSON records can be read without the Go type", m.Codec))
	}
	if len(missing) == 0 {
		return ""
	}
	out := missing[0]
	for _, s := range missing[1:] {
		out += "; " + s
	}
	return out
}
