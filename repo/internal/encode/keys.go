package encode

import (
	"fmt"
	"strings"
)

// unhex returns the value of an upper-case hex digit.
func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DecodeKeyString inverts EncodeKeyString: keys-only queries read keys
// from object names without fetching the records.
func DecodeKeyString(s string) (string, error) { return decodeKeyString(s) }

func decodeKeyString(s string) (string, error) {
	out := make([]byte, 0, len(s))
	hexAt := func(i int) (byte, error) {
		if i+2 > len(s) {
			return 0, fmt.Errorf("truncated escape in %q", s)
		}
		h, ok1 := unhex(s[i])
		l, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("bad escape in %q", s)
		}
		return h<<4 | l, nil
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isKeyLiteral(c):
			if strings.HasPrefix(s[i+1:], "~~") {
				v, err := hexAt(i + 3)
				if err != nil || gapAnchor(v) != c {
					return "", fmt.Errorf("bad gap escape in %q", s)
				}
				out = append(out, v)
				i += 5
				continue
			}
			out = append(out, c)
			i++
		case c == '!' || c == '~':
			v, err := hexAt(i + 1)
			if err != nil {
				return "", err
			}
			if (c == '!') != (v <= 0x2C) || (c == '~') != (v >= 0x7B) {
				return "", fmt.Errorf("bad escape in %q", s)
			}
			out = append(out, v)
			i += 3
		default:
			return "", fmt.Errorf("unexpected byte %q in %q", c, s)
		}
	}
	return string(out), nil
}
