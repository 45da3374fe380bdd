package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReadmeSnippet checks that README.md shows the code of this program
// between its README:begin and README:end markers, verbatim.
func TestReadmeSnippet(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok1 := strings.Cut(string(src), "// README:begin\n")
	snippet, _, ok2 := strings.Cut(after, "\n// README:end")
	if !ok1 || !ok2 {
		t.Fatal("markers missing in main.go")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+strings.TrimSpace(snippet)+"\n```") {
		t.Fatalf("README.md does not show main.go's snippet verbatim; it should contain:\n%s", snippet)
	}
}

func TestReadmeRuns(t *testing.T) {
	out, err := exec.Command("go", "run", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	want := "by email: bob\naged 18 to 30: bob\nin Lyon: alice\nin Lyon: bob\n"
	if string(out) != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
}
