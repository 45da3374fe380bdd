package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/nodb-go/nodb/repo/object"
)

// DeleteVersion removes the record under key and its index entries and
// unique claims, only if the record's current version is version (from
// [Repo.GetRecord]): a conditional delete, as [Repo.Replace] is a
// conditional write. It is how an HTTP DELETE with If-Match is served.
//
// If the record changed since version, DeleteVersion fails with an error
// for which errors.Is(err, ErrConflict) holds and deletes nothing; if the
// record does not exist (deleted since, or never written), with
// ErrNotFound. The check and the delete are one request: the record DELETE
// carries the version as its condition, so a write that lands between a
// read and the delete is never lost.
//
// The outcome rules are Delete's. A delete whose reply is lost is decided by
// reading the record's state: gone means it landed (whoever else deleted the
// record too), still at version means it did not and it is sent again, at
// another version means the outcome is unknown, reported with
// ErrOutcomeUnknown; the entries and claims are then left for Check.
//
// It needs a store that deletes conditionally (object.Capabilities
// ConditionalDelete; s3store on a server it does not trust for conditional
// deletes does not): elsewhere it fails with an error for which both
// errors.Is(err, ErrInvalid) and errors.Is(err, object.ErrUnsupported) hold,
// deletes nothing and makes no request. Use Delete there, or a read, a comparison and Delete,
// which leaves a window for a concurrent write to be lost.
//
// When this Repo last read or wrote the record at version, DeleteVersion
// makes no GET: one conditional DELETE of the record, then one DELETE per
// index entry and unique claim. Otherwise it reads the record first (one
// GET; a stale version then fails without a DELETE).
func (r *Repo[T]) DeleteVersion(ctx context.Context, key any, version string) error {
	const op = "DeleteVersion"
	text, seg, err := r.keySeg(key)
	if err != nil {
		return wrapErr(op, r.m.name, keyText(key), err)
	}
	if version == "" {
		return wrapErr(op, r.m.name, text, invalidf("empty version (use Delete to delete whatever the version)"))
	}
	if !r.st.Capabilities().ConditionalDelete {
		return wrapErr(op, r.m.name, text, errNoConditionalDelete(nil))
	}
	cur, ok := r.cache.get(seg)
	if !ok || cur.version != version {
		if cur, err = r.current(ctx, seg); err != nil {
			return wrapErr(op, r.m.name, text, err)
		}
		if cur == nil {
			return wrapErr(op, r.m.name, text, ErrNotFound)
		}
		if cur.version != version {
			return wrapErr(op, r.m.name, text, errorf(ErrConflict, "the record is at version %s, not %s", cur.version, version))
		}
	}
	for attempt := 0; ; attempt++ {
		again, err := r.deleteRecordVersion(ctx, seg, version)
		if err == nil {
			r.removeStale(ctx, seg, cur.index, nil)
			return nil
		}
		if again && attempt < r.o.MaxRetries {
			r.backoff(ctx, attempt)
			continue
		}
		return wrapErr(op, r.m.name, text, err)
	}
}

// deleteRecordVersion sends one DELETE of the record seg conditioned on
// version and classifies its outcome: nil when it landed; otherwise the
// error to report (ErrConflict, ErrNotFound, ErrInvalid, ErrOutcomeUnknown
// or the store's error), with again set when the delete certainly did not
// happen and may simply be sent again.
func (r *Repo[T]) deleteRecordVersion(ctx context.Context, seg, version string) (again bool, err error) {
	err = r.st.Delete(ctx, r.recordName(seg), object.DeleteOptions{IfMatch: version})
	r.cache.drop(seg)
	r.wrote(seg, nil, "")
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, object.ErrUnsupported):
		// The store found out only now (s3store's probe) that it cannot.
		return false, errNoConditionalDelete(err)
	case errors.Is(err, object.ErrNotFound):
		return false, errorf(ErrNotFound, "deleted since version %s", version)
	case errors.Is(err, object.ErrPrecondition):
		return false, errorf(ErrConflict, "the record changed since version %s", version)
	case errors.Is(err, object.ErrConcurrentRequest):
		return true, err
	case definite(err):
		return false, err
	}
	// It may have landed: the record's state decides.
	switch oerr := r.deleteOutcome(ctx, seg, version, err); {
	case oerr == nil:
		return false, nil
	case errors.Is(oerr, ErrOutcomeUnknown):
		return false, oerr
	default: // still at version: it did not land
		return true, fmt.Errorf("the record is still at version %s after a failed delete: %w", version, err)
	}
}

// errNoConditionalDelete is DeleteVersion's error on a store that cannot
// delete conditionally: ErrInvalid and object.ErrUnsupported (or the
// store's own error saying so, cause), so that a caller can tell it from
// bad input.
func errNoConditionalDelete(cause error) error {
	if cause == nil {
		cause = object.ErrUnsupported
	}
	return errorf(ErrInvalid, "the store cannot delete conditionally (object.Capabilities ConditionalDelete is false), so a delete cannot depend on the record's version; use Delete (%w)", cause)
}
