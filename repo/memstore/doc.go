// Package memstore provides an in-memory [object.Store], for tests and
// throwaway data. Each call to [New] returns a new, empty store; nothing is
// persisted. [Share] opens another client of the same data, as a second
// process would open the same bucket: each client is closed on its own,
// and closing one leaves the data to the others.
//
// The store behaves like the other NoDB backends, as the conformance suite in
// [github.com/nodb-go/nodb/repo/storetest] checks:
//
//   - Keys are validated with [object.CheckKey]. "/" is an ordinary character,
//     so unlike filestore a memstore can hold both "x" and "x/y".
//   - Every Put produces a new version, unique within the process even when
//     the bytes are the same as before, so a version names one write.
//   - Conditions are honoured exactly: PutOptions.IfNoneMatch "*",
//     PutOptions.IfMatch (a missing key gives [object.ErrNotFound], as on S3),
//     DeleteOptions.IfMatch (Capabilities().ConditionalDelete is true) and
//     GetOptions.IfNoneMatch ([object.ErrNotModified]).
//   - List returns keys in byte order, paged, and reports More exactly.
//   - Bodies are copied on the way in and out: callers may reuse or modify the
//     slices they pass and receive.
//   - Close makes that client refuse further calls with [object.ErrClosed];
//     the data stays for the other clients from Share.
//
// # Errors
//
// Errors wrap the sentinels of package object and name the operation and key,
// for example `memstore: Get "User/r/alice": object: not found`. A method
// whose context is done returns an error wrapping the context's error without
// doing anything.
package memstore
