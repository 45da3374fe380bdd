package encode

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// TestDescendReversesOrder checks that descending segments list in exactly
// the reverse order of their ascending forms, decode to the same ordered
// bytes, stay within a segment and use only the index alphabet.
func TestDescendReversesOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var vals [][]byte
	for _, s := range []string{"", "a", "a\x00", "a\x00\x00", "a\x01", "ab", "b", "\x00", "\xff", "\xff\xff"} {
		vals = append(vals, []byte(s))
	}
	for range 2000 {
		n := rng.IntN(8)
		if rng.IntN(10) == 0 {
			n = 150 + rng.IntN(200)
		}
		b := make([]byte, n)
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = 0
			case 1:
				b[i] = 0xFF
			default:
				b[i] = byte(rng.IntN(4))
			}
		}
		vals = append(vals, b)
	}
	type pair struct{ asc, desc string }
	var ps []pair
	for _, b := range vals {
		asc := EncodeIndexValue(b)
		desc, err := Descend(asc)
		if err != nil {
			t.Fatalf("Descend(%q): %v", asc, err)
		}
		if len(desc) > MaxSegment {
			t.Fatalf("Descend of %d bytes is %d long, over %d", len(b), len(desc), MaxSegment)
		}
		if !IsDescending(desc) || strings.Trim(desc[1:], lexAlphabet) != "" {
			t.Fatalf("Descend(%q) = %q: not a descending segment in the index alphabet", asc, desc)
		}
		ab, along, err := DecodeIndexValue(asc)
		if err != nil {
			t.Fatal(err)
		}
		db, dlong, err := DecodeIndexValue(desc)
		if err != nil {
			t.Fatalf("DecodeIndexValue(%q): %v", desc, err)
		}
		if !dlong && (along || !bytes.Equal(ab, db)) {
			t.Fatalf("value %q: ascending decodes to %q (long %v), descending to %q (long %v)", b, ab, along, db, dlong)
		}
		if dlong && !bytes.HasPrefix(ab, db) {
			t.Fatalf("value %q: long descending prefix %q is not a prefix of %q", b, db, ab)
		}
		ps = append(ps, pair{asc, desc})
	}
	// Listing order: "<seg>/" compared byte-wise.
	sort.Slice(ps, func(i, j int) bool { return ps[i].asc+"/" < ps[j].asc+"/" })
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		if a.asc == b.asc {
			if a.desc != b.desc {
				t.Fatalf("one value, two descending segments: %q %q", a.desc, b.desc)
			}
			continue
		}
		if !(b.desc+"/" < a.desc+"/") {
			t.Fatalf("ascending %q < %q but descending %q is not below %q", a.asc, b.asc, b.desc, a.desc)
		}
	}
}

func TestDescendRejectsBadInput(t *testing.T) {
	for _, s := range []string{"", "x", "v!"} {
		if _, err := Descend(s); err == nil {
			t.Errorf("Descend(%q): no error", s)
		}
	}
	for _, s := range []string{"w", "w0", "w~~~~"} {
		if _, _, err := DecodeIndexValue(s); err == nil {
			t.Errorf("DecodeIndexValue(%q): no error", s)
		}
	}
}
