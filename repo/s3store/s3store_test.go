package s3store_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// newStore opens a store over a new bucket through a client adjusted by
// clientOpts, and returns a plain client for looking behind its back.
func newStore(t *testing.T, opts *s3store.Options, clientOpts ...func(*s3.Options)) (object.Store, *s3.Client, string) {
	t.Helper()
	raw, bucket := s3test.NewBucket(t)
	client := s3test.Server(t).NewClient(clientOpts...)
	st, err := s3store.Open(t.Context(), client, bucket, s3test.StoreOptions(opts))
	if err != nil {
		t.Fatal(err)
	}
	return st, raw, bucket
}

// rawKeys lists every key in bucket.
func rawKeys(t *testing.T, client *s3.Client, bucket string) []string {
	t.Helper()
	out, err := client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// stripConditions makes the client behave like a server that ignores
// If-Match and If-None-Match on the named operations.
func stripConditions(ops ...string) func(*s3.Options) {
	return s3test.EditRequests(func(op string, req *smithyhttp.Request) error {
		for _, o := range ops {
			if o == op {
				req.Header.Del("If-Match")
				req.Header.Del("If-None-Match")
			}
		}
		return nil
	})
}

func noBackoff(o *s3.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func TestRoundTrip(t *testing.T) {
	st, _, _ := newStore(t, nil)
	ctx := t.Context()
	before := time.Now().Add(-time.Minute)

	info, err := st.Put(ctx, "a/b", []byte("hello"), object.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "a/b" || info.Size != 5 || info.Version == "" || strings.Contains(info.Version, `"`) {
		t.Errorf("Put info = %+v", info)
	}
	if info.LastModified.Before(before) || info.LastModified.After(time.Now().Add(time.Minute)) {
		t.Errorf("Put LastModified = %v, want about now (from the Date header)", info.LastModified)
	}
	obj, err := st.Get(ctx, "a/b", object.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(obj.Body) != "hello" || obj.Version != info.Version || obj.Size != 5 || obj.LastModified.IsZero() {
		t.Errorf("Get = %+v %q, want version %q", obj.Info, obj.Body, info.Version)
	}
	head, err := st.Head(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	if head.Version != info.Version || head.Size != 5 || head.Key != "a/b" {
		t.Errorf("Head = %+v", head)
	}
	page, err := st.List(ctx, object.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != 1 || page.Objects[0].Key != "a/b" || page.Objects[0].Version != info.Version || page.More {
		t.Errorf("List = %+v", page)
	}
	if err := st.Delete(ctx, "a/b", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "a/b", object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if !st.Capabilities().ConditionalDelete {
		t.Error("ConditionalDelete = false")
	}
}

func TestConditionsAndErrors(t *testing.T) {
	st, _, _ := newStore(t, nil)
	ctx := t.Context()
	v1, err := st.Put(ctx, "k", []byte("one"), object.PutOptions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := st.Put(ctx, "k", []byte("two"), object.PutOptions{IfMatch: v1.Version})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version == v1.Version {
		t.Fatal("version did not change")
	}

	tests := []struct {
		name string
		do   func() error
		want error
		msg  string // substring of the message
	}{
		{"get missing", func() error { _, err := st.Get(ctx, "nope", object.GetOptions{}); return err },
			object.ErrNotFound, `s3store: Get "nope": not found (NoSuchKey, HTTP 404)`},
		{"head missing", func() error { _, err := st.Head(ctx, "nope"); return err },
			object.ErrNotFound, `s3store: Head "nope": not found`},
		{"create existing", func() error {
			_, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"})
			return err
		}, object.ErrPrecondition, `s3store: Put "k": precondition failed (PreconditionFailed, HTTP 412)`},
		{"replace stale", func() error {
			_, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{IfMatch: v1.Version})
			return err
		}, object.ErrPrecondition, `precondition failed`},
		{"get not modified", func() error {
			_, err := st.Get(ctx, "k", object.GetOptions{IfNoneMatch: v2.Version})
			return err
		}, object.ErrNotModified, `s3store: Get "k": not modified`},
		{"delete stale", func() error { return st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v1.Version}) },
			object.ErrPrecondition, `s3store: Delete "k": precondition failed`},
		{"delete missing if-match", func() error { return st.Delete(ctx, "nope", object.DeleteOptions{IfMatch: v1.Version}) },
			object.ErrNotFound, `s3store: Delete "nope": not found`},
		{"dot segment", func() error { _, err := st.Put(ctx, "a/../k", nil, object.PutOptions{}); return err },
			object.ErrInvalidKey, `has an empty, "." or ".." segment`},
		{"empty segment", func() error { _, err := st.Get(ctx, "a//b", object.GetOptions{}); return err },
			object.ErrInvalidKey, `s3store: Get "a//b": invalid key`},
		{"trailing slash", func() error { return st.Delete(ctx, "dir/", object.DeleteOptions{}) },
			object.ErrInvalidKey, `invalid key`},
		{"empty key", func() error { _, err := st.Put(ctx, "", nil, object.PutOptions{}); return err },
			object.ErrInvalidKey, `s3store: Put "": object: invalid key: empty key`},
		{"long segment", func() error { _, err := st.Head(ctx, strings.Repeat("s", 256)); return err },
			object.ErrInvalidKey, `invalid key`},
		{"list invalid UTF-8 prefix", func() error { _, err := st.List(ctx, object.ListOptions{Prefix: "\xe6"}); return err },
			object.ErrInvalidKey, `s3store: List "\xe6": object: invalid key: ListOptions.Prefix "\xe6" is not valid UTF-8`},
		{"list backslash StartAfter", func() error { _, err := st.List(ctx, object.ListOptions{StartAfter: `a\b`}); return err },
			object.ErrInvalidKey, `ListOptions.StartAfter "a\\b" contains a backslash`},
		{"backslash", func() error { _, err := st.Put(ctx, `back\slash`, nil, object.PutOptions{}); return err },
			object.ErrInvalidKey, `s3store: Put "back\\slash": object: invalid key: key "back\\slash" contains a backslash, which some S3-compatible servers (SeaweedFS) store as "/"`},
		{"bad put options", func() error {
			_, err := st.Put(ctx, "k", nil, object.PutOptions{IfNoneMatch: "x"})
			return err
		}, nil, `IfNoneMatch must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want it to contain %q", err, tt.msg)
			}
		})
	}

	// Keys "k" and "k/child": S3 and SeaweedFS store both, versitygw
	// (objects as files) refuses the second with 409 ObjectParentIsFile.
	_, err = st.Put(ctx, "k/child", []byte("x"), object.PutOptions{})
	switch server := s3test.Server(t).Name; {
	case server == "versitygw" || server == "external" && err != nil:
		if !errors.Is(err, object.ErrInvalidKey) || !strings.Contains(err.Error(), `s3store: Put "k/child": invalid key`) {
			t.Errorf("parent is a file, on %s: %v, want ErrInvalidKey", server, err)
		}
	case err != nil:
		t.Errorf("parent is a file, on %s: %v, want success", server, err)
	default:
		if err := st.Delete(ctx, "k/child", object.DeleteOptions{}); err != nil {
			t.Error(err)
		}
	}

	// The SDK's error stays reachable.
	_, err = st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "PreconditionFailed" {
		t.Errorf("errors.As(%v, smithy.APIError) = %v", err, apiErr)
	}
	// Failed conditions changed nothing.
	if obj, err := st.Get(ctx, "k", object.GetOptions{}); err != nil || string(obj.Body) != "two" {
		t.Errorf("Get k = %q, %v; want two", obj.Body, err)
	}
	// Unconditional delete of a missing key succeeds; conditional delete works.
	if err := st.Delete(ctx, "nope", object.DeleteOptions{}); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v2.Version}); err != nil {
		t.Errorf("Delete If-Match current: %v", err)
	}
	// If-Match on a missing key.
	_, err = st.Put(ctx, "k", []byte("x"), object.PutOptions{IfMatch: v2.Version})
	if !errors.Is(err, object.ErrNotFound) && !errors.Is(err, object.ErrPrecondition) {
		t.Errorf("Put If-Match on missing key: %v", err)
	}
}

// TestConditionalDeleteWithoutProbe sends DeleteObject If-Match straight
// to the server, without the HEAD that versitygw needs for missing keys.
func TestConditionalDeleteWithoutProbe(t *testing.T) {
	st, _, _ := newStore(t, &s3store.Options{SkipProbe: true})
	ctx := t.Context()
	v1, err := st.Put(ctx, "k", []byte("one"), object.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "k", []byte("two"), object.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	err = st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v1.Version})
	if !errors.Is(err, object.ErrPrecondition) || !strings.Contains(err.Error(), "HTTP 412") {
		t.Errorf("Delete stale: %v, want ErrPrecondition from the server", err)
	}
}

func TestPermissionAndMissingBucket(t *testing.T) {
	env := s3test.Server(t)
	if env.External {
		t.Skip("needs the local server's credentials")
	}
	_, bucket := s3test.NewBucket(t)
	ctx := t.Context()

	wrongSecret := s3test.Server(t).NewClient(func(o *s3.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: env.AccessKey, SecretAccessKey: "wrong"}, nil
		})
	})
	st, err := s3store.Open(ctx, wrongSecret, bucket)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Get(ctx, "k", object.GetOptions{})
	if !errors.Is(err, object.ErrPermission) {
		t.Errorf("Get with a wrong secret: %v, want ErrPermission", err)
	}

	st, err = s3store.Open(ctx, env.NewClient(), "nodb-no-such-bucket")
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Get(ctx, "k", object.GetOptions{})
	if err == nil || errors.Is(err, object.ErrNotFound) {
		t.Errorf("Get in a missing bucket: %v, want an error that is not ErrNotFound", err)
	}
}

func TestPrefix(t *testing.T) {
	for _, prefix := range []string{"pre", "pre/"} {
		t.Run(prefix, func(t *testing.T) {
			st, raw, bucket := newStore(t, &s3store.Options{Prefix: prefix})
			ctx := t.Context()
			for _, k := range []string{"b", "a/x", "c"} {
				if _, err := st.Put(ctx, k, []byte(k), object.PutOptions{IfNoneMatch: "*"}); err != nil {
					t.Fatal(err)
				}
			}
			// A neighbour outside the prefix stays invisible.
			if _, err := raw.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("prf"), Body: strings.NewReader("x")}); err != nil {
				t.Fatal(err)
			}
			got := rawKeys(t, raw, bucket)
			want := []string{"pre/a/x", "pre/b", "pre/c", "prf"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("bucket holds %q, want %q (and no probe object)", got, want)
			}
			page, err := st.List(ctx, object.ListOptions{StartAfter: "a/x"})
			if err != nil {
				t.Fatal(err)
			}
			if keys := keysOf(page); fmt.Sprint(keys) != "[b c]" {
				t.Errorf("List after a/x = %q", keys)
			}
			page, err = st.List(ctx, object.ListOptions{Prefix: "a/"})
			if err != nil {
				t.Fatal(err)
			}
			if keys := keysOf(page); fmt.Sprint(keys) != "[a/x]" {
				t.Errorf("List a/ = %q", keys)
			}
			if obj, err := st.Get(ctx, "a/x", object.GetOptions{}); err != nil || string(obj.Body) != "a/x" || obj.Key != "a/x" {
				t.Errorf("Get a/x = %+v, %v", obj, err)
			}
			// The prefix counts against the key length limit.
			long := strings.Repeat("k/", 511) + "kk" // 1024 bytes
			if _, err := st.Put(ctx, long, nil, object.PutOptions{}); !errors.Is(err, object.ErrInvalidKey) {
				t.Errorf("Put of a 1024-byte key under a prefix: %v, want ErrInvalidKey", err)
			}
		})
	}
}

func keysOf(p object.ListPage) []string {
	var keys []string
	for _, o := range p.Objects {
		keys = append(keys, o.Key)
	}
	return keys
}

func TestListPagingAndOddKeys(t *testing.T) {
	st, _, _ := newStore(t, nil)
	ctx := t.Context()
	keys := []string{"a b", "a+b", "a%20b", "a-b", "a~b", "é", "日本", "z?x=1&y", "q#f"}
	for _, k := range keys {
		if _, err := st.Put(ctx, k, []byte(k), object.PutOptions{}); err != nil {
			t.Fatalf("Put %q: %v", k, err)
		}
	}
	var got []string
	for info, err := range object.All(ctx, st, "", "", 2) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, info.Key)
	}
	want := []string{"a b", "a%20b", "a+b", "a-b", "a~b", "q#f", "z?x=1&y", "é", "日本"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("All = %q\nwant %q", got, want)
	}
	for _, k := range keys {
		obj, err := st.Get(ctx, k, object.GetOptions{})
		if err != nil || string(obj.Body) != k {
			t.Errorf("Get %q = %q, %v", k, obj.Body, err)
		}
	}
	page, err := st.List(ctx, object.ListOptions{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != 3 || !page.More {
		t.Errorf("List PageSize 3: %d objects, More %v", len(page.Objects), page.More)
	}
	page, err = st.List(ctx, object.ListOptions{StartAfter: "q#f"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keysOf(page)) != "[z?x=1&y é 日本]" || page.More {
		t.Errorf("List after q#f = %q, More %v", keysOf(page), page.More)
	}
}

// countOps counts requests per operation for keys containing sub.
type countOps struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countOps) option(sub string) func(*s3.Options) {
	return s3test.EditRequests(func(op string, req *smithyhttp.Request) error {
		if strings.Contains(req.URL.Path, sub) {
			c.mu.Lock()
			if c.n == nil {
				c.n = map[string]int{}
			}
			c.n[op]++
			c.mu.Unlock()
		}
		return nil
	})
}

func (c *countOps) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

func TestProbeHonoured(t *testing.T) {
	var probes countOps
	st, raw, bucket := newStore(t, nil, probes.option("_nodb/probe/"))
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = st.Put(ctx, fmt.Sprint("k", i), []byte("x"), object.PutOptions{IfNoneMatch: "*"})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := st.Delete(ctx, "k0", object.DeleteOptions{IfMatch: "nope"}); !errors.Is(err, object.ErrPrecondition) {
		t.Errorf("Delete stale: %v", err)
	}
	// One probe for all: 4 PUTs, 3 DELETEs.
	if got := probes.String(); got != "map[DeleteObject:3 PutObject:4]" {
		t.Errorf("probe requests = %s, want one probe of 4 PUTs and 3 DELETEs", got)
	}
	for _, k := range rawKeys(t, raw, bucket) {
		if strings.HasPrefix(k, s3store.ProbePrefix) {
			t.Errorf("probe object %q left behind", k)
		}
	}
}

func TestProbeIgnoredConditions(t *testing.T) {
	st, raw, bucket := newStore(t, nil, stripConditions("PutObject", "DeleteObject"))
	ctx := t.Context()
	for _, opts := range []object.PutOptions{{IfNoneMatch: "*"}, {IfMatch: "abc"}} {
		_, err := st.Put(ctx, "k", []byte("x"), opts)
		if !errors.Is(err, object.ErrUnsupported) {
			t.Fatalf("conditional Put %+v: %v, want ErrUnsupported", opts, err)
		}
		if !strings.Contains(err.Error(), "ignores If-None-Match/If-Match conditional writes") ||
			!strings.Contains(err.Error(), s3test.Server(t).Endpoint) {
			t.Errorf("message %q does not explain", err)
		}
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: "abc"}); !errors.Is(err, object.ErrUnsupported) {
		t.Errorf("conditional Delete: %v, want ErrUnsupported", err)
	}
	// Unconditional operations still work.
	info, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if obj, err := st.Get(ctx, "k", object.GetOptions{}); err != nil || obj.Version != info.Version {
		t.Errorf("Get = %+v, %v", obj.Info, err)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{}); err != nil {
		t.Error(err)
	}
	if keys := rawKeys(t, raw, bucket); len(keys) != 0 {
		t.Errorf("bucket holds %q, want nothing", keys)
	}
}

func TestProbeIgnoredDeleteCondition(t *testing.T) {
	st, _, _ := newStore(t, nil, stripConditions("DeleteObject"))
	ctx := t.Context()
	info, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Capabilities().ConditionalDelete {
		t.Error("ConditionalDelete = true after a probe that saw DELETE ignore If-Match")
	}
	err = st.Delete(ctx, "k", object.DeleteOptions{IfMatch: info.Version})
	if !errors.Is(err, object.ErrUnsupported) || !strings.Contains(err.Error(), "ignores If-Match on DeleteObject") {
		t.Errorf("conditional Delete: %v, want ErrUnsupported", err)
	}
	if _, err := st.Head(ctx, "k"); err != nil {
		t.Errorf("object gone after a refused conditional Delete: %v", err)
	}
}

func TestProbeTransientFailure(t *testing.T) {
	var fail atomic.Int32
	fail.Store(1)
	st, _, _ := newStore(t, nil, func(o *s3.Options) { o.RetryMaxAttempts = 1 },
		s3test.EditRequests(func(op string, req *smithyhttp.Request) error {
			if strings.Contains(req.URL.Path, "_nodb/probe/") && fail.Add(-1) >= 0 {
				return errors.New("injected network failure")
			}
			return nil
		}))
	ctx := t.Context()
	_, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"})
	if err == nil || errors.Is(err, object.ErrUnsupported) || !strings.Contains(err.Error(), "injected network failure") {
		t.Fatalf("Put during a failing probe: %v", err)
	}
	// The failure was not cached: the next conditional Put probes again.
	if _, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"}); err != nil {
		t.Fatalf("Put after the failure: %v", err)
	}
}

// TestProbeLostReply loses the reply to each of the probe's requests in
// turn. The run in which a reply was lost proves nothing (the retry may see
// its own first attempt: a 412 after our own write, a 404 after our own
// delete), so it must not decide the store's verdict: the probe runs again
// on a fresh object and the store works as on a clean probe.
func TestProbeLostReply(t *testing.T) {
	const probeRequests = 7
	for i := range probeRequests {
		t.Run(fmt.Sprint("request ", i+1), func(t *testing.T) {
			var mu sync.Mutex
			runs := map[string]bool{} // probe objects used
			var n atomic.Int32
			st, lr, raw, bucket := newLossy(t, nil, s3test.EditRequests(func(op string, req *smithyhttp.Request) error {
				if _, key, ok := strings.Cut(req.URL.Path, s3store.ProbePrefix); ok {
					mu.Lock()
					runs[key] = true
					mu.Unlock()
				}
				return nil
			}))
			lr.LoseNext(func(req *http.Request) bool {
				return strings.Contains(req.URL.Path, s3store.ProbePrefix) && int(n.Add(1)) == i+1
			}, nil)
			ctx := t.Context()
			info, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"})
			if err != nil {
				t.Fatalf("Put after a probe that lost a reply: %v", err)
			}
			if got := lr.Lost(); len(got) != 1 {
				t.Fatalf("lost replies %q, want the probe's request %d", got, i+1)
			}
			if len(runs) != 2 {
				t.Errorf("probe used %d objects, want 2 (a discarded run and a clean one)", len(runs))
			}
			if !st.Capabilities().ConditionalDelete {
				t.Error("ConditionalDelete = false after a lost reply in the probe")
			}
			if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: "stale"}); !errors.Is(err, object.ErrPrecondition) {
				t.Errorf("Delete stale: %v, want ErrPrecondition", err)
			}
			if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: info.Version}); err != nil {
				t.Errorf("Delete: %v", err)
			}
			if keys := rawKeys(t, raw, bucket); len(keys) != 0 {
				t.Errorf("bucket holds %q, want nothing (no probe object left)", keys)
			}
		})
	}
}

// TestProbeLostRepliesPersist: while every probe reply is lost, conditional
// calls fail with the reason and no verdict is cached; once the fault is
// gone, the store works.
func TestProbeLostRepliesPersist(t *testing.T) {
	var faulty atomic.Bool
	faulty.Store(true)
	st, lr, _, _ := newLossy(t, nil)
	for range 100 {
		lr.LoseNext(func(req *http.Request) bool {
			return faulty.Load() && strings.Contains(req.URL.Path, s3store.ProbePrefix)
		}, nil)
	}
	ctx := t.Context()
	_, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"})
	if err == nil || errors.Is(err, object.ErrUnsupported) || errors.Is(err, object.ErrPrecondition) || !strings.Contains(err.Error(), "no clean probe in 3 runs") {
		t.Fatalf("Put while probe replies are lost: %v", err)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: "v"}); err == nil || errors.Is(err, object.ErrUnsupported) {
		t.Fatalf("Delete while probe replies are lost: %v", err)
	}
	if _, err := st.Head(ctx, "k"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Head: %v; the failed Put stored something", err)
	}
	faulty.Store(false)
	if _, err := st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"}); err != nil {
		t.Fatalf("Put once the fault is gone: %v", err)
	}
	if !st.Capabilities().ConditionalDelete {
		t.Error("ConditionalDelete = false")
	}
}

func TestSkipProbe(t *testing.T) {
	var probes countOps
	st, _, _ := newStore(t, &s3store.Options{SkipProbe: true}, probes.option("_nodb/"))
	if _, err := st.Put(t.Context(), "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"}); err != nil {
		t.Fatal(err)
	}
	if got := probes.String(); got != "map[]" {
		t.Errorf("probe requests with SkipProbe: %s", got)
	}
}

// newLossy opens a store whose client loses the replies lr is told to
// lose, and retries without backoff; raw reaches the same bucket without
// losing anything.
func newLossy(t *testing.T, opts *s3store.Options, clientOpts ...func(*s3.Options)) (st object.Store, lr *s3test.LoseReplies, raw *s3.Client, bucket string) {
	lr = &s3test.LoseReplies{}
	st, raw, bucket = newStore(t, opts, append([]func(*s3.Options){noBackoff, lr.Option}, clientOpts...)...)
	return st, lr, raw, bucket
}

// rawPut writes body under key behind the store's back.
func rawPut(t *testing.T, raw *s3.Client, bucket, key, body string) func() {
	return func() {
		if _, err := raw.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)}); err != nil {
			t.Error(err)
		}
	}
}

func TestLostResponse(t *testing.T) {
	ctx := t.Context()
	wantLost := func(t *testing.T, lr *s3test.LoseReplies, n int) {
		t.Helper()
		if got := lr.Lost(); len(got) != n {
			t.Fatalf("lost replies: %q, want %d", got, n)
		}
	}

	t.Run("create", func(t *testing.T) {
		st, lr, _, _ := newLossy(t, &s3store.Options{SkipProbe: true})
		lr.LoseNext(s3test.Request("PUT", "lost"), nil)
		info, err := st.Put(ctx, "lost", []byte("write-1"), object.PutOptions{IfNoneMatch: "*"})
		if err != nil {
			t.Fatalf("Put whose response was lost: %v", err)
		}
		wantLost(t, lr, 1)
		head, err := st.Head(ctx, "lost")
		if err != nil || head.Version != info.Version || info.Size != 7 {
			t.Errorf("Put returned %+v, Head %+v, %v", info, head, err)
		}
	})
	t.Run("replace", func(t *testing.T) {
		st, lr, _, _ := newLossy(t, &s3store.Options{SkipProbe: true})
		v1, err := st.Put(ctx, "lost", []byte("write-1"), object.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lr.LoseNext(s3test.Request("PUT", "lost"), nil)
		info, err := st.Put(ctx, "lost", []byte("write-2"), object.PutOptions{IfMatch: v1.Version})
		if err != nil {
			t.Fatalf("Put whose response was lost: %v", err)
		}
		wantLost(t, lr, 1)
		if obj, err := st.Get(ctx, "lost", object.GetOptions{}); err != nil || obj.Version != info.Version || string(obj.Body) != "write-2" {
			t.Errorf("Get = %+v %q, %v; Put returned %+v", obj.Info, obj.Body, err, info)
		}
	})
	t.Run("someone else wrote", func(t *testing.T) {
		st, lr, raw, bucket := newLossy(t, &s3store.Options{SkipProbe: true})
		lr.LoseNext(s3test.Request("PUT", "lost"), rawPut(t, raw, bucket, "lost", "other"))
		_, err := st.Put(ctx, "lost", []byte("write-1"), object.PutOptions{IfNoneMatch: "*"})
		wantLost(t, lr, 1)
		if !errors.Is(err, object.ErrOutcomeUnknown) || errors.Is(err, object.ErrPrecondition) {
			t.Fatalf("Put overtaken by another writer: %v, want ErrOutcomeUnknown and not ErrPrecondition", err)
		}
		if !strings.Contains(err.Error(), `s3store: Put "lost": outcome unknown`) || !strings.Contains(err.Error(), "another writer's object") {
			t.Errorf("message %q does not explain", err)
		}
		// The SDK's error (the retry's 412) stays reachable.
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) {
			t.Errorf("%v does not wrap the SDK's error", err)
		}
	})
	for _, skip := range []bool{true, false} {
		// With the probe, versitygw's store sends a HEAD before a
		// conditional DELETE; without it, the DELETE goes straight.
		name := "delete"
		if !skip {
			name += " after the probe"
		}
		t.Run(name, func(t *testing.T) {
			st, lr, raw, bucket := newLossy(t, &s3store.Options{SkipProbe: skip})
			info, err := st.Put(ctx, "lost", []byte("write-1"), object.PutOptions{IfNoneMatch: "*"})
			if err != nil {
				t.Fatal(err)
			}
			lr.LoseNext(s3test.Request("DELETE", "lost"), nil)
			if err := st.Delete(ctx, "lost", object.DeleteOptions{IfMatch: info.Version}); err != nil {
				t.Errorf("Delete whose response was lost: %v", err)
			}
			wantLost(t, lr, 1)
			if keys := rawKeys(t, raw, bucket); len(keys) != 0 {
				t.Errorf("bucket holds %q", keys)
			}
		})
	}
	t.Run("delete, then someone else wrote", func(t *testing.T) {
		st, lr, raw, bucket := newLossy(t, &s3store.Options{SkipProbe: true})
		info, err := st.Put(ctx, "lost", []byte("write-1"), object.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lr.LoseNext(s3test.Request("DELETE", "lost"), rawPut(t, raw, bucket, "lost", "other"))
		err = st.Delete(ctx, "lost", object.DeleteOptions{IfMatch: info.Version})
		wantLost(t, lr, 1)
		if !errors.Is(err, object.ErrOutcomeUnknown) || errors.Is(err, object.ErrPrecondition) || errors.Is(err, object.ErrNotFound) {
			t.Fatalf("Delete overtaken by another writer: %v, want ErrOutcomeUnknown only", err)
		}
		if obj, err := st.Get(ctx, "lost", object.GetOptions{}); err != nil || string(obj.Body) != "other" {
			t.Errorf("Get = %q, %v; want the other writer's object", obj.Body, err)
		}
	})
}

// TestRetriedDeleteAnswer records what the server answers to a conditional
// DELETE retried after its first attempt deleted the object (versitygw 404,
// SeaweedFS 412), sent through a bare client, and checks that it is one of
// the answers s3store settles with a HEAD.
func TestRetriedDeleteAnswer(t *testing.T) {
	lr := &s3test.LoseReplies{}
	raw, bucket := s3test.NewBucket(t)
	client := s3test.Server(t).NewClient(noBackoff, lr.Option)
	ctx := t.Context()
	out, err := raw.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("k"), Body: strings.NewReader("v")})
	if err != nil {
		t.Fatal(err)
	}
	lr.LoseNext(s3test.Request("DELETE", "k"), nil)
	_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("k"), IfMatch: out.ETag})
	if len(lr.Lost()) != 1 {
		t.Fatalf("lost %q", lr.Lost())
	}
	var re *smithyhttp.ResponseError
	switch {
	case err == nil:
		t.Logf("%s: retried conditional DELETE of a deleted object: 204", s3test.Server(t).Name)
	case errors.As(err, &re) && (re.HTTPStatusCode() == 404 || re.HTTPStatusCode() == 412):
		t.Logf("%s: retried conditional DELETE of a deleted object: %d", s3test.Server(t).Name, re.HTTPStatusCode())
	default:
		t.Errorf("retried conditional DELETE of a deleted object: %v, want 204, 404 or 412", err)
	}
}

func TestCanceledContext(t *testing.T) {
	st, _, _ := newStore(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	checks := map[string]error{}
	_, checks["Get"] = st.Get(ctx, "k", object.GetOptions{})
	_, checks["Head"] = st.Head(ctx, "k")
	_, checks["Put"] = st.Put(ctx, "k", []byte("x"), object.PutOptions{})
	_, checks["Put If-None-Match"] = st.Put(ctx, "k", []byte("x"), object.PutOptions{IfNoneMatch: "*"})
	checks["Delete"] = st.Delete(ctx, "k", object.DeleteOptions{})
	checks["Delete If-Match"] = st.Delete(ctx, "k", object.DeleteOptions{IfMatch: "v"})
	_, checks["List"] = st.List(ctx, object.ListOptions{})
	for op, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", op, err)
		}
		for _, s := range []error{object.ErrNotFound, object.ErrUnsupported, object.ErrPrecondition} {
			if errors.Is(err, s) {
				t.Errorf("%s: %v is %v", op, err, s)
			}
		}
	}

	// A deadline during a call.
	ctx, cancel = context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := st.Get(ctx, "k", object.GetOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get past deadline: %v", err)
	}
}

// fakeClient fails every call with err.
type fakeClient struct{ err error }

func (f fakeClient) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, f.err
}
func (f fakeClient) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, f.err
}
func (f fakeClient) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return nil, f.err
}
func (f fakeClient) DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	return nil, f.err
}
func (f fakeClient) ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return nil, f.err
}

// sdkError builds the error the SDK returns for an HTTP error response.
func sdkError(status int, code string) error {
	var inner error = &smithy.GenericAPIError{Code: code, Message: "msg"}
	if code == "" {
		inner = errors.New("http error")
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      inner,
	}}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   error
	}{
		{404, "NoSuchKey", object.ErrNotFound},
		{404, "NotFound", object.ErrNotFound},
		{404, "", object.ErrNotFound},
		{404, "NoSuchBucket", nil},
		{412, "PreconditionFailed", object.ErrPrecondition},
		{412, "", object.ErrPrecondition},
		{409, "ConditionalRequestConflict", object.ErrConcurrentRequest},
		{409, "ObjectParentIsFile", object.ErrInvalidKey},
		{409, "ExistingObjectIsDirectory", object.ErrInvalidKey},
		{400, "KeyTooLongError", object.ErrInvalidKey},
		{304, "NotModified", object.ErrNotModified},
		{403, "AccessDenied", object.ErrPermission},
		{403, "SignatureDoesNotMatch", object.ErrPermission},
		{501, "NotImplemented", object.ErrUnsupported},
		{500, "InternalError", nil},
		{503, "SlowDown", nil},
	}
	all := []error{object.ErrNotFound, object.ErrPrecondition, object.ErrConcurrentRequest, object.ErrNotModified,
		object.ErrInvalidKey, object.ErrPermission, object.ErrUnsupported}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.code), func(t *testing.T) {
			sdkErr := sdkError(tt.status, tt.code)
			st, err := s3store.Open(t.Context(), fakeClient{sdkErr}, "b", func(o *s3store.Options) { o.Prefix = "p" })
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Get(t.Context(), "k", object.GetOptions{})
			for _, s := range all {
				if got := errors.Is(err, s); got != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, got)
				}
			}
			if !errors.Is(err, sdkErr) {
				t.Errorf("%v does not wrap the SDK error", err)
			}
			if !strings.HasPrefix(err.Error(), `s3store: Get "k": `) {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	ctx := t.Context()
	if _, err := s3store.Open(ctx, nil, "b"); err == nil {
		t.Error("nil client accepted")
	}
	if _, err := s3store.Open(ctx, fakeClient{}, ""); err == nil {
		t.Error("empty bucket accepted")
	}
	if _, err := s3store.Open(ctx, fakeClient{}, "b--use1-az4--x-s3"); err == nil || !strings.Contains(err.Error(), "Express One Zone") {
		t.Errorf("directory bucket: %v", err)
	}
	if _, err := s3store.Open(ctx, fakeClient{}, "b", func(o *s3store.Options) { o.Prefix = strings.Repeat("p", 300) }); !errors.Is(err, object.ErrInvalidKey) {
		t.Errorf("bad prefix: %v", err)
	}
}

func TestNoConditionalDelete(t *testing.T) {
	ctx := context.Background()
	st := s3test.NewStore(t, &s3store.Options{NoConditionalDelete: true})
	if st.Capabilities().ConditionalDelete {
		t.Fatal("Capabilities reports conditional deletes")
	}
	info, err := st.Put(ctx, "k", []byte("v"), object.PutOptions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Delete(ctx, "k", object.DeleteOptions{IfMatch: info.Version})
	if !errors.Is(err, object.ErrUnsupported) || !strings.Contains(err.Error(), "NoConditionalDelete") {
		t.Fatalf("conditional Delete: %v, want ErrUnsupported", err)
	}
	if _, err := st.Head(ctx, "k"); err != nil {
		t.Fatalf("the refused Delete deleted: %v", err)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Head(ctx, "k"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("unconditional Delete: %v", err)
	}
}
