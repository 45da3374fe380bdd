// Package filestore provides an [object.Store] that keeps objects as files in
// a local directory: NoDB's embedded default, for programs that have no
// bucket. It is a real store, not a toy: writes are atomic and durable,
// conditional writes hold across goroutines and across processes sharing the
// directory, no key can reach outside the directory, and listings come in the
// same order as on S3. [Open] returns one; several stores, in one process or
// many, may share a directory.
//
// # Layout
//
// A key is split on "/" and each segment becomes one file or directory name,
// so the key "User/r/alice" is the file User/r/alice under the root, and a
// record body is the file's whole content (readable with jq or any other
// tool; the store adds nothing to it). Bytes that some file system or
// platform does not accept in a name are written as "%XX" (upper-case hex):
// "%" itself, control characters, NUL, `\ : * ? " < > |`, a leading "." (so
// ".", ".." and hidden names cannot occur), a trailing "." or space (which
// Windows drops), and the first letter of a Windows device name such as
// "CON" or "nul.json". An empty segment ("a//b", "x/") is the name "%".
// Printable keys therefore stay readable, and every name decodes back to
// exactly one segment.
//
// On a file system that folds case or Unicode normalization (macOS and
// Windows by default), two keys could otherwise name one file, so a store
// created there also escapes the upper-case ASCII letters and every
// non-ASCII byte: "User" is stored as "%55ser". Open probes the file system
// when it creates a store and records the choice in .nodb/layout; it refuses
// to open a store created on a case-sensitive file system from one that
// folds.
//
// The store's own state lives in the directory .nodb at the root, which no
// escaped name can produce: temp files in .nodb/tmp and lock files in
// .nodb/locks. Names starting with "." anywhere in the tree, names the
// escaping does not produce, symbolic links and other special files are not
// objects: List skips them and Get does not find them.
//
// # Limits
//
// Keys are checked with [object.CheckKey], and an escaped segment must fit
// in a file name ([object.MaxSegmentLen] bytes); other keys give an error
// wrapping [object.ErrInvalidKey]. A key cannot be both an object and a
// directory of others: with "x" stored, Put "x/y" fails with
// [object.ErrInvalidKey], and so does Put "x" while any key starts with
// "x/". Delete removes directories it leaves empty, so "x" can be stored once
// the last "x/..." key is gone. The NoDB key layout never produces such
// pairs.
//
// Open fails with [object.ErrUnsupported] on platforms without flock(2), such
// as Windows. Locks do not work on network file systems that do not
// implement flock (some NFS setups); use a local file system.
//
// # Writes
//
// Put writes the body to a temp file in .nodb/tmp, then, holding the key's
// lock, checks the conditions, sets the temp file's modification time (see
// Versions), syncs it, renames it over the key's file and syncs the
// directory. Readers take no lock: a rename is atomic, so a reader sees the
// old file or the new one, never a partial body. Delete removes the file
// under the lock.
//
// # Locking
//
// Keys hash onto 256 lock stripes. Each Put and Delete holds its key's
// stripe: an in-process slot (one goroutine of the store at a time) and an
// exclusive flock(2) on the stripe's file in .nodb/locks (one process, or one
// store in this process, at a time). The lock is released when the process
// dies, so a crash leaves nothing to clean but temp files, which Open removes
// once they are an hour old. Waiting for a lock honours the context.
//
// # Versions
//
// A version is the hex of the file's modification time in nanoseconds, its
// size and its inode number, so it is read from the plain file with no
// sidecar. Under the stripe's lock, Put gives the new file a modification
// time strictly after both the old file's and the latest time the stripe has
// issued (kept as the lock file's own modification time), reading back what
// the file system stored and moving further on file systems with coarse
// timestamps. So every write gets a new version, even of the same bytes, and
// even after a Delete and a new Put. LastModified is the modification time.
// Get reports the version of the very file it read. Editing a file by hand
// changes its version too.
//
// # Listing
//
// List walks the tree depth first, reading only the directories it needs:
// the complete segments of the prefix lead straight to the directory to
// start in, and subtrees that sort before StartAfter are skipped unread.
// Entries are ordered by their decoded segment, with "/" appended for
// directories, which is the byte order of the full keys, as on S3 ("a-c"
// comes before "a/b"). The sorted entries of a few large directories are
// cached while the directory is unchanged, so paging through many keys does
// not sort them again for each page.
//
// # Closing
//
// A store keeps no file open between calls: each Put and Delete opens its
// stripe's lock file and closes it, releasing the flock, before it returns.
// Close therefore only makes the store refuse further calls with
// [object.ErrClosed] and drops its directory cache. It never removes files;
// other stores on the directory, in this process or others, go on working,
// and a later Open sees everything.
//
// # Errors
//
// Errors name the operation and the key, as in
// `filestore: Get "User/r/alice": object: not found`, and wrap the sentinels
// of package object: a missing file is [object.ErrNotFound], EACCES and
// EPERM are [object.ErrPermission], a failed condition is
// [object.ErrPrecondition]. The operating system's error stays reachable with
// errors.As. A method whose context is done returns an error wrapping the
// context's error.
package filestore
