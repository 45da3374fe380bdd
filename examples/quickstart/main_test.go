package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The lines every run prints, whatever the store held before.
var wantLines = []string{
	"get bob: bob <bob@example.com>, Lyon, 25, Bob Durand",
	"updated alice: alice <alice@example.com>, Lyon, 32, Alice Martin",
	"all users:\n" +
		"  alice <alice@example.com>, Lyon, 32, Alice Martin\n" +
		"  bob <bob@example.com>, Lyon, 25, Bob Durand\n" +
		"  carol <carol@example.com>, Paris, 42, Carol Petit\n" +
		"  dave <dave@example.com>, Paris, 19, Dave Moreau\n",
	"find City=Lyon: alice, bob\n",
	"range Age 20..35: bob (25), alice (32)\n",
	"getby Email=carol@example.com: carol\n",
	`unique violation, as expected: repo: Create User "mallory": unique constraint violated: Email "alice@example.com" is held by key "alice"`,
	`not found, as expected: repo: Get User "zoe": not found`,
	"deleted dave\n",
	"count: 3 users\n",
}

func runOK(t *testing.T, url string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), url, &out); err != nil {
		t.Fatalf("run(%q): %v\noutput so far:\n%s", url, err, out.String())
	}
	got := out.String()
	for _, want := range wantLines {
		if !strings.Contains(got, want) {
			t.Errorf("run(%q): output lacks %q; got:\n%s", url, want, got)
		}
	}
	return got
}

func contains(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q; got:\n%s", w, got)
		}
	}
}

func TestRunFileTwice(t *testing.T) {
	url, err := urlFor(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	first := runOK(t, url)
	contains(t, first, "created alice\ncreated bob\ncreated carol\ncreated dave\n")

	// The second run finds what the first left and still succeeds.
	second := runOK(t, url)
	contains(t, second,
		"alice exists from an earlier run: reset it with Put\n",
		"bob exists from an earlier run: reset it with Put\n",
		"carol exists from an earlier run: reset it with Put\n",
		"created dave\n", // deleted by the first run
	)
}

func TestRunMem(t *testing.T) {
	got := runOK(t, "mem://")
	contains(t, got, "store: mem://\n", "created alice\n")
}

func TestRunBadURL(t *testing.T) {
	err := run(context.Background(), "mem://?x=1", &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "mem://?x=1") {
		t.Errorf("run with a bad URL: got %v, want an error naming the URL", err)
	}
}

func TestURLFor(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, env, want string }{
		{"/srv/data", "", "file:///srv/data"},
		{"./data", "", "file://" + filepath.ToSlash(filepath.Join(wd, "data"))},
		{"/tmp/a b#c", "", "file:///tmp/a%20b%23c"},
		{"./data", "mem://", "mem://"},
		{"", "s3://b/p?region=eu-west-1", "s3://b/p?region=eu-west-1"},
	} {
		got, err := urlFor(tc.dir, tc.env)
		if err != nil || got != tc.want {
			t.Errorf("urlFor(%q, %q) = %q, %v; want %q", tc.dir, tc.env, got, err, tc.want)
		}
	}
	if _, err := urlFor("", ""); err == nil {
		t.Error(`urlFor("", "") succeeded; want an error`)
	}
}
