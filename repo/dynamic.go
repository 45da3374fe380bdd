package repo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo/object"
)

// Models without their Go type: the nodb command reads and writes a model
// as JSON documents (dynamic.Doc) through a Repo built from the model's
// manifest, so that entries, claims, conditional writes, outcomes and
// errors are the library's own. It reaches package repo through
// internal/dynamic, outside the exported API.
//
// The model of such a Repo has no struct type: its key and indexed fields
// carry stand-in Go types of their kinds (string, int64, uint64, float64,
// bool, time.Time, dynamic.Text) and their JSON names, and their values are
// read from the document's members, decoded as encoding/json would decode
// them into the Go type (a missing member or null is the zero value).

func init() {
	dynamic.New = newDynamic
	dynamic.AllCursor = func(r any, key any, inclusive bool) (string, error) {
		d, ok := r.(*Repo[dynamic.Doc])
		if !ok {
			return "", invalidf("AllCursor on %T", r)
		}
		_, seg, err := d.keySeg(key)
		if err != nil {
			return "", err
		}
		after := d.recordName(seg)
		if inclusive {
			after = after[:len(after)-1] // sorts before key and every key it prefixes
		}
		b, _ := json.Marshal(cursorData{After: after, Query: d.allQuery().fingerprint})
		return base64.RawURLEncoding.EncodeToString(b), nil
	}
}

// manifestFormat is the manifest format this package writes: format 2
// added KeyJSON and Index.Opaque, so that tools can work from the manifest
// alone. Older manifests are upgraded by the next attach of a Repo that
// has the Go type.
const manifestFormat = dynamic.ManifestFormat

// dynModel is what a model built from a manifest knows beyond indexDefs.
type dynModel struct {
	keyJSON string
	fields  []manifestField
}

var jsonMarshalerType = reflect.TypeFor[json.Marshaler]()

// opaqueJSON reports whether values of t have a JSON form of their own, so
// that a tool without the type cannot compute their index value.
func opaqueJSON(t reflect.Type, k valueKind) bool {
	if k == kindTime {
		return false
	}
	return t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType)
}

// jsonOf returns the JSON member name of field f of the model.
func (m *model) jsonOf(f *field) string {
	if m.dyn != nil {
		return f.json
	}
	return jsonName(m.typ, f.index)
}

// keyJSON returns the JSON member name of the key field.
func (m *model) keyJSON() string { return m.jsonOf(&m.key) }

// standIn returns the Go type that stands in for a field of kind k.
func standIn(kind string) (valueKind, reflect.Type, error) {
	switch kind {
	case "string":
		return kindString, reflect.TypeFor[string](), nil
	case "bool":
		return kindBool, reflect.TypeFor[bool](), nil
	case "int":
		return kindInt, reflect.TypeFor[int64](), nil
	case "uint":
		return kindUint, reflect.TypeFor[uint64](), nil
	case "float":
		return kindFloat, reflect.TypeFor[float64](), nil
	case "time.Time":
		return kindTime, timeType, nil
	case "TextMarshaler":
		return kindText, reflect.TypeFor[dynamic.Text](), nil
	}
	return kindInvalid, nil, fmt.Errorf("unknown kind %q", kind)
}

// newDynamic implements dynamic.New.
func newDynamic(st object.Store, manifestJSON []byte, prefix string) (any, error) {
	var man manifest
	if err := json.Unmarshal(manifestJSON, &man); err != nil || man.Indexes == nil {
		return nil, errorf(ErrCorrupt, "not a NoDB manifest")
	}
	if man.Codec != JSON.Name() {
		return nil, invalidf("model %s uses codec %q; only JSON records can be read without the Go type", man.Model, man.Codec)
	}
	kk, kt, err := standIn(man.KeyKind)
	if err != nil || (kk != kindString && kk != kindInt && kk != kindUint && kk != kindText) {
		return nil, invalidf("model %s: key kind %q cannot be read without the Go type", man.Model, man.KeyKind)
	}
	keyJSON := man.KeyJSON
	if keyJSON == "" && man.Format < manifestFormat {
		// Older manifests: the key's JSON name from the fields, else the
		// default encoding/json gives a field. Reads only; writes need
		// the manifest upgraded, and attach refuses to change it.
		keyJSON = man.KeyField
		for _, f := range man.Fields {
			if f.Field == man.KeyField {
				keyJSON = f.JSON
			}
		}
	}
	m := &model{
		typ:     reflect.TypeFor[dynamic.Doc](),
		name:    man.Model,
		key:     field{name: man.KeyField, typ: kt, kind: kk, json: keyJSON},
		byField: map[string]int{},
		dyn:     &dynModel{keyJSON: keyJSON, fields: man.Fields},
	}
	names := make([]string, 0, len(man.Indexes))
	for name, ix := range man.Indexes {
		if ix.State == stateReady || ix.State == stateBuilding {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		mi := man.Indexes[name]
		k, t, err := standIn(mi.Kind)
		if err != nil {
			return nil, invalidf("model %s index %s: %v", man.Model, name, err)
		}
		if mi.List {
			t = reflect.SliceOf(t) // the document's member is a JSON array
		}
		m.byField[name] = len(m.indexes)
		m.indexes = append(m.indexes, indexDef{field: field{name: name, typ: t, kind: k, json: mi.JSON, opaque: mi.Opaque}, unique: mi.Unique, sparse: mi.Sparse, async: mi.Async, desc: mi.Desc, list: mi.List})
	}
	if st == nil {
		return nil, invalidf("model %s: nil store", man.Model)
	}
	r, err := newRepo[dynamic.Doc](st, m, []func(*Options){func(o *Options) {
		o.Model = man.Model
		o.Prefix = prefix
		o.HashKeys = man.HashKeys
		o.SchemaVersion = man.Schema
	}})
	if err != nil {
		return nil, err
	}
	m = r.m
	r.keyOf = func(v *dynamic.Doc) (string, string, error) {
		members, err := v.Members()
		if err != nil {
			return "", "", invalidf("%v", err)
		}
		if _, ok := members[m.key.json]; !ok {
			return "", "", invalidf("the value has no member %q (the key field %s)", m.key.json, m.key.name)
		}
		kv, err := memberValue(members, &m.key)
		if err != nil {
			return "", "", invalidf("%v", err)
		}
		return m.keyFromValue(kv, r.o.HashKeys)
	}
	r.indexOf = func(v *dynamic.Doc, dst []string) ([]string, error) {
		members, err := v.Members()
		if err != nil {
			return nil, invalidf("%v", err)
		}
		for i := range m.indexes {
			ix := &m.indexes[i]
			if ix.opaque {
				return nil, invalidf("index %s holds a type with its own JSON form; its value cannot be computed without the Go type", ix.name)
			}
			fv, err := memberValue(members, &ix.field)
			if err != nil {
				return nil, invalidf("%v", err)
			}
			s, err := ix.segment(fv)
			if err != nil {
				return nil, invalidf("%v", err)
			}
			dst = append(dst, s)
		}
		return dst, nil
	}
	return r, nil
}

// docField returns the value of field f in document d, as its stand-in
// type.
func docField(d *dynamic.Doc, f *field) (reflect.Value, error) {
	members, err := d.Members()
	if err != nil {
		return reflect.Value{}, err
	}
	return memberValue(members, f)
}

// memberValue decodes the member of field f as encoding/json would decode
// it into a field of f's kind: a missing member or null is the zero value.
func memberValue(members map[string]json.RawMessage, f *field) (reflect.Value, error) {
	out := reflect.New(f.typ).Elem()
	if f.json == "" {
		return out, fmt.Errorf("field %s has no JSON name in the manifest", f.name)
	}
	raw, ok := members[f.json]
	if !ok || string(raw) == "null" {
		return out, nil
	}
	if f.typ.Kind() == reflect.Slice {
		// A list field: a JSON array of the elements' kind.
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			shown := string(raw)
			if len(shown) > 64 {
				shown = strings.ToValidUTF8(shown[:64], "") + "..."
			}
			return out, fmt.Errorf("field %s (%q): %s is not a JSON array", f.name, f.json, shown)
		}
		ef := *f
		ef.typ = f.typ.Elem()
		for i, e := range elems {
			ev, err := memberValue(map[string]json.RawMessage{f.json: e}, &ef)
			if err != nil {
				return out, fmt.Errorf("%w (element %d)", err, i)
			}
			out = reflect.Append(out, ev)
		}
		return out, nil
	}
	bad := func(want string) error {
		shown := string(raw)
		if len(shown) > 64 {
			shown = strings.ToValidUTF8(shown[:64], "") + "..."
		}
		return fmt.Errorf("field %s (%q): %s is not %s", f.name, f.json, shown, want)
	}
	switch f.kind {
	case kindString, kindText:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return out, bad("a JSON string")
		}
		out.SetString(s)
	case kindBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return out, bad("true or false")
		}
		out.SetBool(b)
	case kindInt:
		i, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return out, bad("an integer")
		}
		out.SetInt(i)
	case kindUint:
		u, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			return out, bad("an unsigned integer")
		}
		out.SetUint(u)
	case kindFloat:
		var x float64
		if err := json.Unmarshal(raw, &x); err != nil {
			return out, bad("a number")
		}
		out.SetFloat(x)
	case kindTime:
		var t time.Time
		if err := json.Unmarshal(raw, &t); err != nil {
			return out, bad("an RFC 3339 time")
		}
		out.Set(reflect.ValueOf(t))
	default:
		return out, fmt.Errorf("field %s: kind %s", f.name, f.kind)
	}
	return out, nil
}

// dynFieldValue is fieldValue for documents: the zero value where the
// document does not decode (indexOf reports that first).
func dynFieldValue(d *dynamic.Doc, f *field) reflect.Value {
	fv, err := docField(d, f)
	if err != nil {
		return reflect.New(f.typ).Elem()
	}
	return fv
}

// checkDynManifest refuses, for a Repo without the Go type, a change to
// the manifest it attached: it may create a model's manifest (copying a
// model into a store) but must not rewrite one from its partial knowledge.
func (r *Repo[T]) checkDynManifest(m *manifest, created bool) error {
	if r.m.dyn == nil || created {
		return nil
	}
	var why []string
	if m.Format < manifestFormat {
		why = append(why, fmt.Sprintf("the manifest is in format %d (an older NoDB); a write by a program with the Go type upgrades it", m.Format))
	} else {
		why = append(why, "the manifest differs from the one this tool read (another program changed the model)")
	}
	return invalidf("model %s: %s", r.m.name, strings.Join(why, "; "))
}
