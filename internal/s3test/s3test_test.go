package s3test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/repo/object"
)

func TestMain(m *testing.M) { Main(m) }

func TestServerAndBuckets(t *testing.T) {
	start := time.Now()
	env := Server(t)
	t.Logf("server at %s (external %v) in %v", env.Endpoint, env.External, time.Since(start))
	if Server(t) != env {
		t.Error("Server started twice")
	}
	var names []string
	t.Run("buckets", func(t *testing.T) {
		for range 2 {
			client, bucket := NewBucket(t)
			names = append(names, bucket)
			if _, err := client.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
				t.Fatal(err)
			}
		}
		if names[0] == names[1] {
			t.Errorf("two buckets named %s", names[0])
		}
		st := NewStore(t, nil)
		if _, err := st.Put(t.Context(), "x/y", []byte("z"), object.PutOptions{IfNoneMatch: "*"}); err != nil {
			t.Fatal(err)
		}
	})
	client := env.NewClient()
	for _, b := range names {
		if _, err := client.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: &b}); err == nil {
			t.Errorf("bucket %s still exists after its test", b)
		}
	}
}

const childEnv = "NODB_S3TEST_CHILD"

// TestChild is run by TestServerDiesWithTestBinary in a child process: it
// starts a server, reports it, and crashes without Main's cleanup.
func TestChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("helper for TestServerDiesWithTestBinary")
	}
	Server(t)
	fmt.Printf("SERVER %d %s\n", local.cmd.Process.Pid, local.dir)
	os.Stdout.Sync()
	panic("crash on purpose")
}

func TestServerDiesWithTestBinary(t *testing.T) {
	if runtime.GOOS != "linux" || os.Getenv("NODB_S3_ENDPOINT") != "" {
		t.Skip("needs the local server and Linux's parent-death signal")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child did not crash:\n%s", out)
	}
	var pid int
	var dir string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "SERVER %d %s", &pid, &dir); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatalf("child reported no server:\n%s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still running after its test binary crashed", Server(t).Name, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("crashed child's dir: %v", err)
	}
	reapStaleDirs()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale dir %s not reaped: %v", dir, err)
	}
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(after, "Z")
}

// fakeGo puts a fake go command first on PATH and points the user cache dir
// at a temp dir. It returns the cache dir.
func fakeGo(t *testing.T, script string) (cache string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cache = t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	return cache
}

// wantBuiltOnce checks that the build script counted one build next to the
// binary and left no temp dir behind.
func wantBuiltOnce(t *testing.T, bin string) {
	t.Helper()
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(bin), "count")); string(b) != "built\n" {
		t.Errorf("built %q times", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(bin))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "build-") {
			t.Errorf("temp build dir %s left behind", e.Name())
		}
	}
}

func TestBuild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("fake go command is a shell script")
	}
	t.Run("fails", func(t *testing.T) {
		fakeGo(t, "echo 'go: module lookup disabled' >&2; exit 1\n")
		_, err := versitygwBinary()
		if err == nil || !strings.Contains(err.Error(), "module lookup disabled") || !strings.Contains(err.Error(), "install "+versitygwModule+"@"+versitygwVersion) {
			t.Errorf("error %v, want the command and its output", err)
		}
	})
	t.Run("installs once", func(t *testing.T) {
		want := filepath.Join(fakeGo(t, `[ "$1 $2" = "install `+versitygwModule+`@`+versitygwVersion+`" ] || exit 3
printf '#!/bin/sh\n' > "$GOBIN/versitygw"; chmod +x "$GOBIN/versitygw"
echo built >> "$GOBIN/../count"
`), "nodb", "versitygw-"+versitygwVersion, "versitygw")
		for range 2 {
			got, err := versitygwBinary()
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("binary at %s, want %s", got, want)
			}
		}
		wantBuiltOnce(t, want)
	})
}

func TestBuildSeaweedfs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("fake go command is a shell script")
	}
	target := seaweedfsModule + "@" + seaweedfsVersion
	t.Run("download fails", func(t *testing.T) {
		fakeGo(t, "echo 'go: module lookup disabled' >&2; exit 1\n")
		_, err := seaweedfsBinary()
		if err == nil || !strings.Contains(err.Error(), "module lookup disabled") || !strings.Contains(err.Error(), "mod download -json "+target) {
			t.Errorf("error %v, want the command and its output", err)
		}
	})
	// A fake module in a read-only module cache: go mod download names
	// its dir, go build must run in a writable copy of it.
	mod := filepath.Join(t.TempDir(), "seaweedfs@"+seaweedfsVersion)
	if err := os.MkdirAll(filepath.Join(mod, "weed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "weed", "weed.go"), []byte("package main\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	download := `if [ "$1 $2 $3 $4" = "mod download -json ` + target + `" ]; then
  printf '{"Path": "` + seaweedfsModule + `", "Dir": "` + mod + `"}\n'; exit 0
fi
`
	t.Run("build fails", func(t *testing.T) {
		fakeGo(t, download+"echo 'weed/weed.go:1: syntax error' >&2; exit 1\n")
		_, err := seaweedfsBinary()
		if err == nil || !strings.Contains(err.Error(), "syntax error") || !strings.Contains(err.Error(), "build -trimpath") {
			t.Errorf("error %v, want the command and its output", err)
		}
	})
	t.Run("installs once", func(t *testing.T) {
		cache := fakeGo(t, download+`[ "$1 $2 $3 $5" = "build -trimpath -o ./weed" ] || { echo "unexpected: $*" >&2; exit 3; }
[ -f weed/weed.go ] && [ -w weed/weed.go ] || { echo "not in a writable copy of the module: $PWD" >&2; exit 4; }
[ "$GOWORK" = off ] || exit 5
printf '#!/bin/sh\n' > "$4"; chmod +x "$4"
echo built >> "$(dirname "$4")/../count"
`)
		want := filepath.Join(cache, "nodb", "seaweedfs-"+seaweedfsVersion, "weed")
		for range 2 {
			got, err := seaweedfsBinary()
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("binary at %s, want %s", got, want)
			}
		}
		wantBuiltOnce(t, want)
	})
}

func TestServerChoice(t *testing.T) {
	for _, tt := range []struct{ server, endpoint, want string }{
		{"", "", "versitygw"},
		{"versitygw", "", "versitygw"},
		{"seaweedfs", "", "seaweedfs"},
		{"minio", "", `NODB_S3_SERVER="minio": want one of versitygw, seaweedfs`},
		{"seaweedfs", "http://127.0.0.1:1", "are both set"},
	} {
		if tt.endpoint != "" {
			t.Setenv("NODB_S3_ENDPOINT", tt.endpoint)
			t.Setenv("NODB_S3_SERVER", tt.server)
			_, err := setup()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("setup with NODB_S3_SERVER=%q NODB_S3_ENDPOINT=%q: %v, want %q", tt.server, tt.endpoint, err, tt.want)
			}
			continue
		}
		k, err := kindNamed(tt.server)
		switch {
		case err != nil && !strings.Contains(err.Error(), tt.want):
			t.Errorf("kindNamed(%q): %v, want %q", tt.server, err, tt.want)
		case err == nil && k.name != tt.want:
			t.Errorf("kindNamed(%q) = %s, want %s", tt.server, k.name, tt.want)
		}
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := freePorts(seaweedfs.nports)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Errorf("ports %v: not distinct positive ports", ports)
		}
		seen[p] = true
	}
}

func TestExternalEnv(t *testing.T) {
	t.Setenv("NODB_S3_ACCESS_KEY", "ak")
	t.Setenv("NODB_S3_SECRET_KEY", "sk")
	t.Setenv("NODB_S3_REGION", "")
	t.Setenv("NODB_S3_PATH_STYLE", "false")
	e, err := external("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if e.Region != "us-east-1" || e.PathStyle || !e.External || e.AccessKey != "ak" {
		t.Errorf("env = %+v", e)
	}
	t.Setenv("NODB_S3_PATH_STYLE", "sometimes")
	if _, err := external("http://127.0.0.1:1"); err == nil {
		t.Error("bad NODB_S3_PATH_STYLE accepted")
	}
	t.Setenv("NODB_S3_PATH_STYLE", "")
	t.Setenv("NODB_S3_SECRET_KEY", "")
	if _, err := external("http://127.0.0.1:1"); err == nil {
		t.Error("access key without secret accepted")
	}
}
