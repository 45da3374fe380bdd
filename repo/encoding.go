package repo

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the two encodings behind object names.
//
// Record segments (the <E(key)> of <model>/r/<E(key)>, also the last segment
// of index entries) use the readable encoding of [EncodeKeyString]: letters,
// digits, '-', '.' and '_' stand for themselves, everything else is escaped
// so that byte order of the encoded form is the order of the keys.
//
// Index values use [encodeValue]: the value's order-preserving bytes written
// in an order-preserving base-64 whose alphabet lies above '/', so that
// "<value>/" sorts exactly like the values and a LIST with StartAfter answers
// a range query.

// maxSegment is the longest object-name segment we produce (file names on
// POSIX-backed servers are limited to 255 bytes).
const maxSegment = 255

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
// results equals byte order of the inputs. It is exported for generated code.
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
// (42 is "p0000000000000000042"). It is exported for generated code.
func EncodeKeyInt(v int64) string {
	if v < 0 {
		return "n" + pad(uint64(v-math.MinInt64), 19)
	}
	return "p" + pad(uint64(v), 19)
}

// EncodeKeyUint returns the object-name segment for an unsigned integer key:
// "p" followed by 20 digits. It is exported for generated code.
func EncodeKeyUint(v uint64) string { return "p" + pad(v, 20) }

func pad(v uint64, width int) string {
	s := strconv.FormatUint(v, 10)
	return strings.Repeat("0", width-len(s)) + s
}

// hashSegment returns the hashed-key mode's segment: a SHA-256 hex digest.
func hashSegment(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
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

// lexEncode writes b in order-preserving base 64 (6 bits per character, most
// significant first, the last character padded with zero bits).
func lexEncode(dst *strings.Builder, b []byte) {
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

// Long index values: values whose ordered bytes exceed maxValueBytes are
// stored as their first longPrefix bytes followed by the first longHash
// bytes of their SHA-256. Equality stays exact (readers compare the record's
// real value); range queries over such values are exact in membership but
// order values that share their first longPrefix bytes by hash.
const (
	maxValueBytes = 160
	longPrefix    = 160
	longHash      = 16
)

// encodeValue returns the index-value segment for ordered bytes b: "v"
// followed by b in order-preserving base 64 (or the long-value form).
func encodeValue(b []byte) string {
	var s strings.Builder
	s.Grow(2 + (len(b)*8+5)/6)
	s.WriteByte('v')
	if len(b) > maxValueBytes {
		sum := sha256.Sum256(b)
		long := make([]byte, 0, longPrefix+longHash)
		long = append(long, b[:longPrefix]...)
		long = append(long, sum[:longHash]...)
		lexEncode(&s, long)
		return s.String()
	}
	lexEncode(&s, b)
	return s.String()
}

// decodeValue inverts encodeValue; long reports the hashed form, whose
// bytes are the prefix only.
func decodeValue(seg string) (b []byte, long bool, err error) {
	if !strings.HasPrefix(seg, "v") {
		return nil, false, fmt.Errorf("index value segment %q does not start with v", seg)
	}
	b, err = lexDecode(seg[1:])
	if err != nil {
		return nil, false, err
	}
	if len(b) > maxValueBytes {
		return b[:longPrefix], true, nil
	}
	return b, false, nil
}

// valueKind is the kind of an indexed field or key.
type valueKind uint8

const (
	kindInvalid valueKind = iota
	kindString
	kindBool
	kindInt
	kindUint
	kindFloat
	kindTime
	kindText // encoding.TextMarshaler
)

func (k valueKind) String() string {
	return [...]string{"invalid", "string", "bool", "int", "uint", "float", "time.Time", "TextMarshaler"}[k]
}

// ordered reports whether Range is meaningful for the kind.
func (k valueKind) ordered() bool { return k != kindBool && k != kindInvalid }

var (
	timeType          = reflect.TypeFor[time.Time]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// kindOf classifies a field type for indexing or as a key.
func kindOf(t reflect.Type) valueKind {
	if t == timeType {
		return kindTime
	}
	if t.Implements(textMarshalerType) {
		return kindText
	}
	switch t.Kind() {
	case reflect.String:
		return kindString
	case reflect.Bool:
		return kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return kindUint
	case reflect.Float32, reflect.Float64:
		return kindFloat
	}
	return kindInvalid
}

// The Index* functions return the index segment of a value: its
// order-preserving bytes in the index encoding. They are exported for
// generated code; users never need them.

// IndexString returns the index segment of a string value.
func IndexString(s string) string { return encodeValue([]byte(s)) }

// IndexBool returns the index segment of a bool value.
func IndexBool(v bool) string {
	if v {
		return encodeValue([]byte{1})
	}
	return encodeValue([]byte{0})
}

// IndexInt returns the index segment of a signed integer value.
func IndexInt(v int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v)^(1<<63))
	return encodeValue(b[:])
}

// IndexUint returns the index segment of an unsigned integer value.
func IndexUint(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return encodeValue(b[:])
}

// IndexFloat returns the index segment of a float value. NaN has no place in
// an order and is an error; -0 is stored as 0.
func IndexFloat(v float64) (string, error) {
	if math.IsNaN(v) {
		return "", fmt.Errorf("%w: NaN cannot be indexed", ErrInvalid)
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
	return encodeValue(b[:]), nil
}

// IndexTime returns the index segment of a time value: its instant in UTC
// with nanoseconds (the location and monotonic reading are not part of it).
func IndexTime(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	return encodeValue(b[:])
}

// IndexText returns the index segment of a TextMarshaler value (its text).
func IndexText(m encoding.TextMarshaler) (string, error) {
	b, err := m.MarshalText()
	if err != nil {
		return "", fmt.Errorf("%w: MarshalText: %v", ErrInvalid, err)
	}
	return encodeValue(b), nil
}

// indexSegment encodes v (a value of a field of kind k) as an index segment.
func indexSegment(k valueKind, v reflect.Value) (string, error) {
	switch k {
	case kindString:
		return IndexString(v.String()), nil
	case kindBool:
		return IndexBool(v.Bool()), nil
	case kindInt:
		return IndexInt(v.Int()), nil
	case kindUint:
		return IndexUint(v.Uint()), nil
	case kindFloat:
		return IndexFloat(v.Float())
	case kindTime:
		return IndexTime(v.Interface().(time.Time)), nil
	case kindText:
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return "", fmt.Errorf("%w: nil %s cannot be indexed", ErrInvalid, v.Type())
		}
		return IndexText(v.Interface().(encoding.TextMarshaler))
	}
	return "", fmt.Errorf("%w: kind %s cannot be indexed", ErrInvalid, k)
}

// checkKeyString rejects string keys that cannot name an object.
func checkKeyString(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty key", ErrInvalid)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: key %s is not valid UTF-8", ErrInvalid, quote(s))
	case s == "." || s == "..":
		return fmt.Errorf("%w: key %q is reserved (it would name a directory)", ErrInvalid, s)
	}
	return nil
}
