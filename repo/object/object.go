// Package object defines the object layer that every NoDB backend implements:
// a flat namespace of keys holding byte bodies, with versions, conditional
// writes and ordered listing. It is the part of S3 that NoDB relies on, and
// nothing more.
//
// Users normally reach a Store through [github.com/nodb-go/nodb/repo.Open] and
// never call it directly; backend authors implement [Store] and prove it with
// [github.com/nodb-go/nodb/repo/storetest.RunConformanceTests].
//
// # Keys
//
// A key is a non-empty, valid UTF-8 string of at most [MaxKeyLen] bytes,
// without NUL bytes or backslashes ([CheckKey]). "/" is an ordinary character
// to the interface, but backends that keep objects as files (filestore,
// versitygw and other POSIX-backed servers) treat it as a directory
// separator: they reject a "/"-separated segment longer than [MaxSegmentLen]
// bytes, and some cannot hold both "x" and "x/y" (S3 can). A backend may
// store both or refuse the second with [ErrInvalidKey]; the NoDB key layout
// never produces such a pair. A backslash is refused everywhere because
// some S3-compatible servers (SeaweedFS) silently store it as "/", so that
// "a\b" would be read back, and listed, as "a/b". Keys that a backend cannot
// store give an error wrapping [ErrInvalidKey]; the NoDB key layout never
// produces them.
//
// # Versions
//
// Every stored object has a version: an opaque, non-empty string that changes
// whenever the object is written with different bytes. On S3 it is the ETag,
// which is the same for the same bytes; NoDB therefore puts a unique write id
// in every body it writes conditionally, so that a version names one write.
// Callers compare versions only for equality.
//
// # Errors
//
// Backends return errors that wrap one of the sentinels below where one
// applies, so callers test with errors.Is regardless of backend. The backend's
// own error stays reachable through errors.As. context.Canceled and
// context.DeadlineExceeded are returned as they are (possibly wrapped).
//
// # Closing
//
// A Store holds resources (clients, connections, caches), so it has a
// Close method: after Close every call fails with an error wrapping
// [ErrClosed]. Close is idempotent and never deletes stored data; another
// client of the same storage (a second Open of the same directory or
// bucket, [github.com/nodb-go/nodb/repo/memstore.Share]) is not disturbed.
//
// # Checks: a shared Gate, not a wrapper type
//
// What every backend checks before it acts on a call (the store is open,
// the context is not done, the key, the Put options, the List prefix and
// StartAfter) lives in one place, [Gate], which each backend calls first
// in every method; the conformance suite checks that every backend refuses
// the same bad input with the same sentinel. NoDB does not put a portable
// wrapper type between users and backends, as gocloud's blob.Bucket wraps
// driver.Bucket, for three reasons:
//
//   - Store is already the small, complete type users hold: a wrapper
//     would add no operations (blob.Bucket adds readers, writers,
//     attributes, As and a URL mux), only a second type with the same
//     method set, and every store would be two layers deep for wrappers
//     such as meter and for type assertions.
//   - The checks are not all portable: s3store checks a key with its
//     prefix and refuses "." and ".." segments, filestore refuses segments
//     that escape to over-long file names. A wrapper would still leave
//     those in the backends, so checks would live in two layers instead
//     of one call per method.
//   - A wrapper protects only the stores that its users remember to wrap,
//     which for an outside backend is the same obligation as calling Gate;
//     what proves a backend right either way is
//     [github.com/nodb-go/nodb/repo/storetest.RunConformanceTests].
package object

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Limits on keys that every backend honours.
const (
	// MaxKeyLen is the longest key in bytes (S3's limit).
	MaxKeyLen = 1024
	// MaxSegmentLen is the longest "/"-separated key segment in bytes that
	// file-backed stores can hold (a file name).
	MaxSegmentLen = 255
	// MaxPageSize is the most objects one List call returns (S3's limit).
	MaxPageSize = 1000
	// MaxBodySize is the largest body in bytes that one object can hold
	// through this interface: 5 GiB, the most a single S3 PutObject
	// stores. Bodies are held in memory whole, so a store that can hold
	// larger ones (memstore, filestore) is still used within this limit.
	// s3store refuses a larger Put before sending it, and a larger object
	// (written by multipart upload) on Get, with [ErrTooLarge].
	MaxBodySize = 5 << 30
)

// Sentinel errors. Every backend maps its own failures to these.
var (
	// ErrNotFound: the key does not exist (S3 NoSuchKey, 404).
	ErrNotFound = errors.New("object: not found")
	// ErrPrecondition: an If-Match or If-None-Match condition on a write or
	// delete did not hold (S3 412 PreconditionFailed).
	ErrPrecondition = errors.New("object: precondition failed")
	// ErrConcurrentRequest: a concurrent conflicting request made this one
	// fail; it did not happen, and it is safe to retry after re-reading (S3
	// 409 ConditionalRequestConflict). Not to be confused with
	// repo.ErrConflict, a stale record version.
	ErrConcurrentRequest = errors.New("object: conflicting concurrent request (retryable)")
	// ErrNotModified: a Get with IfNoneMatch named the current version (304).
	ErrNotModified = errors.New("object: not modified")
	// ErrInvalidKey: the key cannot be stored by this backend.
	ErrInvalidKey = errors.New("object: invalid key")
	// ErrPermission: the backend refused access (S3 AccessDenied, EACCES).
	ErrPermission = errors.New("object: permission denied")
	// ErrUnsupported: the request needs a feature this backend or server does
	// not provide, such as a server that silently ignores conditional writes.
	ErrUnsupported = errors.New("object: unsupported by this store")
	// ErrOutcomeUnknown: a conditional write or delete may or may not have
	// taken effect, and the backend cannot tell which. It happens when a
	// response was lost and the retry failed its condition while the stored
	// object is not the one this request wrote: the first attempt may never
	// have landed, or may have landed and been replaced by another writer
	// within milliseconds. Callers must not treat it as a failed condition.
	ErrOutcomeUnknown = errors.New("object: outcome unknown (the request may have taken effect)")
	// ErrClosed: the store was closed with Close; the call did nothing.
	ErrClosed = errors.New("object: store is closed")
	// ErrTooLarge: the body is larger than the store can write or read in
	// one request ([MaxBodySize] on S3); the call did nothing.
	ErrTooLarge = errors.New("object: body too large")
	// ErrInvalidOptions: the options of a call are not a valid combination
	// ([CheckPutOptions]); the call did nothing.
	ErrInvalidOptions = errors.New("object: invalid options")
)

// Info describes a stored object.
type Info struct {
	// Key is the object's key.
	Key string
	// Version identifies the object's current content (the ETag on S3).
	Version string
	// Size is the body's length in bytes.
	Size int64
	// LastModified is the time of the last write by the store's clock (the
	// server's on S3). It may be the zero time where a backend cannot tell,
	// as for Put on some S3-compatible servers.
	LastModified time.Time
}

// Object is a stored object with its body.
type Object struct {
	Info
	Body []byte
}

// GetOptions are conditions on a Get. The zero value reads unconditionally.
type GetOptions struct {
	// IfNoneMatch, when not empty, makes Get return ErrNotModified (and no
	// body) if the object's current version equals it.
	IfNoneMatch string
}

// PutOptions are conditions on a Put. The zero value writes unconditionally.
// At most one of IfMatch and IfNoneMatch may be set.
type PutOptions struct {
	// IfMatch, when not empty, writes only if the object exists and its
	// current version equals IfMatch. A missing object gives ErrNotFound
	// (S3's 404) or ErrPrecondition, depending on the backend; callers treat
	// both as "the condition did not hold".
	IfMatch string
	// IfNoneMatch, when "*", writes only if the object does not exist.
	// Any other non-empty value is an error.
	IfNoneMatch string
}

// DeleteOptions are conditions on a Delete. The zero value deletes
// unconditionally.
type DeleteOptions struct {
	// IfMatch, when not empty, deletes only if the object's current version
	// equals it. Only backends whose Capabilities report ConditionalDelete
	// accept it; others return ErrUnsupported without deleting.
	IfMatch string
	// MissingOK says the caller does not need to know whether the key
	// existed: with IfMatch, a missing key may then be reported as success
	// instead of ErrNotFound. Backends use it to save a request where
	// finding out costs one (s3store on servers that do not report a
	// missing key on a conditional delete).
	MissingOK bool
}

// ListOptions select one page of a listing.
type ListOptions struct {
	// Prefix restricts the listing to keys that start with it.
	Prefix string
	// StartAfter, when not empty, restricts the listing to keys that sort
	// strictly after it. It need not be an existing key.
	StartAfter string
	// PageSize is the most keys to return; 0 or more than MaxPageSize means
	// MaxPageSize.
	PageSize int
}

// ListPage is one page of a listing.
type ListPage struct {
	// Objects are in ascending byte order of their keys.
	Objects []Info
	// More reports whether keys after the last one in Objects may match.
	// The next page starts after the last key of this one.
	More bool
}

// Capabilities report optional features of a store.
type Capabilities struct {
	// ConditionalDelete reports whether Delete honours DeleteOptions.IfMatch.
	ConditionalDelete bool
}

// Store is the object layer. Implementations must be safe for concurrent use
// by multiple goroutines. Every method takes a context first; when the context
// is done a method returns promptly with an error wrapping the context's error,
// and a write either happened completely or not at all.
type Store interface {
	// Get returns the object stored under key with its body.
	//
	// If the key does not exist, Get returns an error wrapping ErrNotFound.
	// If opts.IfNoneMatch equals the current version, Get returns an error
	// wrapping ErrNotModified and no body.
	Get(ctx context.Context, key string, opts GetOptions) (Object, error)

	// Head returns the object's Info without its body. If the key does not
	// exist, Head returns an error wrapping ErrNotFound.
	Head(ctx context.Context, key string) (Info, error)

	// Put stores body under key, atomically replacing any previous object:
	// a concurrent or later reader sees either the old object or the new one,
	// never a mix. It returns the new object's Info (Key, Version, Size, and
	// LastModified where the backend knows it).
	//
	// With opts.IfNoneMatch "*", Put fails with ErrPrecondition if the key
	// exists. With opts.IfMatch, Put fails with ErrPrecondition if the current
	// version differs, and with ErrNotFound or ErrPrecondition if the key does
	// not exist. Among concurrent conditional Puts to one key, at most one
	// whose condition held before any of them wins; the others fail with
	// ErrPrecondition or ErrConcurrentRequest. A conditional Put whose response was
	// lost and that the backend retried must report success if it can tell
	// that its first attempt landed (the stored bytes are its own), and an
	// error wrapping ErrOutcomeUnknown if it cannot; never ErrPrecondition
	// for a condition that only its own retry broke.
	Put(ctx context.Context, key string, body []byte, opts PutOptions) (Info, error)

	// Delete removes the object stored under key. Deleting a missing key
	// without conditions succeeds (as on S3). With opts.IfMatch, Delete fails
	// with ErrPrecondition if the current version differs, ErrNotFound if the
	// key does not exist, and ErrUnsupported if the backend cannot delete
	// conditionally. A conditional Delete whose response was lost and whose
	// retry failed (servers answer 404 or 412 once the key is gone) reports
	// success if the key is gone, and ErrOutcomeUnknown if it holds another
	// version now.
	Delete(ctx context.Context, key string, opts DeleteOptions) error

	// List returns one page of the keys that start with opts.Prefix and sort
	// after opts.StartAfter, in ascending byte order (UTF-8 binary order, as
	// S3 lists). A listing that spans pages is not a snapshot: keys written
	// between pages may or may not appear. A Prefix or StartAfter that
	// [CheckPrefix] refuses (invalid UTF-8, a NUL byte, a backslash, too
	// long) may give an error wrapping ErrInvalidKey instead of a page:
	// S3-compatible servers answer some of them with a 500 or rewrite them,
	// so backends that send them to a server refuse them first.
	List(ctx context.Context, opts ListOptions) (ListPage, error)

	// Capabilities reports the optional features this store supports. It
	// makes no request and still answers after Close.
	Capabilities() Capabilities

	// Close releases what the store holds (connections, caches). It does
	// not delete or change stored data, and does not disturb other clients
	// of the same storage. After Close, Get, Head, Put, Delete and List
	// return an error wrapping ErrClosed without doing anything. Calls
	// already in progress finish as they would have; Close does not wait
	// for them. Close is idempotent: later calls do nothing and return nil.
	// A store built on a client its caller passed in (s3store.Open) leaves
	// that client to the caller.
	Close() error
}

// All lists every key that starts with prefix and sorts after startAfter,
// fetching pages of pageSize (0 for the maximum) lazily as the sequence is
// consumed: breaking out of the loop early saves the remaining requests.
// On a failure it yields the error once and stops. The sequence can be ranged
// over more than once; each range lists afresh.
func All(ctx context.Context, st Store, prefix, startAfter string, pageSize int) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		after := startAfter
		for {
			page, err := st.List(ctx, ListOptions{Prefix: prefix, StartAfter: after, PageSize: pageSize})
			if err != nil {
				yield(Info{}, err)
				return
			}
			for _, o := range page.Objects {
				if !yield(o, nil) {
					return
				}
			}
			if !page.More || len(page.Objects) == 0 {
				return
			}
			after = page.Objects[len(page.Objects)-1].Key
		}
	}
}

// CheckKey reports whether key is acceptable to every backend as far as the
// interface is concerned: non-empty, valid UTF-8, no NUL byte, no backslash,
// at most MaxKeyLen bytes, and no "/"-separated segment longer than
// MaxSegmentLen. The error wraps ErrInvalidKey and says what is wrong.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if err := checkString("key", key); err != nil {
		return err
	}
	seg := 0
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '/':
			seg = 0
			continue
		}
		seg++
		if seg > MaxSegmentLen {
			return fmt.Errorf("%w: key %.40q... has a segment longer than %d bytes", ErrInvalidKey, key, MaxSegmentLen)
		}
	}
	return nil
}

// CheckPrefix reports whether s is acceptable as a List prefix or
// StartAfter to every backend: empty, or valid UTF-8 without NUL bytes or
// backslashes and at most MaxKeyLen bytes, like a key but without the
// segment limit. The error wraps ErrInvalidKey and says what is wrong.
func CheckPrefix(s string) error {
	return checkString("prefix", s)
}

// checkString checks what keys and prefixes share; what names s.
func checkString(what, s string) error {
	switch {
	case len(s) > MaxKeyLen:
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrInvalidKey, what, len(s), MaxKeyLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalidKey, what, s)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s %q contains a NUL byte", ErrInvalidKey, what, s)
	case strings.IndexByte(s, '\\') >= 0:
		return fmt.Errorf("%w: %s %q contains a backslash, which some S3-compatible servers (SeaweedFS) store as \"/\"", ErrInvalidKey, what, s)
	}
	return nil
}

// CheckPutOptions reports whether opts is a valid combination. The error
// wraps ErrInvalidOptions and says what is wrong.
func CheckPutOptions(opts PutOptions) error {
	if opts.IfNoneMatch != "" && opts.IfNoneMatch != "*" {
		return fmt.Errorf("%w: PutOptions.IfNoneMatch must be \"\" or \"*\", not %q", ErrInvalidOptions, opts.IfNoneMatch)
	}
	if opts.IfNoneMatch != "" && opts.IfMatch != "" {
		return fmt.Errorf("%w: PutOptions.IfMatch and IfNoneMatch are mutually exclusive", ErrInvalidOptions)
	}
	return nil
}

// Gate makes the checks that every [Store] method makes before it acts, and
// keeps the store's closed state, so that backends share one implementation
// of them (see "Checks" in the package doc). A backend keeps one Gate per
// store value and calls the matching Gate method first in each Store method;
// on an error it returns that error (adding its own context) and does
// nothing else. The zero value is an open gate. A Gate is safe for
// concurrent use and must not be copied after first use.
//
// The checks, in order: the gate is not closed ([ErrClosed]); the context is
// not done (its error); the key passes [CheckKey], or the List Prefix and
// StartAfter pass [CheckPrefix] ([ErrInvalidKey]); the Put options pass
// [CheckPutOptions] ([ErrInvalidOptions]). The errors name what was wrong
// but not the backend or operation, which the backend adds.
type Gate struct {
	closed atomic.Bool
}

// Close closes the gate. It reports whether this call closed it, so that a
// backend's Close releases its resources once and returns nil on later calls.
func (g *Gate) Close() bool { return g.closed.CompareAndSwap(false, true) }

// Closed reports whether the gate was closed.
func (g *Gate) Closed() bool { return g.closed.Load() }

// open checks the closed state and the context.
func (g *Gate) open(ctx context.Context) error {
	if g.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// Key makes the checks for [Store.Get], [Store.Head] and [Store.Delete] of
// key.
func (g *Gate) Key(ctx context.Context, key string) error {
	if err := g.open(ctx); err != nil {
		return err
	}
	return CheckKey(key)
}

// Put makes the checks for [Store.Put] of key with opts.
func (g *Gate) Put(ctx context.Context, key string, opts PutOptions) error {
	if err := g.Key(ctx, key); err != nil {
		return err
	}
	return CheckPutOptions(opts)
}

// List makes the checks for [Store.List] with opts.
func (g *Gate) List(ctx context.Context, opts ListOptions) error {
	if err := g.open(ctx); err != nil {
		return err
	}
	if err := checkString("ListOptions.Prefix", opts.Prefix); err != nil {
		return err
	}
	return checkString("ListOptions.StartAfter", opts.StartAfter)
}
