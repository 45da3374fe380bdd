package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), 5*time.Millisecond, &out); err != nil {
		t.Fatal(err)
	}
	// Request counts are exact; rounds depend on timing, so only the
	// single-request operations are checked for them.
	for _, want := range []string{
		"Create (3 indexes, 1 unique)     GET=0 PUT=4 DELETE=0 LIST=0",
		"Get                              GET=1 PUT=0 DELETE=0 LIST=0  rounds=1",
		"Update, no index change          GET=0 PUT=1 DELETE=0 LIST=0",
		"GetBy Email                      GET=2 PUT=0 DELETE=0 LIST=0",
		"Find City=Paris (2 results)      GET=2 PUT=0 DELETE=0 LIST=1",
		"Count                            GET=0 PUT=0 DELETE=0 LIST=1  rounds=1",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q; got:\n%s", want, out.String())
		}
	}
}
