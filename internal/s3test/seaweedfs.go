package s3test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	seaweedfsModule  = "github.com/seaweedfs/seaweedfs"
	seaweedfsVersion = "v0.0.0-20261109003541-7506e5f91cd6"
)

// seaweedfs is the second local server: `weed mini`, one process running
// a master, a volume server, a filer and the S3 gateway, each on its own
// port (and each with a gRPC port). All ten ports are chosen free here and
// passed explicitly, so that the test binaries of one `go test ./...` can
// each run their own; mini's fixed defaults (9333, 8888, 8333, ...) would
// collide.
var seaweedfs = &kind{
	name:   "seaweedfs",
	binary: seaweedfsBinary,
	nports: 10,
	command: func(bin string, s *server, dir string, p []int) *exec.Cmd {
		port := func(flag string, i int) string { return "-" + flag + "=" + strconv.Itoa(p[i]) }
		cmd := exec.Command(bin,
			"-logtostderr", // glog would otherwise write files under /tmp
			"mini",
			"-dir="+filepath.Join(dir, "data"),
			"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
			port("s3.port", 0), port("master.port", 1), port("master.port.grpc", 2),
			port("filer.port", 3), port("filer.port.grpc", 4),
			port("volume.port", 5), port("volume.port.grpc", 6),
			port("s3.port.grpc", 7), port("admin.port", 8), port("admin.port.grpc", 9),
			"-admin.port.legacy=0", "-admin.ui=false", "-webdav=false",
			"-s3.port.iceberg=0", "-s3.port.lance=0",
			"-filer.localSocket="+filepath.Join(dir, "filer.sock"),
			"-s3.localSocket="+filepath.Join(dir, "s3.sock"),
			"-master.telemetry=false",
			// Every bucket is a collection with volumes of its own: with
			// mini's defaults a run that makes many buckets fails with "No
			// writable volumes". Allow many small volumes.
			"-volume.max=1000", "-master.volumeSizeLimitMB=16",
		)
		// weed reads WEED_* settings; the S3 gateway takes its only
		// identity from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
		cmd.Env = append(cleanEnv(func(kv string) bool {
			return strings.HasPrefix(kv, "WEED_") || strings.HasPrefix(kv, "AWS_")
		}), "AWS_ACCESS_KEY_ID="+s.access, "AWS_SECRET_ACCESS_KEY="+s.secret)
		return cmd
	},
}

// seaweedfsBinary returns the path of the cached weed binary, building it
// first if needed: the module is downloaded, copied out of the read-only
// module cache and built as the main module (its go.mod has replace
// directives, so `go install module@version` refuses it). About seven
// minutes on two cores the first time.
func seaweedfsBinary() (string, error) {
	return cachedBinary("seaweedfs-"+seaweedfsVersion, "weed", func(tmp string) (string, error) {
		goCmd := goBinary()
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		start := time.Now()
		run := func(dir string, env []string, args ...string) ([]byte, error) {
			cmd := exec.CommandContext(ctx, goCmd, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), env...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("building seaweedfs: in %s: %s %s: %v (after %v)\n%s%s",
					dir, goCmd, strings.Join(args, " "), err, time.Since(start).Round(time.Second), out.Bytes(), errOut.Bytes())
			}
			return out.Bytes(), nil
		}

		target := seaweedfsModule + "@" + seaweedfsVersion
		out, err := run(tmp, []string{"GOFLAGS=", "GOWORK=off"}, "mod", "download", "-json", target)
		if err != nil {
			return "", err
		}
		var mod struct{ Dir, Error string }
		if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
			return "", fmt.Errorf("building seaweedfs: go mod download -json %s: no module directory in %q (%v)", target, out, err)
		}
		src := filepath.Join(tmp, "src")
		if err := copyTree(mod.Dir, src); err != nil {
			return "", fmt.Errorf("building seaweedfs: copying the module out of the module cache: %w", err)
		}
		bin := filepath.Join(tmp, "weed")
		// -trimpath: the build cache then does not depend on the temp
		// dir's name, so a rebuild reuses it.
		if _, err := run(src, []string{"GOFLAGS=-mod=mod", "GOWORK=off"}, "build", "-trimpath", "-o", bin, "./weed"); err != nil {
			return "", err
		}
		return bin, nil
	})
}

// copyTree copies the regular files and directories under from to to,
// writable by the owner.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
