package repo

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/nodb-go/nodb/repo/internal/encode"
)

// The encodings behind object names live in repo/internal/encode, shared
// with repo/gen (what generated code calls): record segments in the
// readable key encoding, index values in an order-preserving base 64 (see
// that package's documentation). This file adapts them to the runtime:
// their errors wrap ErrInvalid here, and reflect.Values are dispatched by
// kind.

// maxSegment is the longest object-name segment we produce.
const maxSegment = encode.MaxSegment

// longPrefix is how many leading value bytes a long index value keeps.
const longPrefix = encode.LongPrefix

// lexEncode writes b in the order-preserving base 64 of index values.
func lexEncode(dst *strings.Builder, b []byte) { encode.LexEncode(dst, b) }

// decodeIndexValue inverts the index-value encoding of an index segment;
// long reports the hashed form, whose bytes are the prefix only.
func decodeIndexValue(seg string) (b []byte, long bool, err error) {
	return encode.DecodeIndexValue(seg)
}

// hashSegment returns the hashed-key mode's segment: a SHA-256 hex digest.
func hashSegment(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// invalid wraps an error of package encode with ErrInvalid.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	return invalidf("%s", err)
}

// keyString returns the text and record segment of a string key, or an
// error wrapping ErrInvalid for a key that cannot be stored.
func keyString(s string) (text, seg string, err error) {
	text, seg, err = encode.KeyString(s)
	return text, seg, invalid(err)
}

// keyInt returns the text and record segment of a signed integer key.
func keyInt(v int64) (text, seg string, err error) {
	text, seg = encode.KeyInt(v)
	return text, seg, nil
}

// keyUint returns the text and record segment of an unsigned integer key.
func keyUint(v uint64) (text, seg string, err error) {
	text, seg = encode.KeyUint(v)
	return text, seg, nil
}

// keyFromText returns the text and record segment of a TextMarshaler key.
func keyFromText(m encoding.TextMarshaler) (text, seg string, err error) {
	text, seg, err = encode.KeyText(m)
	return text, seg, invalid(err)
}

// checkKeyString rejects string keys that cannot name an object.
func checkKeyString(s string) error { return invalid(encode.CheckKeyString(s)) }

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

// indexSegment encodes v (a value of a field of kind k) as an index segment.
func indexSegment(k valueKind, v reflect.Value) (string, error) {
	switch k {
	case kindString:
		return encode.IndexString(v.String()), nil
	case kindBool:
		return encode.IndexBool(v.Bool()), nil
	case kindInt:
		return encode.IndexInt(v.Int()), nil
	case kindUint:
		return encode.IndexUint(v.Uint()), nil
	case kindFloat:
		s, err := encode.IndexFloat(v.Float())
		return s, invalid(err)
	case kindTime:
		return encode.IndexTime(v.Interface().(time.Time)), nil
	case kindText:
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return "", fmt.Errorf("%w: nil %s cannot be indexed", ErrInvalid, v.Type())
		}
		s, err := encode.IndexText(v.Interface().(encoding.TextMarshaler))
		return s, invalid(err)
	}
	return "", fmt.Errorf("%w: kind %s cannot be indexed", ErrInvalid, k)
}
