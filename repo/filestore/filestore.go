package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

const (
	privDir    = ".nodb"  // store-private state at the root; no escaped name starts with "."
	tmpSub     = "tmp"    // temp files of Puts in progress
	lockSub    = "locks"  // one lock file per stripe
	layoutFile = "layout" // how names are escaped (see the package doc)
	numStripes = 256      // lock stripes; keys hash onto them

	layoutPlain = "nodb filestore 1 plain\n"
	layoutFold  = "nodb filestore 1 fold\n"

	// staleTemp is the age after which Open removes a temp file left by a
	// crashed writer.
	staleTemp = time.Hour
	// maxRetries bounds the retries of a rename that races with the removal
	// of empty directories by Deletes.
	maxRetries = 100
)

// Open returns a store that keeps its objects as files under dir, creating dir
// if it does not exist. dir may be absolute or relative to the working
// directory at the time of the call. Several stores, in one process or many,
// may share a directory.
//
// Open fails with an error wrapping [object.ErrUnsupported] on platforms
// without flock(2) (Windows, Plan 9, ...), because conditional writes could
// not be made to hold across processes there.
func Open(dir string) (object.Store, error) {
	if dir == "" {
		return nil, errors.New("filestore: Open: empty directory name")
	}
	if err := platformErr(); err != nil {
		return nil, fmt.Errorf("filestore: Open %q: %w", dir, err)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: Open %q: %w", dir, err)
	}
	s := &store{
		root:    root,
		tmpDir:  filepath.Join(root, privDir, tmpSub),
		lockDir: filepath.Join(root, privDir, lockSub),
	}
	for i := range s.stripes {
		s.stripes[i] = make(chan struct{}, 1)
	}
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("filestore: Open %q: %s is not a directory", dir, root)
	}
	if err := os.MkdirAll(root, 0o777); err != nil {
		return nil, fmt.Errorf("filestore: Open %q: %w", dir, err)
	}
	if err := s.ensurePrivate(); err != nil {
		return nil, fmt.Errorf("filestore: Open %q: %w", dir, classify(err))
	}
	if s.fold, err = s.layout(); err != nil {
		return nil, fmt.Errorf("filestore: Open %q: %w", dir, err)
	}
	s.removeStaleTemps()
	return s, nil
}

type store struct {
	root            string // absolute
	tmpDir, lockDir string
	fold            bool // escape for a case- or normalization-insensitive file system

	gate object.Gate

	// stripes serialise the goroutines of this store per lock stripe; the
	// flock on the stripe's lock file then serialises the processes (and the
	// other stores on the same directory in this process).
	stripes [numStripes]chan struct{}

	cache dirCache
}

func (s *store) ensurePrivate() error {
	if err := os.MkdirAll(s.tmpDir, 0o777); err != nil {
		return err
	}
	return os.MkdirAll(s.lockDir, 0o777)
}

// layout reads, or on first use decides and records, whether file names are
// escaped for a folding file system.
func (s *store) layout() (bool, error) {
	name := filepath.Join(s.root, privDir, layoutFile)
	b, err := os.ReadFile(name)
	switch {
	case err == nil && string(b) == layoutFold:
		return true, nil
	case err == nil && string(b) != layoutPlain:
		return false, fmt.Errorf("%w: unknown layout %q in %s (written by a newer version?)", object.ErrUnsupported, b, name)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, classify(err)
	}
	fold, perr := probeFolding(s.tmpDir)
	if perr != nil {
		return false, classify(perr)
	}
	if err == nil { // recorded as plain
		if fold {
			return false, fmt.Errorf("%w: %s was created on a case-sensitive file system, but this file system "+
				"folds case or Unicode normalization, so different keys could name the same file", object.ErrUnsupported, s.root)
		}
		return false, nil
	}
	content := layoutPlain
	if fold {
		content = layoutFold
	}
	f, tmp, err := s.createTemp()
	if err != nil {
		return false, classify(err)
	}
	defer os.Remove(tmp)
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name) // two first Opens race harmlessly: same content
	}
	if err != nil {
		return false, classify(err)
	}
	return fold, nil
}

// probeFolding reports whether the file system holding dir treats names that
// differ in case or Unicode normalization as the same name.
func probeFolding(dir string) (bool, error) {
	id := randHex(8)
	name := filepath.Join(dir, "Probe-"+id+"-\u00e9") // é precomposed (NFC)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return false, err
	}
	f.Close()
	defer os.Remove(name)
	for _, alias := range []string{"probe-" + id + "-\u00e9", "Probe-" + id + "-e\u0301"} {
		if _, err := os.Lstat(filepath.Join(dir, alias)); err == nil {
			return true, nil
		}
	}
	return false, nil
}

func (s *store) removeStaleTemps() {
	ents, err := os.ReadDir(s.tmpDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(s.tmpDir, e.Name()))
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

func (s *store) createTemp() (*os.File, string, error) {
	for attempt := 0; ; attempt++ {
		name := filepath.Join(s.tmpDir, randHex(12)+".tmp")
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err != nil && errors.Is(err, fs.ErrNotExist) && attempt == 0 {
			// Someone removed the private directory; make it again.
			if err := s.ensurePrivate(); err != nil {
				return nil, "", err
			}
			continue
		}
		return f, name, err
	}
}

// path returns the file of a key whose segments escaped to names.
func (s *store) path(names []string) string {
	return s.root + string(filepath.Separator) + strings.Join(names, string(filepath.Separator))
}

func opErr(op, key string, err error) error {
	return fmt.Errorf("filestore: %s %q: %w", op, key, err)
}

// classify maps an operating system error to the object sentinels, keeping
// the original error reachable.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case notExist(err):
		return fmt.Errorf("%w (%w)", object.ErrNotFound, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w (%w)", object.ErrPermission, err)
	case isNameTooLong(err):
		return fmt.Errorf("%w (%w)", object.ErrInvalidKey, err)
	}
	return err
}

func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || isNotDir(err)
}

// version names one write of a file: its modification time in nanoseconds
// (strictly increasing per lock stripe, see stamp), its size and its inode.
func version(fi fs.FileInfo) string {
	b := make([]byte, 0, 40)
	b = strconv.AppendUint(b, uint64(fi.ModTime().UnixNano()), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(fi.Size()), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, inode(fi), 16)
	return string(b)
}

func info(key string, fi fs.FileInfo) object.Info {
	return object.Info{Key: key, Version: version(fi), Size: fi.Size(), LastModified: fi.ModTime().UTC()}
}

// current returns the regular file stored at path, or nil if there is none
// (missing, a directory, or below a file).
func current(path string) (fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode().IsRegular():
		return fi, nil
	case err == nil || notExist(err):
		return nil, nil
	}
	return nil, err
}

// Get implements [object.Store.Get]. The version returned is that of the
// file read, and the body is never a mix of two writes.
func (s *store) Get(ctx context.Context, key string, opts object.GetOptions) (object.Object, error) {
	if err := s.gate.Key(ctx, key); err != nil {
		return object.Object{}, opErr("Get", key, err)
	}
	names, err := keyNames(key, s.fold)
	if err != nil {
		return object.Object{}, opErr("Get", key, err)
	}
	f, err := os.OpenFile(s.path(names), os.O_RDONLY|openReadFlags, 0)
	if err != nil {
		if notExist(err) || isLoop(err) {
			return object.Object{}, opErr("Get", key, object.ErrNotFound)
		}
		return object.Object{}, opErr("Get", key, classify(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return object.Object{}, opErr("Get", key, classify(err))
	}
	if !fi.Mode().IsRegular() {
		return object.Object{}, opErr("Get", key, object.ErrNotFound)
	}
	in := info(key, fi)
	if opts.IfNoneMatch != "" && opts.IfNoneMatch == in.Version {
		return object.Object{}, opErr("Get", key, object.ErrNotModified)
	}
	body, err := readAll(f, fi.Size())
	if err != nil {
		return object.Object{}, opErr("Get", key, classify(err))
	}
	in.Size = int64(len(body))
	return object.Object{Info: in, Body: body}, nil
}

// readAll reads f to its end, sized for the expected length (like
// os.ReadFile).
func readAll(f *os.File, size int64) ([]byte, error) {
	body := make([]byte, 0, size+1) // +1: the read that sees EOF needs room
	for {
		n, err := f.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return nil, err
		}
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
	}
}

// Head implements [object.Store.Head].
func (s *store) Head(ctx context.Context, key string) (object.Info, error) {
	if err := s.gate.Key(ctx, key); err != nil {
		return object.Info{}, opErr("Head", key, err)
	}
	names, err := keyNames(key, s.fold)
	if err != nil {
		return object.Info{}, opErr("Head", key, err)
	}
	fi, err := current(s.path(names))
	if err != nil {
		return object.Info{}, opErr("Head", key, classify(err))
	}
	if fi == nil {
		return object.Info{}, opErr("Head", key, object.ErrNotFound)
	}
	return info(key, fi), nil
}

// Put implements [object.Store.Put]. With IfMatch, a missing key gives
// ErrNotFound, as on S3. A key that would need a file where a directory of
// other keys is, or a directory where a file is ("x" and "x/y"), gives an
// error wrapping ErrInvalidKey.
func (s *store) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	if err := s.gate.Put(ctx, key, opts); err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	names, err := keyNames(key, s.fold)
	if err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	path := s.path(names)

	// Write the body outside the lock; only the check and the rename need it.
	f, tmp, err := s.createTemp()
	if err != nil {
		return object.Info{}, opErr("Put", key, classify(err))
	}
	installed := false
	defer func() {
		f.Close()
		if !installed {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(body); err != nil {
		return object.Info{}, opErr("Put", key, classify(err))
	}

	l, err := s.lock(ctx, key)
	if err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	defer l.unlock()
	old, err := current(path)
	if err != nil {
		return object.Info{}, opErr("Put", key, classify(err))
	}
	switch {
	case opts.IfNoneMatch == "*" && old != nil:
		return object.Info{}, opErr("Put", key, fmt.Errorf("%w: If-None-Match \"*\": the key exists", object.ErrPrecondition))
	case opts.IfMatch != "" && old == nil:
		return object.Info{}, opErr("Put", key, fmt.Errorf("%w (If-Match %q)", object.ErrNotFound, opts.IfMatch))
	case opts.IfMatch != "":
		if v := version(old); v != opts.IfMatch {
			return object.Info{}, opErr("Put", key, fmt.Errorf("%w: If-Match %q: the current version is %q", object.ErrPrecondition, opts.IfMatch, v))
		}
	}
	if err := ctx.Err(); err != nil { // last chance to give up without writing
		return object.Info{}, opErr("Put", key, err)
	}
	fi, err := s.stamp(f, tmp, l, old)
	if err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	if err := f.Sync(); err != nil {
		return object.Info{}, opErr("Put", key, classify(err))
	}
	installed, err = s.install(tmp, path, names, key)
	if err != nil {
		return object.Info{}, opErr("Put", key, err)
	}
	return info(key, fi), nil
}

// stamp sets the modification time of the temp file to one strictly later
// than both the replaced file's and any time this lock stripe issued before
// (recorded as the lock file's own modification time), so that the version
// changes on every write, even of the same bytes and across a Delete. It
// returns the temp file's info as the file system stored it.
func (s *store) stamp(f *os.File, tmp string, l *lock, old fs.FileInfo) (fs.FileInfo, error) {
	floor, err := l.floor()
	if err != nil {
		return nil, classify(err)
	}
	if old != nil && old.ModTime().After(floor) {
		floor = old.ModTime()
	}
	want := time.Now().Round(0)
	step := time.Nanosecond
	for range 12 {
		if !want.After(floor) {
			want = floor.Add(step)
			step *= 10 // a file system with coarse timestamps truncated the last try
		}
		if err := os.Chtimes(tmp, want, want); err != nil {
			return nil, classify(err)
		}
		fi, err := f.Stat()
		if err != nil {
			return nil, classify(err)
		}
		if fi.ModTime().After(floor) {
			if err := l.setFloor(fi.ModTime()); err != nil {
				return nil, classify(err)
			}
			return fi, nil
		}
		want = fi.ModTime()
	}
	return nil, fmt.Errorf("cannot give %s a modification time after %s", tmp, floor.Format(time.RFC3339Nano))
}

// install renames the temp file to path, creating the parent directories,
// and syncs the parent directory. It reports whether the rename happened.
func (s *store) install(tmp, path string, names []string, key string) (bool, error) {
	for attempt := 0; ; attempt++ {
		err := os.Rename(tmp, path)
		if err == nil {
			break
		}
		if attempt == maxRetries {
			return false, err // not classified: ENOENT here is no missing key
		}
		switch {
		case notExist(err):
			// A parent is missing, perhaps removed just now by a Delete
			// that found it empty: make the parents and try again.
			if err := s.mkdirs(names[:len(names)-1], key); err != nil {
				return false, err
			}
		case errors.Is(err, fs.ErrExist) || isDirTarget(err):
			// path is a directory. Remove it if it is empty (left over
			// from a crash or a Delete); otherwise it holds other keys.
			if rmdir(path) != nil {
				return false, fmt.Errorf("%w: keys starting with %q exist, so %q cannot be stored as a file",
					object.ErrInvalidKey, key+"/", key)
			}
		default:
			return false, classify(err)
		}
	}
	return true, classify(syncDir(filepath.Dir(path)))
}

// mkdirs makes the directories for names below the root, syncing the parent
// of each one it creates. A file in the way means that key has a prefix
// ending in "/" that is itself a key.
func (s *store) mkdirs(names []string, key string) error {
	for attempt := 0; ; attempt++ {
		err := s.mkdirsOnce(names, key)
		if err == nil || !notExist(err) || attempt == maxRetries {
			return err
		}
		// A Delete removed a directory we had just made; start again.
	}
}

func (s *store) mkdirsOnce(names []string, key string) error {
	dir := s.root
	for i, name := range names {
		parent := dir
		dir += string(filepath.Separator) + name
		err := os.Mkdir(dir, 0o777)
		if err == nil {
			if err := syncDir(parent); err != nil {
				return classify(err)
			}
			continue
		}
		if errors.Is(err, fs.ErrExist) {
			fi, lerr := os.Lstat(dir)
			if lerr != nil {
				return lerr // not exist: raced with a Delete, retried by mkdirs
			}
			if fi.IsDir() {
				continue
			}
		} else if !isNotDir(err) {
			return classify(err)
		}
		prefix := strings.Join(strings.Split(key, "/")[:i+1], "/")
		return fmt.Errorf("%w: %q is stored as a file, so no key can start with %q",
			object.ErrInvalidKey, prefix, prefix+"/")
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Delete implements [object.Store.Delete]. Directories left empty are
// removed, up to the root, so that a key "x" can be stored once the last key
// below "x/" is gone.
func (s *store) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	if err := s.gate.Key(ctx, key); err != nil {
		return opErr("Delete", key, err)
	}
	names, err := keyNames(key, s.fold)
	if err != nil {
		return opErr("Delete", key, err)
	}
	path := s.path(names)
	l, err := s.lock(ctx, key)
	if err != nil {
		return opErr("Delete", key, err)
	}
	defer l.unlock()
	old, err := current(path)
	if err != nil {
		return opErr("Delete", key, classify(err))
	}
	switch {
	case old == nil && opts.IfMatch != "":
		return opErr("Delete", key, fmt.Errorf("%w (If-Match %q)", object.ErrNotFound, opts.IfMatch))
	case old == nil:
		return nil
	case opts.IfMatch != "":
		if v := version(old); v != opts.IfMatch {
			return opErr("Delete", key, fmt.Errorf("%w: If-Match %q: the current version is %q", object.ErrPrecondition, opts.IfMatch, v))
		}
	}
	// Keep the stripe's time floor at or after the deleted file's time, so a
	// new file under this key gets a later time and so a new version.
	if floor, err := l.floor(); err == nil && old.ModTime().After(floor) {
		if err := l.setFloor(old.ModTime()); err != nil {
			return opErr("Delete", key, classify(err))
		}
	}
	if err := os.Remove(path); err != nil && !notExist(err) {
		return opErr("Delete", key, classify(err))
	}
	// The directory may be gone already: a concurrent Delete of its last
	// other key found it empty. Then there is nothing to sync.
	if err := syncDir(filepath.Dir(path)); err != nil && !notExist(err) {
		return opErr("Delete", key, classify(err))
	}
	s.prune(names)
	return nil
}

// prune removes the now empty directories above a deleted key, deepest
// first, stopping at the first that is not empty. rmdir never removes a
// file, so this cannot race a Put of the directory's own key into data loss.
func (s *store) prune(names []string) {
	for i := len(names) - 1; i >= 1; i-- {
		if rmdir(s.path(names[:i])) != nil {
			return
		}
	}
}

// Capabilities implements [object.Store.Capabilities]: conditional deletes
// are supported.
func (s *store) Capabilities() object.Capabilities {
	return object.Capabilities{ConditionalDelete: true}
}

// Close implements [object.Store.Close]. A filestore holds no file
// descriptors between calls (a Put or Delete opens its stripe's lock file
// and closes it, releasing the flock, before it returns), so Close marks
// the store closed and drops its directory cache. Calls in progress finish
// and release their locks. The directory and its files stay, for other
// stores on it and later Opens.
func (s *store) Close() error {
	if s.gate.Close() {
		s.cache.clear()
	}
	return nil
}

// lock is a held lock stripe.
type lock struct {
	s      *store
	stripe int
	f      *os.File
}

// lock takes the stripe of key: first this store's in-process slot, then
// an exclusive flock on the stripe's lock file, polling so that ctx is
// honoured while another process holds it.
func (s *store) lock(ctx context.Context, key string) (*lock, error) {
	h := fnv.New32a()
	h.Write([]byte(key))
	stripe := int(h.Sum32() % numStripes)
	select {
	case s.stripes[stripe] <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	l := &lock{s: s, stripe: stripe}
	name := filepath.Join(s.lockDir, fmt.Sprintf("%02x", stripe))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		if err = s.ensurePrivate(); err == nil {
			f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
		}
	}
	if err != nil {
		<-s.stripes[stripe]
		return nil, classify(err)
	}
	l.f = f
	wait := 100 * time.Microsecond
	for {
		ok, err := tryLock(f)
		if ok {
			return l, nil
		}
		if err == nil {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				err = ctx.Err()
			}
			wait = min(2*wait, 10*time.Millisecond)
		}
		if err != nil {
			l.unlock()
			return nil, err
		}
	}
}

func (l *lock) unlock() {
	l.f.Close() // releases the flock
	<-l.s.stripes[l.stripe]
}

// floor returns the latest modification time this stripe has issued.
func (l *lock) floor() (time.Time, error) {
	fi, err := l.f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

func (l *lock) setFloor(t time.Time) error {
	return os.Chtimes(l.f.Name(), t, t)
}
