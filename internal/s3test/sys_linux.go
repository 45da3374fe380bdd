//go:build linux

package s3test

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// lockFile takes an exclusive flock on path, waiting for other processes.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// startKillOnExit starts cmd so that the kernel kills it (SIGKILL) when this
// process exits, however it exits, and calls exited with cmd.Wait's result
// when cmd ends. The parent-death signal fires when the thread that started
// cmd exits, so cmd is started and waited for by a goroutine locked to its
// thread: the thread lives as long as cmd.
func startKillOnExit(cmd *exec.Cmd, exited func(error)) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		exited(cmd.Wait())
	}()
	return <-errc
}

// processAlive reports whether a process with this PID exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
