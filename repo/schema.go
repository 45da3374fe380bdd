package repo

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nodb-go/nodb/repo/internal/hook"
)

// Generated code (repo/gen.New, called by NewUserRepo) hands a Repo a
// schema that extracts the key and index values of a value without
// reflection. It reaches the Repo through repo/internal/hook, outside
// Options, so that no option can drop or replace it.

func init() {
	hook.UseSchema = func(r, s any) error {
		u, ok := r.(schemaUser)
		if !ok {
			return invalidf("generated schema for %T, which is not a *repo.Repo", r)
		}
		return u.useSchema(s)
	}
}

// schemaUser is implemented by every *Repo[T].
type schemaUser interface {
	useSchema(s any) error
}

// useSchema makes r use the generated schema s (a *hook.Schema[T]) after
// checking it against the struct's tags.
func (r *Repo[T]) useSchema(s any) error {
	sc, ok := s.(*hook.Schema[T])
	if !ok || sc == nil {
		return invalidf("New[%s]: schema is for another type (%T)", r.m.typ, s)
	}
	if err := checkSchema(sc, r.m); err != nil {
		return err
	}
	r.keyOf = func(v *T) (string, string, error) {
		text, seg, err := sc.KeyOf(v)
		if err != nil {
			return text, seg, err
		}
		if r.o.HashKeys {
			return text, hashSegment(text), nil
		}
		return text, seg, nil
	}
	r.indexOf = withDescending(r.m, sc.IndexOf)
	return nil
}

// checkSchema compares the generated schema with the struct's tags.
// Renamed or retyped key and indexed fields make generated code fail to
// compile; a changed nodb tag compiles, and is caught here, at New.
func checkSchema[T any](s *hook.Schema[T], m *model) error {
	want := make([]hook.Index, len(m.indexes))
	for i, ix := range m.indexes {
		want[i] = hook.Index{Field: ix.name, Unique: ix.unique, OmitEmpty: ix.sparse}
	}
	if s.Key == m.key.name && slices.Equal(s.Indexes, want) && s.KeyOf != nil && s.IndexOf != nil {
		return nil
	}
	var diffs []string
	if s.Key != m.key.name {
		diffs = append(diffs, fmt.Sprintf("the key is %s in the struct but %s in the generated code", m.key.name, s.Key))
	}
	gen := map[string]hook.Index{}
	for _, ix := range s.Indexes {
		gen[ix.Field] = ix
	}
	for _, w := range want {
		g, ok := gen[w.Field]
		delete(gen, w.Field)
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s is tagged %s in the struct but not indexed in the generated code", w.Field, indexTag(w)))
		case g != w:
			diffs = append(diffs, fmt.Sprintf("%s is tagged %s in the struct but %s in the generated code", w.Field, indexTag(w), indexTag(g)))
		}
	}
	for _, ix := range s.Indexes {
		if _, ok := gen[ix.Field]; ok {
			diffs = append(diffs, fmt.Sprintf("%s is indexed (%s) in the generated code but not tagged in the struct", ix.Field, indexTag(ix)))
		}
	}
	if s.KeyOf == nil || s.IndexOf == nil {
		diffs = append(diffs, "the generated code lacks its extractors")
	}
	return invalidf("the generated code for %s does not match the struct: %s; run go generate", m.typ, strings.Join(diffs, "; "))
}

// indexTag returns the nodb tag that describes ix.
func indexTag(ix hook.Index) string {
	t := "index"
	if ix.Unique {
		t = "unique"
	}
	if ix.OmitEmpty {
		t += ",omitempty"
	}
	return `nodb:"` + t + `"`
}
