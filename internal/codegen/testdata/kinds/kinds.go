// Package kinds has models with every kind of key and index.
package kinds

import (
	"net"
	"net/netip"
	"strings"
	"time"
)

// repo, object and gen are taken: the generated imports need aliases.
var repo, object, gen = 1, 2, 3

// Name is a named string type.
type Name string

// Level is a TextMarshaler over an integer.
type Level int8

func (l Level) MarshalText() ([]byte, error) { return []byte(strings.Repeat("*", int(l))), nil }

// Code is a comparable struct TextMarshaler.
type Code struct{ A, B byte }

func (c Code) MarshalText() ([]byte, error) { return []byte{c.A, c.B}, nil }

// Stamp is an alias.
type Stamp = time.Time

// Base is embedded: its fields are promoted.
type Base struct {
	Tenant string `nodb:"index"`
	Hidden string `nodb:"-"`
}

// Everything has one index of each kind.
type Everything struct {
	Base
	ID      Name       `nodb:"key"`
	S       string     `nodb:"unique"`
	NS      Name       `nodb:"index,omitempty"`
	B       bool       `nodb:"index"`
	NB      bool       `nodb:"index,omitempty"`
	I8      int8       `nodb:"index"`
	I64     int64      `nodb:"index,omitempty"`
	U16     uint16     `nodb:"index"`
	UP      uintptr    `nodb:"index"`
	F32     float32    `nodb:"index"`
	F64     float64    `nodb:"unique,omitempty"`
	T       time.Time  `nodb:"index"`
	TS      Stamp      `nodb:"index,omitempty"`
	Lvl     Level      `nodb:"index,omitempty"`
	C       Code       `nodb:"index,omitempty"`
	Addr    netip.Addr `nodb:"index"`
	IP      net.IP     `nodb:"index,omitempty"`
	Skipped []string   `nodb:"-"`
	// Lists: every element indexed.
	Tags  []string    `nodb:"index"`
	Names []Name      `nodb:"index,omitempty"`
	Fs    []float32   `nodb:"index"`
	Lvls  []Level     `nodb:"index,omitempty"`
	Times []time.Time `nodb:"index,desc"`
	Plain map[string]int
}

// ByNumber has an unsigned key and no index.
type ByNumber struct {
	N    uint32 `nodb:"key"`
	Note string
}

// ByAddr has a TextMarshaler key.
type ByAddr struct {
	Addr netip.Addr `nodb:"key"`
	Seen int        `nodb:"index"`
}

// event is unexported.
type event struct {
	Seq  int   `nodb:"key"`
	Kind uint8 `nodb:"index"`
}

// NotAModel has no key: without -type it is not generated.
type NotAModel struct {
	X string `nodb:"index"`
}
