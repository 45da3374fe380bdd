// Package repo is NoDB for Go: a typed object store on Amazon S3 (or an
// S3-compatible server, or a local directory) for Go programs. There is no
// database server: the bucket is the database.
//
// Tag a struct and get a [Repo] that saves, loads, queries and deletes its
// values:
//
//	type User struct {
//		ID    string    `nodb:"key"`
//		Email string    `nodb:"unique"`
//		City  string    `nodb:"index"`
//		Age   int       `nodb:"index"`
//		Seen  time.Time `nodb:"index"`
//		Bio   string
//	}
//
//	st, err := repo.Open(ctx, "file://./data")
//	users, err := repo.New[User](st)
//	err = users.Create(ctx, User{ID: "alice", Email: "a@x.io", City: "Paris", Age: 30})
//	u, err := users.Get(ctx, "alice")
//	for u, err := range users.Find(ctx, "City", "Paris") { ... }
//	for u, err := range users.Range(ctx, "Age", 18, 30) { ... }
//	u, err = users.GetBy(ctx, "Email", "a@x.io")
//
// `go generate` with cmd/nodbgen adds typed, reflection-free helpers per
// model (users.GetByEmail, users.FindByCity, users.RangeByAge).
//
// # Models
//
// A model is a struct type. Exactly one exported field is tagged
// nodb:"key"; it is a string, any integer type, or a type implementing
// encoding.TextMarshaler (and, to decode with JSON, TextUnmarshaler). Fields
// tagged nodb:"index" or nodb:"unique" are indexed; they may be strings,
// bools, integers, floats, time.Time or TextMarshalers. Zero values are
// indexed like any other value, so a unique field holds its zero value for
// one record only; the option omitempty (nodb:"unique,omitempty") makes a
// sparse index that skips zero values, and querying a sparse index for the
// zero value is an error. Fields tagged nodb:"-" are not stored. New checks
// the tags once per type and reports a bad model naming the field.
//
// A list field, nodb:"index" on a slice of an indexable kind ([]string,
// []int, []time.Time, []SomeTextMarshaler, ...), indexes every distinct
// element: one entry per element, none for an empty or nil slice (with
// omitempty, zero elements are skipped too). Find, FindPage, CountBy and the
// query builder's Where take one element and match the records holding it;
// Range, RangePage, Between and Prefix match the records holding an element
// in range, each record once, ordered by its first element in range (in
// the query's order), then by key. A write costs what k scalar indexes
// cost: a Create with k distinct elements writes k entries before the
// record, and an Update that adds one element and removes another writes
// one entry and deletes one. A range costs one GET per element in range,
// so a record with several elements in the range is read more than once.
// nodb:"unique" on a slice is refused: no two records sharing an element
// would need a claim per element, k conditional PUTs on every write of a
// k-element list (and as many to release). GetBy on a list field is an
// error, as on any field that is not unique.
//
// Field names in Find, Range, GetBy and CountBy are Go field names. Methods
// take keys and values as any and check their types at run time (any
// integer type that fits is accepted for an integer field); generated
// helpers make them static.
//
// # URLs
//
// [Open] returns the object store a URL names:
//
//	mem://                                   in memory, new and empty on each Open
//	file:///abs/dir, file://./rel            a local directory (the embedded default)
//	s3://bucket/prefix?region=eu-west-1      Amazon S3, credentials from the AWS chain
//	s3://bucket?endpoint=http://host:port&path_style=true&region=us-east-1
//
// mem:// and file:// are built in. s3:// is registered by importing its
// package, so that programs that never use it do not carry the AWS SDK:
//
//	import _ "github.com/nodb-go/nodb/repo/s3store"
//
// Other backends register their schemes with [Register] the same way.
// Unknown schemes and query parameters are errors; an unregistered s3:// says
// which import is missing.
//
// # Bucket layout
//
// Everything of a model lives under "<prefix><model>/":
//
//	_manifest                       key field, codec, fields, schema version, index states
//	r/<key>                         the record: a JSON document (see Codec)
//	i/<field>/<value>/<key>!-<id>   index entry, named with an id of the write attempt that made it
//	u/<field>/<value>               unique claim, naming the key that holds the value
//
// String keys stay readable in object names (letters, digits, '-', '.' and
// '_' are kept, other bytes escaped) and list in key order; integer keys list
// in numeric order. Encoded keys are limited to 255 bytes (a file name on
// POSIX-backed servers); the HashKeys option stores SHA-256 digests instead,
// for keys that are longer or must not appear in object names. Index values
// are encoded so that S3's byte order is the values' order, which makes a
// range query a LIST. Strings and TextMarshaler texts longer than 160 bytes
// are indexed by their first 160 bytes and a hash: equality stays exact, and
// Range includes exactly the right records but orders values that share
// their first 160 bytes by hash.
//
// # Consistency
//
// S3 has no transactions across objects. Writes keep one invariant, even if
// the writing process dies between any two requests: a query never misses a
// committed record and never returns a record that does not match. Index
// entries and unique claims are written before the record; the record write,
// conditional on the version the writer read (If-Match) or on absence
// (If-None-Match), is the commit point; entries and claims the record no
// longer needs are deleted afterwards, each conditionally on the version it
// was written with, so a delayed cleanup never removes an entry a later write
// put back. Readers verify every index hit against the record it names.
// Leftovers of interrupted writes are skipped by readers; a query removes
// those older than Options.ClaimLease that it meets, and [Repo.Check]
// removes the rest.
//
// Every write ends in one of three outcomes, and the caller is told which.
// It landed (nil error). It certainly did not (ErrExists, ErrUnique,
// ErrConflict, an error from Update's function, a context that ended
// before the record was sent): then it has removed the index entries and
// unique claims it wrote before it returns, so counts and queries see
// nothing of it. Index entries are named with an id of the write attempt
// that made them, so this cleanup never touches an entry another writer
// relies on.
// Or its outcome is unknown ([ErrOutcomeUnknown]): the response to the
// record write was lost, and reading the record back could not tell. A
// record names its write and the write it replaced, so "another writer
// replaced mine" proves that mine landed; only a longer chain leaves it
// unknown. An unknown write keeps its claims (no unique value it may hold is
// freed), and Update never runs its function again after one.
//
// Concurrent writers to one record are serialised by its version: [Repo.Update]
// retries with jittered backoff, [Repo.Replace] reports ErrConflict. Unique
// values are claimed with If-None-Match; of ten writers racing for one value,
// exactly one wins. A claim left by a writer that died is taken over as soon
// as its write provably cannot commit; for a create that never committed,
// that is after Options.ClaimLease (one minute by default, by the store's
// clock). A writer stalled for longer than the lease between claiming a
// value and creating its record may therefore commit a duplicate: keep the
// lease well above your longest pause.
//
// Backends that cannot delete conditionally release claims by rewriting
// them to name no owner, and leave entries named without a write id (written
// by earlier versions of this library) for Check.
//
// # Cost
//
// Requests are what S3 bills and what takes time, so every operation makes
// as few as it can: Get is one GET; Create of a model with k indexed fields,
// unique ones included, is k+1 PUTs in two rounds (a unique value's claim is
// its index entry); Replace with a version this
// Repo read, and Put or Update of a record whose current state it knows, is
// one PUT when no indexed value changes; a query returning n records is one LIST per 1000 index entries
// plus n GETs in parallel (Options.Concurrency at a time); GetBy, and Find
// and CountBy on a unique field, are two GETs; Range on a unique field is
// one LIST per 1000 claims plus 2n GETs; GetMany, CreateMany and PutMany cost
// their items' calls; Options.ReadCache answers reads within its TTL at no
// request;
// Count and CountBy are LISTs only. A Repo reads the model's manifest once,
// on its first write (models with indexes) or query. The repo/meter package
// counts requests, to check this in your own code.
//
// # Schema evolution
//
// Every record stores Options.SchemaVersion of its writer. A model that
// changes in a way old records must follow (a field renamed, retyped, or
// given a default) raises SchemaVersion and declares one [Upgrade] step per
// older version in Options.Upgrades: a function on the stored JSON value
// document ([RenameField], [ConvertField], [SetDefault], [Steps], or your
// own). A record of an older version is upgraded step by step when read,
// before it is decoded, at no extra request; every write stores the
// current version; [Repo.Migrate] rewrites the old records (resumable,
// idempotent, safe beside live writers), after which the old steps may be
// deleted. A record written by a newer version than the Repo knows is an
// error wrapping ErrCorrupt, and is never overwritten. Steps need a codec
// that stores JSON; New refuses them with [Gob].
//
// Index changes are explicit. An index added to a model that has records,
// or whose kind, JSON name, unique or omitempty option changed, or that was
// removed and added back, is not answered (ErrNotBuilt, saying why) until
// [Repo.Reindex] has built it; [Repo.Rebuild] rebuilds a ready one on
// demand. A removed index stops being maintained, and its entries and
// claims stay until [Repo.DropIndex] deletes them. [Repo.Diff] says in
// plain words what differs between the model and what the store's manifest
// records of it (fields with their JSON names and kinds, indexes with
// their kinds and states, schema versions), and what to run.
//
// A record the model cannot decode is an error for that record: Reindex
// and Migrate finish and list it, and leave its entries and claims alone.
//
// # Errors
//
// Errors from a Repo are *[Error] values naming the operation, the model and
// the key, and match these sentinels with errors.Is: [ErrNotFound],
// [ErrExists], [ErrConflict], [ErrUnique], [ErrInvalid], [ErrCorrupt],
// [ErrNotBuilt], [ErrOutcomeUnknown]. They also unwrap to the backend's error,
// so errors.As reaches an S3 API error. context.Canceled and
// context.DeadlineExceeded are returned unchanged, except where a write they
// interrupted may have landed: that error matches ErrOutcomeUnknown too. Bad input (an invalid model, a key of the wrong type, a key that
// cannot be stored, a NaN in an index) is an error, never a panic, and never
// changes stored data. Messages quote at most 64 bytes of a value or key.
//
// A record that exists but cannot be decoded (a value the model cannot
// read, a record written by a newer Options.SchemaVersion, an object that is
// not a NoDB record) is an ErrCorrupt error for that record only, naming its
// key and schema version: Get returns it, queries yield it and go on with
// the other records, page calls list it in Page.Errors, and Check lists it
// in Report.Unreadable and never removes the index entries and unique
// claims it may hold.
//
// # Codecs
//
// Records are stored as JSON documents holding the value and its metadata,
// readable with jq or by any program that does not use this library:
//
//	{"nodb":1,"model":"User","key":"alice","codec":"json","created":"...","updated":"...",
//	 "write":"...","index":{...},"value":{"ID":"alice","Email":"a@x.io",...}}
//
// [JSON] (the default) stores the value as JSON; [Gob] and custom [Codec]s
// store it as base64 in "data". Options.Compress gzips the whole document.
// Unlike the Python NoDB, there is no pickle-like codec: whoever can write to
// a bucket must not be able to run code in the programs that read it.
//
// # Large values
//
// A record is read and written whole, in memory: its stored form is at most
// [object.MaxBodySize] (5 GiB, the most one S3 PUT stores), and a larger one
// is refused with [ErrInvalid] before any request is made. With the JSON
// codec, a Put of a value of n bytes holds about 2n besides the caller's
// value at its peak (encoding/json's own buffer and the stored document,
// into which the value is encoded once), and a Get about 2n (the body and
// the decoded value it returns); a Put of a record the Repo has not read or
// written first reads it, n more, without decoding its value. Strings with
// characters JSON escapes cost the decoder one more temporary copy.
package repo
