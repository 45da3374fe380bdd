package s3test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	versitygwModule  = "github.com/versity/versitygw/cmd/versitygw"
	versitygwVersion = "v1.8.0"
)

// versitygw is the default local server: one process, objects as files.
var versitygw = &kind{
	name:   "versitygw",
	binary: versitygwBinary,
	nports: 1,
	command: func(bin string, s *server, dir string, ports []int) *exec.Cmd {
		cmd := exec.Command(bin,
			"--access", s.access, "--secret", s.secret,
			"--port", "127.0.0.1:"+strconv.Itoa(ports[0]), "--quiet",
			"posix", filepath.Join(dir, "data"))
		// Clear VGW_* settings the developer may have in the environment.
		cmd.Env = cleanEnv(func(kv string) bool { return strings.HasPrefix(kv, "VGW_") })
		return cmd
	},
}

// versitygwBinary returns the path of the cached versitygw binary, building
// it first if needed.
func versitygwBinary() (string, error) {
	return cachedBinary("versitygw-"+versitygwVersion, "versitygw", func(tmp string) (string, error) {
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
		return filepath.Join(tmp, "versitygw"), nil
	})
}
