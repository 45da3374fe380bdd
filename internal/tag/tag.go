// Package tag parses nodb struct tags. It is shared by the runtime (repo)
// and the generator (codegen), so that both apply the same rules, and is a
// leaf so that the generator does not pull in the runtime's dependencies.
//
// Grammar: nodb:"key", nodb:"index", nodb:"unique", with the options
// ",omitempty" and ",desc" on index and unique, the option ",async" on
// index (an index writers do not maintain; unique cannot be async),
// nodb:"expires" on the time.Time field that says when a record expires,
// and nodb:"-" for fields not stored.
package tag

import (
	"fmt"
	"strings"
)

// Tag is the parsed form of a nodb struct tag.
type Tag struct {
	Key, Index, Unique, Skip, OmitEmpty bool
	// Async marks an index that writers do not maintain: an indexer fed
	// by change events does.
	Async bool
	// Desc stores the index's values order-inverted, so that descending
	// queries list in storage order.
	Desc bool
	// Expires marks the field holding the record's expiry time.
	Expires bool
}

// Parse parses the value of a nodb struct tag ("key", "index",
// "unique,omitempty", "-").
func Parse(tag string) (Tag, error) {
	var t Tag
	if tag == "" {
		return t, nil
	}
	if tag == "-" {
		t.Skip = true
		return t, nil
	}
	parts := strings.Split(tag, ",")
	switch parts[0] {
	case "key":
		t.Key = true
	case "index":
		t.Index = true
	case "unique":
		t.Index, t.Unique = true, true
	case "expires":
		t.Expires = true
	case "":
		return t, fmt.Errorf("empty nodb tag name in %q (want key, index, unique, expires or -)", tag)
	default:
		return t, fmt.Errorf("unknown nodb tag %q (want key, index, unique, expires or -)", parts[0])
	}
	for _, opt := range parts[1:] {
		switch {
		case opt == "omitempty" && t.Index:
			t.OmitEmpty = true
		case opt == "omitempty":
			return t, fmt.Errorf("option omitempty applies to index and unique, not %q", parts[0])
		case opt == "async" && t.Unique:
			return t, fmt.Errorf("unique cannot be async in %q: uniqueness must hold when the record is written (use nodb:\"unique\", or nodb:\"index,async\" if the values need not be unique)", tag)
		case opt == "async" && t.Index:
			t.Async = true
		case opt == "async":
			return t, fmt.Errorf("option async applies to index, not %q", parts[0])
		case opt == "desc" && t.Index:
			t.Desc = true
		case opt == "desc":
			return t, fmt.Errorf("option desc applies to index and unique, not %q", parts[0])
		default:
			return t, fmt.Errorf("unknown nodb tag option %q in %q (want omitempty, desc or async)", opt, tag)
		}
	}
	return t, nil
}
