//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package filestore

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// openReadFlags: Get does not follow a symbolic link (List does not list
// them either) and does not block on a FIFO someone put in the tree.
const openReadFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

func platformErr() error { return nil }

// isLoop reports whether err says a path was a symbolic link opened with
// O_NOFOLLOW.
func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// rmdir removes an empty directory and never a file.
func rmdir(path string) error { return syscall.Rmdir(path) }

// tryLock takes an exclusive flock on f without blocking. It reports false
// and no error when another open file description holds the lock.
func tryLock(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	}); err != nil {
		return false, err
	}
	switch {
	case ferr == nil:
		return true, nil
	case errors.Is(ferr, syscall.EWOULDBLOCK), errors.Is(ferr, syscall.EINTR):
		return false, nil
	}
	return false, &os.PathError{Op: "flock", Path: f.Name(), Err: ferr}
}

// isNotDir reports whether err says a path ran through a file (ENOTDIR).
func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// isDirTarget reports whether err says a rename target is a directory.
func isDirTarget(err error) bool {
	return errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}

func isNameTooLong(err error) bool { return errors.Is(err, syscall.ENAMETOOLONG) }
