package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/nodb-go/nodb/repo/object"
)

// Unique claims. A claim <model>/u/<index>/<value> is created with
// If-None-Match "*"; its body names the key that claimed the value, the
// operation's write id, and the record version that write is conditioned on.
// The value is taken when the owner's committed record holds it. Otherwise
// the claim is dead (its write can no longer commit) or pending (it still
// can). A claim is taken over (a conditional rewrite) only when dead:
//
//   - the owner claimed for an update and its record moved past the base
//     version, or was deleted: the owner's If-Match commit must fail;
//   - the owner claimed for an update and its record is still at the base
//     version: the taker fences it, rewriting that record unchanged with
//     If-Match on the base, so that the owner's commit fails;
//   - the owner claimed for a create and its record exists without the
//     value: its If-None-Match commit must fail;
//   - the owner claimed for a create, its record does not exist, and the
//     claim is older than Options.ClaimLease by the store's clock.
//
// The same rules hold when the owner is another write of the same key,
// except that the writer retries instead of failing with ErrUnique. So a
// claim version is relied on by exactly one write, which makes it safe for
// that write to release the claims it made when it fails for sure.

type claimBody struct {
	Key    string `json:"key"`
	Seg    string `json:"seg"`
	Write  string `json:"write"`
	Base   string `json:"base,omitempty"`
	Create bool   `json:"create,omitempty"`
}

const claimAttempts = 8

// claim acquires the unique claim of index ix for value segment vseg (field
// value fv, for messages) and returns the claim object's version.
func (r *Repo[T]) claim(ctx context.Context, ix *indexDef, vseg string, fv reflect.Value, cb claimBody) (string, error) {
	name := r.claimName(ix.name, vseg)
	body, err := json.Marshal(cb)
	if err != nil {
		return "", err
	}
	for attempt := 0; attempt < claimAttempts; attempt++ {
		info, err := r.st.Put(ctx, name, body, object.PutOptions{IfNoneMatch: "*"})
		if err == nil {
			r.observeClock(info.LastModified)
			return info.Version, nil
		}
		if !readClaimAfter(ctx, err) {
			return "", err
		}
		obj, err := r.st.Get(ctx, name, object.GetOptions{})
		if errors.Is(err, object.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return "", err
		}
		var owner claimBody
		if json.Unmarshal(obj.Body, &owner) != nil || owner.Seg == "" {
			owner = claimBody{} // unreadable: nobody can hold it
		}
		if owner.Seg == cb.Seg && owner.Write == cb.Write {
			return obj.Version, nil // our own, from an attempt whose response was lost
		}
		if owner.Seg != "" {
			verdict, err := r.claimIsFree(ctx, ix, vseg, fv, obj, owner, cb)
			switch {
			case err != nil:
				return "", err
			case verdict == claimHeld:
				return obj.Version, nil
			case verdict == ownerMoved:
				continue
			case verdict != 0:
				return "", withOutcome(verdict, nil)
			}
		}
		info, err = r.st.Put(ctx, name, body, object.PutOptions{IfMatch: obj.Version})
		if err == nil {
			r.observeClock(info.LastModified)
			return info.Version, nil
		}
		if !errors.Is(err, object.ErrNotFound) && !readClaimAfter(ctx, err) {
			return "", err
		}
	}
	// Other writers keep taking the value over: let the operation back off
	// and try again (it gives up with ErrConflict after Options.MaxRetries).
	return "", withOutcome(busy, fmt.Errorf("the claim on %s %s kept changing under %d attempts", ix.name, showValue(fv), claimAttempts))
}

// readClaimAfter reports whether a failed claim write calls for reading the
// claim: its condition failed, or its outcome is unknown (a lost response),
// in which case the claim names its write if it landed.
func readClaimAfter(ctx context.Context, err error) bool {
	return errors.Is(err, object.ErrPrecondition) || errors.Is(err, object.ErrConcurrentRequest) ||
		!definite(err) && ctx.Err() == nil
}

// claimIsFree judges the claim obj, owned by owner, for the write me: 0 if
// me may take it over; claimHeld if me's record holds it already; ownerMoved
// if the owner's record moved while it was judged; stale if me can no
// longer commit anyway (its own record moved); busy if a pending write of
// the same record is in the way; and an error wrapping ErrUnique if another
// record holds or is about to hold the value.
func (r *Repo[T]) claimIsFree(ctx context.Context, ix *indexDef, vseg string, fv reflect.Value, obj object.Object, owner, me claimBody) (outcome, error) {
	sameKey := owner.Seg == me.Seg
	rec, err := r.st.Get(ctx, r.recordName(owner.Seg), object.GetOptions{})
	exists := err == nil
	if err != nil && !errors.Is(err, object.ErrNotFound) {
		return 0, err
	}
	if exists {
		env, derr := decodeEnvelope(rec.Body)
		if derr != nil {
			return 0, errorf(ErrUnique, "%s %s is claimed by key %s, whose record cannot be read (%v); run Check", ix.name, showValue(fv), quote(owner.Key), derr)
		}
		holds := r.holds(env, rec.Key, ix, vseg)
		switch {
		case holds && !sameKey:
			return 0, errorf(ErrUnique, "%s %s is held by key %s", ix.name, showValue(fv), quote(owner.Key))
		case holds && !me.Create && rec.Version == me.Base:
			return claimHeld, nil // Reindex or Check of a record that holds it
		case sameKey && (me.Create || rec.Version != me.Base):
			return stale, nil // our own record moved: this write cannot commit
		case !owner.Create && rec.Version == owner.Base:
			// Pending update: fence it by moving the owner's record past
			// the version its commit is conditioned on.
			env.Prev, env.Write = env.Write, newWriteID()
			body, err := env.encode()
			if err != nil {
				return 0, err
			}
			_, err = r.st.Put(ctx, rec.Key, body, object.PutOptions{IfMatch: rec.Version})
			if errors.Is(err, object.ErrPrecondition) || errors.Is(err, object.ErrNotFound) || errors.Is(err, object.ErrConcurrentRequest) {
				// The record moved first, maybe by the owner's own commit,
				// which would now hold the value: look again.
				return ownerMoved, nil
			}
			if err != nil {
				return 0, err
			}
			if sameKey {
				return stale, nil // we moved our own base
			}
		}
		return 0, nil // the owner's commit can no longer succeed
	}
	switch {
	case sameKey && !me.Create:
		return stale, nil // our record was deleted
	case !owner.Create:
		return 0, nil // record deleted: an If-Match commit cannot succeed
	case !obj.LastModified.IsZero() && obj.LastModified.Add(r.o.ClaimLease).Before(r.storeNow()):
		return 0, nil // an abandoned create, past its lease
	case sameKey:
		return busy, nil
	}
	return 0, errorf(ErrUnique, "%s %s is claimed by a pending create of key %s: retry later, or run Check with repair after the claim lease (%v) has passed", ix.name, showValue(fv), quote(owner.Key), r.o.ClaimLease)
}

// holds reports whether the record in env holds value segment vseg of ix.
// It recomputes the value from the record, so that records written before
// the index existed count too; a record it cannot decode counts as holding.
func (r *Repo[T]) holds(env *envelope, name string, ix *indexDef, vseg string) bool {
	v, err := r.decodeValue(env, name)
	if err != nil {
		return true
	}
	segs, err := r.indexOf(&v, nil)
	if err != nil {
		return env.Index[ix.name].V == vseg
	}
	return segs[r.m.byField[ix.name]] == vseg
}

func showValue(fv reflect.Value) string {
	if !fv.IsValid() {
		return "(value)"
	}
	if fv.Kind() == reflect.String {
		return quote(fv.String())
	}
	return capText(fmt.Sprintf("%v", fv.Interface()))
}
