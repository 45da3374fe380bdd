package repo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

// setExpires records f as the model's expiry field.
func (m *model) setExpires(f field) error {
	if f.typ != timeType {
		return fmt.Errorf(`nodb:"expires" needs a time.Time field, not %s`, f.typ)
	}
	if m.expires != nil {
		return fmt.Errorf(`a second nodb:"expires" field (the first is %s)`, m.expires.name)
	}
	m.expires = &f
	return nil
}

// expiresAt returns v's expiry time, zero when the model has no expiry
// field or v's is zero (never expires).
func (m *model) expiresAt(v reflect.Value) time.Time {
	if m.expires == nil {
		return time.Time{}
	}
	return v.FieldByIndex(m.expires.index).Interface().(time.Time)
}

// expired reports whether v's expiry time has passed (by this machine's
// clock). Readers treat an expired record as absent.
func (r *Repo[T]) expired(v *T) bool {
	if r.m.expires == nil {
		return false
	}
	t := r.m.expiresAt(reflect.ValueOf(v).Elem())
	return !t.IsZero() && !t.After(time.Now())
}

// expiredErr is what reading an expired record returns.
func (r *Repo[T]) expiredErr(text string) error {
	return errorf(ErrNotFound, "record %s has expired", quote(text))
}

// expiredState returns the current state of the record with segment seg if
// it exists and has expired, else nil: a Create may then replace it,
// conditionally on that version.
func (r *Repo[T]) expiredState(ctx context.Context, seg string) *recState {
	if r.m.expires == nil {
		return nil
	}
	cur, err := r.current(ctx, seg)
	if err != nil || cur == nil || cur.body == nil {
		return nil
	}
	v, _, err := r.decodeRecord(cur.body, r.recordName(seg))
	if err != nil || !r.expired(&v) {
		return nil
	}
	return cur
}

// ExpireReport is the progress and result of [Repo.DeleteExpired].
type ExpireReport struct {
	// Scanned counts the records read, Deleted those deleted as expired.
	Scanned, Deleted int
	// Cursor is the key position reached: pass it to DeleteExpired to go
	// on from there after an interruption. "" once the sweep finished.
	Cursor string
}

// DeleteExpired deletes the records whose nodb:"expires" time has passed,
// with their index entries and unique claims, starting after cursor (""
// for the start; a Cursor of an earlier, interrupted report to resume).
// It reads every record: ceil(records/1000) LISTs and one GET per record,
// plus, per expired record, one DELETE of the record (conditional on the
// version read, where the store deletes conditionally, so a record whose
// expiry a writer extended meanwhile stays) and one DELETE per entry and
// claim. progress, if not nil, is called after every record with the
// report so far. On an error the report says how far it got; a record
// that cannot be decoded is skipped and left alone.
//
// Expired records read as not found before the sweep removes them: the
// sweep only reclaims their space and their index entries (which queries
// skip at no extra request, since they fetch the record anyway). Until it
// runs, answers from listings alone (Count, CountBy, Query.Keys) still
// count them, their unique values stay claimed (a Create or Put of
// another record with such a value fails with ErrUnique), and a Create
// under an expired record's key replaces it; Delete deletes it.
//
// S3 lifecycle rules cannot do this sweep: they expire objects by their
// age since they were written (or by tag), not by a time held in the
// record, and they would delete a record without its index entries (which
// readers then skip as leftovers, and Check removes). A lifecycle rule is
// fit only for a model whose records all live for one fixed time after
// their last write, as a backstop behind this sweep.
func (r *Repo[T]) DeleteExpired(ctx context.Context, cursor string, progress func(ExpireReport)) (ExpireReport, error) {
	rep := ExpireReport{Cursor: cursor}
	if r.m.expires == nil {
		return rep, wrapErr("DeleteExpired", r.m.name, "", invalidf(`model %s has no nodb:"expires" field`, r.m.name))
	}
	prefix := r.base + "r/"
	startAfter := ""
	if cursor != "" {
		startAfter = prefix + cursor
	}
	condDelete := r.st.Capabilities().ConditionalDelete
	for info, err := range object.All(ctx, r.st, prefix, startAfter, 0) {
		if err != nil {
			return rep, wrapErr("DeleteExpired", r.m.name, "", err)
		}
		seg := info.Key[len(prefix):]
		v, cur, _, err := r.load(ctx, seg)
		switch {
		case errors.Is(err, object.ErrNotFound) || recordError(err):
		case err != nil:
			return rep, wrapErr("DeleteExpired", r.m.name, "", err)
		case r.expired(&v):
			var opts object.DeleteOptions
			if condDelete {
				opts.IfMatch = cur.version
			}
			derr := r.st.Delete(ctx, info.Key, opts)
			r.cache.drop(seg)
			switch {
			case derr == nil:
				rep.Deleted++
				r.removeStale(ctx, seg, cur.index, nil)
			case errors.Is(derr, object.ErrPrecondition) || errors.Is(derr, object.ErrNotFound):
				// Rewritten or deleted meanwhile: not ours to delete.
			default:
				return rep, wrapErr("DeleteExpired", r.m.name, "", derr)
			}
		}
		rep.Scanned++
		rep.Cursor = seg
		if progress != nil {
			progress(rep)
		}
	}
	rep.Cursor = ""
	return rep, nil
}
