package repo

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nodb-go/nodb/internal/tag"
)

// field is a struct field the runtime reads.
type field struct {
	name  string // Go field name
	index []int
	typ   reflect.Type
	kind  valueKind
	// json and opaque are set for models built from a manifest (see
	// dynamic.go): the member name, and a JSON form the tool cannot read.
	json   string
	opaque bool
}

// indexDef is one secondary index.
type indexDef struct {
	field
	unique bool
	sparse bool // omitempty: zero values are not indexed
	async  bool // maintained by the indexer, not by writers (indexer.go)
	desc   bool // values stored order-inverted (see descSegment)
	// list: the field is a slice whose every distinct element is indexed
	// (list.go); typ is the slice type, kind the elements' kind.
	list bool
}

// model is what New learns from a struct type's tags, once per type.
type model struct {
	typ     reflect.Type
	name    string // model name in the store
	key     field
	indexes []indexDef // sorted by field name
	byField map[string]int
	skip    [][]int   // nodb:"-" fields, zeroed before encoding
	expires *field    // the nodb:"expires" field, or nil (see expire.go)
	dyn     *dynModel // set for a model built from a manifest (dynamic.go)
}

var modelCache sync.Map // reflect.Type -> *model (without name)

// Tag grammar: nodb:"key", nodb:"index", nodb:"unique", with the option
// ",omitempty" on index and unique, ",async" on index, and nodb:"-" for
// fields not stored.

// parseModel validates T's tags and returns its model. Errors name the type,
// the field and the problem and wrap ErrInvalid.
func parseModel(t reflect.Type) (*model, error) {
	if m, ok := modelCache.Load(t); ok {
		return m.(*model), nil
	}
	m, err := buildModel(t)
	if err != nil {
		return nil, err
	}
	modelCache.Store(t, m)
	return m, nil
}

// checkKeyType and checkIndexType report whether a field type may be a key
// or be indexed, with the reason when not. codegen applies the same rules to
// go/types.
func checkKeyType(t reflect.Type) error {
	switch t.Kind() {
	case reflect.Interface:
		return fmt.Errorf("key type %s is an interface; use a concrete type", t)
	case reflect.Pointer:
		return fmt.Errorf("key type %s is a pointer; use the value type", t)
	}
	switch kindOf(t) {
	case kindString, kindInt, kindUint:
		return nil
	case kindText:
		return nil
	}
	return fmt.Errorf("key type %s is not a string, an integer or an encoding.TextMarshaler", t)
}

func checkIndexType(t reflect.Type) error {
	if t.Kind() == reflect.Interface {
		return fmt.Errorf("indexed type %s is an interface; index a concrete type", t)
	}
	if t.Kind() == reflect.Pointer {
		return fmt.Errorf("indexed type %s is a pointer; index the value type", t)
	}
	if isList(t) {
		e := t.Elem()
		switch {
		case e.Kind() == reflect.Uint8:
			return fmt.Errorf("type %s cannot be indexed: a byte slice is not a list of values (index a string)", t)
		case e.Kind() == reflect.Interface || e.Kind() == reflect.Pointer || e.Kind() == reflect.Slice:
			return fmt.Errorf("type %s cannot be indexed: a list's elements must be values of an indexable type, not %s", t, e)
		case kindOf(e) == kindInvalid:
			return fmt.Errorf("type %s cannot be indexed: its elements are %s (want string, bool, integer, float, time.Time or encoding.TextMarshaler)", t, e)
		}
		return nil
	}
	if kindOf(t) == kindInvalid {
		return fmt.Errorf("type %s cannot be indexed (want string, bool, integer, float, time.Time or encoding.TextMarshaler)", t)
	}
	return nil
}

// isList reports whether t is indexed as a list: a slice that is not an
// indexable kind itself (a TextMarshaler slice type such as net.IP is one
// value).
func isList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && kindOf(t) == kindInvalid
}

func buildModel(t reflect.Type) (*model, error) {
	if t.Kind() != reflect.Struct {
		return nil, invalidf("model %s is not a struct type", t)
	}
	m := &model{typ: t, byField: map[string]int{}}
	bad := func(f reflect.StructField, format string, args ...any) error {
		return invalidf("model %s field %s: %s", t, f.Name, fmt.Sprintf(format, args...))
	}
	var keys []string
	for _, f := range reflect.VisibleFields(t) {
		raw, ok := f.Tag.Lookup("nodb")
		if !ok {
			continue
		}
		tg, err := tag.Parse(raw)
		if err != nil {
			return nil, bad(f, "%v", err)
		}
		if tg.Unique && tg.Desc {
			// A unique value is stored as its claim, in ascending order only
			// (unique.go); Range on a unique field lists claims.
			return nil, bad(f, "unique fields cannot be desc yet: use nodb:\"unique\"")
		}
		if tg.Skip {
			if !f.IsExported() {
				continue
			}
			if len(f.Index) > 1 && viaPointer(t, f.Index) {
				return nil, bad(f, `nodb:"-" on a field promoted through an embedded pointer`)
			}
			m.skip = append(m.skip, f.Index)
			continue
		}
		if !f.IsExported() {
			return nil, bad(f, "is unexported; tagged fields must be exported")
		}
		if viaPointer(t, f.Index) {
			return nil, bad(f, "is promoted through an embedded pointer, which may be nil")
		}
		fl := field{name: f.Name, index: f.Index, typ: f.Type, kind: kindOf(f.Type)}
		if tg.Expires {
			if err := m.setExpires(fl); err != nil {
				return nil, bad(f, "%v", err)
			}
			continue
		}
		if tg.Key {
			if err := checkKeyType(f.Type); err != nil {
				return nil, bad(f, "%v", err)
			}
			keys = append(keys, f.Name)
			m.key = fl
			continue
		}
		if err := checkIndexType(f.Type); err != nil {
			return nil, bad(f, "%v", err)
		}
		if _, dup := m.byField[f.Name]; dup {
			return nil, bad(f, "indexed twice")
		}
		list := isList(f.Type)
		if list {
			if tg.Unique {
				// A claim per element would work, but every write would
				// then claim (and release) one object per element: k
				// conditional PUTs for a k-element list. Refused until a
				// user needs it; see the package doc, "Models".
				return nil, bad(f, `a slice cannot be unique (no two records sharing an element would cost one claim per element on every write); use nodb:"index"`)
			}
			fl.kind = kindOf(f.Type.Elem())
		}
		m.byField[f.Name] = len(m.indexes)
		m.indexes = append(m.indexes, indexDef{field: fl, unique: tg.Unique, sparse: tg.OmitEmpty, async: tg.Async, desc: tg.Desc, list: list})
	}
	switch len(keys) {
	case 0:
		return nil, invalidf(`model %s has no key field (tag one field nodb:"key")`, t)
	case 1:
	default:
		return nil, invalidf(`model %s has %d key fields (%s); tag exactly one nodb:"key"`, t, len(keys), strings.Join(keys, ", "))
	}
	sort.Slice(m.indexes, func(i, j int) bool { return m.indexes[i].name < m.indexes[j].name })
	for i, ix := range m.indexes {
		m.byField[ix.name] = i
	}
	return m, nil
}

func viaPointer(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Pointer {
			return true
		}
		t = f.Type
	}
	return false
}

// keyOf returns the text and record segment of the key held in v.
func (m *model) keyOf(v reflect.Value, hashed bool) (text, seg string, err error) {
	return m.keyFromValue(v.FieldByIndex(m.key.index), hashed)
}

// keyFromValue encodes a value of the key field's type.
func (m *model) keyFromValue(kv reflect.Value, hashed bool) (text, seg string, err error) {
	switch m.key.kind {
	case kindString:
		text, seg, err = keyString(kv.String())
	case kindInt:
		text, seg, err = keyInt(kv.Int())
	case kindUint:
		text, seg, err = keyUint(kv.Uint())
	case kindText:
		text, seg, err = keyFromText(kv.Interface().(encoding.TextMarshaler))
	default:
		return "", "", invalidf("key kind %s", m.key.kind)
	}
	if hashed && (err == nil || text != "" && errors.Is(err, ErrInvalid) && checkKeyString(text) == nil) {
		return text, hashSegment(text), nil
	}
	return text, seg, err
}

// keyArg converts a key passed as any to the key field's type, with a clear
// error for a wrong type.
func (m *model) keyArg(key any) (reflect.Value, error) {
	if key == nil {
		return reflect.Value{}, invalidf("nil key (the key field %s is %s)", m.key.name, m.key.typ)
	}
	v := reflect.ValueOf(key)
	ft := m.key.typ
	if v.Type() == ft {
		return v, nil
	}
	if v.Kind() == reflect.Pointer && v.Type().Elem() == ft && !v.IsNil() {
		return v.Elem(), nil
	}
	switch m.key.kind {
	case kindString:
		if v.Kind() == reflect.String {
			return v.Convert(ft), nil
		}
	case kindInt, kindUint:
		if out, ok := convertInteger(v, ft); ok {
			return out, nil
		}
		if isInteger(v.Kind()) {
			return reflect.Value{}, invalidf("key %v does not fit the key field %s of type %s", key, m.key.name, ft)
		}
	}
	return reflect.Value{}, invalidf("key of type %T, want %s (the type of the key field %s)", key, ft, m.key.name)
}

func isInteger(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uintptr
}

// convertInteger converts an integer value to integer type t if it fits.
func convertInteger(v reflect.Value, t reflect.Type) (reflect.Value, bool) {
	out := reflect.New(t).Elem()
	switch {
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		i := v.Int()
		switch {
		case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
			if out.OverflowInt(i) {
				return out, false
			}
			out.SetInt(i)
		case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr:
			if i < 0 || out.OverflowUint(uint64(i)) {
				return out, false
			}
			out.SetUint(uint64(i))
		default:
			return out, false
		}
	case v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uintptr:
		u := v.Uint()
		switch {
		case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
			if u > 1<<63-1 || out.OverflowInt(int64(u)) {
				return out, false
			}
			out.SetInt(int64(u))
		case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr:
			if out.OverflowUint(u) {
				return out, false
			}
			out.SetUint(u)
		default:
			return out, false
		}
	default:
		return out, false
	}
	return out, true
}

// valueArg converts a query value to index ix's field type.
func (ix *indexDef) valueArg(value any) (reflect.Value, error) {
	if value == nil {
		return reflect.Value{}, invalidf("nil value for field %s (type %s)", ix.name, ix.typ)
	}
	v := reflect.ValueOf(value)
	ft := ix.typ
	if ix.list {
		if v.Type() == ft {
			return reflect.Value{}, invalidf("value of type %T for list field %s: query one element (%s)", value, ix.name, ft.Elem())
		}
		ft = ft.Elem() // a query on a list field names one element
	}
	if v.Type() == ft {
		return v, nil
	}
	if v.Kind() == reflect.Pointer && v.Type().Elem() == ft && !v.IsNil() {
		return v.Elem(), nil
	}
	switch ix.kind {
	case kindString:
		if v.Kind() == reflect.String {
			return v.Convert(ft), nil
		}
	case kindBool:
		if v.Kind() == reflect.Bool {
			return v.Convert(ft), nil
		}
	case kindInt, kindUint:
		if out, ok := convertInteger(v, ft); ok {
			return out, nil
		}
		if isInteger(v.Kind()) {
			return reflect.Value{}, invalidf("value %v does not fit field %s of type %s", value, ix.name, ft)
		}
	case kindFloat:
		if v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64 {
			return v.Convert(ft), nil
		}
		if isInteger(v.Kind()) {
			return v.Convert(ft), nil
		}
	}
	return reflect.Value{}, invalidf("value of type %T for field %s, want %s", value, ix.name, ft)
}

// segment returns the index segment of field value fv, or "" if the index
// is sparse and fv is its zero value; for a list field, the set of its
// elements' segments (see list.go).
func (ix *indexDef) segment(fv reflect.Value) (string, error) {
	if ix.list {
		return ix.listSegment(fv)
	}
	return ix.valueSegment(fv)
}

// valueSegment returns the index segment of one value of the index's kind
// (a list field's element), or "" for a zero value of a sparse index.
func (ix *indexDef) valueSegment(fv reflect.Value) (string, error) {
	if ix.sparse && ix.isZero(fv) {
		return "", nil
	}
	seg, err := indexSegment(ix.kind, fv)
	if err != nil {
		return "", fmt.Errorf("field %s: %w", ix.name, err)
	}
	if ix.desc {
		return descSegment(seg)
	}
	return seg, nil
}

// isZero reports whether fv is the zero value for an omitempty index: for
// time.Time that is IsZero (any location), as generated code tests it.
func (ix *indexDef) isZero(fv reflect.Value) bool {
	if ix.kind == kindTime {
		return fv.Interface().(time.Time).IsZero()
	}
	return fv.IsZero()
}

// orderedBytes returns the full order-preserving bytes of field value fv,
// for exact range checks on values too long for an index segment.
func orderedBytes(k valueKind, fv reflect.Value) ([]byte, error) {
	switch k {
	case kindString:
		return []byte(fv.String()), nil
	case kindText:
		b, err := fv.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return nil, invalidf("MarshalText: %v", err)
		}
		return b, nil
	}
	seg, err := indexSegment(k, fv)
	if err != nil {
		return nil, err
	}
	b, _, err := decodeIndexValue(seg)
	return b, err
}
