package repo

import (
	"errors"
	"fmt"
)

// The internal outcomes of a write step. A step that did not simply
// succeed or fail with an error to return says why with one of these; it
// travels as an *outcomeErr through code that returns errors (the parallel
// tasks of a commit), and each operation decides in one place what it means
// for it: Create, Replace, Put and Update in repo.go, Check's repairs,
// Reindex's retrack.
type outcome uint8

const (
	// stale: the record is not in the state the write was conditioned on
	// (it changed, was created, or was deleted since it was read), so the
	// write cannot commit. Create reports ErrExists, Replace ErrConflict or
	// ErrNotFound; Put and Update read the record again and retry.
	stale outcome = iota + 1
	// busy: another write of the same record holds a claim this write
	// needs. Retry after a backoff; Replace reports ErrConflict.
	busy
	// claimHeld: the claim already names this record, which holds the value
	// at the version the write read (Reindex or Check of a record that
	// holds it). Used inside claim.go only.
	claimHeld
	// ownerMoved: the claim's owner record moved while the claim was being
	// judged: read the claim and the record again. Used inside claim.go only.
	ownerMoved
)

func (o outcome) String() string {
	switch o {
	case stale:
		return "record changed since it was read"
	case busy:
		return "another write of this record is in progress"
	case claimHeld:
		return "the claim is already held by this record"
	case ownerMoved:
		return "the owner's record changed; look again"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// outcomeErr carries an outcome, with the store's error or a detail.
type outcomeErr struct {
	o     outcome
	cause error
}

func (e *outcomeErr) Error() string {
	if e.cause == nil {
		return e.o.String()
	}
	return e.o.String() + ": " + e.cause.Error()
}

func (e *outcomeErr) Unwrap() error { return e.cause }

// outcomeOf returns the outcome err carries, or 0.
func outcomeOf(err error) outcome {
	var oe *outcomeErr
	if errors.As(err, &oe) {
		return oe.o
	}
	return 0
}

// withOutcome returns an error carrying o, with cause (may be nil).
func withOutcome(o outcome, cause error) error { return &outcomeErr{o: o, cause: cause} }
