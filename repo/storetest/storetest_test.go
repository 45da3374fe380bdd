package storetest_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo/internal/encode"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/storetest"
)

// TestMemstore checks the suite itself against the reference store.
func TestMemstore(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) (object.Store, func() object.Store) {
		st := memstore.New()
		return st, func() object.Store {
			other, err := memstore.Share(st)
			if err != nil {
				t.Fatal(err)
			}
			return other
		}
	})
}

// TestNoDBSegmentsArePortable checks that the segments NoDB's key layout
// builds object names from (record keys and index values, see
// repo/encoding.go) never hold what some S3-compatible servers rewrite or
// resolve: a backslash (SeaweedFS stores it as "/"), a "/" inside a segment,
// a "." or ".." segment; and that they pass object.CheckKey.
func TestNoDBSegmentsArePortable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var inputs []string
	for b := range 256 {
		inputs = append(inputs, string([]byte{byte(b)}), "a"+string([]byte{byte(b)})+"z")
	}
	inputs = append(inputs, `back\slash`, `\`, `..\..\x`, "a/b", ".", "..", "", "日本", "😀")
	for range 200 {
		b := make([]byte, 1+r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		inputs = append(inputs, string(b))
	}
	var segs []string
	for _, s := range inputs {
		text, err := encode.IndexText(textString(s))
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, encode.IndexString(s), text)
		if s != "" && s != "." && s != ".." { // keys the repo refuses before encoding
			segs = append(segs, encode.EncodeKeyString(s))
		}
	}
	for _, v := range []int64{math.MinInt64, -1, 0, 1, 92, math.MaxInt64} {
		segs = append(segs, encode.EncodeKeyInt(v), encode.IndexInt(v), encode.EncodeKeyUint(uint64(v)), encode.IndexUint(uint64(v)))
		f, err := encode.IndexFloat(float64(v) / 3)
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, f)
	}
	segs = append(segs, encode.IndexBool(false), encode.IndexBool(true),
		encode.IndexTime(time.Unix(-1e10, 5)), encode.IndexTime(time.Now()))
	seen := map[byte]bool{}
	for _, seg := range segs {
		switch {
		case strings.ContainsAny(seg, `\/`), seg == ".", seg == "..":
			t.Errorf("segment %q holds a backslash or a slash, or is a dot segment", seg)
		}
		if err := object.CheckKey("m/r/" + seg); err != nil && len(seg) <= object.MaxSegmentLen {
			t.Errorf("segment %q: %v", seg, err)
		}
		for i := range len(seg) {
			seen[seg[i]] = true
		}
	}
	// The index alphabet is all there, so the check saw every symbol.
	for _, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~" {
		if !seen[byte(c)] {
			t.Errorf("no segment used %q: the inputs do not cover the encodings", c)
		}
	}
}

type textString string

func (s textString) MarshalText() ([]byte, error) { return []byte(s), nil }
