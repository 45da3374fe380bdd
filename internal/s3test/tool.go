package s3test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
	"time"
)

// GoTool returns the path of the command that
//
//	GOBIN=<tmp> go install pkg@version
//
// builds, cached like the servers' binaries in
// os.UserCacheDir()/nodb/<name>-<version>/<name> (name is pkg's last path
// element) under a file lock, so that the test binaries of one run build it
// once. A tool that cannot be built fails the test with go's output; the
// test is never skipped. Tests of nested example modules use it for the
// programs they drive (the Lambda Runtime Interface Emulator).
func GoTool(t testing.TB, pkg, version string) string {
	t.Helper()
	bin, err := goInstallCached(pkg, version)
	if err != nil {
		t.Fatalf("s3test: building %s@%s: %v", pkg, version, err)
	}
	return bin
}

// goInstallCached returns the path of the command go install pkg@version
// builds, cached under os.UserCacheDir()/nodb/<name>-<version>/ (name is
// pkg's last path element) under a file lock.
func goInstallCached(pkg, version string) (string, error) {
	name := path.Base(pkg)
	return cachedBinary(name+"-"+version, name, func(tmp string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		goCmd := goBinary()
		target := pkg + "@" + version
		cmd := exec.CommandContext(ctx, goCmd, "install", target)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("GOBIN=%s %s install %s: %v (after %v)\n%s",
				tmp, goCmd, target, err, time.Since(start).Round(time.Second), out.Bytes())
		}
		return filepath.Join(tmp, name), nil
	})
}
