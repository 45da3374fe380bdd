package repo

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestEncodeFramed: a value encoded with room before it (marshalJSONFramed)
// is what json.Marshal makes, and the record encode writes around it is
// byte for byte the one it writes around a copy of the value, whether the
// room is large enough (no copy) or not (the copying path).
func TestEncodeFramed(t *testing.T) {
	value := map[string]any{"ID": "k", "Note": "<&> \" \n \u2028", "N": 1.5}
	ref, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	for _, room := range []int{0, 10, 4096} {
		buf, err := marshalJSONFramed(value, room)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[room:], ref) {
			t.Fatalf("room %d: framed value %q, json.Marshal %q", room, buf[room:], ref)
		}
		env := &envelope{NoDB: envelopeVersion, Model: "M", Key: "k\"<", Codec: "json", Write: "w1", Prev: "w0",
			Index: map[string]ixState{"City": {V: "Paris", E: "e1", W: "w"}}, Value: buf[room:], buf: buf, room: room}
		got, err := env.encode()
		if err != nil {
			t.Fatal(err)
		}
		plain := *env
		plain.buf, plain.room, plain.Value = nil, 0, bytes.Clone(ref)
		want, err := plain.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("room %d: framed record\n%s\nwant\n%s", room, got, want)
		}
		if framed := env.framed(env.Value, 1); framed != (room > 0) {
			t.Errorf("room %d: framed = %v", room, framed)
		}
		back, err := decodeMeta(got)
		if err != nil || back.Key != env.Key || back.Index["City"] != env.Index["City"] || back.Value != nil {
			t.Errorf("room %d: decodeMeta = %+v, %v", room, back, err)
		}
	}
}
