// Package gen is the runtime support of the code nodbgen generates: the
// schema a generated constructor hands the runtime so that it extracts keys
// and index values without reflection, and the encoders that schema calls.
//
// Programs do not call it: they call the generated NewUserRepo and the
// methods of package repo. Its API follows what nodbgen emits and is
// covered by the module's compatibility promise only as far as generated
// code uses it.
//
// A generated file uses it like this:
//
//	func NewUserRepo(st object.Store, opts ...func(*repo.Options)) (*UserRepo, error) {
//		r, err := gen.New(st, &userSchema, opts...)
//		...
//	}
//
//	var userSchema = gen.Schema[User]{
//		Key:     UserFieldID,
//		Indexes: []gen.Index{{Field: UserFieldEmail, Unique: true}},
//		KeyOf: func(v *User) (string, string, error) {
//			return gen.KeyString(v.ID)
//		},
//		IndexOf: func(v *User, dst []string) ([]string, error) {
//			return append(dst, gen.IndexString(v.Email)), nil
//		},
//	}
package gen

import (
	"encoding"
	"fmt"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/internal/encode"
	"github.com/nodb-go/nodb/repo/internal/hook"
	"github.com/nodb-go/nodb/repo/object"
)

// Schema describes a model to the runtime without reflection. New checks
// that it matches the struct's tags, so a model changed without
// regenerating is an error, never a silently wrong index.
type Schema[T any] struct {
	// Key is the key field's name.
	Key string
	// Indexes are the indexed fields, sorted by name.
	Indexes []Index
	// KeyOf returns the key's text and its record segment (KeyString,
	// KeyInt, KeyUint or KeyText of the key).
	KeyOf func(v *T) (text, seg string, err error)
	// IndexOf appends to dst the index segment (IndexString, IndexInt, ...)
	// of each indexed field in Indexes order, "" for a zero value of an
	// omitempty index.
	IndexOf func(v *T, dst []string) ([]string, error)
}

// Index describes one indexed field in a Schema.
type Index struct {
	Field     string
	Unique    bool
	OmitEmpty bool
}

// New returns repo.New[T](st, opts...) made to use schema s instead of
// reflection. The schema is applied after opts and outside repo.Options,
// so no option can drop or replace it. A schema that does not match T's
// tags is an error wrapping repo.ErrInvalid that names the difference and
// says to run go generate.
func New[T any](st object.Store, s *Schema[T], opts ...func(*repo.Options)) (*repo.Repo[T], error) {
	r, err := repo.New[T](st, opts...)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: gen.New[%T]: nil schema", repo.ErrInvalid, *new(T))
	}
	hs := &hook.Schema[T]{Key: s.Key, KeyOf: s.KeyOf, IndexOf: s.IndexOf}
	if s.Indexes != nil {
		hs.Indexes = make([]hook.Index, len(s.Indexes))
		for i, ix := range s.Indexes {
			hs.Indexes[i] = hook.Index(ix)
		}
	}
	if err := hook.UseSchema(r, hs); err != nil {
		return nil, err
	}
	return r, nil
}

// invalid wraps an encoder's error with repo.ErrInvalid.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s", repo.ErrInvalid, err)
}

// KeyString returns the text and record segment of a string key, or an
// error wrapping repo.ErrInvalid for a key that cannot be stored.
func KeyString(s string) (text, seg string, err error) {
	text, seg, err = encode.KeyString(s)
	return text, seg, invalid(err)
}

// KeyInt returns the text and record segment of a signed integer key.
func KeyInt(v int64) (text, seg string, err error) {
	text, seg = encode.KeyInt(v)
	return text, seg, nil
}

// KeyUint returns the text and record segment of an unsigned integer key.
func KeyUint(v uint64) (text, seg string, err error) {
	text, seg = encode.KeyUint(v)
	return text, seg, nil
}

// KeyText returns the text and record segment of a TextMarshaler key.
func KeyText(m encoding.TextMarshaler) (text, seg string, err error) {
	text, seg, err = encode.KeyText(m)
	return text, seg, invalid(err)
}

// IndexString returns the index segment of a string value.
func IndexString(s string) string { return encode.IndexString(s) }

// IndexBool returns the index segment of a bool value.
func IndexBool(v bool) string { return encode.IndexBool(v) }

// IndexInt returns the index segment of a signed integer value.
func IndexInt(v int64) string { return encode.IndexInt(v) }

// IndexUint returns the index segment of an unsigned integer value.
func IndexUint(v uint64) string { return encode.IndexUint(v) }

// IndexFloat returns the index segment of a float value. NaN has no place
// in an order and is an error wrapping repo.ErrInvalid; -0 is stored as 0.
func IndexFloat(v float64) (string, error) {
	s, err := encode.IndexFloat(v)
	return s, invalid(err)
}

// IndexTime returns the index segment of a time value: its instant in UTC
// with nanoseconds (the location and monotonic reading are not part of it).
func IndexTime(t time.Time) string { return encode.IndexTime(t) }

// IndexText returns the index segment of a TextMarshaler value (its text).
func IndexText(m encoding.TextMarshaler) (string, error) {
	s, err := encode.IndexText(m)
	return s, invalid(err)
}

// IndexList returns the index value of a list field (an indexed slice):
// the set of its elements' segments, each made by enc ("" for an element
// an omitempty index skips), as the runtime stores it. An element enc
// fails on is an error naming its position.
func IndexList[E any](list []E, enc func(E) (string, error)) (string, error) {
	switch len(list) {
	case 0:
		return "", nil
	case 1:
		return enc(list[0])
	}
	segs := make([]string, len(list))
	for i, e := range list {
		s, err := enc(e)
		if err != nil {
			return "", fmt.Errorf("%w (element %d)", err, i)
		}
		segs[i] = s
	}
	return encode.JoinSet(segs), nil
}
