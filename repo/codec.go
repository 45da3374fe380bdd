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

// marshalJSONFramed encodes v as json.Marshal does, into a buffer with room
// free bytes before the value and one after it: envelope.encode writes the
// record's metadata into the room and its closing brace after the value, so
// that the value, which may be most of the record, is not copied into a
// second buffer. It returns the buffer; the value is buf[room:].
//
// encoding/json builds the whole value in its own buffer before handing it
// over (json.Marshal then copies it out; an Encoder writes it to its
// writer once), so that buffer and this one are the two copies a Put of a
// large value holds besides the caller's value.
func marshalJSONFramed(v any, room int) ([]byte, error) {
	w := framedWriter{room: room}
	if err := json.NewEncoder(&w).Encode(v); err != nil {
		return nil, err
	}
	// Encode ends the value with a newline, which json.Marshal does not.
	if n := len(w.buf); n > room && w.buf[n-1] == '\n' {
		w.buf = w.buf[:n-1]
	}
	return w.buf, nil
}

// framedWriter collects what a json.Encoder writes after room free bytes,
// sized on the first write (an Encoder writes once per value) with one byte
// to spare.
type framedWriter struct {
	buf  []byte
	room int
}

func (w *framedWriter) Write(p []byte) (int, error) {
	if w.buf == nil {
		w.buf = make([]byte, w.room, w.room+len(p)+1)
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}
