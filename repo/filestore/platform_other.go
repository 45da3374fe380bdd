//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package filestore

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"github.com/nodb-go/nodb/repo/object"
)

const openReadFlags = 0

// platformErr makes Open fail: without flock(2), conditional writes could not
// be made to hold across processes, and a store that silently drops that
// guarantee would be worse than none.
func platformErr() error {
	return fmt.Errorf("%w: filestore needs flock(2) to lock across processes, which is not implemented on %s",
		object.ErrUnsupported, runtime.GOOS)
}

func inode(fs.FileInfo) uint64 { return 0 }

func isLoop(error) bool { return false }

func rmdir(path string) error { return fmt.Errorf("rmdir %s: not supported on %s", path, runtime.GOOS) }

func tryLock(*os.File) (bool, error) { return false, platformErr() }

func isNotDir(error) bool      { return false }
func isDirTarget(error) bool   { return false }
func isNameTooLong(error) bool { return false }
