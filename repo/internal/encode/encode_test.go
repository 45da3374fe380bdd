package encode

import (
	"bytes"
	"math"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var keySeeds = []string{
	"", "a", "ab", "a b", "a-b", "a.b", "a/b", "a_b", "a~b", "a:b", "a@b", "a`b", "a[b", "a^b", "a{b",
	"9", "9:", "9~", "Z[", "_`", ".", "..", "./", "%", "+", "é", "日本", "🙂", "\x00", "\x7f", "\xff",
	"user-123", "alice@example.com", "../../x", strings.Repeat("z", 300),
}

func TestKeyEncodingOrderAndRoundTrip(t *testing.T) {
	seeds := append([]string(nil), keySeeds...)
	sort.Strings(seeds)
	var prev string
	for i, s := range seeds {
		enc := EncodeKeyString(s)
		if strings.Contains(enc, "/") {
			t.Errorf("EncodeKeyString(%q) = %q contains /", s, enc)
		}
		dec, err := decodeKeyString(enc)
		if err != nil || dec != s {
			t.Errorf("decode(EncodeKeyString(%q)=%q) = %q, %v", s, enc, dec, err)
		}
		if i > 0 && !(prev < enc) {
			t.Errorf("order: %q -> %q is not after %q -> %q", s, enc, seeds[i-1], prev)
		}
		prev = enc
	}
	if got := EncodeKeyString("alice"); got != "alice" {
		t.Errorf("printable key not readable: %q", got)
	}
	if got := EncodeKeyString("a b"); got != "a!20b" {
		t.Errorf("EncodeKeyString(a b) = %q", got)
	}
}

func FuzzKeyEncoding(f *testing.F) {
	for i, a := range keySeeds {
		f.Add(a, keySeeds[(i+1)%len(keySeeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ea, eb := EncodeKeyString(a), EncodeKeyString(b)
		if strings.Contains(ea, "/") {
			t.Fatalf("%q encodes with /", a)
		}
		if da, err := decodeKeyString(ea); err != nil || da != a {
			t.Fatalf("round trip %q -> %q -> %q, %v", a, ea, da, err)
		}
		if got, want := strings.Compare(ea, eb), strings.Compare(a, b); got != want {
			t.Fatalf("order of %q, %q is %d; encoded %q, %q is %d", a, b, want, ea, eb, got)
		}
	})
}

func TestIntKeyOrder(t *testing.T) {
	vals := []int64{math.MinInt64, -1000, -1, 0, 1, 9, 10, 42, 1000, math.MaxInt64}
	for i := 1; i < len(vals); i++ {
		if !(EncodeKeyInt(vals[i-1]) < EncodeKeyInt(vals[i])) {
			t.Errorf("EncodeKeyInt(%d)=%s !< EncodeKeyInt(%d)=%s", vals[i-1], EncodeKeyInt(vals[i-1]), vals[i], EncodeKeyInt(vals[i]))
		}
	}
	if got := EncodeKeyInt(42); got != "p0000000000000000042" {
		t.Errorf("EncodeKeyInt(42) = %s", got)
	}
	if !(EncodeKeyUint(9) < EncodeKeyUint(math.MaxUint64)) {
		t.Error("uint order")
	}
}

// entryOrder checks that "<seg>/" sorts as the values do, which is what a
// LIST of index entries relies on.
func entryOrder(t *testing.T, what string, a, b string, cmp int) {
	t.Helper()
	ea, eb := a+"/x", b+"/x"
	if got := strings.Compare(ea, eb); got != cmp {
		t.Fatalf("%s: entries %q, %q compare %d, values compare %d", what, ea, eb, got, cmp)
	}
}

func FuzzIndexString(f *testing.F) {
	for i, a := range keySeeds {
		f.Add(a, keySeeds[(i+3)%len(keySeeds)])
	}
	f.Add(strings.Repeat("a", 200), strings.Repeat("a", 161))
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, sb := IndexString(a), IndexString(b)
		for _, s := range []string{sa, sb} {
			if strings.ContainsAny(s, "/.") || len(s) > MaxSegment || len(s) < 1 {
				t.Fatalf("bad segment %q", s)
			}
		}
		da, long, err := DecodeIndexValue(sa)
		if err != nil {
			t.Fatal(err)
		}
		if !long && string(da) != a || long && !strings.HasPrefix(a, string(da)) {
			t.Fatalf("round trip %q -> %q -> %q", a, sa, da)
		}
		if (sa == sb) != (a == b) {
			t.Fatalf("equality of %q, %q not kept", a, b)
		}
		cmp := strings.Compare(a, b)
		if len(a) > MaxValueBytes && len(b) > MaxValueBytes && a[:LongPrefix] == b[:LongPrefix] {
			return // ordered by hash, documented
		}
		entryOrder(t, "string", sa, sb, cmp)
	})
}

func FuzzIndexNumbers(f *testing.F) {
	f.Add(int64(0), int64(1), 0.0, 1.5)
	f.Add(int64(-1), int64(1), -0.5, 0.5)
	f.Add(int64(math.MinInt64), int64(math.MaxInt64), math.Inf(-1), math.Inf(1))
	f.Add(int64(-300), int64(-2), -1e300, -1e-300)
	f.Fuzz(func(t *testing.T, a, b int64, x, y float64) {
		entryOrder(t, "int", IndexInt(a), IndexInt(b), cmp3(a, b))
		entryOrder(t, "uint", IndexUint(uint64(a)), IndexUint(uint64(b)), cmp3(uint64(a), uint64(b)))
		if math.IsNaN(x) || math.IsNaN(y) {
			if _, err := IndexFloat(math.NaN()); err == nil {
				t.Fatal("NaN accepted")
			}
			return
		}
		sx, _ := IndexFloat(x)
		sy, _ := IndexFloat(y)
		entryOrder(t, "float", sx, sy, cmp3(x, y))
		ta, tb := time.Unix(a/2, int64(uint64(b)%1e9)).UTC(), time.Unix(b/2, int64(uint64(a)%1e9)).UTC()
		entryOrder(t, "time", IndexTime(ta), IndexTime(tb), ta.Compare(tb))
	})
}

func cmp3[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestIndexValueSpecials(t *testing.T) {
	neg, _ := IndexFloat(math.Copysign(0, -1))
	pos, _ := IndexFloat(0)
	if neg != pos {
		t.Errorf("-0 and 0 index differently: %q %q", neg, pos)
	}
	if IndexBool(false) >= IndexBool(true) {
		t.Error("false should sort before true")
	}
	zero := IndexTime(time.Time{})
	if zero >= IndexTime(time.Unix(0, 0)) {
		t.Error("zero time should sort first")
	}
	paris := time.FixedZone("CET", 3600)
	now := time.Now()
	if IndexTime(now) != IndexTime(now.In(paris)) {
		t.Error("the same instant in two zones indexes differently")
	}
	if !utf8.ValidString(IndexString("\xff")) {
		t.Error("segment not UTF-8")
	}
	long := strings.Repeat("x", 1000)
	if s := IndexString(long); len(s) > MaxSegment || s == IndexString(long+"y") {
		t.Errorf("long value segment %d bytes, distinct=%v", len(s), s != IndexString(long+"y"))
	}
	b, _, _ := DecodeIndexValue(IndexString("abc"))
	if !bytes.Equal(b, []byte("abc")) {
		t.Error("decode")
	}
}
