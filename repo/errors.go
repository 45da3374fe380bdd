package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
		s += fmt.Sprintf(" %q", e.Key)
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
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	if re, ok := err.(*Error); ok {
		return re
	}
	e := &Error{Op: op, Model: model, Key: key, Err: err, msg: strings.TrimPrefix(err.Error(), "repo: ")}
	switch {
	case isOurs(err):
	case errors.Is(err, object.ErrNotFound):
		e.kind, e.msg = ErrNotFound, "not found"
	case errors.Is(err, object.ErrPrecondition), errors.Is(err, object.ErrConflict):
		e.kind, e.msg = ErrConflict, "version conflict: "+e.msg
	case errors.Is(err, object.ErrInvalidKey):
		e.kind = ErrInvalid
	}
	return e
}

func isOurs(err error) bool {
	for _, k := range []error{ErrNotFound, ErrExists, ErrConflict, ErrUnique, ErrInvalid, ErrCorrupt, ErrNotBuilt} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
