package s3test

import (
	"bytes"
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
	versitygwModule  = "github.com/versity/versitygw/cmd/versitygw"
	versitygwVersion = "v1.8.0"

	buildTimeout = 15 * time.Minute
	readyTimeout = 30 * time.Second
)

// server is a running versitygw.
type server struct {
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

// tempDirPattern names the servers' temp dirs; the owner's PID is embedded
// so a later run can remove the dirs of binaries that died without Main.
const tempDirPrefix = "nodb-s3test-"

func startVersitygw() (*server, error) {
	bin, err := versitygwBinary()
	if err != nil {
		return nil, err
	}
	reapStaleDirs()
	var errs []error
	for range 3 { // a free port can be taken by someone else before we bind it
		s, err := launch(bin)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func launch(bin string) (*server, error) {
	dir, err := os.MkdirTemp("", tempDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logPath := filepath.Join(dir, "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()

	s := &server{
		endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		access:   "nodbtest" + randomHex(4),
		secret:   randomHex(20),
		dir:      dir,
		exited:   make(chan struct{}),
	}
	s.cmd = exec.Command(bin,
		"--access", s.access, "--secret", s.secret,
		"--port", "127.0.0.1:"+strconv.Itoa(port), "--quiet",
		"posix", data)
	s.cmd.Dir = dir
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	// Clear VGW_* settings the developer may have in the environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
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
		return nil, fmt.Errorf("versitygw on port %d: %w\nversitygw output:\n%s", port, err, log)
	}
	return s, nil
}

// waitReady polls the server with a signed ListBuckets until it answers.
func (s *server) waitReady() error {
	client := s3.NewFromConfig(staticConfig("us-east-1", s.access, s.secret), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.endpoint)
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited: %v", s.waitErr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", readyTimeout, err)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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

// versitygwBinary returns the path of the cached versitygw binary, building
// it first if needed.
func versitygwBinary() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(os.TempDir(), "nodb-cache")
	}
	dir := filepath.Join(cache, "nodb", "versitygw-"+versitygwVersion)
	bin := filepath.Join(dir, "versitygw")
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("versitygw cache: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", fmt.Errorf("versitygw cache: %w", err)
	}
	defer unlock()
	if isExecutable(bin) { // another process built it while we waited
		return bin, nil
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)

	goCmd := goBinary()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	target := versitygwModule + "@" + versitygwVersion
	cmd := exec.CommandContext(ctx, goCmd, "install", target)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building versitygw: GOBIN=%s %s install %s: %v (after %v)\n%s",
			tmp, goCmd, target, err, time.Since(start).Round(time.Second), out.Bytes())
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
		return "", fmt.Errorf("installing versitygw: %w", err)
	}
	return bin, nil
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
