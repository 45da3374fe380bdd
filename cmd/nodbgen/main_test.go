package main

import (
	"os"
	"testing"
)

func TestExitCodes(t *testing.T) {
	stderr := os.Stderr
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	os.Stderr = devnull
	defer func() { os.Stderr = stderr }()

	t.Chdir("../../internal/codegen/testdata/bad")
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"-nosuchflag"}, 2},
		{[]string{"-type", "A B"}, 2},
		{[]string{"-output", "x.txt", "-type", "Good"}, 2},
		{[]string{"-type", "UnknownTag"}, 1},
		{[]string{"-type", "Missing"}, 1},
		{[]string{"-type", "Good", "./no/such/dir"}, 1},
	} {
		if got := run(c.args); got != c.want {
			t.Errorf("nodbgen %q exited %d, want %d", c.args, got, c.want)
		}
	}
}
