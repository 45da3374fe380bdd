package repo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nodb-go/nodb/repo/object"
)

// Sentinel errors, tested with errors.Is on errors from every method and on
// every backend.
var (
	// ErrNotFound: no record has the key (Get, GetRecord, Update, Delete), or
	// no record holds the unique value (GetBy).
	ErrNotFound = errors.New("repo: not found")
	// ErrExists: Create found a record with the key already.
	ErrExists = errors.New("repo: already exists")
	// ErrConflict: the record changed since the version the write was
	// conditioned on (Replace), or Update gave up after its retries.
	ErrConflict = errors.New("repo: version conflict")
	// ErrUnique: another record holds the value of a unique field. The error
	// names the field and the value.
	ErrUnique = errors.New("repo: unique constraint violated")
	// ErrInvalid: the model, a key, a field name or a value is not usable;
	// the message says which and why.
	ErrInvalid = errors.New("repo: invalid")
	// ErrCorrupt: a stored object could not be decoded, or a record needs
	// an upgrade step this Repo lacks, or was written by a newer schema
	// version; the message names the object and says which.
	ErrCorrupt = errors.New("repo: corrupt object")
	// ErrNotBuilt: a query used an index that is not built (it was added to
	// a model that already had records, or its kind or field changed); the
	// message says why. Run Reindex.
	ErrNotBuilt = errors.New("repo: index not built")
	// ErrOutcomeUnknown: a write may or may not have landed, and NoDB could
	// not tell which: the response to the record's write was lost (or the
	// context ended while it was in flight), and reading the record back did
	// not prove either way, since another writer may have replaced it
	// since. The write's claims and entries are kept, so no unique value it
	// may hold is freed. Update never calls its function again after such a
	// write. Read the record (Get, GetRecord) to decide, and retry only if
	// the change is not there; Check settles leftovers later.
	ErrOutcomeUnknown = errors.New("repo: outcome unknown")
)

// Error is the error type returned by Repo methods. It names the operation,
// the model and the key, and unwraps to both a sentinel of this package and
// the backend's own error, so errors.Is(err, repo.ErrNotFound) and
// errors.As(err, &someBackendError) both work.
type Error struct {
	Op    string // method, e.g. "Get"
	Model string // model name
	Key   string // the key as text, "" where there is none
	Err   error  // the cause: a backend error, or an error wrapping a sentinel
	kind  error  // sentinel the cause does not already wrap, or nil
	msg   string
}

func (e *Error) Error() string {
	s := "repo: " + e.Op + " " + e.Model
	if e.Key != "" {
		s += " " + quote(e.Key)
	}
	return s + ": " + e.msg
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// errorf returns an error wrapping sentinel kind with a message.
func errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{kind}, args...)...)
}

func invalidf(format string, args ...any) error { return errorf(ErrInvalid, format, args...) }

// wrapErr turns an error into an *Error for op on model and key, classifying
// backend errors. Context errors are returned unchanged.
func wrapErr(op, model, key string, err error) error {
	if err == nil {
		return nil
	}
	// Context errors pass through unchanged, unless the write they stopped
	// may have landed: that must stay visible as ErrOutcomeUnknown.
	if !errors.Is(err, ErrOutcomeUnknown) {
		if errors.Is(err, context.Canceled) {
			return context.Canceled
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return context.DeadlineExceeded
		}
	}
	if re, ok := err.(*Error); ok {
		return re
	}
	e := &Error{Op: op, Model: model, Key: key, Err: err, msg: strings.TrimPrefix(err.Error(), "repo: ")}
	switch {
	case isOurs(err):
	case errors.Is(err, object.ErrNotFound):
		e.kind, e.msg = ErrNotFound, "not found"
	case errors.Is(err, object.ErrPrecondition), errors.Is(err, object.ErrConcurrentRequest):
		e.kind, e.msg = ErrConflict, "version conflict: "+e.msg
	case errors.Is(err, object.ErrInvalidKey):
		e.kind = ErrInvalid
	}
	return e
}

func isOurs(err error) bool {
	for _, k := range []error{ErrNotFound, ErrExists, ErrConflict, ErrUnique, ErrInvalid, ErrCorrupt, ErrNotBuilt, ErrOutcomeUnknown} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// maxQuoted is how many bytes of a value, key or cursor an error message
// quotes: a message about a 1 MiB value stays short.
const maxQuoted = 64

// quote returns s quoted for an error message: whole if it is at most
// maxQuoted bytes long, else its first maxQuoted bytes (cut at a rune
// boundary), an ellipsis and its length.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:cutAt(s)]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// capText is quote without the quotes, for values printed with %v.
func capText(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return s[:cutAt(s)] + fmt.Sprintf("… (%d bytes)", len(s))
}

// cutAt returns where to cut s, longer than maxQuoted, at a rune boundary.
func cutAt(s string) int {
	cut := maxQuoted
	for cut > maxQuoted-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cut
}
