// Package encode holds the two encodings behind object names, shared by
// package repo (the runtime) and package repo/gen (what generated code
// calls). It is internal: its names are free to change.
//
// Record segments (the <E(key)> of <model>/r/<E(key)>, also the last segment
// of index entries) use the readable encoding of [EncodeKeyString]: letters,
// digits, '-', '.' and '_' stand for themselves, everything else is escaped
// so that byte order of the encoded form is the order of the keys.
//
// Index values use [EncodeIndexValue]: the value's order-preserving bytes
// written in an order-preserving base-64 whose alphabet lies above '/', so
// that "<value>/" sorts exactly like the values and a LIST with StartAfter
// answers a range query.
//
// Errors returned here are plain messages ("empty key"); the callers wrap
// them with repo.ErrInvalid, so the package needs no import of repo.
package encode

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxSegment is the longest object-name segment we produce (file names on
// POSIX-backed servers are limited to 255 bytes).
const MaxSegment = 255

// Escape bytes for the readable key encoding. The encoded alphabet, in byte
// order, is: '!' escapes (bytes 0x00-0x2C), '-', '.', '0'-'9', 'A'-'Z', '_',
// 'a'-'z', '~' escapes (bytes 0x7B-0xFF). Bytes that fall in the gaps between
// literal runs ('/' after '.', ':'-'@' after '9', '['-'^' after 'Z', '`' after
// '_') are written as the literal that precedes the gap followed by "~~" and
// two hex digits: that sorts after the literal followed by anything else and
// before the next literal, exactly as the byte does.
const hexDigits = "0123456789ABCDEF"

func isKeyLiteral(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b == '-' || b == '.' || b == '_'
}

// gapAnchor returns the literal that precedes b's gap, or 0 if b is not in a gap.
func gapAnchor(b byte) byte {
	switch {
	case b == '/':
		return '.'
	case b >= ':' && b <= '@':
		return '9'
	case b >= '[' && b <= '^':
		return 'Z'
	case b == '`':
		return '_'
	}
	return 0
}

// EncodeKeyString returns the readable, order-preserving object-name segment
// for a string key: letters, digits, '-', '.' and '_' are kept, other bytes
// are escaped (a space becomes "!20", "é" becomes "~C3~A9"). Byte order of the
// results equals byte order of the inputs.
func EncodeKeyString(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isKeyLiteral(c):
			b.WriteByte(c)
		case c <= 0x2C:
			b.WriteByte('!')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		case c >= 0x7B:
			b.WriteByte('~')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(gapAnchor(c))
			b.WriteString("~~")
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// EncodeKeyInt returns the object-name segment for a signed integer key:
// "n" or "p" followed by 19 digits, so that keys list in numeric order
// (42 is "p0000000000000000042").
func EncodeKeyInt(v int64) string {
	if v < 0 {
		return "n" + pad(uint64(v-math.MinInt64), 19)
	}
	return "p" + pad(uint64(v), 19)
}

// EncodeKeyUint returns the object-name segment for an unsigned integer key:
// "p" followed by 20 digits.
func EncodeKeyUint(v uint64) string { return "p" + pad(v, 20) }

func pad(v uint64, width int) string {
	s := strconv.FormatUint(v, 10)
	return strings.Repeat("0", width-len(s)) + s
}

// CheckKeyString rejects string keys that cannot name an object.
func CheckKeyString(s string) error {
	switch {
	case s == "":
		return errors.New("empty key")
	case !utf8.ValidString(s):
		return fmt.Errorf("key %s is not valid UTF-8", quote(s))
	case s == "." || s == "..":
		return fmt.Errorf("key %q is reserved (it would name a directory)", s)
	}
	return nil
}

// KeyString returns the text and record segment of a string key, or an
// error for a key that cannot be stored.
func KeyString(s string) (text, seg string, err error) {
	if err := CheckKeyString(s); err != nil {
		return s, "", err
	}
	seg = EncodeKeyString(s)
	if len(seg) > MaxSegment {
		return s, "", fmt.Errorf("key is %d bytes once encoded for object names, the limit is %d (use the HashKeys option for long keys)", len(seg), MaxSegment)
	}
	return s, seg, nil
}

// KeyInt returns the text and record segment of a signed integer key.
func KeyInt(v int64) (text, seg string) {
	return strconv.FormatInt(v, 10), EncodeKeyInt(v)
}

// KeyUint returns the text and record segment of an unsigned integer key.
func KeyUint(v uint64) (text, seg string) {
	return strconv.FormatUint(v, 10), EncodeKeyUint(v)
}

// KeyText returns the text and record segment of a TextMarshaler key.
func KeyText(m encoding.TextMarshaler) (text, seg string, err error) {
	b, err := m.MarshalText()
	if err != nil {
		return "", "", fmt.Errorf("key MarshalText: %v", err)
	}
	return KeyString(string(b))
}

// --- index values ---

// lexAlphabet is a base-64 alphabet in ascending byte order, all above '/'.
const lexAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"

var lexIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(lexAlphabet); i++ {
		t[lexAlphabet[i]] = int8(i)
	}
	return t
}()

// LexEncode writes b in order-preserving base 64 (6 bits per character, most
// significant first, the last character padded with zero bits).
func LexEncode(dst *strings.Builder, b []byte) {
	var acc uint32
	var bits uint
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 6 {
			bits -= 6
			dst.WriteByte(lexAlphabet[(acc>>bits)&63])
		}
	}
	if bits > 0 {
		dst.WriteByte(lexAlphabet[(acc<<(6-bits))&63])
	}
}

func lexDecode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)*6/8)
	var acc uint32
	var bits uint
	for i := 0; i < len(s); i++ {
		v := lexIndex[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("bad character %q", s[i])
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out, nil
}

// Long index values: values whose ordered bytes exceed MaxValueBytes are
// stored as their first LongPrefix bytes followed by the first longHash
// bytes of their SHA-256. Equality stays exact (readers compare the record's
// real value); range queries over such values are exact in membership but
// order values that share their first LongPrefix bytes by hash.
const (
	MaxValueBytes = 160
	LongPrefix    = 160
	longHash      = 16
)

// EncodeIndexValue returns the index-value segment for ordered bytes b: "v"
// followed by b in order-preserving base 64 (or the long-value form).
func EncodeIndexValue(b []byte) string {
	var s strings.Builder
	s.Grow(2 + (len(b)*8+5)/6)
	s.WriteByte('v')
	if len(b) > MaxValueBytes {
		sum := sha256.Sum256(b)
		long := make([]byte, 0, LongPrefix+longHash)
		long = append(long, b[:LongPrefix]...)
		long = append(long, sum[:longHash]...)
		LexEncode(&s, long)
		return s.String()
	}
	LexEncode(&s, b)
	return s.String()
}

// DecodeIndexValue inverts EncodeIndexValue; long reports the hashed form,
// whose bytes are the prefix only.
//
// A descending segment (see Descend) decodes to the same ordered bytes as
// its ascending form.
func DecodeIndexValue(seg string) (b []byte, long bool, err error) {
	if strings.HasPrefix(seg, "w") {
		return decodeDesc(seg)
	}
	if !strings.HasPrefix(seg, "v") {
		return nil, false, fmt.Errorf("index value segment %q does not start with v", seg)
	}
	b, err = lexDecode(seg[1:])
	if err != nil {
		return nil, false, err
	}
	if len(b) > MaxValueBytes {
		return b[:LongPrefix], true, nil
	}
	return b, false, nil
}

// The Index* functions return the index segment of a value: its
// order-preserving bytes in the index encoding.

// IndexString returns the index segment of a string value.
func IndexString(s string) string { return EncodeIndexValue([]byte(s)) }

// IndexBool returns the index segment of a bool value.
func IndexBool(v bool) string {
	if v {
		return EncodeIndexValue([]byte{1})
	}
	return EncodeIndexValue([]byte{0})
}

// IndexInt returns the index segment of a signed integer value.
func IndexInt(v int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v)^(1<<63))
	return EncodeIndexValue(b[:])
}

// IndexUint returns the index segment of an unsigned integer value.
func IndexUint(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return EncodeIndexValue(b[:])
}

// IndexFloat returns the index segment of a float value. NaN has no place in
// an order and is an error; -0 is stored as 0.
func IndexFloat(v float64) (string, error) {
	if math.IsNaN(v) {
		return "", errors.New("NaN cannot be indexed")
	}
	if v == 0 {
		v = 0 // fold -0 into +0
	}
	bits := math.Float64bits(v)
	if bits&(1<<63) != 0 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], bits)
	return EncodeIndexValue(b[:]), nil
}

// IndexTime returns the index segment of a time value: its instant in UTC
// with nanoseconds (the location and monotonic reading are not part of it).
func IndexTime(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	return EncodeIndexValue(b[:])
}

// IndexText returns the index segment of a TextMarshaler value (its text).
func IndexText(m encoding.TextMarshaler) (string, error) {
	b, err := m.MarshalText()
	if err != nil {
		return "", fmt.Errorf("MarshalText: %v", err)
	}
	return EncodeIndexValue(b), nil
}

// maxQuoted is how many bytes of a key an error message quotes, as in
// package repo's messages.
const maxQuoted = 64

// quote returns s quoted for an error message: whole if it is at most
// maxQuoted bytes long, else its first maxQuoted bytes (cut at a rune
// boundary), an ellipsis and its length.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > maxQuoted-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// --- descending index values ---

// An index tagged desc stores its values order-inverted, so that a LIST
// (ascending only) yields the largest value first. The descending segment
// of a value is "w" followed, in the same base 64, by the bytes of its
// ascending form made prefix-free (each 0x00 written 0x00 0xFF, then the
// terminator 0x00 0x01) and inverted byte by byte (255-c). Prefix-freedom
// makes inversion reverse the order exactly: no inverted form is a prefix
// of another, so the first differing byte decides, and inversion flips it.
//
// A value whose prefix-free bytes would exceed descMaxBytes keeps the
// longest prefix whose prefix-free form fits in descPrefixBytes, then the
// long terminator 0x00 0x02 and 16 bytes of the SHA-256 of its ascending
// bytes: equality stays exact (readers compare the record's real value),
// and such values are ordered by that prefix.
const (
	descMaxBytes    = 178
	descPrefixBytes = 160
)

// Descend returns the descending segment for the ascending index segment
// asc (one returned by EncodeIndexValue or an Index* function).
func Descend(asc string) (string, error) {
	if !strings.HasPrefix(asc, "v") {
		return "", fmt.Errorf("index value segment %q does not start with v", asc)
	}
	raw, err := lexDecode(asc[1:])
	if err != nil {
		return "", err
	}
	e := make([]byte, 0, len(raw)+len(raw)/8+20)
	e = appendEscaped(e, raw)
	if len(e)+2 <= descMaxBytes {
		e = append(e, 0, 1)
	} else {
		e = e[:0]
		for i := 0; i < len(raw); i++ {
			n := 1
			if raw[i] == 0 {
				n = 2
			}
			if len(e)+n > descPrefixBytes {
				break
			}
			e = appendEscaped(e, raw[i:i+1])
		}
		sum := sha256.Sum256(raw)
		e = append(e, 0, 2)
		e = append(e, sum[:longHash]...)
	}
	for i := range e {
		e[i] = 255 - e[i]
	}
	var s strings.Builder
	s.Grow(1 + (len(e)*8+5)/6)
	s.WriteByte('w')
	LexEncode(&s, e)
	return s.String(), nil
}

func appendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		if c == 0 {
			dst = append(dst, 0, 0xFF)
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// decodeDesc inverts Descend to the value's ordered bytes (the prefix only
// for the long form, which long reports).
func decodeDesc(seg string) (b []byte, long bool, err error) {
	e, err := lexDecode(seg[1:])
	if err != nil {
		return nil, false, err
	}
	out := make([]byte, 0, len(e))
	for i := 0; i < len(e); i++ {
		c := 255 - e[i]
		if c != 0 {
			out = append(out, c)
			continue
		}
		if i+1 >= len(e) {
			break
		}
		switch 255 - e[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
			continue
		case 1:
			if i+2 != len(e) {
				return nil, false, fmt.Errorf("descending index value segment %q has bytes after its end", seg)
			}
			return ascOrdered(out), len(out) > MaxValueBytes, nil
		case 2:
			return out, true, nil
		}
		break
	}
	return nil, false, fmt.Errorf("descending index value segment %q is not terminated", seg)
}

// ascOrdered returns the ordered bytes of an ascending form's raw bytes:
// the long form's prefix where it is one.
func ascOrdered(raw []byte) []byte {
	if len(raw) > MaxValueBytes {
		return raw[:LongPrefix]
	}
	return raw
}

// IsDescending reports whether seg is a descending index value segment.
func IsDescending(seg string) bool { return strings.HasPrefix(seg, "w") }

// DescendFrom returns the lowest descending segment prefix of the values
// that start with the bytes b: where a LIST over a desc index starts for
// values at most b, or for values with prefix b. It is "w" and b made
// prefix-free and inverted as in Descend, without the terminator, cut to
// the prefix a long value keeps.
func DescendFrom(b []byte) string {
	e := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); i++ {
		n := 1
		if b[i] == 0 {
			n = 2
		}
		if len(e)+n > descPrefixBytes {
			break
		}
		e = appendEscaped(e, b[i:i+1])
	}
	for i := range e {
		e[i] = 255 - e[i]
	}
	var s strings.Builder
	s.WriteByte('w')
	LexEncode(&s, e)
	return s.String()
}
