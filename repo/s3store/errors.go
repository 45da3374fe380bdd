package s3store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/nodb-go/nodb/repo/object"
)

// opError is the error every store method returns: operation, key (without
// the prefix), an object sentinel where one applies, and the cause.
type opError struct {
	op       string
	key      string
	sentinel error  // an object.Err*, or nil
	err      error  // the SDK's (or other) error, or nil
	msg      string // what went wrong; default from sentinel or err
}

func (e *opError) Error() string {
	var b strings.Builder
	b.WriteString("s3store: ")
	b.WriteString(e.op)
	fmt.Fprintf(&b, " %q: ", e.key)
	switch {
	case e.msg != "":
		b.WriteString(e.msg)
		if e.err != nil {
			b.WriteString(": ")
			b.WriteString(e.err.Error())
		}
	case e.sentinel != nil:
		b.WriteString(strings.TrimPrefix(e.sentinel.Error(), "object: "))
		if e.err != nil {
			b.WriteString(" (")
			b.WriteString(describe(e.err))
			b.WriteString(")")
		}
	case e.err != nil:
		b.WriteString(e.err.Error())
	}
	return b.String()
}

func (e *opError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.sentinel != nil {
		errs = append(errs, e.sentinel)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// describe summarises an SDK error as "Code, HTTP status".
func describe(err error) string {
	code, status := classify(err)
	switch {
	case code != "" && status != 0:
		return fmt.Sprintf("%s, HTTP %d", code, status)
	case code != "":
		return code
	case status != 0:
		return fmt.Sprintf("HTTP %d", status)
	}
	return err.Error()
}

// classify returns the S3 error code and HTTP status of err, where known.
func classify(err error) (code string, status int) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var se interface{ HTTPStatusCode() int }
	if errors.As(err, &se) {
		status = se.HTTPStatusCode()
	}
	return code, status
}

// sentinelFor maps an S3 failure to an object sentinel, or nil.
func sentinelFor(err error) error {
	code, status := classify(err)
	switch code {
	case "NoSuchKey", "NotFound":
		return object.ErrNotFound
	case "NoSuchBucket":
		return nil
	case "PreconditionFailed":
		return object.ErrPrecondition
	case "ConditionalRequestConflict":
		return object.ErrConcurrentRequest
	case "NotModified":
		return object.ErrNotModified
	case "AccessDenied", "AllAccessDisabled":
		return object.ErrPermission
	case "KeyTooLongError", "ObjectParentIsFile", "ExistingObjectIsDirectory", "DirectoryObjectContainsData":
		return object.ErrInvalidKey
	case "NotImplemented":
		return object.ErrUnsupported
	case "EntityTooLarge":
		return object.ErrTooLarge
	}
	switch status {
	case 404:
		return object.ErrNotFound
	case 412:
		return object.ErrPrecondition
	case 409:
		return object.ErrConcurrentRequest
	case 304:
		return object.ErrNotModified
	case 403:
		return object.ErrPermission
	case 501:
		return object.ErrUnsupported
	case 413:
		return object.ErrTooLarge
	}
	return nil
}

// isConditionFailure reports whether err says a condition did not hold.
func isConditionFailure(err error) bool {
	s := sentinelFor(err)
	return s == object.ErrPrecondition || s == object.ErrConcurrentRequest
}

// wrap classifies err from operation op on key.
func (s *store) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var oe *opError
	if errors.As(err, &oe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &opError{op: op, key: key, err: err}
	}
	return &opError{op: op, key: key, sentinel: sentinelFor(err), err: err}
}
