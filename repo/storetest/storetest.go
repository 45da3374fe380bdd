// Package storetest is the conformance suite for [object.Store]
// implementations. Every NoDB backend runs it from a small test file:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunConformanceTests(t, func(t *testing.T) (object.Store, func() object.Store) {
//			dir := t.TempDir()
//			open := func() object.Store {
//				st, err := filestore.Open(dir)
//				if err != nil {
//					t.Fatal(err)
//				}
//				return st
//			}
//			return open(), open
//		})
//	}
//
// The suite checks the contract written in the [object.Store] method docs:
// round trips, versions, conditional reads, writes and deletes (including
// races with exactly one winner), listing order, prefixes and paging past
// [object.MaxPageSize], odd keys, the same refusal of invalid keys,
// prefixes and options by every backend, cancellation and Close. With a
// second client of the same storage it checks what NoDB relies on when
// several processes share a bucket: what one client writes the other reads
// at once, conditional writes from both have exactly one winner, listings
// and deletes are seen across clients, and closing one client leaves the
// other and the data alone. It is meant to
// run against real S3-compatible servers too, so it keeps the number of
// requests small: the whole suite takes seconds.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nodb-go/nodb/repo/object"
)

// An Option adds to the suite behaviours that only some backends can be
// made to show.
type Option func(*suite)

type suite struct {
	lossy func(t *testing.T) LossyStore
}

// LossyStore is a store whose replies the suite can lose, for the
// behaviours of [WithLostReplies].
type LossyStore struct {
	// Store is an empty store.
	Store object.Store
	// Other reaches the same data as Store without losing replies: another
	// writer.
	Other object.Store
	// LoseNext makes the backend lose the reply to Store's next request of
	// operation op ("Put" or "Delete") on key: the request takes effect,
	// its reply is lost, meanwhile (when not nil) runs, and the backend
	// retries the request as it would after a broken connection.
	LoseNext func(op, key string, meanwhile func())
	// Lost returns how many replies were lost so far.
	Lost func() int
}

// WithLostReplies adds the behaviours of writes whose reply was lost (see
// the Put and Delete contracts of [object.Store] and
// [object.ErrOutcomeUnknown]): a retried write that finds its own result
// reports success, and one that finds another writer's reports an unknown
// outcome, never a failed condition. Only a backend that can really lose a
// reply provides it (s3store, through its HTTP transport); memstore and
// filestore cannot, and the suite does not fake it for them. newLossy is
// called once per subtest.
func WithLostReplies(newLossy func(t *testing.T) LossyStore) Option {
	return func(s *suite) { s.lossy = newLossy }
}

// A Maker makes the stores of one subtest. st is an empty store that the
// subtest may use alone. Each call of reopen opens another client of the
// same storage, as another process would: [memstore.Share] of st, a second
// [filestore.Open] of the same directory, [s3store.Open] of the same bucket
// with another client. A Maker registers any cleanup with t.Cleanup
// (the suite closes some of the stores itself, so cleanup must not mind a
// closed store) and fails t if a store cannot be made.
//
// The second client is not optional: NoDB relies on what one client
// writes being seen by others (several processes, Lambda invocations or
// goroutines with their own stores on one bucket), so every backend is
// tested for it.
//
// [memstore.Share]: https://pkg.go.dev/github.com/nodb-go/nodb/repo/memstore#Share
// [filestore.Open]: https://pkg.go.dev/github.com/nodb-go/nodb/repo/filestore#Open
// [s3store.Open]: https://pkg.go.dev/github.com/nodb-go/nodb/repo/s3store#Open
type Maker func(t *testing.T) (st object.Store, reopen func() object.Store)

// RunConformanceTests runs the conformance suite, one subtest per behaviour.
// newStore is called once per subtest. opts add behaviours that need more
// than a store.
func RunConformanceTests(t *testing.T, newStore Maker, opts ...Option) {
	t.Helper()
	var su suite
	for _, o := range opts {
		o(&su)
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, st object.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Head", testHead},
		{"Missing", testMissing},
		{"DeleteMissing", testDeleteMissing},
		{"Delete", testDelete},
		{"OverwriteChangesVersion", testOverwrite},
		{"SameBytesTwice", testSameBytesTwice},
		{"GetIfNoneMatch", testGetIfNoneMatch},
		{"PutIfNoneMatch", testPutIfNoneMatch},
		{"PutIfMatch", testPutIfMatch},
		{"InvalidPutOptions", testInvalidPutOptions},
		{"ConcurrentCreateOneWinner", testConcurrentCreate},
		{"ConcurrentIfMatchOneWinner", testConcurrentIfMatch},
		{"ConditionalDelete", testConditionalDelete},
		{"ListOrder", testListOrder},
		{"ListPrefix", testListPrefix},
		{"ListStartAfter", testListStartAfter},
		{"ListPageSize", testListPageSize},
		{"ListPastMaxPage", testListPastMaxPage},
		{"AllEarlyBreak", testAllEarlyBreak},
		{"ListInvalidPrefix", testListInvalidPrefix},
		{"OddKeys", testOddKeys},
		{"KeyAndChildKey", testKeyAndChildKey},
		{"InvalidKeys", testInvalidKeys},
		{"CanceledContext", testCanceledContext},
		{"EmptyBody", testEmptyBody},
		{"LargeBody", testLargeBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := newStore(t)
			if st == nil {
				t.Fatal("newStore returned nil")
			}
			tc.fn(t, st)
		})
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, a object.Store, reopen func() object.Store)
	}{
		{"Close", testClose},
		{"TwoClients/ReadAfterWrite", testTwoReadAfterWrite},
		{"TwoClients/ConcurrentCreateOneWinner", testTwoConcurrentCreate},
		{"TwoClients/ConcurrentIfMatchOneWinner", testTwoConcurrentIfMatch},
		{"TwoClients/StaleVersion", testTwoStaleVersion},
		{"TwoClients/List", testTwoList},
		{"TwoClients/Delete", testTwoDelete},
		{"TwoClients/CloseOne", testTwoCloseOne},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, reopen := newStore(t)
			if st == nil || reopen == nil {
				t.Fatal("newStore returned a nil store or reopen")
			}
			tc.fn(t, st, reopen)
		})
	}
	if su.lossy == nil {
		return
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, ls LossyStore)
	}{
		{"LostReply/Create", testLostCreate},
		{"LostReply/Replace", testLostReplace},
		{"LostReply/CreateThenReplaced", testLostCreateReplaced},
		{"LostReply/ReplaceThenReplaced", testLostReplaceReplaced},
		{"LostReply/ReplaceThenDeleted", testLostReplaceDeleted},
		{"LostReply/Delete", testLostDelete},
		{"LostReply/DeleteThenRecreated", testLostDeleteRecreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := su.lossy(t)
			tc.fn(t, ls)
			if ls.Lost() == 0 {
				t.Error("no reply was lost: the test proved nothing")
			}
		})
	}
}

// ---- helpers ----

func put(t *testing.T, st object.Store, key string, body []byte, opts object.PutOptions) object.Info {
	t.Helper()
	info, err := st.Put(t.Context(), key, body, opts)
	if err != nil {
		t.Fatalf("Put(%q, %+v): %v", key, opts, err)
	}
	if info.Version == "" {
		t.Fatalf("Put(%q) returned an empty Version", key)
	}
	if info.Key != key {
		t.Errorf("Put(%q) returned Key %q", key, info.Key)
	}
	if info.Size != int64(len(body)) {
		t.Errorf("Put(%q) returned Size %d, want %d", key, info.Size, len(body))
	}
	return info
}

func get(t *testing.T, st object.Store, key string) object.Object {
	t.Helper()
	obj, err := st.Get(t.Context(), key, object.GetOptions{})
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return obj
}

// wantBody checks that key holds body under the given version (if not empty).
func wantBody(t *testing.T, st object.Store, key string, body []byte, version string) {
	t.Helper()
	obj := get(t, st, key)
	if !bytes.Equal(obj.Body, body) {
		t.Errorf("Get(%q) body = %s, want %s", key, short(obj.Body), short(body))
	}
	if version != "" && obj.Version != version {
		t.Errorf("Get(%q) version = %q, want %q", key, obj.Version, version)
	}
}

// wantMissing checks that key does not exist.
func wantMissing(t *testing.T, st object.Store, key string) {
	t.Helper()
	if info, err := st.Head(t.Context(), key); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("Head(%q) = %+v, %v; want ErrNotFound", key, info, err)
	}
}

// wantErr checks that err wraps one of the targets.
func wantErr(t *testing.T, what string, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	t.Errorf("%s: error = %v; want one wrapping %v", what, err, targets)
}

// list returns every key under prefix, in the order the store gives them,
// and fails t on an error.
func list(t *testing.T, st object.Store, prefix string) []object.Info {
	t.Helper()
	var infos []object.Info
	for info, err := range object.All(t.Context(), st, prefix, "", 0) {
		if err != nil {
			t.Fatalf("List(prefix %q): %v", prefix, err)
		}
		infos = append(infos, info)
	}
	return infos
}

func keysOf(infos []object.Info) []string {
	keys := make([]string, len(infos))
	for i, info := range infos {
		keys[i] = info.Key
	}
	return keys
}

func listKeys(t *testing.T, st object.Store, prefix string) []string {
	t.Helper()
	return keysOf(list(t, st, prefix))
}

func wantKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if got == nil {
		got = []string{}
	}
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// putMany writes body(key) under every key with bounded parallelism.
func putMany(t *testing.T, st object.Store, keys []string, body func(string) []byte) map[string]object.Info {
	t.Helper()
	const workers = 16
	var (
		mu    sync.Mutex
		infos = make(map[string]object.Info, len(keys))
		errs  []error
		wg    sync.WaitGroup
		next  atomic.Int64
	)
	for range min(workers, len(keys)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(keys) {
					return
				}
				info, err := st.Put(t.Context(), keys[i], body(keys[i]), object.PutOptions{})
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("Put(%q): %w", keys[i], err))
				} else {
					infos[keys[i]] = info
				}
				failed := len(errs) > 0
				mu.Unlock()
				if failed {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("putting %d keys: %v", len(keys), errors.Join(errs...))
	}
	return infos
}

func short(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q... (%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// ---- behaviours ----

func testRoundTrip(t *testing.T, st object.Store) {
	body := []byte(`{"name":"alice"}`)
	pi := put(t, st, "alice", body, object.PutOptions{})
	obj := get(t, st, "alice")
	if !bytes.Equal(obj.Body, body) {
		t.Errorf("Get body = %s, want %s", short(obj.Body), short(body))
	}
	if obj.Key != "alice" {
		t.Errorf("Get Key = %q, want %q", obj.Key, "alice")
	}
	if obj.Version != pi.Version {
		t.Errorf("Get Version = %q, Put returned %q", obj.Version, pi.Version)
	}
	if obj.Size != int64(len(body)) {
		t.Errorf("Get Size = %d, want %d", obj.Size, len(body))
	}
	if obj.LastModified.IsZero() {
		t.Error("Get LastModified is zero")
	}
}

func testHead(t *testing.T, st object.Store) {
	body := []byte("head body")
	pi := put(t, st, "h", body, object.PutOptions{})
	info, err := st.Head(t.Context(), "h")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if info.Key != "h" || info.Version != pi.Version || info.Size != int64(len(body)) {
		t.Errorf("Head = %+v, want Key %q Version %q Size %d", info, "h", pi.Version, len(body))
	}
	if info.LastModified.IsZero() {
		t.Error("Head LastModified is zero")
	}
}

func testMissing(t *testing.T, st object.Store) {
	ctx := t.Context()
	// Another key exists, so the store is not simply empty.
	pi := put(t, st, "present", []byte("x"), object.PutOptions{})
	if obj, err := st.Get(ctx, "missing", object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("Get(missing) = %+v, %v; want ErrNotFound", obj.Info, err)
	}
	if _, err := st.Get(ctx, "missing", object.GetOptions{IfNoneMatch: pi.Version}); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("Get(missing, IfNoneMatch) error = %v; want ErrNotFound", err)
	}
	if info, err := st.Head(ctx, "missing"); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("Head(missing) = %+v, %v; want ErrNotFound", info, err)
	}
	err := st.Delete(ctx, "missing", object.DeleteOptions{IfMatch: pi.Version})
	if st.Capabilities().ConditionalDelete {
		wantErr(t, "Delete(missing, IfMatch)", err, object.ErrNotFound)
	} else {
		wantErr(t, "Delete(missing, IfMatch) without ConditionalDelete", err, object.ErrUnsupported, object.ErrNotFound)
	}
	wantMissing(t, st, "missing")
}

func testDeleteMissing(t *testing.T, st object.Store) {
	if err := st.Delete(t.Context(), "never-written", object.DeleteOptions{}); err != nil {
		t.Errorf("Delete(missing) = %v; want nil (as on S3)", err)
	}
	put(t, st, "k", []byte("x"), object.PutOptions{})
	if err := st.Delete(t.Context(), "k", object.DeleteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := st.Delete(t.Context(), "k", object.DeleteOptions{}); err != nil {
		t.Errorf("second Delete = %v; want nil", err)
	}
}

func testDelete(t *testing.T, st object.Store) {
	put(t, st, "keep", []byte("keep"), object.PutOptions{})
	put(t, st, "gone", []byte("gone"), object.PutOptions{})
	if err := st.Delete(t.Context(), "gone", object.DeleteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, st, "gone")
	wantBody(t, st, "keep", []byte("keep"), "")
	wantKeys(t, "List after Delete", listKeys(t, st, ""), []string{"keep"})
}

func testOverwrite(t *testing.T, st object.Store) {
	v1 := put(t, st, "k", []byte("one"), object.PutOptions{})
	v2 := put(t, st, "k", []byte("two"), object.PutOptions{})
	if v1.Version == v2.Version {
		t.Errorf("overwrite with different bytes kept version %q", v1.Version)
	}
	wantBody(t, st, "k", []byte("two"), v2.Version)
}

// testSameBytesTwice: S3's ETag is the same for the same bytes, so the
// version need not change; but the version a Put returns is always the one
// a following Get sees.
func testSameBytesTwice(t *testing.T, st object.Store) {
	put(t, st, "k", []byte("same"), object.PutOptions{})
	v2 := put(t, st, "k", []byte("same"), object.PutOptions{})
	wantBody(t, st, "k", []byte("same"), v2.Version)
	// The version still works as a condition.
	v3, err := st.Put(t.Context(), "k", []byte("next"), object.PutOptions{IfMatch: v2.Version})
	if err != nil {
		t.Fatalf("Put(IfMatch version of the second write): %v", err)
	}
	wantBody(t, st, "k", []byte("next"), v3.Version)
}

func testGetIfNoneMatch(t *testing.T, st object.Store) {
	ctx := t.Context()
	v1 := put(t, st, "k", []byte("one"), object.PutOptions{})
	obj, err := st.Get(ctx, "k", object.GetOptions{IfNoneMatch: v1.Version})
	wantErr(t, "Get(IfNoneMatch current)", err, object.ErrNotModified)
	if len(obj.Body) != 0 {
		t.Errorf("Get(IfNoneMatch current) returned a body %s", short(obj.Body))
	}
	v2 := put(t, st, "k", []byte("two"), object.PutOptions{})
	obj, err = st.Get(ctx, "k", object.GetOptions{IfNoneMatch: v1.Version})
	if err != nil {
		t.Fatalf("Get(IfNoneMatch stale): %v", err)
	}
	if string(obj.Body) != "two" || obj.Version != v2.Version {
		t.Errorf("Get(IfNoneMatch stale) = %s version %q; want %q version %q", short(obj.Body), obj.Version, "two", v2.Version)
	}
}

func testPutIfNoneMatch(t *testing.T, st object.Store) {
	ctx := t.Context()
	v1 := put(t, st, "k", []byte("first"), object.PutOptions{IfNoneMatch: "*"})
	_, err := st.Put(ctx, "k", []byte("second"), object.PutOptions{IfNoneMatch: "*"})
	wantErr(t, `Put(IfNoneMatch "*") on an existing key`, err, object.ErrPrecondition)
	wantBody(t, st, "k", []byte("first"), v1.Version)
	// After a delete the key can be created again.
	if err := st.Delete(ctx, "k", object.DeleteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	v3 := put(t, st, "k", []byte("third"), object.PutOptions{IfNoneMatch: "*"})
	wantBody(t, st, "k", []byte("third"), v3.Version)
}

func testPutIfMatch(t *testing.T, st object.Store) {
	ctx := t.Context()
	v1 := put(t, st, "k", []byte("one"), object.PutOptions{})
	v2 := put(t, st, "k", []byte("two"), object.PutOptions{IfMatch: v1.Version})
	wantBody(t, st, "k", []byte("two"), v2.Version)

	_, err := st.Put(ctx, "k", []byte("stale"), object.PutOptions{IfMatch: v1.Version})
	wantErr(t, "Put(IfMatch stale)", err, object.ErrPrecondition)
	wantBody(t, st, "k", []byte("two"), v2.Version)

	_, err = st.Put(ctx, "missing", []byte("x"), object.PutOptions{IfMatch: v2.Version})
	wantErr(t, "Put(IfMatch) on a missing key", err, object.ErrNotFound, object.ErrPrecondition)
	wantMissing(t, st, "missing")
}

func testInvalidPutOptions(t *testing.T, st object.Store) {
	ctx := t.Context()
	v1 := put(t, st, "k", []byte("one"), object.PutOptions{})
	for _, opts := range []object.PutOptions{
		{IfNoneMatch: v1.Version},
		{IfNoneMatch: "abc"},
		{IfMatch: v1.Version, IfNoneMatch: "*"},
	} {
		_, err := st.Put(ctx, "k", []byte("bad"), opts)
		wantErr(t, fmt.Sprintf("Put(existing, %+v)", opts), err, object.ErrInvalidOptions)
		_, err = st.Put(ctx, "new", []byte("bad"), opts)
		wantErr(t, fmt.Sprintf("Put(missing, %+v)", opts), err, object.ErrInvalidOptions)
	}
	wantBody(t, st, "k", []byte("one"), v1.Version)
	wantMissing(t, st, "new")
}

const racers = 20

// race runs fn(i) for i in [0, racers) as simultaneously as it can and
// returns the results.
func race(fn func(i int) (object.Info, error)) ([]object.Info, []error) {
	infos := make([]object.Info, racers)
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			infos[i], errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return infos, errs
}

// oneWinner checks that exactly one racer won, that the losers failed with
// ErrPrecondition or ErrConcurrentRequest, and that key holds the winner's write.
func oneWinner(t *testing.T, st object.Store, key string, infos []object.Info, errs []error) {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("writers %d and %d both won", winner, i)
			}
			winner = i
		case errors.Is(err, object.ErrPrecondition), errors.Is(err, object.ErrConcurrentRequest):
		default:
			t.Errorf("writer %d: error %v; want ErrPrecondition or ErrConcurrentRequest", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer won among %d: %v", racers, errors.Join(errs...))
	}
	wantBody(t, st, key, racerBody(winner), infos[winner].Version)
}

func racerBody(i int) []byte { return fmt.Appendf(nil, "writer %d", i) }

func testConcurrentCreate(t *testing.T, st object.Store) {
	infos, errs := race(func(i int) (object.Info, error) {
		return st.Put(t.Context(), "claim", racerBody(i), object.PutOptions{IfNoneMatch: "*"})
	})
	oneWinner(t, st, "claim", infos, errs)
}

func testConcurrentIfMatch(t *testing.T, st object.Store) {
	v0 := put(t, st, "rec", []byte("start"), object.PutOptions{})
	infos, errs := race(func(i int) (object.Info, error) {
		return st.Put(t.Context(), "rec", racerBody(i), object.PutOptions{IfMatch: v0.Version})
	})
	oneWinner(t, st, "rec", infos, errs)
}

func testConditionalDelete(t *testing.T, st object.Store) {
	ctx := t.Context()
	v1 := put(t, st, "k", []byte("one"), object.PutOptions{})
	if !st.Capabilities().ConditionalDelete {
		err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v1.Version})
		wantErr(t, "Delete(IfMatch) without ConditionalDelete", err, object.ErrUnsupported)
		wantBody(t, st, "k", []byte("one"), v1.Version)
		return
	}
	v2 := put(t, st, "k", []byte("two"), object.PutOptions{})
	err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v1.Version})
	wantErr(t, "Delete(IfMatch stale)", err, object.ErrPrecondition)
	wantBody(t, st, "k", []byte("two"), v2.Version)
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v2.Version}); err != nil {
		t.Fatalf("Delete(IfMatch current): %v", err)
	}
	wantMissing(t, st, "k")
}

// listingKeys are stored by every backend and sort differently under byte
// order than under a naive directory walk ("a/b" after "a-c" and "a.c"),
// case-insensitive order, or UTF-16 order ("\uff5e" before the emoji).
var listingKeys = []string{
	"A", "B", "Z", "a-c", "a.c", "a/b", "a/x-1", "a/x/y", "a0", "a_c", "aa", "a~c",
	"b", "z", "~", "é", "ö", "Ω", "日本", "\uff5e", "😀",
}

func sortedListingKeys() []string {
	keys := slices.Clone(listingKeys)
	slices.Sort(keys) // Go compares strings bytewise: UTF-8 binary order.
	return keys
}

func keysWithPrefix(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

func keysAfter(keys []string, after string) []string {
	var out []string
	for _, k := range keys {
		if k > after {
			out = append(out, k)
		}
	}
	return out
}

func putListingKeys(t *testing.T, st object.Store) map[string]object.Info {
	t.Helper()
	// Write in a scrambled order so that insertion order is not key order.
	keys := slices.Clone(listingKeys)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return putMany(t, st, keys, func(k string) []byte { return []byte("body of " + k) })
}

func testListOrder(t *testing.T, st object.Store) {
	puts := putListingKeys(t, st)
	want := sortedListingKeys()
	page, err := st.List(t.Context(), object.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	wantKeys(t, "List", keysOf(page.Objects), want)
	if page.More {
		t.Errorf("List of %d keys reported More", len(want))
	}
	for _, info := range page.Objects {
		p, ok := puts[info.Key]
		if !ok {
			continue
		}
		if info.Size != p.Size || info.Version != p.Version || info.LastModified.IsZero() {
			t.Errorf("List entry %+v; want Size %d, Version %q, LastModified set", info, p.Size, p.Version)
		}
	}
}

func testListPrefix(t *testing.T, st object.Store) {
	putListingKeys(t, st)
	all := sortedListingKeys()
	for _, prefix := range []string{"", "a", "a/", "a/x", "a/x/", "a-", "A", "日", "nothing", "a/b/"} {
		want := keysWithPrefix(all, prefix)
		wantKeys(t, fmt.Sprintf("List(Prefix %q)", prefix), listKeys(t, st, prefix), want)
	}
}

func testListStartAfter(t *testing.T, st object.Store) {
	putListingKeys(t, st)
	all := sortedListingKeys()
	for _, tc := range []struct{ prefix, after string }{
		{"", "a/b"},        // an existing key
		{"", "a/c"},        // between keys
		{"", "a/"},         // a "directory"
		{"", "a"},          // a prefix of many keys
		{"", "0"},          // before everything
		{"", "😀"},          // the last key
		{"", "\U0010ffff"}, // after everything
		{"", "é"},
		{"a/", "a/b"},
		{"a/", "0"},   // before the prefix
		{"a/", "b"},   // after the prefix
		{"a/", "a/x"}, // a prefix of keys under the prefix
	} {
		var got []string
		for info, err := range object.All(t.Context(), st, tc.prefix, tc.after, 0) {
			if err != nil {
				t.Fatalf("List(Prefix %q, StartAfter %q): %v", tc.prefix, tc.after, err)
			}
			got = append(got, info.Key)
		}
		want := keysAfter(keysWithPrefix(all, tc.prefix), tc.after)
		wantKeys(t, fmt.Sprintf("List(Prefix %q, StartAfter %q)", tc.prefix, tc.after), got, want)
	}
}

// pages lists prefix in explicit pages of pageSize, checking page sizes and
// More, and returns the keys.
func pages(t *testing.T, st object.Store, prefix string, pageSize, maxPage int) (keys []string, calls int) {
	t.Helper()
	after := ""
	for {
		calls++
		if calls > 10000 {
			t.Fatal("listing does not end")
		}
		page, err := st.List(t.Context(), object.ListOptions{Prefix: prefix, StartAfter: after, PageSize: pageSize})
		if err != nil {
			t.Fatalf("List(Prefix %q, StartAfter %q, PageSize %d): %v", prefix, after, pageSize, err)
		}
		if len(page.Objects) > maxPage {
			t.Fatalf("List(PageSize %d) returned %d objects; want at most %d", pageSize, len(page.Objects), maxPage)
		}
		if page.More && len(page.Objects) == 0 {
			t.Fatalf("List(StartAfter %q) returned an empty page with More", after)
		}
		keys = append(keys, keysOf(page.Objects)...)
		if !page.More {
			return keys, calls
		}
		if len(page.Objects) < maxPage {
			t.Errorf("List(PageSize %d) returned a short page (%d) with More", pageSize, len(page.Objects))
		}
		after = page.Objects[len(page.Objects)-1].Key
	}
}

func testListPageSize(t *testing.T, st object.Store) {
	putListingKeys(t, st)
	all := sortedListingKeys()
	for _, size := range []int{1, 2, 3, 7, len(all) - 1, len(all), len(all) + 1} {
		got, calls := pages(t, st, "", size, size)
		wantKeys(t, fmt.Sprintf("pages of %d", size), got, all)
		if least := (len(all) + size - 1) / size; calls < least || calls > least+1 {
			t.Errorf("pages of %d took %d List calls; want %d or %d", size, calls, least, least+1)
		}
	}
	page, err := st.List(t.Context(), object.ListOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !page.More || len(page.Objects) != 3 {
		t.Errorf("List(PageSize 3) of %d keys returned %d keys, More %v; want 3, true", len(all), len(page.Objects), page.More)
	}
	page, err = st.List(t.Context(), object.ListOptions{Prefix: "a/", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, `List(Prefix "a/", PageSize 2)`, keysOf(page.Objects), []string{"a/b", "a/x-1"})
	if !page.More {
		t.Error(`List(Prefix "a/", PageSize 2) of 3 keys: More is false`)
	}
}

func testListPastMaxPage(t *testing.T, st object.Store) {
	const n = object.MaxPageSize + 100
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("p/%05d", i)
	}
	putMany(t, st, append(keys, "q"), func(k string) []byte { return []byte(k) })

	for _, size := range []int{0, object.MaxPageSize + 1, 5000} {
		page, err := st.List(t.Context(), object.ListOptions{Prefix: "p/", PageSize: size})
		if err != nil {
			t.Fatalf("List(PageSize %d): %v", size, err)
		}
		if len(page.Objects) != object.MaxPageSize || !page.More {
			t.Errorf("List(PageSize %d) of %d keys: %d keys, More %v; want %d, true",
				size, n, len(page.Objects), page.More, object.MaxPageSize)
		}
	}

	cs := &countingStore{Store: st}
	got := listKeys(t, cs, "p/")
	wantKeys(t, "object.All(pageSize 0)", got, keys)
	if c := cs.lists.Load(); c != 2 && c != 3 {
		t.Errorf("object.All over %d keys made %d List calls; want 2", n, c)
	}

	got, calls := pages(t, st, "p/", 0, object.MaxPageSize)
	wantKeys(t, "explicit pages", got, keys)
	if calls != 2 && calls != 3 {
		t.Errorf("explicit pages over %d keys took %d List calls; want 2", n, calls)
	}
	got, _ = pages(t, st, "p/", 333, 333)
	wantKeys(t, "pages of 333", got, keys)

	// Starting after a key in the middle.
	var after []string
	for info, err := range object.All(t.Context(), st, "p/", keys[950], 0) {
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, info.Key)
	}
	wantKeys(t, "object.All(StartAfter key 950)", after, keys[951:])
}

// countingStore counts List calls.
type countingStore struct {
	object.Store
	lists atomic.Int64
}

func (s *countingStore) List(ctx context.Context, opts object.ListOptions) (object.ListPage, error) {
	s.lists.Add(1)
	return s.Store.List(ctx, opts)
}

func testAllEarlyBreak(t *testing.T, st object.Store) {
	keys := []string{"k1", "k2", "k3", "k4", "k5"}
	putMany(t, st, keys, func(k string) []byte { return []byte(k) })
	cs := &countingStore{Store: st}
	for _, tc := range []struct{ take, lists int }{{1, 1}, {2, 1}, {3, 2}} {
		cs.lists.Store(0)
		var got []string
		for info, err := range object.All(t.Context(), cs, "", "", 2) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, info.Key)
			if len(got) == tc.take {
				break
			}
		}
		wantKeys(t, fmt.Sprintf("first %d keys", tc.take), got, keys[:tc.take])
		if c := cs.lists.Load(); c != int64(tc.lists) {
			t.Errorf("breaking after %d keys (pages of 2) made %d List calls; want %d", tc.take, c, tc.lists)
		}
	}
	// Ranging twice lists afresh.
	cs.lists.Store(0)
	seq := object.All(t.Context(), cs, "", "", 0)
	for range 2 {
		var got []string
		for info, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, info.Key)
		}
		wantKeys(t, "ranging over All", got, keys)
	}
	if c := cs.lists.Load(); c != 2 {
		t.Errorf("ranging twice made %d List calls; want 2", c)
	}
}

// longKey is a 1024-byte key of five 204-byte segments.
var longKey = strings.Repeat("k", 204) + "/" + strings.Repeat("l", 204) + "/" +
	strings.Repeat("m", 204) + "/" + strings.Repeat("n", 204) + "/" + strings.Repeat("o", 204)

// oddKeys are keys that a store either holds exactly or refuses with
// ErrInvalidKey. "b" is a control: a store that resolves "a/../b" as a path
// would clobber it.
var oddKeys = []string{
	"b",
	"with space", " leading space", "trailing space ",
	"per%cent", "%2F", "%", "plus+sign", "question?mark", "hash#tag", "amp&ersand",
	"equals=sign", "tilde~", "~", "café", "日本語/キー", "emoji😀", "😀",
	`quote"s`, "star*", "colon:", "<angle>", "semi;colon", "comma,",
	"a/b/c", "a/../b", "..", "../escape", "a/..", ".", "a/./c", "./d",
	"a//b", "/leading-slash", "trailing-slash/",
	longKey,
}

func testOddKeys(t *testing.T, st object.Store) {
	if len(longKey) != object.MaxKeyLen {
		t.Fatalf("longKey is %d bytes", len(longKey))
	}
	ctx := t.Context()
	var stored []string
	versions := map[string]string{}
	for _, key := range oddKeys {
		info, err := st.Put(ctx, key, []byte("body of "+key), object.PutOptions{})
		switch {
		case err == nil:
			stored = append(stored, key)
			versions[key] = info.Version
			if info.Key != key {
				t.Errorf("Put(%q) returned Key %q", key, info.Key)
			}
		case errors.Is(err, object.ErrInvalidKey):
			t.Logf("Put(%q): refused: %v", key, err)
		default:
			t.Errorf("Put(%q): %v; want success or ErrInvalidKey", key, err)
		}
	}
	for _, key := range stored {
		obj, err := st.Get(ctx, key, object.GetOptions{})
		if err != nil {
			t.Errorf("Get(%q) after a successful Put: %v", key, err)
			continue
		}
		if string(obj.Body) != "body of "+key || obj.Key != key || obj.Version != versions[key] {
			t.Errorf("Get(%q) = key %q body %q version %q; want its own body and version %q",
				key, obj.Key, obj.Body, obj.Version, versions[key])
		}
		if info, err := st.Head(ctx, key); err != nil || info.Key != key || info.Version != versions[key] {
			t.Errorf("Head(%q) = %+v, %v", key, info, err)
		}
	}
	want := slices.Clone(stored)
	slices.Sort(want)
	wantKeys(t, "List of the odd keys stored", listKeys(t, st, ""), want)
	for _, key := range stored {
		wantKeys(t, fmt.Sprintf("List(Prefix %q)", key), listKeys(t, st, key), keysWithPrefix(want, key))
	}

	// Deleting each odd key removes that key alone.
	for _, key := range stored {
		if key == "b" {
			continue
		}
		if err := st.Delete(ctx, key, object.DeleteOptions{}); err != nil {
			t.Errorf("Delete(%q): %v", key, err)
		}
	}
	if !slices.Contains(stored, "b") {
		t.Fatal(`the plain key "b" was not stored`)
	}
	wantBody(t, st, "b", []byte("body of b"), versions["b"])
	wantKeys(t, "List after deleting the odd keys", listKeys(t, st, ""), []string{"b"})
}

func testInvalidKeys(t *testing.T, st object.Store) {
	ctx := t.Context()
	for _, key := range []string{
		"",
		"bad\xffutf8",
		"\xc3", // truncated sequence
		"nul\x00byte",
		"back\\slash", // SeaweedFS would store it as "back/slash"
		"\\",
		strings.Repeat("abcdefghi/", 102) + "abcde", // 1025 bytes, short segments
		"seg/" + strings.Repeat("s", object.MaxSegmentLen+1),
		strings.Repeat("s", object.MaxSegmentLen+1),
	} {
		if object.CheckKey(key) == nil {
			t.Fatalf("test bug: CheckKey(%.40q) accepts it", key)
		}
		_, err := st.Put(ctx, key, []byte("x"), object.PutOptions{})
		wantErr(t, fmt.Sprintf("Put(%.40q)", key), err, object.ErrInvalidKey)
		_, err = st.Put(ctx, key, []byte("x"), object.PutOptions{IfNoneMatch: "*"})
		wantErr(t, fmt.Sprintf(`Put(%.40q, IfNoneMatch "*")`, key), err, object.ErrInvalidKey)
		_, err = st.Get(ctx, key, object.GetOptions{})
		wantErr(t, fmt.Sprintf("Get(%.40q)", key), err, object.ErrInvalidKey)
		_, err = st.Head(ctx, key)
		wantErr(t, fmt.Sprintf("Head(%.40q)", key), err, object.ErrInvalidKey)
		err = st.Delete(ctx, key, object.DeleteOptions{})
		wantErr(t, fmt.Sprintf("Delete(%.40q)", key), err, object.ErrInvalidKey)
	}
	wantKeys(t, "List after invalid keys", listKeys(t, st, ""), nil)
}

func testCanceledContext(t *testing.T, st object.Store) {
	v1 := put(t, st, "k", []byte("one"), object.PutOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	canceled := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: error = %v; want one wrapping context.Canceled", what, err)
		}
	}
	_, err := st.Get(ctx, "k", object.GetOptions{})
	canceled("Get", err)
	_, err = st.Head(ctx, "k")
	canceled("Head", err)
	_, err = st.List(ctx, object.ListOptions{})
	canceled("List", err)
	_, err = st.Put(ctx, "new", []byte("new"), object.PutOptions{})
	canceled("Put(new key)", err)
	_, err = st.Put(ctx, "new2", []byte("new"), object.PutOptions{IfNoneMatch: "*"})
	canceled(`Put(new key, IfNoneMatch "*")`, err)
	_, err = st.Put(ctx, "k", []byte("two"), object.PutOptions{})
	canceled("Put(existing key)", err)
	_, err = st.Put(ctx, "k", []byte("three"), object.PutOptions{IfMatch: v1.Version})
	canceled("Put(existing key, IfMatch)", err)
	err = st.Delete(ctx, "k", object.DeleteOptions{})
	canceled("Delete", err)
	if st.Capabilities().ConditionalDelete {
		err = st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v1.Version})
		canceled("Delete(IfMatch)", err)
	}

	wantBody(t, st, "k", []byte("one"), v1.Version)
	wantMissing(t, st, "new")
	wantMissing(t, st, "new2")
	wantKeys(t, "List after canceled calls", listKeys(t, st, ""), []string{"k"})
}

func testEmptyBody(t *testing.T, st object.Store) {
	for _, tc := range []struct {
		key  string
		body []byte
	}{{"nil", nil}, {"empty", []byte{}}} {
		pi := put(t, st, tc.key, tc.body, object.PutOptions{})
		obj := get(t, st, tc.key)
		if len(obj.Body) != 0 || obj.Size != 0 || obj.Version != pi.Version {
			t.Errorf("Get(%q) = %d bytes, Size %d, Version %q; want empty, 0, %q",
				tc.key, len(obj.Body), obj.Size, obj.Version, pi.Version)
		}
		if info, err := st.Head(t.Context(), tc.key); err != nil || info.Size != 0 {
			t.Errorf("Head(%q) = %+v, %v; want Size 0", tc.key, info, err)
		}
	}
	// An empty body can be replaced and created conditionally.
	v := put(t, st, "cond", nil, object.PutOptions{IfNoneMatch: "*"})
	v2 := put(t, st, "cond", []byte("x"), object.PutOptions{IfMatch: v.Version})
	wantBody(t, st, "cond", []byte("x"), v2.Version)
}

func testLargeBody(t *testing.T, st object.Store) {
	body := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range body {
		body[i] = byte(r.Uint32())
	}
	pi := put(t, st, "large", body, object.PutOptions{})
	wantBody(t, st, "large", body, pi.Version)
	if info, err := st.Head(t.Context(), "large"); err != nil || info.Size != int64(len(body)) {
		t.Errorf("Head = %+v, %v; want Size %d", info, err, len(body))
	}
}

// testListInvalidPrefix: a prefix or StartAfter that is not valid UTF-8
// (S3 lists keys as UTF-8; SeaweedFS answers such a prefix with a 500) or
// holds a backslash (SeaweedFS rewrites it to "/") gives ErrInvalidKey
// from every backend (object.Gate), never a listing.
func testListInvalidPrefix(t *testing.T, st object.Store) {
	putListingKeys(t, st)
	for _, tc := range []struct{ prefix, after string }{
		{"\xe6", ""}, // the first byte of "日本"
		{"\xff", ""},
		{"a\\", ""}, // "a/" if rewritten
		{"nul\x00", ""},
		{"", "\xe6"},
		{"", "a\\"},
		{"a", "a\\"},
	} {
		what := fmt.Sprintf("List(Prefix %q, StartAfter %q)", tc.prefix, tc.after)
		if object.CheckPrefix(tc.prefix) == nil && object.CheckPrefix(tc.after) == nil {
			t.Fatalf("test bug: CheckPrefix accepts %s", what)
		}
		page, err := st.List(t.Context(), object.ListOptions{Prefix: tc.prefix, StartAfter: tc.after})
		if err == nil {
			t.Errorf("%s = %q; want an error wrapping ErrInvalidKey", what, keysOf(page.Objects))
			continue
		}
		wantErr(t, what, err, object.ErrInvalidKey)
	}
}

// testKeyAndChildKey: S3 stores "x" and "x/y" side by side; stores that
// keep objects as files (filestore, versitygw) cannot, and refuse the
// second with ErrInvalidKey. Either is allowed (NoDB's key layout never
// makes such a pair), but a refusal must leave the first key intact and
// store nothing, and a store that accepts both must keep them apart.
func testKeyAndChildKey(t *testing.T, st object.Store) {
	ctx := t.Context()
	for _, tc := range []struct{ first, second string }{
		{"x", "x/y"},     // parent is a file
		{"p/q/r", "p/q"}, // file where a directory is
	} {
		v1 := put(t, st, tc.first, []byte("first"), object.PutOptions{})
		info, err := st.Put(ctx, tc.second, []byte("second"), object.PutOptions{})
		switch {
		case errors.Is(err, object.ErrInvalidKey):
			t.Logf("Put(%q) with %q stored: refused: %v", tc.second, tc.first, err)
			wantMissing(t, st, tc.second)
			wantKeys(t, "List after the refusal", listKeys(t, st, ""), []string{tc.first})
		case err != nil:
			t.Errorf("Put(%q) with %q stored: %v; want success or ErrInvalidKey", tc.second, tc.first, err)
		default:
			wantBody(t, st, tc.second, []byte("second"), info.Version)
			want := []string{tc.first, tc.second}
			slices.Sort(want)
			wantKeys(t, "List of both", listKeys(t, st, ""), want)
			if err := st.Delete(ctx, tc.second, object.DeleteOptions{}); err != nil {
				t.Fatalf("Delete(%q): %v", tc.second, err)
			}
		}
		wantBody(t, st, tc.first, []byte("first"), v1.Version)
		if err := st.Delete(ctx, tc.first, object.DeleteOptions{}); err != nil {
			t.Fatalf("Delete(%q): %v", tc.first, err)
		}
		wantKeys(t, "List after deleting both", listKeys(t, st, ""), nil)
	}
}

// ---- lost replies (WithLostReplies) ----

// wantUnknown checks that err reports an unknown outcome and not a failed
// condition.
func wantUnknown(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, object.ErrOutcomeUnknown) {
		t.Errorf("%s: error = %v; want one wrapping ErrOutcomeUnknown", what, err)
	}
	for _, wrong := range []error{object.ErrPrecondition, object.ErrConcurrentRequest, object.ErrNotFound} {
		if errors.Is(err, wrong) {
			t.Errorf("%s: error %v wraps %v: the caller would take the write for one that did not land", what, err, wrong)
		}
	}
}

func testLostCreate(t *testing.T, ls LossyStore) {
	ls.LoseNext("Put", "k", nil)
	info, err := ls.Store.Put(t.Context(), "k", []byte("mine 1"), object.PutOptions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatalf(`Put(IfNoneMatch "*") whose reply was lost: %v; want success (its first attempt landed)`, err)
	}
	wantBody(t, ls.Other, "k", []byte("mine 1"), info.Version)
}

func testLostReplace(t *testing.T, ls LossyStore) {
	v1 := put(t, ls.Store, "k", []byte("mine 1"), object.PutOptions{})
	ls.LoseNext("Put", "k", nil)
	info, err := ls.Store.Put(t.Context(), "k", []byte("mine 2"), object.PutOptions{IfMatch: v1.Version})
	if err != nil {
		t.Fatalf("Put(IfMatch) whose reply was lost: %v; want success (its first attempt landed)", err)
	}
	wantBody(t, ls.Other, "k", []byte("mine 2"), info.Version)
}

// otherPut returns a meanwhile that writes body under key through the
// other store.
func otherPut(t *testing.T, ls LossyStore, key, body string) func() {
	return func() {
		if _, err := ls.Other.Put(context.WithoutCancel(t.Context()), key, []byte(body), object.PutOptions{}); err != nil {
			t.Errorf("the other writer's Put: %v", err)
		}
	}
}

func testLostCreateReplaced(t *testing.T, ls LossyStore) {
	ls.LoseNext("Put", "k", otherPut(t, ls, "k", "theirs"))
	_, err := ls.Store.Put(t.Context(), "k", []byte("mine 1"), object.PutOptions{IfNoneMatch: "*"})
	wantUnknown(t, `Put(IfNoneMatch "*") that landed, lost its reply and was replaced before the retry`, err)
	wantBody(t, ls.Other, "k", []byte("theirs"), "")
}

func testLostReplaceReplaced(t *testing.T, ls LossyStore) {
	v1 := put(t, ls.Store, "k", []byte("mine 1"), object.PutOptions{})
	ls.LoseNext("Put", "k", otherPut(t, ls, "k", "theirs"))
	_, err := ls.Store.Put(t.Context(), "k", []byte("mine 2"), object.PutOptions{IfMatch: v1.Version})
	wantUnknown(t, "Put(IfMatch) that landed, lost its reply and was replaced before the retry", err)
	wantBody(t, ls.Other, "k", []byte("theirs"), "")
}

func testLostReplaceDeleted(t *testing.T, ls LossyStore) {
	v1 := put(t, ls.Store, "k", []byte("mine 1"), object.PutOptions{})
	ls.LoseNext("Put", "k", func() {
		if err := ls.Other.Delete(context.WithoutCancel(t.Context()), "k", object.DeleteOptions{}); err != nil {
			t.Errorf("the other writer's Delete: %v", err)
		}
	})
	_, err := ls.Store.Put(t.Context(), "k", []byte("mine 2"), object.PutOptions{IfMatch: v1.Version})
	wantUnknown(t, "Put(IfMatch) that landed, lost its reply and was deleted before the retry", err)
	wantMissing(t, ls.Other, "k")
}

func testLostDelete(t *testing.T, ls LossyStore) {
	v1 := put(t, ls.Store, "k", []byte("mine 1"), object.PutOptions{})
	if !ls.Store.Capabilities().ConditionalDelete {
		ls.LoseNext("Delete", "k", nil)
		if err := ls.Store.Delete(t.Context(), "k", object.DeleteOptions{}); err != nil {
			t.Fatalf("Delete whose reply was lost: %v", err)
		}
		wantMissing(t, ls.Other, "k")
		return
	}
	ls.LoseNext("Delete", "k", nil)
	if err := ls.Store.Delete(t.Context(), "k", object.DeleteOptions{IfMatch: v1.Version}); err != nil {
		t.Fatalf("Delete(IfMatch) whose reply was lost: %v; want success (its first attempt deleted the key)", err)
	}
	wantMissing(t, ls.Other, "k")
}

func testLostDeleteRecreated(t *testing.T, ls LossyStore) {
	v1 := put(t, ls.Store, "k", []byte("mine 1"), object.PutOptions{})
	ls.LoseNext("Delete", "k", otherPut(t, ls, "k", "theirs"))
	if !ls.Store.Capabilities().ConditionalDelete {
		if err := ls.Store.Delete(t.Context(), "k", object.DeleteOptions{}); err != nil {
			t.Fatalf("Delete whose reply was lost: %v", err)
		}
		return // an unconditional retry deletes theirs too: that is what it asks for
	}
	err := ls.Store.Delete(t.Context(), "k", object.DeleteOptions{IfMatch: v1.Version})
	wantUnknown(t, "Delete(IfMatch) that deleted, lost its reply, and saw the key written again before the retry", err)
	wantBody(t, ls.Other, "k", []byte("theirs"), "")
}
