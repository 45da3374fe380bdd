package s3test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	bin, err := goInstallCached(versitygwModule, versitygwVersion)
	if err != nil {
		return "", fmt.Errorf("building versitygw: %w", err)
	}
	return bin, nil
}
