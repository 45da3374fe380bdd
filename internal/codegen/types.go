package codegen

import (
	"fmt"
	"go/token"
	"go/types"
	"reflect"

	"github.com/nodb-go/nodb/internal/tag"
)

// The runtime's model rules (repo/model.go and kindOf in repo/encoding.go),
// applied to go/types instead of reflect.

// parseTag parses a nodb tag with the runtime's own parser.
func parseTag(s string) (tag.Tag, error) { return tag.Parse(s) }

func isInterface(t types.Type) bool {
	_, ok := t.Underlying().(*types.Interface)
	return ok
}

// textMarshaler is encoding.TextMarshaler, built here so that the model's
// package need not import encoding.
var textMarshaler = func() *types.Interface {
	errType := types.Universe.Lookup("error").Type()
	results := types.NewTuple(
		types.NewVar(token.NoPos, nil, "", types.NewSlice(types.Typ[types.Byte])),
		types.NewVar(token.NoPos, nil, "", errType),
	)
	sig := types.NewSignatureType(nil, nil, nil, nil, results, false)
	m := types.NewFunc(token.NoPos, nil, "MarshalText", sig)
	return types.NewInterfaceType([]*types.Func{m}, nil).Complete()
}()

// isTime reports whether t is time.Time.
func isTime(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == "time" && obj.Name() == "Time"
}

// kindOf classifies t exactly as the runtime's kindOf classifies its
// reflect.Type: time.Time first, then TextMarshalers (by the method set of
// t itself, as reflect.Type.Implements), then the underlying basic kind.
func kindOf(t types.Type) Kind {
	if isTime(t) {
		return KindTime
	}
	if types.Implements(t, textMarshaler) {
		return KindText
	}
	b, ok := t.Underlying().(*types.Basic)
	if !ok {
		return KindInvalid
	}
	switch b.Kind() {
	case types.String:
		return KindString
	case types.Bool:
		return KindBool
	case types.Int, types.Int8, types.Int16, types.Int32, types.Int64:
		return KindInt
	case types.Uint, types.Uint8, types.Uint16, types.Uint32, types.Uint64, types.Uintptr:
		return KindUint
	case types.Float32, types.Float64:
		return KindFloat
	}
	return KindInvalid
}

func isPointer(t types.Type) bool {
	_, ok := t.Underlying().(*types.Pointer)
	return ok
}

// checkKeyType is the runtime's checkKeyType.
func checkKeyType(t types.Type, k Kind, q types.Qualifier) error {
	if isInterface(t) {
		return fmt.Errorf("key type %s is an interface; use a concrete type", types.TypeString(t, q))
	}
	if isPointer(t) {
		return fmt.Errorf("key type %s is a pointer; use the value type", types.TypeString(t, q))
	}
	switch k {
	case KindString, KindInt, KindUint, KindText:
		return nil
	}
	return fmt.Errorf("key type %s is not a string, an integer or an encoding.TextMarshaler", types.TypeString(t, q))
}

// checkIndexType is the runtime's checkIndexType.
// listElem returns the element type of t if t is indexed as a list (a
// slice that is not an indexable kind itself, as the runtime's isList),
// else nil.
func listElem(t types.Type) types.Type {
	s, ok := t.Underlying().(*types.Slice)
	if !ok || kindOf(t) != KindInvalid {
		return nil
	}
	return s.Elem()
}

func checkIndexType(t types.Type, k Kind, q types.Qualifier) error {
	if isInterface(t) {
		return fmt.Errorf("indexed type %s is an interface; index a concrete type", types.TypeString(t, q))
	}
	if isPointer(t) {
		return fmt.Errorf("indexed type %s is a pointer; index the value type", types.TypeString(t, q))
	}
	if e := listElem(t); e != nil {
		ts := types.TypeString(t, q)
		if b, ok := e.Underlying().(*types.Basic); ok && b.Kind() == types.Uint8 {
			return fmt.Errorf("type %s cannot be indexed: a byte slice is not a list of values (index a string)", ts)
		}
		switch e.Underlying().(type) {
		case *types.Interface, *types.Pointer, *types.Slice:
			return fmt.Errorf("type %s cannot be indexed: a list's elements must be values of an indexable type, not %s", ts, types.TypeString(e, q))
		}
		if kindOf(e) == KindInvalid {
			return fmt.Errorf("type %s cannot be indexed: its elements are %s (want string, bool, integer, float, time.Time or encoding.TextMarshaler)", ts, types.TypeString(e, q))
		}
		return nil
	}
	if k == KindInvalid {
		return fmt.Errorf("type %s cannot be indexed (want string, bool, integer, float, time.Time or encoding.TextMarshaler)", types.TypeString(t, q))
	}
	return nil
}

// hasInvalid reports whether t is or contains an unresolved type.
func hasInvalid(t types.Type) bool {
	switch t := t.(type) {
	case *types.Basic:
		return t.Kind() == types.Invalid
	case *types.Pointer:
		return hasInvalid(t.Elem())
	case *types.Slice:
		return hasInvalid(t.Elem())
	case *types.Array:
		return hasInvalid(t.Elem())
	case *types.Map:
		return hasInvalid(t.Key()) || hasInvalid(t.Elem())
	case *types.Named:
		for a := range t.TypeArgs().Types() {
			if hasInvalid(a) {
				return true
			}
		}
		return hasInvalid(t.Underlying())
	case *types.Alias:
		return hasInvalid(types.Unalias(t))
	}
	return false
}

// nameable reports an error unless generated code in package pkgPath can
// spell t: a key or index type appears in the generated signatures.
func nameable(t types.Type, pkgPath string) error {
	switch t := t.(type) {
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			return fmt.Errorf("type %s is not supported", t)
		}
		return nil
	case *types.Pointer:
		return nameable(t.Elem(), pkgPath)
	case *types.Slice:
		return nameable(t.Elem(), pkgPath)
	case *types.Array:
		return nameable(t.Elem(), pkgPath)
	case *types.Map:
		if err := nameable(t.Key(), pkgPath); err != nil {
			return err
		}
		return nameable(t.Elem(), pkgPath)
	case interface {
		Obj() *types.TypeName
		TypeArgs() *types.TypeList
	}: // *types.Named, *types.Alias
		obj := t.Obj()
		if obj.Pkg() != nil && obj.Pkg().Path() != pkgPath && !obj.Exported() {
			return fmt.Errorf("type %s is unexported in package %s, so generated code cannot name it", obj.Name(), obj.Pkg().Path())
		}
		if obj.Parent() != nil && obj.Pkg() != nil && obj.Parent() != obj.Pkg().Scope() {
			return fmt.Errorf("type %s is local to a function", obj.Name())
		}
		for a := range t.TypeArgs().Types() {
			if err := nameable(a, pkgPath); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("type %s has no name that generated code can use; declare a named type", t)
}

// vfield is a visible field of a struct, as reflect.VisibleFields sees it.
type vfield struct {
	v      *types.Var
	index  []int
	tag    string // the nodb tag's value
	tagged bool   // the field has a nodb tag
	hidden bool
}

// visibleFields is reflect.VisibleFields on go/types: all fields reachable
// by a selector, promoted fields included, in index preorder; fields hidden
// by a shallower one of the same name, or cancelled by one at the same
// depth, are left out.
func visibleFields(st *types.Struct) []vfield {
	w := &fieldWalker{byName: map[string]int{}, visiting: map[types.Type]bool{}}
	w.walk(st, st)
	out := w.fields[:0]
	for _, f := range w.fields {
		if !f.hidden {
			out = append(out, f)
		}
	}
	return out
}

type fieldWalker struct {
	byName   map[string]int
	visiting map[types.Type]bool
	fields   []vfield
	index    []int
}

func (w *fieldWalker) walk(id types.Type, st *types.Struct) {
	if w.visiting[id] {
		return
	}
	w.visiting[id] = true
	for i := range st.NumFields() {
		v := st.Field(i)
		w.index = append(w.index, i)
		add := true
		if old, ok := w.byName[v.Name()]; ok {
			of := &w.fields[old]
			switch {
			case len(w.index) == len(of.index):
				of.hidden = true
				add = false
			case len(w.index) < len(of.index):
				of.hidden = true
			default:
				add = false
			}
		}
		if add {
			tag, tagged := reflect.StructTag(st.Tag(i)).Lookup("nodb")
			w.byName[v.Name()] = len(w.fields)
			w.fields = append(w.fields, vfield{v: v, index: append([]int(nil), w.index...), tag: tag, tagged: tagged})
		}
		if v.Embedded() {
			t := types.Unalias(v.Type())
			if p, ok := t.(*types.Pointer); ok {
				t = types.Unalias(p.Elem())
			}
			if est, ok := t.Underlying().(*types.Struct); ok {
				w.walk(t, est)
			}
		}
		w.index = w.index[:len(w.index)-1]
	}
	delete(w.visiting, id)
}

// viaPointer reports whether the field at index path is reached through an
// embedded pointer.
func viaPointer(st *types.Struct, index []int) bool {
	for _, i := range index[:len(index)-1] {
		t := st.Field(i).Type()
		if _, ok := types.Unalias(t).Underlying().(*types.Pointer); ok {
			return true
		}
		st, _ = t.Underlying().(*types.Struct)
		if st == nil {
			return false
		}
	}
	return false
}
