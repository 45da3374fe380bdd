// Package bad has invalid models. Each line that should be reported says
// so with a want comment holding a regular expression.
package bad

import "time"

type UnknownTag struct {
	ID  string `nodb:"key"`
	Age int    `nodb:"idx"` // want `model UnknownTag field Age: unknown nodb tag "idx"`
}

type UnknownOption struct {
	ID  string `nodb:"key"`
	Age int    `nodb:"index,sparse"` // want `model UnknownOption field Age: unknown nodb tag option "sparse"`
}

type KeyOmitEmpty struct {
	ID string `nodb:"key,omitempty"` // want `field ID: option omitempty applies to index and unique, not "key"`
}

type NoKey struct { // want `model NoKey has no key field`
	Name string `nodb:"index"`
}

type TwoKeys struct { // want `model TwoKeys has 2 key fields \(A, B\)`
	A string `nodb:"key"`
	B string `nodb:"key"`
}

type FloatKey struct {
	ID float64 `nodb:"key"` // want `field ID: key type float64 is not a string, an integer or an encoding.TextMarshaler`
}

type PointerKey struct {
	ID *time.Time `nodb:"key"` // want `field ID: key type \*time.Time is a pointer; use the value type`
}

type PointerIndex struct {
	ID  string `nodb:"key"`
	Age *int   `nodb:"index"` // want `model PointerIndex field Age: indexed type \*int is a pointer; index the value type`
}

type SliceIndex struct {
	ID   string    `nodb:"key"`
	Tags []*string `nodb:"index"`  // want `field Tags: type \[\]\*string cannot be indexed: a list's elements must be values`
	Uniq []string  `nodb:"unique"` // want `field Uniq: a slice cannot be unique`
}

type Unexported struct {
	ID  string `nodb:"key"`
	age int    `nodb:"index"` // want `field age: is unexported; tagged fields must be exported`
}

type Inner struct {
	City string `nodb:"index"` // want `model ViaPointer field City: is promoted through an embedded pointer`
}

type ViaPointer struct {
	*Inner
	ID string `nodb:"key"`
}

type TypeError struct {
	ID   string  `nodb:"key"`
	Kind Missing `nodb:"index"` // want `model TypeError: undefined: Missing`
}

type Several struct {
	ID string `nodb:"key"`
	A  int    `nodb:"index,unique"` // want `field A: unknown nodb tag option "unique"`
	B  bool   `nodb:"uniq"`         // want `field B: unknown nodb tag "uniq"`
	C  []byte `nodb:"index"`        // want `field C: type \[\]byte cannot be indexed`
}

type Collide struct { // want `fields City and CityPage would both generate a method FindByCityPage`
	ID       string `nodb:"key"`
	City     string `nodb:"index"`
	CityPage string `nodb:"index"`
}

type NotStruct int // want `model NotStruct is not a struct type`

type Good struct {
	ID string `nodb:"key"`
}
