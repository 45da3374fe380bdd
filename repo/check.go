package repo

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/nodb-go/nodb/repo/object"
)

// Report is what Check found (and, with repair, fixed).
type Report struct {
	// Records, Entries and Claims count what was scanned.
	Records, Entries, Claims int
	// OrphanEntries are index entries that no record backs: leftovers of
	// interrupted or superseded writes. Readers skip them; repair deletes
	// those older than Options.ClaimLease.
	OrphanEntries int
	// MissingEntries are index values of records that have no entry (queries
	// would miss those records). Repair writes them.
	MissingEntries int
	// StaleClaims are unique claims whose owner does not hold the value.
	// Repair deletes those older than Options.ClaimLease.
	StaleClaims int
	// MissingClaims are unique values held by a record without a claim
	// naming it. Repair claims them (failing if another record holds the
	// same value, which is then listed in Problems).
	MissingClaims int
	// UnknownIndexes are index names found in the store that the model no
	// longer has. Repair deletes their entries and claims.
	UnknownIndexes []string
	// Problems lists records that could not be read, and values held twice.
	Problems []string
	// Repaired counts the objects repair wrote or deleted.
	Repaired int
}

// OK reports whether the check found nothing to repair.
func (rep Report) OK() bool {
	return rep.OrphanEntries == 0 && rep.MissingEntries == 0 && rep.StaleClaims == 0 &&
		rep.MissingClaims == 0 && len(rep.UnknownIndexes) == 0 && len(rep.Problems) == 0
}

// Check scans the model's records, index entries and unique claims and
// reports leftovers of interrupted writes, records missing from an index,
// and the trees of removed indexes. With repair it also fixes them. Check
// reads every record: it is a maintenance operation, not a query. Repair is
// safe while other writers run: it removes only objects older than
// Options.ClaimLease and re-reads a record before removing an entry that
// names it.
func (r *Repo[T]) Check(ctx context.Context, repair bool) (Report, error) {
	var rep Report
	type recInfo struct {
		segs    []string
		version string
		text    string
		v       T
	}
	records := map[string]*recInfo{}
	var mu sync.Mutex
	var failed error
	// Records, fetched in parallel.
	var infos []object.Info
	for info, err := range object.All(ctx, r.st, r.base+"r/", "", 0) {
		if err != nil {
			return rep, wrapErr("Check", r.m.name, "", err)
		}
		infos = append(infos, info)
	}
	tasks := make([]func(context.Context) error, len(infos))
	for i, info := range infos {
		seg := info.Key[len(r.base+"r/"):]
		tasks[i] = func(ctx context.Context) error {
			v, st, env, err := r.load(ctx, seg)
			if errors.Is(err, object.ErrNotFound) {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					rep.Problems = append(rep.Problems, err.Error())
					return nil
				}
				return err
			}
			segs, err := r.indexOf(&v, nil)
			if err != nil {
				rep.Problems = append(rep.Problems, "record "+info.Key+": "+err.Error())
				return nil
			}
			records[seg] = &recInfo{segs: segs, version: st.version, text: env.Key, v: v}
			return nil
		}
	}
	if err := r.parallel(ctx, tasks); err != nil {
		return rep, wrapErr("Check", r.m.name, "", err)
	}
	rep.Records = len(records)
	old := func(info object.Info) bool {
		return !info.LastModified.IsZero() && info.LastModified.Add(r.o.ClaimLease).Before(r.storeNow())
	}
	unknown := map[string]bool{}
	// del removes a leftover entry if it is still at the listed version
	// (unconditionally after re-checking, on a store without conditional
	// deletes), and releases a leftover claim.
	condDelete := r.st.Capabilities().ConditionalDelete
	del := func(ctx context.Context, info object.Info) {
		var err error
		switch {
		case strings.HasPrefix(info.Key, r.base+"u/"):
			err = r.releaseClaim(ctx, info.Key, info.Version)
		case condDelete:
			err = r.deleteIfMatch(ctx, info.Key, info.Version)
		default:
			err = r.st.Delete(ctx, info.Key, object.DeleteOptions{})
		}
		if err == nil {
			mu.Lock()
			rep.Repaired++
			mu.Unlock()
		}
	}

	// Entries: <index>/<value>/<seg>.
	found := map[string]bool{} // index/seg
	tasks = tasks[:0]
	for info, err := range object.All(ctx, r.st, r.base+"i/", "", 0) {
		if err != nil {
			return rep, wrapErr("Check", r.m.name, "", err)
		}
		rep.Entries++
		name, vseg, seg, _, ok := splitEntry(info.Key[len(r.base+"i/"):])
		if !ok {
			continue
		}
		pos, ok := r.m.byField[name]
		if !ok {
			unknown[name] = true
			if repair {
				tasks = append(tasks, func(ctx context.Context) error { del(ctx, info); return nil })
			}
			continue
		}
		if rec := records[seg]; rec != nil && rec.segs[pos] == vseg {
			found[name+"/"+seg] = true
			continue
		}
		rep.OrphanEntries++
		if repair && old(info) {
			tasks = append(tasks, func(ctx context.Context) error {
				v, _, _, err := r.load(ctx, seg)
				if err == nil {
					if segs, err := r.indexOf(&v, nil); err == nil && segs[pos] == vseg {
						return nil // the record has moved back to this value
					}
				} else if !errors.Is(err, object.ErrNotFound) {
					return nil
				}
				del(ctx, info)
				return nil
			})
		}
	}
	for seg, rec := range records {
		for pos, vseg := range rec.segs {
			name := r.m.indexes[pos].name
			if vseg == "" || found[name+"/"+seg] {
				continue
			}
			rep.MissingEntries++
			if repair {
				key := r.entryName(name, vseg, seg, entryWrite(seg, newWriteID()))
				tasks = append(tasks, func(ctx context.Context) error {
					if _, err := r.st.Put(ctx, key, entryBody(newWriteID()), object.PutOptions{}); err != nil {
						return err
					}
					mu.Lock()
					rep.Repaired++
					mu.Unlock()
					return nil
				})
			}
		}
	}

	// Claims: <index>/<value>.
	claimed := map[string]bool{} // index/seg
	for info, err := range object.All(ctx, r.st, r.base+"u/", "", 0) {
		if err != nil {
			return rep, wrapErr("Check", r.m.name, "", err)
		}
		rep.Claims++
		name, vseg, _ := strings.Cut(info.Key[len(r.base+"u/"):], "/")
		pos, ok := r.m.byField[name]
		if !ok || !r.m.indexes[pos].unique {
			unknown[name] = true
			if repair {
				tasks = append(tasks, func(ctx context.Context) error { del(ctx, info); return nil })
			}
			continue
		}
		obj, err := r.st.Get(ctx, info.Key, object.GetOptions{})
		if errors.Is(err, object.ErrNotFound) {
			rep.Claims--
			continue
		}
		if err != nil {
			return rep, wrapErr("Check", r.m.name, "", err)
		}
		var owner claimBody
		_ = json.Unmarshal(obj.Body, &owner)
		if rec := records[owner.Seg]; rec != nil && rec.segs[pos] == vseg {
			claimed[name+"/"+owner.Seg] = true
			continue
		}
		if owner.Seg == "" && !condDelete {
			continue // released: free for anyone, and cannot be deleted safely here
		}
		rep.StaleClaims++
		if repair && old(obj.Info) {
			tasks = append(tasks, func(ctx context.Context) error { del(ctx, obj.Info); return nil })
		}
	}
	for seg, rec := range records {
		for pos, vseg := range rec.segs {
			ix := &r.m.indexes[pos]
			if vseg == "" || !ix.unique || claimed[ix.name+"/"+seg] {
				continue
			}
			rep.MissingClaims++
			if repair {
				fv := reflect.ValueOf(&rec.v).Elem().FieldByIndex(ix.index)
				cb := claimBody{Key: rec.text, Seg: seg, Write: newWriteID(), Base: rec.version}
				tasks = append(tasks, func(ctx context.Context) error {
					_, err := r.claim(ctx, ix, vseg, fv, cb)
					mu.Lock()
					defer mu.Unlock()
					if errors.Is(err, ErrUnique) {
						rep.Problems = append(rep.Problems, "record "+rec.text+": "+err.Error())
						return nil
					}
					if err == nil {
						rep.Repaired++
					}
					return err
				})
			}
		}
	}
	if repair {
		failed = r.parallel(ctx, tasks)
	}
	for name := range unknown {
		rep.UnknownIndexes = append(rep.UnknownIndexes, name)
	}
	slices.Sort(rep.UnknownIndexes)
	slices.Sort(rep.Problems)
	return rep, wrapErr("Check", r.m.name, "", failed)
}
