// Package s3store is the [object.Store] on Amazon S3 and S3-compatible
// servers, built on aws-sdk-go-v2.
//
// [Open] wraps a bucket reached through a caller's client (anything that
// satisfies [Client], normally an *s3.Client); [NewClient] builds such a
// client from the standard AWS configuration chain; [OpenURL] does both from
// an s3:// URL, which is what [github.com/nodb-go/nodb/repo.Open] calls.
//
// # URLs
//
//	s3://bucket/prefix?region=eu-west-1&endpoint=http://127.0.0.1:7070&path_style=true&skip_probe=false
//
// The host is the bucket and the path, if any, is the key prefix. Query
// parameters, all optional; any other parameter is an error:
//
//   - region: the AWS region. Default: the configuration chain's region
//     (AWS_REGION, the profile), or us-east-1 when endpoint is set.
//   - endpoint: the base URL of an S3-compatible server (http:// or https://).
//     Default: Amazon S3 for the region.
//   - path_style: "true" to address the bucket in the path
//     (http://host/bucket/key) instead of the host name, as most
//     S3-compatible servers need.
//   - skip_probe: "true" to skip the conditional-write probe (see below).
//   - conditional_delete: "false" to never delete conditionally (see
//     [Options.NoConditionalDelete]); use it with versitygw.
//
// # Credentials
//
// Credentials come from the standard AWS chain ([config.LoadDefaultConfig]):
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared
// config files, web identity, SSO, the container or EC2 instance role. They
// never appear in URLs. To use anything else, build an *s3.Client yourself
// and pass it to [Open].
//
// # Keys and prefix
//
// With [Options.Prefix] set, every key is stored as prefix + key; a prefix
// that does not end in "/" gets one ("data" stores key "k" as "data/k").
// List takes and returns keys without the prefix. Keys are checked with
// [object.CheckKey] including the prefix, so the prefix counts against the
// 1024-byte limit. Keys with an empty, "." or ".." segment ("a//b", "/a",
// "a/", "a/../b") are refused with [object.ErrInvalidKey]: S3 would store
// them, but servers that keep objects as files resolve them as paths, so
// "a/../b" would silently become "b". Keys with a backslash are refused by
// [object.CheckKey] (SeaweedFS stores "\" as "/"), and List refuses a
// Prefix or StartAfter that [object.CheckPrefix] refuses (SeaweedFS answers
// an invalid UTF-8 prefix with a 500). Whether "x" and "x/y" can both be
// stored depends on the server: Amazon S3 and SeaweedFS store both,
// versitygw refuses the second ([object.ErrInvalidKey]); NoDB never writes
// such a pair. The keys under prefix + "_nodb/" are reserved (see the
// probe).
//
// # Versions
//
// A version is the object's ETag without its surrounding quotes. S3 gives
// the same ETag to the same bytes, so NoDB puts a unique write id in every
// body it writes conditionally; a version then names one write.
//
// # Conditional writes and the probe
//
// Put with IfNoneMatch "*" or IfMatch and Delete with IfMatch rely on the
// server honouring the If-None-Match and If-Match headers. Amazon S3 does;
// some S3-compatible servers silently ignore them and write anyway, which
// would break NoDB's unique constraints and optimistic concurrency without
// a trace. So before its first conditional request a store checks the
// server once, with seven requests on an object under
// prefix + "_nodb/probe/<random>": it creates the object with If-None-Match
// "*", writes it again with If-None-Match "*" and with a stale If-Match
// (both must fail with 412), overwrites it with the right If-Match, deletes
// it with a stale If-Match (must fail), then with the right one, then once
// more (S3 says 404).
//
// Only a clean run decides: if the SDK had to retry any of the probe's
// requests (a reply was lost), the retry's answer may be to the probe's own
// first attempt (a 412 after its own write), so the run is discarded and
// the probe runs again on a fresh object, up to three times. Lost replies
// thus never make a store believe that the server ignores conditions.
//
// If the server ignored a condition on PutObject, every conditional Put and
// Delete fails with an error wrapping [object.ErrUnsupported] that names the
// server; if only DeleteObject ignored If-Match, conditional Deletes fail
// that way and Capabilities reports ConditionalDelete false from then on.
// Unconditional operations keep working. If the server does not say 404 to
// a conditional delete of a missing key (versitygw says 204), conditional
// Deletes send a HEAD first, so that a missing key still gives
// [object.ErrNotFound]. If the probe itself fails (network, throttling,
// cancelled context), the failing call returns that error and the next
// conditional call probes again.
//
// [Options.SkipProbe] (URL skip_probe=true) skips the probe for servers
// known to be good, such as Amazon S3 general purpose buckets, and assumes
// S3's behaviour.
//
// # Servers whose conditional DELETE is not atomic
//
// A conditional DELETE must not remove an object that a concurrent
// conditional PUT has just replaced. versitygw v1.8.0 fails this: racing a
// DELETE with If-Match against a PUT with the same If-Match, both succeeded
// in 9 of 300 trials, once leaving no object at all although the PUT had
// reported success. On such a server set [Options.NoConditionalDelete]
// (URL conditional_delete=false): superseded index entries and claims are
// then left for Repo.Check instead of being deleted, and record deletes are
// unconditional. One race stays: a record Delete that overlaps a write of
// the same record can let the write land after the DELETE (its If-Match
// checked before, its body stored after), bringing the record back while
// the Delete removes the index entries and claims that record still names.
// The record is then missing from an index, or its unique value unclaimed,
// until Repo.Check (which reports MissingEntries and MissingClaims) repairs
// it. On such a server, do not delete a record that another writer may be
// writing at the same moment, or run Check after such races. Amazon S3 and
// SeaweedFS are atomic here. The probe cannot detect this: it is a race.
//
// # Retried writes
//
// The SDK retries a request whose response was lost. If the first attempt of
// a conditional Put landed, the retry fails its own condition (412). When a
// conditional Put fails that way after more than one attempt, the store reads
// the object back and, if its body is exactly the bytes it sent, reports
// success with that object's version. This is sound because NoDB puts a
// unique write id in every conditionally written body: equal bytes mean our
// own write. Any other finding (another body, no object) cannot tell whether
// our write never landed or landed and was replaced within milliseconds, so
// the Put fails with [object.ErrOutcomeUnknown], never with
// [object.ErrPrecondition].
//
// A conditional Delete whose first attempt deleted the object gets 404 from
// Amazon S3, 204 from versitygw and 412 from SeaweedFS on the retry. The store
// does not rely on which: after a retried conditional Delete fails with 404,
// 409 or 412 it sends a HEAD; a key that is gone means success, a key that
// is present (at any version) means [object.ErrOutcomeUnknown].
//
// The attempt count is observed through a middleware added per call, so it
// works with an *s3.Client; a [Client] that ignores per-call options never
// triggers the read-back.
//
// # Closing
//
// Close makes the store refuse further calls with [object.ErrClosed]. A
// store from [OpenURL] (and so from repo.Open) built its own client, and
// Close closes that client's idle connections. A store from [Open] leaves
// the caller's client alone, since the caller may share it. Close deletes
// nothing and does not disturb other stores on the bucket.
//
// # Directory buckets
//
// S3 Express One Zone directory buckets (names ending in "--x-s3") are not
// supported: they do not list keys in lexicographic order and do not accept
// StartAfter, which NoDB's range queries rely on.
//
// # Errors
//
// Errors read like `s3store: Put "k": precondition failed (PreconditionFailed,
// HTTP 412)`, naming the key without the prefix, and wrap both an [object]
// sentinel and the SDK's error, so errors.Is(err, object.ErrPrecondition) and
// errors.As(err, &apiErr) (a smithy.APIError) both work. The mapping, by S3
// error code and else by HTTP status:
//
//   - NoSuchKey, NotFound, 404: [object.ErrNotFound] (not NoSuchBucket)
//   - PreconditionFailed, 412: [object.ErrPrecondition]
//   - ConditionalRequestConflict, 409: [object.ErrConcurrentRequest]
//   - NotModified, 304: [object.ErrNotModified]
//   - AccessDenied, 403: [object.ErrPermission]
//   - KeyTooLongError, and the POSIX-backed servers' ObjectParentIsFile,
//     ExistingObjectIsDirectory, DirectoryObjectContainsData:
//     [object.ErrInvalidKey]
//   - NotImplemented, 501: [object.ErrUnsupported]
//
// context.Canceled and context.DeadlineExceeded stay reachable with
// errors.Is and get no sentinel.
package s3store
