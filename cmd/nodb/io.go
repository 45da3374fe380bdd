package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
)

func init() {
	var out string
	register(&command{
		name: "export", args: "MODEL", short: "JSON Lines, one record with its metadata per line", min: 1, max: 1,
		long: `Writes every record of MODEL, in key order, as JSON Lines to stdout or -o FILE:
one object per line with the record's key, version, created, updated,
schema and value. Records stream through in constant memory. A record that
cannot be read is reported on stderr and makes the exit status 1; the
others are still written.

Examples:
  nodb export User > users.jsonl
  nodb export User -o users.jsonl
  nodb --store s3://bucket/app export Order | gzip > orders.jsonl.gz`,
		flags: func(fs *flag.FlagSet) { fs.StringVar(&out, "o", "", "write to `FILE` instead of stdout") },
		run:   func(e *env, args []string) error { return runExport(e, args[0], out) },
	})
	var upsert, create bool
	var workers int
	register(&command{
		name: "import", args: "MODEL [FILE]", short: "JSON Lines back (--create or --upsert)", min: 1, max: 2,
		long: `Reads JSON Lines from FILE or stdin and writes each record through the
library's protocol. A line is an exported record ({"value": {...}, ...}) or
a bare value object. --create (the default) inserts only: a record that
exists with the same value counts as already imported (so a re-run resumes),
one with another value is an error. --upsert overwrites (it needs --yes when
stdin is not a terminal). Bad lines are reported with their line numbers and
skipped; the exit status is then 1. Memory stays constant whatever the size.

Examples:
  nodb import User users.jsonl
  nodb import User --upsert --yes < users.jsonl
  nodb export User | nodb --store s3://bucket/app import User`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&create, "create", false, "insert only (the default)")
			fs.BoolVar(&upsert, "upsert", false, "create or overwrite")
			fs.IntVar(&workers, "workers", 8, "records written in parallel")
		},
		run: func(e *env, args []string) error {
			if create && upsert {
				return usagef("--create and --upsert exclude each other")
			}
			return runImport(e, args, upsert, workers)
		},
	})
	register(&command{
		name: "copy", args: "SRC DST", short: "every model from store SRC to store DST", min: 2, max: 2,
		long: `Copies every model of store SRC, with its records and indexes, into store
DST: the manifest first, then each record through the write protocol, so
DST's entries and claims are its own. Each record keeps its creation time.
A record already in DST with the same value is skipped, so copy is
resumable and safe to re-run (a re-run of a finished copy writes nothing).
Records are not deleted from DST. This is how a prototype moves from
file:// to s3://.

Examples:
  nodb copy file://./data s3://my-bucket/app?region=eu-west-1
  nodb copy s3://my-bucket/app file:///backups/app-2026-11-30`,
		flags: func(fs *flag.FlagSet) { fs.IntVar(&workers, "workers", 8, "records written in parallel") },
		run:   func(e *env, args []string) error { return runCopy(e, args[0], args[1], workers) },
	})
}

func runExport(e *env, name, out string) error {
	return withModel(e, name, func(st object.Store, m *model) error {
		w := e.stdout
		var f *os.File
		if out != "" {
			var err error
			if f, err = os.Create(out); err != nil {
				return usagef("%v", err)
			}
			defer f.Close()
			w = f
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		total, err := m.r.Count(e.ctx)
		if err != nil {
			return err
		}
		// The first line carries the manifest, so that import can create
		// the model in a store that does not have it.
		if err := writeJSON(bw, map[string]json.RawMessage{"nodbManifest": compactJSON(m.info.Raw)}); err != nil {
			return err
		}
		p := e.progress("export "+name, total)
		bad := 0
		for d, err := range m.r.All(e.ctx) {
			if err != nil {
				if errors.Is(err, repo.ErrCorrupt) {
					fmt.Fprintf(e.stderr, "nodb export: %v\n", err)
					bad++
					continue
				}
				return err
			}
			l, err := m.line(&d)
			if err != nil {
				fmt.Fprintf(e.stderr, "nodb export: record %s: %v\n", d.JSON, err)
				bad++
				continue
			}
			if err := writeJSON(bw, l); err != nil {
				return err
			}
			p.add(1)
		}
		p.done()
		if err := bw.Flush(); err != nil {
			return err
		}
		if f != nil {
			if err := f.Close(); err != nil {
				return err
			}
		}
		if bad > 0 {
			return errReported
		}
		return nil
	})
}

// importLine is one line of an import file: an exported record, or a bare
// value (Value then nil).
type importLine struct {
	Value   json.RawMessage `json:"value"`
	Created time.Time       `json:"created"`
	Schema  *int            `json:"schema"`
}

func runImport(e *env, args []string, upsert bool, workers int) error {
	in, from, done, err := e.input(args, 1)
	if err != nil {
		return err
	}
	defer done()
	if upsert {
		if err := e.confirm("import --upsert overwrites records of " + args[0]); err != nil {
			return err
		}
	}
	br := bufio.NewReaderSize(in, 64<<10)
	first, ferr := br.ReadBytes('\n')
	if ferr != nil && ferr != io.EOF {
		return fmt.Errorf("reading %s: %v", from, ferr)
	}
	var header struct {
		Manifest json.RawMessage `json:"nodbManifest"`
	}
	json.Unmarshal(first, &header)
	if header.Manifest != nil {
		first = nil // not a record
	}
	st, err := e.openStore(e.store)
	if err != nil {
		return err
	}
	defer closeStore(st)
	mi, err := readModel(e, st, args[0])
	if err != nil {
		return err
	}
	if mi.Manifest == nil && header.Manifest != nil {
		// A new model: its manifest from the export's header.
		if mi, err = manifestAs(args[0], header.Manifest); err != nil {
			return fmt.Errorf("%s line 1: %v", from, err)
		}
	}
	var m *model
	if mi.Manifest == nil {
		m, err = openModel(e, st, args[0])
	} else {
		m, err = openFrom(e, st, mi)
	}
	if err != nil {
		return err
	}
	{
		if err := m.writable("import into"); err != nil {
			return err
		}
		var (
			mu                          sync.Mutex
			bad, done, skipped, unknown int
		)
		report := func(n int, format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			bad++
			fmt.Fprintf(e.stderr, "nodb import: %s line %d: %s\n", from, n, fmt.Sprintf(format, args...))
		}
		p := e.progress("import "+args[0], -1)
		type job struct {
			n int
			d dynamic.Doc
		}
		jobs := make(chan job, workers)
		var wg sync.WaitGroup
		for range max(workers, 1) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					res, err := writeDoc(e.ctx, m, j.d, upsert)
					if err != nil {
						switch {
						case errors.Is(err, repo.ErrOutcomeUnknown):
							// Cut off mid-write: say so, never guess.
							mu.Lock()
							unknown++
							mu.Unlock()
							report(j.n, "%v", err)
						case !errors.Is(err, context.Canceled):
							report(j.n, "%v", err)
						}
					} else {
						mu.Lock()
						done++
						if res == resSkipped {
							skipped++
						}
						mu.Unlock()
					}
					p.add(1)
				}
			}()
		}
		var readErr error
		for n := 1; e.ctx.Err() == nil; n++ {
			line, err := first, ferr
			if n > 1 {
				line, err = br.ReadBytes('\n')
			}
			if len(bytes.TrimSpace(line)) > 0 {
				d, perr := parseLine(m, line)
				if perr != nil {
					report(n, "%v", perr)
				} else {
					select {
					case jobs <- job{n, d}:
					case <-e.ctx.Done():
					}
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				break
			}
		}
		close(jobs)
		wg.Wait()
		p.done()
		if readErr != nil {
			return fmt.Errorf("reading %s: %v", from, readErr)
		}
		if err := e.ctx.Err(); err != nil {
			if unknown > 0 {
				// Not "nothing is half written": these writes may have
				// landed, and keep their unique values claimed until a
				// re-run settles them or the claim lease passes.
				fmt.Fprintf(e.stderr, "nodb import: interrupted; %d writes were cut off and may or may not have landed (lines above): a re-run finds each landed record already there, and within the claim lease (1 minute) may report a unique value of one that did not land as busy; run it again after that to resume\n", unknown)
				return errReported
			}
			return err
		}
		if e.json {
			writeJSON(e.stdout, map[string]int{"imported": done - skipped, "unchanged": skipped, "bad": bad})
		} else {
			fmt.Fprintf(e.stdout, "imported %d records into %s (%d already there), %d bad lines\n", done-skipped, args[0], skipped, bad)
		}
		if bad > 0 {
			return errReported
		}
		return nil
	}
}

// manifestAs returns the manifest document raw renamed to model name.
func manifestAs(name string, raw json.RawMessage) (*modelInfo, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("bad manifest: %v", err)
	}
	doc["model"] = name
	b, _ := json.Marshal(doc)
	man := new(dynamic.Manifest)
	if err := json.Unmarshal(b, man); err != nil || man.Indexes == nil {
		return nil, fmt.Errorf("not a NoDB manifest")
	}
	return &modelInfo{Name: name, Manifest: man, Raw: b}, nil
}

func compactJSON(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// parseLine reads one line of an import file.
func parseLine(m *model, line []byte) (dynamic.Doc, error) {
	var l importLine
	if err := json.Unmarshal(line, &l); err != nil {
		return dynamic.Doc{}, fmt.Errorf("bad JSON: %v", err)
	}
	d := dynamic.Doc{JSON: l.Value, KeepCreated: l.Created}
	if l.Value == nil {
		d = dynamic.Doc{JSON: bytes.TrimSpace(line)}
	} else if l.Schema != nil && *l.Schema < m.man.Schema {
		return d, fmt.Errorf("the record is at schema version %d, model %s at %d: nodb cannot upgrade it (migrate the source first)", *l.Schema, m.info.Name, m.man.Schema)
	}
	if _, err := d.Members(); err != nil {
		return d, err
	}
	if _, _, err := m.keyOf(&d); err != nil {
		return d, err
	}
	return d, nil
}

type writeResult int

const (
	resWritten writeResult = iota
	resSkipped
)

// writeDoc writes d: with upsert a Put, else a Create for which a record
// already holding the same value is success (a re-run resumes).
func writeDoc(ctx context.Context, m *model, d dynamic.Doc, upsert bool) (writeResult, error) {
	if upsert {
		return resWritten, m.r.Put(ctx, d)
	}
	err := m.r.Create(ctx, d)
	if !errors.Is(err, repo.ErrExists) {
		return resWritten, err
	}
	_, k, kerr := m.keyOf(&d)
	if kerr != nil {
		return resWritten, err
	}
	cur, gerr := m.r.Get(ctx, k)
	if gerr == nil && sameJSON(cur.JSON, d.JSON) {
		return resSkipped, nil
	}
	return resWritten, err
}

// sameJSON reports whether a and b are the same JSON document.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func runCopy(e *env, src, dst string, workers int) error {
	from, err := e.openStore(src)
	if err != nil {
		return err
	}
	defer closeStore(from)
	to, err := e.openStore(dst)
	if err != nil {
		return err
	}
	defer closeStore(to)
	all, err := models(e, from)
	if err != nil {
		return err
	}
	failed := 0
	for _, mi := range all {
		if mi.Manifest == nil {
			// No indexes, no manifest: its records carry no index state,
			// so they are copied object by object.
			n, err := copyRaw(e, from, to, mi.Name)
			if err != nil {
				return fmt.Errorf("model %s: %w", mi.Name, err)
			}
			failed += n
			continue
		}
		if why := mi.Manifest.Lacks(); why != "" {
			fmt.Fprintf(e.stderr, "nodb copy: model %s not copied: its manifest %s\n", mi.Name, why)
			failed++
			continue
		}
		n, err := copyModel(e, from, to, mi, workers)
		if err != nil {
			return fmt.Errorf("model %s: %w", mi.Name, err)
		}
		failed += n
	}
	if failed > 0 {
		return errReported
	}
	return nil
}

// copyModel copies one model and returns how many records failed.
func copyModel(e *env, from, to object.Store, mi modelInfo, workers int) (int, error) {
	src, err := openFrom(e, from, &mi)
	if err != nil {
		return 0, err
	}
	dst, err := openFrom(e, to, &mi)
	if err != nil {
		return 0, err
	}
	total, err := src.r.Count(e.ctx)
	if err != nil {
		return 0, err
	}
	p := e.progress("copy "+mi.Name, total)
	var (
		mu                     sync.Mutex
		copied, same, failures int
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		failures++
		fmt.Fprintf(e.stderr, "nodb copy: %v\n", err)
	}
	jobs := make(chan dynamic.Doc, workers)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				res, err := copyDoc(e.ctx, dst, d)
				switch {
				case errors.Is(err, context.Canceled):
				case err != nil:
					fail(err)
				default:
					mu.Lock()
					if res == resSkipped {
						same++
					} else {
						copied++
					}
					mu.Unlock()
				}
				p.add(1)
			}
		}()
	}
	var iterErr error
	for d, err := range src.r.All(e.ctx) {
		if err != nil {
			if errors.Is(err, repo.ErrCorrupt) {
				fail(err)
				continue
			}
			iterErr = err
			break
		}
		if d.Schema < mi.Manifest.Schema {
			raw, _, _ := src.keyOf(&d)
			fail(fmt.Errorf("model %s record %s is at schema version %d, the model at %d: not copied (run Repo.Migrate from the program first)", mi.Name, raw, d.Schema, mi.Manifest.Schema))
			continue
		}
		d.KeepCreated = d.Created
		jobs <- d
	}
	close(jobs)
	wg.Wait()
	p.done()
	if iterErr != nil {
		return failures, iterErr
	}
	if e.json {
		writeJSON(e.stdout, map[string]any{"model": mi.Name, "copied": copied, "unchanged": same, "failed": failures})
	} else {
		fmt.Fprintf(e.stdout, "%s: %d copied, %d already there, %d failed\n", mi.Name, copied, same, failures)
	}
	return failures, nil
}

// copyDoc writes d into dst unless dst holds the same value already.
func copyDoc(ctx context.Context, dst *model, d dynamic.Doc) (writeResult, error) {
	_, k, err := dst.keyOf(&d)
	if err != nil {
		return resWritten, err
	}
	cur, err := dst.r.Get(ctx, k)
	switch {
	case errors.Is(err, repo.ErrNotFound):
		err = dst.r.Create(ctx, dynamic.Doc{JSON: d.JSON, KeepCreated: d.KeepCreated})
		if errors.Is(err, repo.ErrExists) { // another copy got there first
			return copyDoc(ctx, dst, d)
		}
		return resWritten, err
	case err != nil:
		return resWritten, err
	case sameJSON(cur.JSON, d.JSON):
		return resSkipped, nil
	}
	return resWritten, dst.r.Replace(ctx, dynamic.Doc{JSON: d.JSON}, cur.Version)
}

// copyRaw copies the objects of a model that has no manifest (and so no
// indexes): each record is written with If-None-Match "*", and one that
// exists with other bytes is replaced conditionally on its version.
func copyRaw(e *env, from, to object.Store, name string) (int, error) {
	prefix := e.base() + name + "/"
	after := ""
	copied, same := 0, 0
	for {
		page, err := from.List(e.ctx, object.ListOptions{Prefix: prefix, StartAfter: after})
		if err != nil {
			return 0, err
		}
		for _, info := range page.Objects {
			obj, err := from.Get(e.ctx, info.Key, object.GetOptions{})
			if errors.Is(err, object.ErrNotFound) {
				continue
			}
			if err != nil {
				return 0, err
			}
			_, err = to.Put(e.ctx, info.Key, obj.Body, object.PutOptions{IfNoneMatch: "*"})
			if errors.Is(err, object.ErrPrecondition) {
				cur, gerr := to.Get(e.ctx, info.Key, object.GetOptions{})
				if gerr != nil {
					return 0, gerr
				}
				if bytes.Equal(cur.Body, obj.Body) {
					same++
					continue
				}
				_, err = to.Put(e.ctx, info.Key, obj.Body, object.PutOptions{IfMatch: cur.Version})
			}
			if err != nil {
				return 0, err
			}
			copied++
		}
		if !page.More || len(page.Objects) == 0 {
			break
		}
		after = page.Objects[len(page.Objects)-1].Key
	}
	if e.json {
		writeJSON(e.stdout, map[string]any{"model": name, "copied": copied, "unchanged": same, "failed": 0})
	} else {
		fmt.Fprintf(e.stdout, "%s: %d copied, %d already there, 0 failed (no manifest: copied object by object)\n", name, copied, same)
	}
	return 0, nil
}
