package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
)

// withModel opens the store and model args[0] and runs fn.
func withModel(e *env, name string, fn func(st object.Store, m *model) error) error {
	st, err := e.openStore(e.store)
	if err != nil {
		return err
	}
	defer closeStore(st)
	m, err := openModel(e, st, name)
	if err != nil {
		return err
	}
	return fn(st, m)
}

func init() {
	register(&command{
		name: "models", args: "", short: "the models, their records, indexes and schema version",
		long: `Lists the models of the store: records, indexes (kind and state) and schema
version, from each model's manifest. Costs one LIST per model, one GET per
manifest, and one LIST per 1000 records.

Examples:
  nodb models
  nodb --store s3://my-bucket/app?region=eu-west-1 models --json`,
		run: runModels,
	})
	var (
		lsPrefix, lsAfter string
		lsLimit           int
	)
	register(&command{
		name: "ls", args: "MODEL", short: "keys in order", min: 1, max: 1,
		long: `Lists the keys of MODEL in key order (digest order for HashKeys models).
It reads each record (one GET per key) to show its key as the program does.

Examples:
  nodb ls User
  nodb ls User --prefix al --limit 10
  nodb ls User --after alice --json`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&lsPrefix, "prefix", "", "only keys that start with this (string keys)")
			fs.StringVar(&lsAfter, "after", "", "start after this key")
			fs.IntVar(&lsLimit, "limit", 0, "at most this many keys (0: all)")
		},
		run: func(e *env, args []string) error { return runLs(e, args[0], lsPrefix, lsAfter, lsLimit) },
	})
	var meta bool
	register(&command{
		name: "get", args: "MODEL KEY", short: "a record's value as JSON", min: 2, max: 2,
		long: `Prints the value stored under KEY as JSON; --meta adds the record's version,
creation and update times and schema version. KEY is converted to the key's
kind (an integer key takes an integer). Exit status 1 if there is no such
record.

Examples:
  nodb get User alice
  nodb get User alice --meta --json
  nodb get Order 1042`,
		flags: func(fs *flag.FlagSet) { fs.BoolVar(&meta, "meta", false, "add version, created, updated and schema") },
		run:   func(e *env, args []string) error { return runGet(e, args[0], args[1], meta) },
	})
	var create bool
	register(&command{
		name: "put", args: "MODEL [FILE]", short: "write a JSON value (stdin by default)", min: 1, max: 2,
		long: `Writes one JSON object, read from FILE or stdin, as a record of MODEL through
the library's own protocol: index entries and unique claims are maintained,
the write is conditional, and its errors are the library's (a unique value
held by another record, a value of the wrong kind for an index). The key is
the value's key member. --create fails if the record exists.

Examples:
  echo '{"id":"alice","email":"a@x.io","age":30}' | nodb put User
  nodb put User alice.json --create`,
		flags: func(fs *flag.FlagSet) { fs.BoolVar(&create, "create", false, "insert only: fail if the record exists") },
		run:   func(e *env, args []string) error { return runPut(e, args, create) },
	})
	register(&command{
		name: "rm", args: "MODEL KEY...", short: "delete records", min: 2, max: -1,
		long: `Deletes the records under the keys, with their index entries and claims.
A missing key is reported and makes the exit status 1; the other keys are
still deleted. More than 10 keys need --yes when stdin is not a terminal.

Examples:
  nodb rm User alice
  nodb rm User alice bob --json`,
		run: runRm,
	})
	register(&command{
		name: "find", args: "MODEL FIELD VALUE", short: "records whose indexed field equals VALUE", min: 3, max: 3,
		long: `Prints the records whose indexed FIELD (Go or JSON name) equals VALUE, in
key order, one per line. VALUE is converted by the index's kind: integers,
floats, true/false, RFC 3339 times, strings.

Examples:
  nodb find User City Paris
  nodb find User email a@x.io --json
  nodb find User Admin true`,
		run: func(e *env, args []string) error { return runQuery(e, args[0], args[1], args[2:]) },
	})
	register(&command{
		name: "range", args: "MODEL FIELD LO HI", short: "records whose indexed field is in [LO, HI]", min: 4, max: 4,
		long: `Prints the records whose indexed FIELD is between LO and HI inclusive, in
value order. LO and HI are converted by the index's kind.

Examples:
  nodb range User Age 18 30
  nodb range User Seen 2026-01-01T00:00:00Z 2026-02-01T00:00:00Z --json
  nodb range Reading Temp -5 2.5`,
		run: func(e *env, args []string) error { return runQuery(e, args[0], args[1], args[2:]) },
	})
	register(&command{
		name: "count", args: "MODEL [FIELD VALUE]", short: "count records (all, or by an index value)", min: 1, max: 3,
		long: `Counts the records of MODEL, or those whose indexed FIELD equals VALUE, from
LIST requests alone (one per 1000 objects).

Examples:
  nodb count User
  nodb count User City Paris --json`,
		run: runCount,
	})
	var repair bool
	register(&command{
		name: "check", args: "MODEL", short: "verify (and repair) records, entries and claims", min: 1, max: 1,
		long: `Scans MODEL's records, index entries and unique claims, and reports leftovers
of interrupted writes, records missing from an index and values held twice.
--repair fixes what it safely can (it needs --yes when stdin is not a
terminal). Exit status 1 if problems were found (and, with --repair, not
all repaired).

Examples:
  nodb check User
  nodb check User --repair --yes --json`,
		flags: func(fs *flag.FlagSet) { fs.BoolVar(&repair, "repair", false, "fix what can be fixed safely") },
		run:   func(e *env, args []string) error { return runCheck(e, args[0], repair) },
	})
	register(&command{
		name: "reindex", args: "MODEL [FIELD]", short: "build indexes that are not ready", min: 1, max: 2,
		long: `Builds every index of MODEL that is not ready (Repo.Reindex); with FIELD,
rebuilds that index (Repo.Rebuild): verifies every entry and claim, writes
missing ones and deletes wrong ones. Resumable: an interrupted run
continues from the progress saved in the manifest.

Examples:
  nodb reindex User
  nodb reindex User Email`,
		run: runReindex,
	})
	register(&command{
		name: "migrate", args: "MODEL", short: "schema versions of the records", min: 1, max: 1,
		long: `Counts MODEL's records per schema version. Upgrading old records needs the
program's upgrade steps (Go functions), which nodb does not have: run
Repo.Migrate from the program. Exit status 1 if records are older than the
model's schema version.

Examples:
  nodb migrate User
  nodb migrate User --json`,
		run: runMigrate,
	})
}

func runModels(e *env, _ []string) error {
	st, err := e.openStore(e.store)
	if err != nil {
		return err
	}
	defer closeStore(st)
	all, err := models(e, st)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if !e.json {
		fmt.Fprintln(tw, "MODEL\tRECORDS\tKEY\tSCHEMA\tINDEXES")
	}
	for _, mi := range all {
		out := map[string]any{"model": mi.Name}
		var n int
		var ixs []string
		var ixj []map[string]any
		if mi.Manifest == nil {
			out["manifest"] = false
			n, err = countRaw(e, st, mi.Name)
		} else {
			m, oerr := openFrom(e, st, &mi)
			if oerr != nil {
				return oerr
			}
			n, err = m.r.Count(e.ctx)
			man := mi.Manifest
			out["key"], out["keyKind"], out["schema"], out["format"] = man.KeyField, man.KeyKind, man.Schema, man.Format
			if why := man.Lacks(); why != "" {
				out["readOnly"] = why
			}
			names := make([]string, 0, len(man.Indexes))
			for name := range man.Indexes {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				ix := man.Indexes[name]
				kind := ix.Kind
				if ix.List {
					kind = "list of " + kind
				}
				if ix.Unique {
					kind = "unique " + kind
				}
				ixs = append(ixs, fmt.Sprintf("%s(%s,%s)", name, kind, ix.State))
				ixj = append(ixj, map[string]any{"name": name, "json": ix.JSON, "kind": ix.Kind, "list": ix.List, "unique": ix.Unique, "sparse": ix.Sparse, "state": ix.State})
			}
		}
		if err != nil {
			return err
		}
		out["records"] = n
		out["indexes"] = ixj
		if e.json {
			if err := writeJSON(e.stdout, out); err != nil {
				return err
			}
			continue
		}
		key, schema := "?", "?"
		if mi.Manifest != nil {
			key = mi.Manifest.KeyField + " " + mi.Manifest.KeyKind
			schema = fmt.Sprint(mi.Manifest.Schema)
		} else {
			ixs = []string{"(no manifest)"}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", mi.Name, n, key, schema, strings.Join(ixs, " "))
	}
	return tw.Flush()
}

// countRaw counts the records of a model without a manifest.
func countRaw(e *env, st object.Store, name string) (int, error) {
	n := 0
	prefix := e.base() + name + "/r/"
	after := ""
	for {
		page, err := st.List(e.ctx, object.ListOptions{Prefix: prefix, StartAfter: after})
		if err != nil {
			return 0, err
		}
		n += len(page.Objects)
		if !page.More || len(page.Objects) == 0 {
			return n, nil
		}
		after = page.Objects[len(page.Objects)-1].Key
	}
}

func runLs(e *env, name, prefix, after string, limit int) error {
	return withModel(e, name, func(st object.Store, m *model) error {
		cursor := ""
		start := after
		if prefix != "" {
			if m.man.KeyKind != "string" || m.man.HashKeys {
				return usagef("--prefix needs string keys in key order; model %s has %s keys%s", name, m.man.KeyKind, map[bool]string{true: " (hashed)"}[m.man.HashKeys])
			}
			if start < prefix {
				start = prefix
			}
		}
		if start != "" {
			k, err := m.keyArg(start)
			if err != nil {
				return err
			}
			if cursor, err = dynamic.AllCursor(m.r, k, start != after); err != nil {
				return err
			}
		}
		shown := 0
		bad := 0
		for {
			page, err := m.r.AllPage(e.ctx, cursor, 1000)
			if err != nil {
				return err
			}
			for _, perr := range page.Errors {
				fmt.Fprintf(e.stderr, "nodb ls: %v\n", perr)
				bad++
			}
			for i := range page.Items {
				raw, _, err := m.keyOf(&page.Items[i])
				if err != nil {
					return err
				}
				text := keyText(raw)
				if prefix != "" && !strings.HasPrefix(text, prefix) {
					if text < prefix {
						continue
					}
					page.Next = ""
					break
				}
				if e.json {
					writeJSON(e.stdout, map[string]json.RawMessage{"key": raw})
				} else {
					fmt.Fprintln(e.stdout, text)
				}
				shown++
				if limit > 0 && shown >= limit {
					page.Next = ""
					break
				}
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if bad > 0 {
			return errReported
		}
		return nil
	})
}

func runGet(e *env, name, key string, meta bool) error {
	return withModel(e, name, func(st object.Store, m *model) error {
		k, err := m.keyArg(key)
		if err != nil {
			return err
		}
		d, err := m.r.Get(e.ctx, k)
		if err != nil {
			return err
		}
		if meta {
			l, err := m.line(&d)
			if err != nil {
				return err
			}
			if e.json {
				return writeJSON(e.stdout, l)
			}
			b, _ := json.MarshalIndent(l, "", "  ")
			fmt.Fprintln(e.stdout, string(b))
			return nil
		}
		if e.json {
			return writeJSON(e.stdout, d.JSON)
		}
		b, _ := json.MarshalIndent(d.JSON, "", "  ")
		fmt.Fprintln(e.stdout, string(b))
		return nil
	})
}

// readValue reads one JSON object.
func readValue(r io.Reader, from string) (dynamic.Doc, error) {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return dynamic.Doc{}, usagef("%s: bad JSON: %v", from, err)
	}
	if dec.More() {
		return dynamic.Doc{}, usagef("%s: more than one JSON value (use import for many)", from)
	}
	d := dynamic.Doc{JSON: raw}
	if _, err := d.Members(); err != nil {
		return d, usagef("%s: %v", from, err)
	}
	return d, nil
}

func runPut(e *env, args []string, create bool) error {
	in, from, done, err := e.input(args, 1)
	if err != nil {
		return err
	}
	defer done()
	d, err := readValue(in, from)
	if err != nil {
		return err
	}
	return withModel(e, args[0], func(st object.Store, m *model) error {
		if err := m.writable("write"); err != nil {
			return err
		}
		raw, _, err := m.keyOf(&d)
		if err != nil {
			return usagef("%s: %v", from, err)
		}
		if create {
			err = m.r.Create(e.ctx, d)
		} else {
			err = m.r.Put(e.ctx, d)
		}
		if err != nil {
			return err
		}
		if e.json {
			return writeJSON(e.stdout, map[string]any{"key": raw, "stored": true})
		}
		fmt.Fprintf(e.stdout, "stored %s %s\n", args[0], keyText(raw))
		return nil
	})
}

func runRm(e *env, args []string) error {
	if len(args)-1 > 10 {
		if err := e.confirm(fmt.Sprintf("delete %d records of %s", len(args)-1, args[0])); err != nil {
			return err
		}
	}
	return withModel(e, args[0], func(st object.Store, m *model) error {
		if err := m.writable("delete from"); err != nil {
			return err
		}
		failed := 0
		for _, key := range args[1:] {
			k, err := m.keyArg(key)
			if err != nil {
				return err
			}
			err = m.r.Delete(e.ctx, k)
			if errors.Is(err, context.Canceled) {
				return err
			}
			if e.json {
				out := map[string]any{"key": key, "deleted": err == nil}
				if err != nil {
					out["error"] = err.Error()
				}
				writeJSON(e.stdout, out)
			} else if err == nil {
				fmt.Fprintf(e.stdout, "deleted %s %s\n", args[0], key)
			}
			if err != nil {
				failed++
				fmt.Fprintf(e.stderr, "nodb rm: %v\n", err)
			}
		}
		if failed > 0 {
			return errReported
		}
		return nil
	})
}

func runQuery(e *env, name, field string, values []string) error {
	return withModel(e, name, func(st object.Store, m *model) error {
		ixName, ix, err := m.index(field)
		if err != nil {
			return err
		}
		if err := m.writable("query"); err != nil {
			return err
		}
		vals := make([]any, len(values))
		for i, s := range values {
			if vals[i], err = parseValue(ixName, ix.Kind, s); err != nil {
				return err
			}
		}
		seq := m.r.Find(e.ctx, ixName, vals[0])
		if len(vals) == 2 {
			seq = m.r.Range(e.ctx, ixName, vals[0], vals[1])
		}
		bad := 0
		for d, err := range seq {
			if err != nil {
				if errors.Is(err, repo.ErrCorrupt) {
					fmt.Fprintf(e.stderr, "nodb: %v\n", err)
					bad++
					continue
				}
				return err
			}
			if e.json {
				writeJSON(e.stdout, d.JSON)
				continue
			}
			raw, _, _ := m.keyOf(&d)
			fmt.Fprintf(e.stdout, "%s\t%s\n", keyText(raw), d.JSON)
		}
		if bad > 0 {
			return errReported
		}
		return nil
	})
}

func runCount(e *env, args []string) error {
	if len(args) == 2 {
		return usagef("count takes MODEL, or MODEL FIELD VALUE")
	}
	return withModel(e, args[0], func(st object.Store, m *model) error {
		var n int
		var err error
		if len(args) == 1 {
			n, err = m.r.Count(e.ctx)
		} else {
			ixName, ix, ierr := m.index(args[1])
			if ierr != nil {
				return ierr
			}
			if err := m.writable("query"); err != nil {
				return err
			}
			v, perr := parseValue(ixName, ix.Kind, args[2])
			if perr != nil {
				return perr
			}
			n, err = m.r.CountBy(e.ctx, ixName, v)
		}
		if err != nil {
			return err
		}
		if e.json {
			return writeJSON(e.stdout, map[string]int{"count": n})
		}
		fmt.Fprintln(e.stdout, n)
		return nil
	})
}

func runCheck(e *env, name string, repair bool) error {
	if repair {
		if err := e.confirm("check --repair deletes leftovers and rewrites entries of " + name); err != nil {
			return err
		}
	}
	return withModel(e, name, func(st object.Store, m *model) error {
		if err := m.writable("check"); err != nil {
			return err
		}
		end := e.busy("check " + name)
		rep, err := m.r.Check(e.ctx, repair)
		end()
		if err != nil {
			return err
		}
		if e.json {
			writeJSON(e.stdout, rep)
		} else {
			fmt.Fprintf(e.stdout, "records %d, entries %d, claims %d\n", rep.Records, rep.Entries, rep.Claims)
			fmt.Fprintf(e.stdout, "orphan entries %d, missing entries %d, stale claims %d, missing claims %d, repaired %d\n",
				rep.OrphanEntries, rep.MissingEntries, rep.StaleClaims, rep.MissingClaims, rep.Repaired)
			for _, p := range rep.Problems {
				fmt.Fprintf(e.stdout, "problem: %s\n", p)
			}
			for _, u := range rep.UnknownIndexes {
				fmt.Fprintf(e.stdout, "unknown index: %s\n", u)
			}
		}
		if rep.OK() {
			return nil
		}
		if repair {
			again, err := m.r.Check(e.ctx, false)
			if err == nil && again.OK() {
				fmt.Fprintln(e.stderr, "nodb check: repaired; a second check found nothing")
				return nil
			}
		}
		fmt.Fprintln(e.stderr, "nodb check: problems found")
		return errReported
	})
}

func runReindex(e *env, args []string) error {
	return withModel(e, args[0], func(st object.Store, m *model) error {
		if err := m.writable("reindex"); err != nil {
			return err
		}
		end := e.busy("reindex " + args[0])
		var err error
		if len(args) == 2 {
			ixName, _, ierr := m.index(args[1])
			if ierr != nil {
				end()
				return ierr
			}
			err = m.r.Rebuild(e.ctx, ixName)
		} else {
			err = m.r.Reindex(e.ctx)
		}
		end()
		if err != nil {
			return err
		}
		mi, err := readModel(e, st, args[0])
		if err != nil {
			return err
		}
		states := map[string]string{}
		for name, ix := range mi.Manifest.Indexes {
			states[name] = ix.State
		}
		if e.json {
			return writeJSON(e.stdout, map[string]any{"model": args[0], "indexes": states})
		}
		names := make([]string, 0, len(states))
		for n := range states {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(e.stdout, "%s\t%s\n", n, states[n])
		}
		return nil
	})
}

func runMigrate(e *env, args []string) error {
	return withModel(e, args[0], func(st object.Store, m *model) error {
		versions := map[int]int{}
		p := e.progress("migrate "+args[0]+" (scan)", -1)
		for d, err := range m.r.All(e.ctx) {
			if err != nil {
				if errors.Is(err, repo.ErrCorrupt) {
					fmt.Fprintf(e.stderr, "nodb migrate: %v\n", err)
					continue
				}
				return err
			}
			versions[d.Schema]++
			p.add(1)
		}
		p.done()
		old := 0
		var vs []int
		for v, n := range versions {
			vs = append(vs, v)
			if v < m.man.Schema {
				old += n
			}
		}
		sort.Ints(vs)
		if e.json {
			per := map[string]int{}
			for v, n := range versions {
				per[fmt.Sprint(v)] = n
			}
			writeJSON(e.stdout, map[string]any{"model": args[0], "schema": m.man.Schema, "records": per, "old": old})
		} else {
			fmt.Fprintf(e.stdout, "model %s is at schema version %d\n", args[0], m.man.Schema)
			for _, v := range vs {
				fmt.Fprintf(e.stdout, "version %d: %d records\n", v, versions[v])
			}
		}
		if old > 0 {
			fmt.Fprintf(e.stderr, "nodb migrate: %d records are older than version %d; upgrading them needs the program's upgrade steps: run Repo.Migrate from the program\n", old, m.man.Schema)
			return errReported
		}
		return nil
	})
}

// input opens the file named by args[i], or stdin when args has no such
// argument; from names it for errors, and done closes it.
func (e *env) input(args []string, i int) (in io.Reader, from string, done func(), err error) {
	if len(args) <= i {
		return e.stdin, "stdin", func() {}, nil
	}
	f, err := os.Open(args[i])
	if err != nil {
		return nil, "", nil, usagef("%v", err)
	}
	return f, args[i], func() { f.Close() }, nil
}
