package repo

import (
	"strings"

	"github.com/nodb-go/nodb/repo/internal/encode"
)

// Descending indexes: nodb:"index,desc" (or "unique,desc") stores the
// index's values order-inverted (see encode.Descend), so that S3's
// ascending LIST yields the largest value first: the first page of the n
// largest values costs 1 LIST and n GETs. Such an index answers ascending
// queries by listing the whole range first, the mirror of what a plain
// index does for descending ones. Entry names keep their layout
// (<index>/<value>/<key>), with a value segment starting "w" where a plain
// one starts "v"; both decode to the same ordered bytes, so everything
// that reads entry names (splitEntry, Check, Reindex) reads both.

// descSegment returns the descending form of the ascending segment seg.
func descSegment(seg string) (string, error) {
	d, err := encode.Descend(seg)
	return d, invalid(err)
}

// descSet returns the descending form of an indexOf string: of each
// element's segment for a list's set, which is sorted again.
func descSet(set string) (string, error) {
	if !strings.Contains(set, listSep) {
		return descSegment(set)
	}
	segs := strings.Split(set, listSep)
	for i, s := range segs {
		d, err := descSegment(s)
		if err != nil {
			return "", err
		}
		segs[i] = d
	}
	return joinSegs(segs), nil
}

// withDescending wraps a generated IndexOf, which returns the ascending
// segments of all indexes, so that desc indexes get their descending
// form. The generated code need not know the option: the runtime reads
// it from the struct's tags.
func withDescending[T any](m *model, indexOf func(v *T, dst []string) ([]string, error)) func(v *T, dst []string) ([]string, error) {
	var desc []int
	for i, ix := range m.indexes {
		if ix.desc {
			desc = append(desc, i)
		}
	}
	if len(desc) == 0 {
		return indexOf
	}
	return func(v *T, dst []string) ([]string, error) {
		n := len(dst)
		out, err := indexOf(v, dst)
		if err != nil {
			return out, err
		}
		for _, i := range desc {
			if s := out[n+i]; s != "" {
				if out[n+i], err = descSet(s); err != nil {
					return nil, invalidf("field %s: %v", m.indexes[i].name, err)
				}
			}
		}
		return out, nil
	}
}
