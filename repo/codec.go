package repo

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
)

// Codec turns values into bytes and back. Implementations must be safe for
// concurrent use. The codec's Name is stored with every record, so reading a
// record written with another codec is a clear error instead of garbage.
//
// There is no pickle-like codec that can execute code or construct arbitrary
// types on decode (the Python NoDB's default): a bucket is shared state, and
// whoever can write to it must not be able to run code in its readers.
// Codecs here decode only into the model's own type.
type Codec interface {
	// Name identifies the codec in stored records, e.g. "json".
	Name() string
	// Marshal encodes v, a pointer to a model value.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a pointer to a model value.
	Unmarshal(data []byte, v any) error
}

// JSON is the default codec: encoding/json, honouring json struct tags. A
// record body is a JSON document whose "value" member is the value, readable
// with jq or by any program that does not use this library.
var JSON Codec = jsonCodec{}

// Gob is a codec using encoding/gob: compact and fast for Go-only readers.
var Gob Codec = gobCodec{}

type jsonCodec struct{}

func (jsonCodec) Name() string                       { return "json" }
func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

type gobCodec struct{}

func (gobCodec) Name() string { return "gob" }
func (gobCodec) Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}
func (gobCodec) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}
