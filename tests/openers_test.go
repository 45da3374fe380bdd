package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMemOnlyProgramHasNoAWS: a program that imports only repo links no
// AWS SDK package, works on mem://, and is told which import s3:// needs.
func TestMemOnlyProgramHasNoAWS(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./testdata/memonly").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var aws []string
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "aws") || strings.Contains(p, "smithy") {
			aws = append(aws, p)
		}
	}
	if len(aws) > 0 {
		t.Errorf("a mem://-only program links %d AWS packages, e.g. %v", len(aws), aws[:min(3, len(aws))])
	}

	bin := t.TempDir() + "/memonly"
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/memonly").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "mem://").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "stored" {
		t.Errorf("memonly mem:// = %q, %v", out, err)
	}
	out, err = exec.Command(bin, "s3://bucket/prefix?region=us-east-1").CombinedOutput()
	want := `add import _ "github.com/nodb-go/nodb/repo/s3store" to your program`
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("memonly s3:// = %q, %v; want an error containing %s", out, err, want)
	}
}
