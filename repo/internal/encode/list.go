package encode

import (
	"slices"
	"strings"
)

// ListSep separates the element segments of a list index's set of value
// segments; no segment contains it.
const ListSep = "/"

// JoinSet returns the set of segs (in any order, with duplicates, and ""
// for skipped zero values) as one string: sorted, distinct, joined with
// ListSep; "" for none. It sorts segs in place.
func JoinSet(segs []string) string {
	slices.Sort(segs)
	segs = slices.Compact(segs)
	if len(segs) > 0 && segs[0] == "" {
		segs = segs[1:]
	}
	return strings.Join(segs, ListSep)
}
