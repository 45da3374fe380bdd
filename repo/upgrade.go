package repo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Schema versions and upgrade steps.
//
// Every record stores the Options.SchemaVersion of the program that wrote
// it. A Repo reads a record written at an older version by running the
// upgrade steps Options.Upgrades[v], Upgrades[v+1], ... up to
// SchemaVersion-1 on the stored value document (the "value" member of the
// record, a JSON object), then decoding the result into T. Writes always
// store the current version; Migrate rewrites the old records so that the
// steps can be deleted later.

// Upgrade is one upgrade step: it turns the stored value document of a
// record written at one schema version into the document of the next
// version, in place. doc maps the value's JSON member names (the json tag,
// or the Go field name) to their values as encoding/json decodes them into
// an any, except that numbers are json.Number, so that 64-bit integers keep
// every digit. A step returns an error for a document it cannot upgrade;
// reading that record then fails with ErrCorrupt naming it.
type Upgrade func(doc map[string]any) error

// RenameField returns a step that moves the member from to to, keeping its
// value. A document without from is left as it is; one that already has to
// is an error (the step would lose data).
func RenameField(from, to string) Upgrade {
	return func(doc map[string]any) error {
		v, ok := doc[from]
		if !ok {
			return nil
		}
		if _, dup := doc[to]; dup && from != to {
			return fmt.Errorf("rename %q to %q: the document has both", from, to)
		}
		delete(doc, from)
		doc[to] = v
		return nil
	}
}

// SetDefault returns a step that sets the member field to value where the
// document lacks it. value must encode to JSON.
func SetDefault(field string, value any) Upgrade {
	return func(doc map[string]any) error {
		if _, ok := doc[field]; !ok {
			doc[field] = value
		}
		return nil
	}
}

// ConvertField returns a step that replaces the value of the member field
// with fn's result, where the document has it (for example a string holding
// a number into that number). fn sees the value as Upgrade describes it.
func ConvertField(field string, fn func(old any) (any, error)) Upgrade {
	return func(doc map[string]any) error {
		v, ok := doc[field]
		if !ok {
			return nil
		}
		nv, err := fn(v)
		if err != nil {
			return fmt.Errorf("convert %q: %w", field, err)
		}
		doc[field] = nv
		return nil
	}
}

// Steps returns a step that runs steps in order: several changes made in one
// schema version.
func Steps(steps ...Upgrade) Upgrade {
	return func(doc map[string]any) error {
		for _, s := range steps {
			if err := s(doc); err != nil {
				return err
			}
		}
		return nil
	}
}

// checkUpgrades validates Options.SchemaVersion and Options.Upgrades at New:
// the steps must form one unbroken chain ending at SchemaVersion-1.
func checkUpgrades(o *Options, typ string) error {
	if o.SchemaVersion < 0 {
		return invalidf("New[%s]: SchemaVersion %d is negative", typ, o.SchemaVersion)
	}
	if len(o.Upgrades) == 0 {
		return nil
	}
	if o.Codec == Gob {
		return invalidf("New[%s]: upgrade steps work on JSON documents, and the gob codec stores bytes (use the JSON codec, or a Codec whose output is JSON)", typ)
	}
	vs := make([]int, 0, len(o.Upgrades))
	for v, f := range o.Upgrades {
		if f == nil {
			return invalidf("New[%s]: Upgrades[%d] is nil", typ, v)
		}
		if v < 0 || v >= o.SchemaVersion {
			return invalidf("New[%s]: Upgrades[%d] upgrades version %d to %d, but SchemaVersion is %d (steps go from each older version to the next, up to SchemaVersion-1)", typ, v, v, v+1, o.SchemaVersion)
		}
		vs = append(vs, v)
	}
	slices.Sort(vs)
	for i, v := range vs {
		if want := vs[0] + i; v != want {
			return invalidf("New[%s]: Upgrades has steps for versions %d and %d but none for version %d: records written at version %d or older could not be read", typ, vs[0], v, want, want)
		}
	}
	if last := vs[len(vs)-1]; last != o.SchemaVersion-1 {
		return invalidf("New[%s]: Upgrades ends at version %d, SchemaVersion is %d: add the step Upgrades[%d]", typ, last, o.SchemaVersion, o.SchemaVersion-1)
	}
	return nil
}

// checkSchema returns an error wrapping ErrCorrupt if the record env (object
// name) was written by a newer schema version than this Repo knows: reading
// it would drop or misread what the newer program stored.
func (r *Repo[T]) checkSchema(env *envelope, name string) error {
	if env.Schema > r.o.SchemaVersion {
		return errorf(ErrCorrupt, "record %s was written by schema version %d, this Repo knows up to %d (run the newer program, or raise Options.SchemaVersion and add its upgrade steps)", name, env.Schema, r.o.SchemaVersion)
	}
	return nil
}

// checkOverwrite refuses a write over a record written by a newer schema.
func (r *Repo[T]) checkOverwrite(cur *recState, seg string) error {
	if cur == nil || cur.schema <= r.o.SchemaVersion {
		return nil
	}
	err := r.checkSchema(&envelope{Schema: cur.schema}, r.recordName(seg))
	return fmt.Errorf("%w; not overwriting it with older-schema data", err)
}

// upgrade returns the value document data of record env (object name),
// upgraded from env.Schema to the current version. Records at the current
// version, and records of a Repo that declares no upgrade steps (its
// SchemaVersion is then a label only), are returned as they are.
func (r *Repo[T]) upgrade(env *envelope, name string, data []byte) ([]byte, error) {
	from, to := env.Schema, r.o.SchemaVersion
	if from >= to || len(r.o.Upgrades) == 0 {
		return data, nil
	}
	for v := from; v < to; v++ {
		if r.o.Upgrades[v] == nil {
			oldest := to
			for k := range r.o.Upgrades {
				oldest = min(oldest, k)
			}
			return nil, errorf(ErrCorrupt, "record %s was written by schema version %d and there is no upgrade step from version %d (the oldest is Upgrades[%d]): add the missing steps, or run Migrate with a program that still has them", name, from, v, oldest)
		}
	}
	if env.Value == nil {
		return nil, errorf(ErrCorrupt, "record %s was written by schema version %d and needs upgrade steps, which work on JSON documents; codec %q stored it as bytes", name, from, env.Codec)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, errorf(ErrCorrupt, "record %s was written by schema version %d and its value is not a JSON object, so no upgrade step can run on it", name, from)
	}
	for v := from; v < to; v++ {
		if err := r.o.Upgrades[v](doc); err != nil {
			return nil, errorf(ErrCorrupt, "record %s: upgrade step from schema version %d: %v", name, v, err)
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, errorf(ErrCorrupt, "record %s: after the upgrade steps from version %d: %v", name, from, err)
	}
	return out, nil
}
