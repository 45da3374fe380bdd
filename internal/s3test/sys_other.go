//go:build !linux

package s3test

import "os/exec"

// lockFile is a no-op here: concurrent builds are wasteful but safe, since
// the binary is installed by an atomic rename.
func lockFile(path string) (unlock func(), err error) { return func() {}, nil }

// startKillOnExit starts cmd and calls exited with cmd.Wait's result when cmd
// ends. Without a parent-death signal, only Main stops the server.
func startKillOnExit(cmd *exec.Cmd, exited func(error)) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { exited(cmd.Wait()) }()
	return nil
}

// processAlive is always true here, so stale dirs are never removed.
func processAlive(pid int) bool { return true }
