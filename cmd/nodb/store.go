package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
)

// openStore opens url; the caller closes it with closeStore.
func (e *env) openStore(url string) (object.Store, error) {
	st, err := repo.Open(e.ctx, url)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return st, nil
}

func closeStore(st object.Store) {
	if c, ok := st.(io.Closer); ok {
		c.Close()
	}
}

func (e *env) base() string {
	p := e.prefix
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// modelInfo is a model found in a store.
type modelInfo struct {
	Name     string
	Manifest *dynamic.Manifest // nil: the model has no manifest
	Raw      []byte            // the manifest as stored
}

// models lists the models under the prefix: one LIST request per model
// (it skips over each model's objects), then one GET per manifest.
func models(e *env, st object.Store) ([]modelInfo, error) {
	base := e.base()
	var out []modelInfo
	after := ""
	for {
		page, err := st.List(e.ctx, object.ListOptions{Prefix: base, StartAfter: after, PageSize: 1})
		if err != nil {
			return nil, fmt.Errorf("store %s unreachable or unreadable: %w", e.store, err)
		}
		if len(page.Objects) == 0 {
			break
		}
		rest := page.Objects[0].Key[len(base):]
		name, _, ok := strings.Cut(rest, "/")
		if !ok { // an object that is not a model's
			after = page.Objects[0].Key
			continue
		}
		after = base + name + "/\U0010FFFF"
		mi, err := readModel(e, st, name)
		if err != nil {
			return nil, err
		}
		out = append(out, *mi)
	}
	return out, nil
}

// readModel reads a model's manifest.
func readModel(e *env, st object.Store, name string) (*modelInfo, error) {
	obj, err := st.Get(e.ctx, e.base()+name+"/_manifest", object.GetOptions{})
	if errors.Is(err, object.ErrNotFound) {
		return &modelInfo{Name: name}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: reading the manifest of %s: %w", e.store, name, err)
	}
	m := new(dynamic.Manifest)
	if err := json.Unmarshal(obj.Body, m); err != nil || m.Indexes == nil {
		return nil, fmt.Errorf("model %s: %s is not a NoDB manifest", name, obj.Key)
	}
	return &modelInfo{Name: name, Manifest: m, Raw: obj.Body}, nil
}

// model is a model opened for reading and writing as JSON documents.
type model struct {
	info *modelInfo
	man  *dynamic.Manifest
	r    *repo.Repo[dynamic.Doc]
}

// openModel opens model name of st. An unknown model is an error listing
// the models the store has.
func openModel(e *env, st object.Store, name string) (*model, error) {
	mi, err := readModel(e, st, name)
	if err != nil {
		return nil, err
	}
	if mi.Manifest == nil {
		all, err := models(e, st)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, m := range all {
			if m.Name == name {
				return nil, fmt.Errorf("model %s has no manifest (a program wrote it without indexes and never queried it); nodb needs one: run Reindex once from the program", name)
			}
			names = append(names, m.Name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("unknown model %q: store %s has no models", name, e.store)
		}
		return nil, fmt.Errorf("unknown model %q: store %s has %s", name, e.store, strings.Join(names, ", "))
	}
	return openFrom(e, st, mi)
}

func openFrom(e *env, st object.Store, mi *modelInfo) (*model, error) {
	r, err := dynamic.New(st, mi.Raw, e.prefix)
	if err != nil {
		return nil, err
	}
	return &model{info: mi, man: mi.Manifest, r: r.(*repo.Repo[dynamic.Doc])}, nil
}

// writable returns an error saying why writes and index queries cannot be
// made without the Go type, or nil.
func (m *model) writable(what string) error {
	if why := m.man.Lacks(); why != "" {
		return fmt.Errorf("cannot %s model %s without its Go type: its manifest %s; a write or query from a program with the Go type upgrades it", what, m.info.Name, why)
	}
	return nil
}

// index returns the manifest's index on field (a Go field name, or the
// JSON name).
func (m *model) index(field string) (string, dynamic.Index, error) {
	if ix, ok := m.man.Indexes[field]; ok && ix.Active() {
		return field, ix, nil
	}
	for name, ix := range m.man.Indexes {
		if ix.Active() && ix.JSON == field {
			return name, ix, nil
		}
	}
	var names []string
	for name, ix := range m.man.Indexes {
		if ix.Active() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "", dynamic.Index{}, usagef("model %s has no indexes", m.info.Name)
	}
	return "", dynamic.Index{}, usagef("model %s has no index on %q (indexed: %s)", m.info.Name, field, strings.Join(names, ", "))
}

// parseValue converts a value typed on the command line to the Go value of
// an index of kind.
func parseValue(field, kind, s string) (any, error) {
	bad := func(want string) error {
		return usagef("value %q for index %s: want %s (the index is of kind %s)", s, field, want, kind)
	}
	switch kind {
	case "string":
		return s, nil
	case "TextMarshaler":
		return dynamic.Text(s), nil
	case "int":
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, bad("an integer")
		}
		return v, nil
	case "uint":
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, bad("an unsigned integer")
		}
		return v, nil
	case "float":
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, bad("a number")
		}
		return v, nil
	case "bool":
		v, err := strconv.ParseBool(s)
		if err != nil {
			return nil, bad("true or false")
		}
		return v, nil
	case "time.Time":
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, bad("an RFC 3339 time such as 2026-01-02T15:04:05Z")
		}
		return v, nil
	}
	return nil, fmt.Errorf("index %s is of kind %s, which nodb cannot convert", field, kind)
}

// keyArg converts a key typed on the command line to the key's kind.
func (m *model) keyArg(s string) (any, error) {
	v, err := parseValue("key "+m.man.KeyField, m.man.KeyKind, s)
	if err != nil {
		return nil, usagef("key %q of model %s: want %s", s, m.info.Name, kindWord(m.man.KeyKind))
	}
	return v, nil
}

func kindWord(kind string) string {
	switch kind {
	case "int":
		return "an integer"
	case "uint":
		return "an unsigned integer"
	}
	return "a " + kind
}

// keyOf returns the key of a document: its JSON member and the key as
// keyArg would give it.
func (m *model) keyOf(d *dynamic.Doc) (json.RawMessage, any, error) {
	members, err := d.Members()
	if err != nil {
		return nil, nil, err
	}
	raw, ok := members[m.man.KeyJSON]
	if !ok {
		return nil, nil, fmt.Errorf("the value has no member %q (the key field %s)", m.man.KeyJSON, m.man.KeyField)
	}
	var s string
	switch m.man.KeyKind {
	case "string", "TextMarshaler":
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, nil, fmt.Errorf("key member %q: %s is not a string", m.man.KeyJSON, raw)
		}
	default:
		s = string(raw)
	}
	k, err := parseValue("key", m.man.KeyKind, s)
	if err != nil {
		return nil, nil, fmt.Errorf("key member %q: %s is not %s", m.man.KeyJSON, raw, kindWord(m.man.KeyKind))
	}
	return raw, k, nil
}

// keyText shows a key member as text.
func keyText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	fi, err := file.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// confirm asks before an operation that deletes or overwrites many
// records: --yes, or a "y" on a terminal.
func (e *env) confirm(what string) error {
	if e.yes {
		return nil
	}
	if !isTerminal(e.stdin) {
		return usagef("%s: pass --yes to confirm (stdin is not a terminal, so nodb cannot ask)", what)
	}
	fmt.Fprintf(e.stderr, "%s. Go on? [y/N] ", what)
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return fmt.Errorf("not confirmed")
	}
	return nil
}

// recordLine is one record in export files and in --json output of get
// --meta: the value with its metadata.
type recordLine struct {
	Key     json.RawMessage `json:"key"`
	Version string          `json:"version,omitempty"`
	Created *time.Time      `json:"created,omitempty"`
	Updated *time.Time      `json:"updated,omitempty"`
	Schema  int             `json:"schema"`
	Value   json.RawMessage `json:"value"`
}

func (m *model) line(d *dynamic.Doc) (recordLine, error) {
	key, _, err := m.keyOf(d)
	if err != nil {
		return recordLine{}, err
	}
	l := recordLine{Key: key, Version: d.Version, Schema: d.Schema, Value: d.JSON}
	if !d.Created.IsZero() {
		c, u := d.Created, d.Updated
		l.Created, l.Updated = &c, &u
	}
	return l, nil
}
