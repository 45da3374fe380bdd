package filestore

import (
	"fmt"
	"strings"

	"github.com/nodb-go/nodb/repo/object"
)

// The escaping of key segments into file names. See the package doc for the
// rules; in short, a byte that is unsafe in a file name on some platform is
// written as "%XX" (upper-case hex), and an empty segment is the name "%".

const hexDigits = "0123456789ABCDEF"

// emptySeg is the file name of an empty key segment ("a//b", "x/"). Every
// other name's "%" is followed by two hex digits, so it cannot be confused.
const emptySeg = "%"

// escapeSeg returns the file name for one key segment. With fold set (the
// store lives on a case- or normalization-insensitive file system) it also
// escapes the ASCII upper-case letters and every non-ASCII byte, so that two
// different segments can never name the same file.
func escapeSeg(seg string, fold bool) string {
	if seg == "" {
		return emptySeg
	}
	reserved := isReservedName(seg)
	var b *strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if needsEscape(c, i, len(seg), fold) || (i == 0 && reserved) {
			if b == nil {
				b = new(strings.Builder)
				b.Grow(len(seg) + 8)
				b.WriteString(seg[:i])
			}
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		} else if b != nil {
			b.WriteByte(c)
		}
	}
	if b == nil {
		return seg
	}
	return b.String()
}

func needsEscape(c byte, i, n int, fold bool) bool {
	switch {
	case c < 0x20, c == 0x7f, c == '%', c == '/':
		return true
	case strings.IndexByte(`\:*?"<>|`, c) >= 0: // Windows (":" also on macOS)
		return true
	case c == '.' && (i == 0 || i == n-1): // ".", "..", hidden names; Windows strips a trailing dot
		return true
	case c == ' ' && i == n-1: // Windows strips a trailing space
		return true
	case fold && (c >= 0x80 || 'A' <= c && c <= 'Z'):
		return true
	}
	return false
}

// isReservedName reports whether seg is a Windows device name (CON, NUL,
// COM1, LPT2.txt, ...), which no file may be called on Windows; escaping the
// first byte makes it an ordinary name.
func isReservedName(seg string) bool {
	base := seg
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	base = strings.TrimRight(base, " ")
	switch len(base) {
	case 3:
		for _, r := range []string{"CON", "PRN", "AUX", "NUL"} {
			if strings.EqualFold(base, r) {
				return true
			}
		}
	case 4, 5:
		if !strings.EqualFold(base[:3], "COM") && !strings.EqualFold(base[:3], "LPT") {
			return false
		}
		switch d := base[3:]; d {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// unescapeSeg returns the key segment that name stands for. It reports false
// for names that escapeSeg does not produce (files not made by the store,
// hidden files, non-canonical escapes), which the store ignores.
func unescapeSeg(name string, fold bool) (string, bool) {
	if name == emptySeg {
		return "", true
	}
	if name == "" || name[0] == '.' {
		return "", false
	}
	if strings.IndexByte(name, '%') < 0 {
		if escapeSeg(name, fold) != name {
			return "", false
		}
		return name, true
	}
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(name) {
			return "", false
		}
		hi, lo := unhex(name[i+1]), unhex(name[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	seg := string(b)
	if seg == "" || escapeSeg(seg, fold) != name {
		return "", false
	}
	return seg, true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// keyNames returns the file names of the segments of key, which
// object.Gate has checked, and refuses a segment whose file name would be
// too long.
func keyNames(key string, fold bool) ([]string, error) {
	names := strings.Split(key, "/")
	for i, seg := range names {
		name := escapeSeg(seg, fold)
		if len(name) > object.MaxSegmentLen {
			return nil, fmt.Errorf("%w: segment %d of key %.40q escapes to a %d-byte file name, the limit is %d",
				object.ErrInvalidKey, i+1, key, len(name), object.MaxSegmentLen)
		}
		names[i] = name
	}
	return names, nil
}
