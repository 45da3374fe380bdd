package s3test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	buildTimeout = 20 * time.Minute
	readyTimeout = 60 * time.Second
)

// kind is a local S3 server the kit can build and start.
type kind struct {
	name string
	// binary returns the path of the cached binary, building it if needed.
	binary func() (string, error)
	// command returns the command that serves S3 at 127.0.0.1:ports[0]
	// with the credentials of s, keeping its data and files under dir.
	// ports are free loopback ports, as many as nports.
	command func(bin string, s *server, dir string, ports []int) *exec.Cmd
	nports  int
	// ready, when set, is an extra readiness check after ListBuckets
	// answers.
	ready func(ctx context.Context, client *s3.Client) error
}

// kinds are the local servers NODB_S3_SERVER can name; the first is the
// default.
var kinds = []*kind{versitygw, seaweedfs}

func kindNames() []string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.name)
	}
	return names
}

func kindNamed(name string) (*kind, error) {
	if name == "" {
		return kinds[0], nil
	}
	for _, k := range kinds {
		if k.name == name {
			return k, nil
		}
	}
	return nil, fmt.Errorf("NODB_S3_SERVER=%q: want one of %s", name, strings.Join(kindNames(), ", "))
}

// server is a running local S3 server.
type server struct {
	kind           *kind
	endpoint       string
	access, secret string
	dir            string // temp dir: data, log
	cmd            *exec.Cmd
	exited         chan struct{} // closed when the process has exited
	waitErr        error         // valid after exited is closed
}

// stop kills the server by PID, waits for it and removes its directory.
func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
	_ = os.RemoveAll(s.dir)
}

// tempDirPrefix names the servers' temp dirs; the owner's PID is embedded
// so a later run can remove the dirs of binaries that died without Main.
const tempDirPrefix = "nodb-s3test-"

func startLocal(k *kind) (*server, error) {
	bin, err := k.binary()
	if err != nil {
		return nil, err
	}
	reapStaleDirs()
	var errs []error
	for range 3 { // a free port can be taken by someone else before we bind it
		s, err := launch(k, bin)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func launch(k *kind, bin string) (*server, error) {
	dir, err := os.MkdirTemp("", tempDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ports, err := freePorts(k.nports)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logPath := filepath.Join(dir, k.name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()

	s := &server{
		kind:     k,
		endpoint: "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		access:   "nodbtest" + randomHex(4),
		secret:   randomHex(20),
		dir:      dir,
		exited:   make(chan struct{}),
	}
	s.cmd = k.command(bin, s, dir, ports)
	s.cmd.Dir = dir
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	err = startKillOnExit(s.cmd, func(err error) {
		s.waitErr = err
		close(s.exited)
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}

	if err := s.waitReady(); err != nil {
		s.stop()
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%s on port %d: %w\n%s output:\n%s", k.name, ports[0], err, k.name, tail(log, 8000))
	}
	return s, nil
}

// cleanEnv is the environment without the variables matching drop.
func cleanEnv(drop func(kv string) bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !drop(kv) {
			env = append(env, kv)
		}
	}
	return env
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return append([]byte("...\n"), b[len(b)-n:]...)
	}
	return b
}

// waitReady polls the server with a signed ListBuckets until it answers,
// then runs the kind's own check.
func (s *server) waitReady() error {
	client := s3.NewFromConfig(staticConfig("us-east-1", s.access, s.secret), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.endpoint)
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err == nil && s.kind.ready != nil {
			err = s.kind.ready(ctx, client)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited: %v", s.waitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", readyTimeout, err)
		}
	}
}

// freePorts returns n distinct free loopback ports, holding all of them
// open until all are found.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// reapStaleDirs removes the temp dirs of test binaries that are gone.
func reapStaleDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), tempDirPrefix)
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.RemoveAll(m)
	}
}

// cachedBinary returns os.UserCacheDir()/nodb/<dirName>/<file>, calling
// build to make it first if it is not there. build gets a fresh temp dir
// in the cache dir and returns the path of the binary it made there; the
// binary is then moved into place. A file lock makes concurrent test
// binaries build once.
func cachedBinary(dirName, file string, build func(tmp string) (string, error)) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(os.TempDir(), "nodb-cache")
	}
	dir := filepath.Join(cache, "nodb", dirName)
	bin := filepath.Join(dir, file)
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%s cache: %w", dirName, err)
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", fmt.Errorf("%s cache: %w", dirName, err)
	}
	defer unlock()
	if isExecutable(bin) { // another process built it while we waited
		return bin, nil
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer removeAll(tmp)
	built, err := build(tmp)
	if err != nil {
		return "", err
	}
	if err := os.Rename(built, bin); err != nil {
		return "", fmt.Errorf("installing %s: %w", file, err)
	}
	return bin, nil
}

// removeAll removes dir, making read-only directories (as copied from the
// module cache) writable first.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// goBinary finds the go command: PATH (go test puts GOROOT/bin first),
// else the toolchain this binary was built with.
func goBinary() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if isExecutable(p) {
		return p
	}
	return "go"
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
