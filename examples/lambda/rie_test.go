//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// The Lambda Runtime Interface Emulator: the module proxy serves this
// pseudo-version of its main branch (no tagged release is used here).
const (
	riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// TestEmulator invokes the built function through the Lambda Runtime
// Interface Emulator, as Lambda runs it: the emulator starts the function
// binary (built for this machine with -tags lambda.norpc, as the Lambda
// build is), serves it the Runtime API, and turns each POST to its invoke
// endpoint into one invocation of one warm container. The function works
// on a store named by NODB_STORE: a file:// directory, then a bucket on the
// test S3 server. The test checks the function's effects on the store
// (async index entries written and removed), its trigger's output, that a
// duplicate invocation is skipped by the warm container's Dedup, and that a
// bad event comes back as a function error.
func TestEmulator(t *testing.T) {
	rie := s3test.GoTool(t, riePackage, rieVersion)
	fn := buildFunction(t)
	ctx := context.Background()

	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		storeURL := "file://" + dir
		st, err := repo.Open(ctx, storeURL)
		if err != nil {
			t.Fatal(err)
		}
		testEmulator(t, rie, fn, st, "nodb-lambda-test", []string{"NODB_STORE=" + storeURL})
	})
	t.Run("s3", func(t *testing.T) {
		env := s3test.Server(t)
		client, bucket := s3test.NewBucket(t)
		st, err := s3store.Open(ctx, client, bucket)
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"region": {env.Region}, "endpoint": {env.Endpoint}, "path_style": {strconv.FormatBool(env.PathStyle)}}
		storeURL := "s3://" + bucket + "?" + q.Encode()
		testEmulator(t, rie, fn, st, bucket, []string{
			"NODB_STORE=" + storeURL,
			"AWS_ACCESS_KEY_ID=" + env.AccessKey, "AWS_SECRET_ACCESS_KEY=" + env.SecretKey,
		})
	})
}

// testEmulator runs the function under the emulator over st, whose bucket
// the events must name, with env added to the function's environment.
func testEmulator(t *testing.T, rie, fn string, st object.Store, bucket string, env []string) {
	ctx := context.Background()
	users, err := repo.New[User](st)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, users)
	if got := find(t, users, "City", "Paris"); len(got) != 0 {
		t.Fatalf("before any event, Find City Paris = %q", got)
	}

	em := startEmulator(t, rie, fn, env)
	event := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return bytes.ReplaceAll(b, []byte(`"nodb-lambda-test"`), []byte(strconv.Quote(bucket)))
	}
	// triggerLines returns the trigger's output lines so far, sorted.
	triggerLines := func() []string {
		var lines []string
		for _, l := range strings.Split(em.out.String(), "\n") {
			if strings.HasPrefix(l, "user ") {
				lines = append(lines, l)
			}
		}
		slices.Sort(lines)
		return lines
	}

	if got := em.invoke(t, event("put.json")); got != "null" {
		t.Fatalf("invoking with put.json: response %s, want null", got)
	}
	if got, want := find(t, users, "City", "Paris"), []string{"50%", "a b"}; !slices.Equal(got, want) {
		t.Errorf("after put.json, Find City Paris = %q, want %q", got, want)
	}
	if got, want := find(t, users, "Plan", "free"), []string{"été"}; !slices.Equal(got, want) {
		t.Errorf("after put.json, Find Plan free = %q, want %q", got, want)
	}
	want := []string{
		`user "50%" lives in Paris on plan ""`,
		`user "a b" lives in Paris on plan "pro"`,
		`user "gone" is gone`,
		`user "x+y" lives in Oslo on plan ""`,
		`user "été" lives in Nice on plan "free"`,
	}
	if got := triggerLines(); !slices.Equal(got, want) {
		t.Errorf("trigger output:\n%s\nwant:\n%s\nemulator output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), em.out.String())
	}

	// The same events again (Lambda's retry, S3's duplicates): the warm
	// container's Dedup skips them, so the trigger does not run.
	if got := em.invoke(t, event("put.json")); got != "null" {
		t.Fatalf("invoking with put.json again: response %s, want null", got)
	}
	if got := triggerLines(); !slices.Equal(got, want) {
		t.Errorf("the same events again ran the trigger:\n%s", strings.Join(got, "\n"))
	}

	// A delete by a writer (which leaves the async entries), then its event.
	if err := users.Delete(ctx, "x+y"); err != nil {
		t.Fatal(err)
	}
	if got := em.invoke(t, event("delete.json")); got != "null" {
		t.Fatalf("invoking with delete.json: response %s, want null", got)
	}
	if got := find(t, users, "City", "Oslo"); len(got) != 0 {
		t.Errorf("after delete.json, Find City Oslo = %q", got)
	}
	want = append(want, `user "x+y" is gone`)
	slices.Sort(want)
	if got := triggerLines(); !slices.Equal(got, want) {
		t.Errorf("trigger output after delete.json:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Not an S3 event: the function reports an error, and the container
	// goes on serving.
	if got := em.invoke(t, []byte(`{"Records": "none"}`)); !strings.Contains(got, `"errorMessage"`) {
		t.Errorf("invoking with a bad event: response %s, want a function error", got)
	}
	if got := em.invoke(t, event("delete.json")); got != "null" {
		t.Errorf("invoking after a function error: response %s, want null", got)
	}
}

// buildFunction builds the example for this machine as CI builds it for
// Lambda (-tags lambda.norpc) and returns the binary's path.
func buildFunction(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command(goCmd, "build", "-tags", "lambda.norpc", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the function: go build -tags lambda.norpc -o %s .: %v\n%s", bin, err, out)
	}
	return bin
}

// emulator is a running aws-lambda-rie with the function as its bootstrap.
type emulator struct {
	endpoint string        // http://127.0.0.1:PORT
	out      *syncBuffer   // the emulator's and the function's output
	cmd      *exec.Cmd     // the emulator
	exited   chan struct{} // closed when the emulator has exited
}

// startEmulator starts the emulator on free loopback ports with fn as the
// function, waits until it accepts connections, and stops it, by its PID,
// when the test ends.
func startEmulator(t *testing.T, rie, fn string, env []string) *emulator {
	t.Helper()
	ports := freePorts(t, 2)
	em := &emulator{
		endpoint: "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		out:      new(syncBuffer),
		exited:   make(chan struct{}),
	}
	em.cmd = exec.Command(rie,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(ports[0]),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(ports[1]),
		fn)
	em.cmd.Dir = filepath.Dir(fn)
	// The emulator passes its environment on to the function. Drop the
	// developer's AWS settings: the function gets only what env says.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "NODB_") {
			em.cmd.Env = append(em.cmd.Env, kv)
		}
	}
	em.cmd.Env = append(em.cmd.Env, env...)
	em.cmd.Env = append(em.cmd.Env, "AWS_LAMBDA_FUNCTION_TIMEOUT=60")
	em.cmd.Stdout, em.cmd.Stderr = em.out, em.out
	// Killed with the test binary, however it exits (the function then
	// exits too: its Runtime API is gone).
	em.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := em.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", rie, err)
	}
	go func() { em.cmd.Wait(); close(em.exited) }()
	t.Cleanup(func() { em.stop(t) })

	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(ports[0]), time.Second)
		if err == nil {
			c.Close()
			return em
		}
		select {
		case <-em.exited:
			t.Fatalf("the emulator exited before serving: %v\n%s", em.cmd.ProcessState, em.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator does not accept connections after 30s: %v\n%s", err, em.out.String())
		}
	}
}

// stop sends the emulator SIGTERM, on which it shuts the function down and
// exits, and SIGKILL if it has not exited after 10 s.
func (em *emulator) stop(t *testing.T) {
	em.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-em.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("the emulator (PID %d) did not exit on SIGTERM; killing it", em.cmd.Process.Pid)
		em.cmd.Process.Kill()
		<-em.exited
	}
}

// invoke posts body to the emulator's invoke endpoint and returns the
// function's response. A status other than 200 fails the test.
func (em *emulator) invoke(t *testing.T, body []byte) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, em.endpoint+"/2015-03-31/functions/function/invocations", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoking the function: %v\nemulator output:\n%s", err, em.out.String())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoking the function: %s: %s\nemulator output:\n%s", resp.Status, b, em.out.String())
	}
	return strings.TrimSpace(string(b))
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// syncBuffer is a bytes.Buffer safe for a process's writers and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
