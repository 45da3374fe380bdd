// Command nodb looks into, queries, repairs, backs up and moves a NoDB
// store, without the programs' Go types: it reads each model's manifest
// (<model>/_manifest), which records the key field, the JSON names and
// kinds of the indexed fields, the index states and the schema version.
//
// Install it with
//
//	go install github.com/nodb-go/nodb/cmd/nodb@latest
//
// Usage:
//
//	nodb [--store URL] [--app-prefix P] [--json] [--yes] COMMAND [flags] [args]
//
// The store is --store, else $NODB_URL, else file://./data; any URL that
// repo.Open accepts (file://, mem://, s3://bucket/prefix?region=...).
// --app-prefix is the Options.Prefix the programs use, if any.
//
// Commands:
//
//	models                      the models, their records, indexes and schema version
//	ls MODEL                    keys in order (--prefix, --after, --limit)
//	get MODEL KEY               a record's value as JSON (--meta adds version, times, schema)
//	put MODEL [FILE]            write a JSON value, stdin by default (--create: insert only)
//	rm MODEL KEY...             delete records
//	find MODEL FIELD VALUE      records whose indexed field equals VALUE
//	range MODEL FIELD LO HI     records whose indexed field is in [LO, HI]
//	count MODEL [FIELD VALUE]   count records (all, or by an index value)
//	check MODEL [--repair]      verify (and repair) records, entries and claims
//	reindex MODEL [FIELD]       build indexes that are not ready (FIELD: rebuild that one)
//	migrate MODEL               the schema versions of the records, and what to run
//	export MODEL [-o FILE]      JSON Lines, one record with its metadata per line
//	import MODEL [FILE]         JSON Lines back (--create or --upsert)
//	copy SRC DST                every model from store SRC to store DST, resumable
//	stats [MODEL]               objects, bytes and monthly cost per model and index
//
// Every command has --help with examples. Output is a table or plain text,
// or with --json one JSON value per line. Values typed on the command line
// (find, range, count) are converted by the index's kind in the manifest:
// integers, floats, true/false, RFC 3339 times, strings.
//
// Exit status: 0 on success, 1 when the operation failed (not found,
// conflict, unique violation, problems found by check, bad lines in an
// import, store unreachable), 2 on usage errors (unknown command or flag,
// wrong arguments, a value that does not fit the index's kind).
//
// Long operations report progress on stderr. export, import, copy and
// migrate show a bar with count, rate and ETA on a terminal, and a plain
// line every 10,000 records (or 5 seconds) otherwise; check and reindex,
// whose library calls give no counts, a spinner with the elapsed time, or a
// plain line every 5 seconds and one at the end. Ctrl-C stops them cleanly:
// no record is ever half written, and a re-run resumes (import and copy
// skip records that are already there with the same value; reindex
// continues from the progress saved in the manifest). Commands that delete
// or overwrite many records (import --upsert, check --repair, rm of more
// than 10 keys) need --yes when stdin is not a terminal, and ask otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"sort"
	"strings"

	_ "github.com/nodb-go/nodb/repo/s3store" // s3:// URLs
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errReported is an operation that failed after reporting what went
// wrong: exit status 1 with no further message.
var errReported = errors.New("failed")

// env is what every command gets.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	store  string
	prefix string
	json   bool
	yes    bool
}

// command is one subcommand.
type command struct {
	name     string
	args     string // argument synopsis
	short    string
	long     string // the --help text after the synopsis, examples included
	flags    func(fs *flag.FlagSet)
	min, max int // positional arguments; max -1: any
	run      func(e *env, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	global := flag.NewFlagSet("nodb", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	e.commonFlags(global)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, mainUsage())
			return 0
		}
		fmt.Fprintf(stderr, "nodb: %v\n\n%s", err, mainUsage())
		return 2
	}
	rest := global.Args()
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "nodb: no command\n\n%s", mainUsage())
		return 2
	}
	if rest[0] == "help" {
		if len(rest) > 1 {
			rest = []string{rest[1], "--help"}
		} else {
			fmt.Fprint(stdout, mainUsage())
			return 0
		}
	}
	c, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "nodb: unknown command %q\n\n%s", rest[0], mainUsage())
		return 2
	}
	fs := flag.NewFlagSet("nodb "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.commonFlags(fs)
	if c.flags != nil {
		c.flags(fs)
	}
	pos, err := parseInterleaved(fs, rest[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, commandUsage(c, fs))
		return 0
	}
	if err == nil && (len(pos) < c.min || c.max >= 0 && len(pos) > c.max) {
		err = fmt.Errorf("%s takes %s", c.name, argCount(c))
	}
	if err != nil {
		fmt.Fprintf(stderr, "nodb %s: %v\nusage: nodb %s %s (see nodb %s --help)\n", c.name, err, c.name, c.args, c.name)
		return 2
	}
	if e.store == "" {
		e.store = os.Getenv("NODB_URL")
	}
	if e.store == "" {
		e.store = "file://./data"
	}
	err = c.run(e, pos)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errReported):
		return 1
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "nodb %s: %v\n", c.name, err)
		return 2
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "nodb %s: interrupted; nothing is half written, run it again to resume\n", c.name)
		return 1
	}
	fmt.Fprintf(stderr, "nodb %s: %v\n", c.name, err)
	return 1
}

func (e *env) commonFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.store, "store", e.store, "store `URL` (default $NODB_URL, else file://./data)")
	fs.StringVar(&e.prefix, "app-prefix", e.prefix, "the Options.Prefix the programs give their models, if any")
	fs.BoolVar(&e.json, "json", e.json, "JSON output, one value per line for lists")
	fs.BoolVar(&e.yes, "yes", e.yes, "do not ask before deleting or overwriting many records")
}

// parseInterleaved parses flags anywhere among the positional arguments.
// "--" ends the flags; an argument that looks like a negative number
// ("-5", "-1.5") is positional, so that range MODEL Age -5 10 works.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-' && !negativeNumber.MatchString(a):
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				continue // Parse reports it
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return pos, nil
}

var negativeNumber = regexp.MustCompile(`^-[0-9.]`)

func argCount(c *command) string {
	switch {
	case c.min == c.max && c.min == 0:
		return "no arguments"
	case c.min == c.max && c.min == 1:
		return "one argument: " + c.args
	case c.min == c.max:
		return fmt.Sprintf("%d arguments: %s", c.min, c.args)
	case c.max < 0:
		return fmt.Sprintf("at least %d arguments: %s", c.min, c.args)
	}
	return fmt.Sprintf("%d to %d arguments: %s", c.min, c.max, c.args)
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString(`nodb looks into, queries, repairs, backs up and moves a NoDB store.

usage: nodb [--store URL] [--app-prefix P] [--json] [--yes] COMMAND [flags] [args]

The store is --store, else $NODB_URL, else file://./data.

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(&b, "  %-8s %-22s %s\n", n, c.args, c.short)
	}
	b.WriteString(`
Run nodb COMMAND --help for its flags and examples.
Exit status: 0 success, 1 the operation failed, 2 usage error.
`)
	return b.String()
}

func commandUsage(c *command, fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: nodb %s %s\n\n%s\n", c.name, c.args, strings.TrimSpace(c.long))
	b.WriteString("\nFlags:\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}
