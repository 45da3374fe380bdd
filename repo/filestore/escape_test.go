package filestore

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeSeg(t *testing.T) {
	for _, tc := range []struct {
		seg, plain, fold string
	}{
		{"alice", "alice", "alice"},
		{"User", "User", "%55ser"},
		{"", "%", "%"},
		{".", "%2E", "%2E"},
		{"..", "%2E%2E", "%2E%2E"},
		{"...", "%2E.%2E", "%2E.%2E"},
		{".hidden", "%2Ehidden", "%2Ehidden"},
		{".nodb", "%2Enodb", "%2Enodb"},
		{"a.b", "a.b", "a.b"},
		{"end.", "end%2E", "end%2E"},
		{"end ", "end%20", "end%20"},
		{" lead", " lead", " lead"},
		{"100%", "100%25", "100%25"},
		{"%", "%25", "%25"},
		{"%41", "%2541", "%2541"},
		{"a/b", "a%2Fb", "a%2Fb"},
		{`a\b`, "a%5Cb", "a%5Cb"},
		{`c:*?"<>|`, "c%3A%2A%3F%22%3C%3E%7C", "c%3A%2A%3F%22%3C%3E%7C"},
		{"tab\there", "tab%09here", "tab%09here"},
		{"del\x7f", "del%7F", "del%7F"},
		{"nul\x00", "nul%00", "nul%00"},
		{"CON", "%43ON", "%43%4F%4E"},
		{"con", "%63on", "%63on"},
		{"nul.json", "%6Eul.json", "%6Eul.json"},
		{"Com1", "%43om1", "%43om1"},
		{"LPT9.txt", "%4CPT9.txt", "%4C%50%549.txt"},
		{"COM¹", "%43OM¹", "%43%4F%4D%C2%B9"},
		{"console", "console", "console"},
		{"COM10", "COM10", "%43%4F%4D10"},
		{"é", "é", "%C3%A9"},
		{"日本", "日本", "%E6%97%A5%E6%9C%AC"},
		{"a b+c=d,e;f", "a b+c=d,e;f", "a b+c=d,e;f"},
	} {
		if got := escapeSeg(tc.seg, false); got != tc.plain {
			t.Errorf("escapeSeg(%q, plain) = %q, want %q", tc.seg, got, tc.plain)
		}
		if got := escapeSeg(tc.seg, true); got != tc.fold {
			t.Errorf("escapeSeg(%q, fold) = %q, want %q", tc.seg, got, tc.fold)
		}
		for _, fold := range []bool{false, true} {
			if got, ok := unescapeSeg(escapeSeg(tc.seg, fold), fold); !ok || got != tc.seg {
				t.Errorf("unescapeSeg(escapeSeg(%q, %v)) = %q, %v", tc.seg, fold, got, ok)
			}
		}
	}
}

func TestUnescapeRejectsForeignNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", ".DS_Store", ".nodb", "a%", "a%4", "a%zz", "a%2e", "a%41", "end.", "end ",
		"CON", "a:b", "%2", "%%", "x\x01"} {
		if seg, ok := unescapeSeg(name, false); ok {
			t.Errorf("unescapeSeg(%q) = %q, true; want rejected", name, seg)
		}
	}
	if _, ok := unescapeSeg("User", true); ok {
		t.Error(`unescapeSeg("User", fold) accepted an upper-case name`)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a", "User", "%", "%2E", "a/b", "CON", "nul.txt", "é", "end.", "end ",
		"\x00", "\xff", "COM²", ".nodb", "a%25b", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seg string) {
		for _, fold := range []bool{false, true} {
			name := escapeSeg(seg, fold)
			if name == "" || name == "." || name == ".." || name[0] == '.' {
				t.Fatalf("escapeSeg(%q, %v) = %q", seg, fold, name)
			}
			if strings.ContainsAny(name, "/\\:*?\"<>|\x00") {
				t.Fatalf("escapeSeg(%q, %v) = %q contains a forbidden byte", seg, fold, name)
			}
			for i := 0; i < len(name); i++ {
				c := name[i]
				if c == '%' && i+2 < len(name) {
					i += 2 // an escape: "%" and two upper-case hex digits
					continue
				}
				if c < 0x20 || c == 0x7f || fold && (c >= 0x80 || 'A' <= c && c <= 'Z') {
					t.Fatalf("escapeSeg(%q, %v) = %q has byte %#x at %d", seg, fold, name, c, i)
				}
			}
			if c := name[len(name)-1]; c == '.' || c == ' ' {
				t.Fatalf("escapeSeg(%q, %v) = %q ends in %q", seg, fold, name, c)
			}
			if isReservedName(name) {
				t.Fatalf("escapeSeg(%q, %v) = %q is a Windows device name", seg, fold, name)
			}
			if !fold && utf8.ValidString(seg) && !utf8.ValidString(name) {
				t.Fatalf("escapeSeg(%q) = %q is not valid UTF-8", seg, name)
			}
			got, ok := unescapeSeg(name, fold)
			if !ok || got != seg {
				t.Fatalf("unescapeSeg(%q, %v) = %q, %v; want %q", name, fold, got, ok, seg)
			}
		}
		// Any name either is rejected or is the canonical escape of what it decodes to.
		if got, ok := unescapeSeg(seg, false); ok && escapeSeg(got, false) != seg {
			t.Fatalf("unescapeSeg(%q) = %q, which escapes to %q", seg, got, escapeSeg(got, false))
		}
	})
}
