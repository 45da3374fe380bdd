package tracker

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
)

// benc writes v in bencoding (BEP 3): strings, ints, lists and
// dictionaries with their keys sorted as raw byte strings.
func benc(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case string:
		buf.WriteString(strconv.Itoa(len(v)))
		buf.WriteByte(':')
		buf.WriteString(v)
	case []byte:
		benc(buf, string(v))
	case int:
		fmt.Fprintf(buf, "i%de", v)
	case int64:
		fmt.Fprintf(buf, "i%de", v)
	case []any:
		buf.WriteByte('l')
		for _, x := range v {
			benc(buf, x)
		}
		buf.WriteByte('e')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('d')
		for _, k := range keys {
			benc(buf, k)
			benc(buf, v[k])
		}
		buf.WriteByte('e')
	default:
		panic(fmt.Sprintf("tracker: bencode of %T", v))
	}
}
