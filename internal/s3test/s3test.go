// Package s3test gives tests a real S3 server: by default a versitygw
// gateway (https://github.com/versity/versitygw) started once per test binary
// over a temporary directory, or SeaweedFS (`weed mini`), or any
// S3-compatible server (or Amazon S3) named by environment variables.
//
// # Use
//
// A package whose tests need S3 declares
//
//	func TestMain(m *testing.M) { s3test.Main(m) }
//
// and its tests call [NewBucket] or [NewStore], which create a fresh,
// uniquely named bucket per call and remove it when the test ends. Main stops
// the server when the tests are done, pass or fail. Without Main the tests
// still work: the server is killed when the test binary exits (Linux
// parent-death signal) and its leftover directory is removed by the next run.
//
// # The local servers
//
// NODB_S3_SERVER picks the local server: "versitygw" (the default) or
// "seaweedfs". Either binary is built once per machine into
// os.UserCacheDir()/nodb/<server>-<version>/, under a file lock so that the
// test binaries of one `go test ./...` build it only once, and started on
// free loopback ports over a temporary directory. If it cannot be built or
// started, the test fails with the reason; it is never skipped.
//
// versitygw v1.8.0 is built with
//
//	GOBIN=<tmp> go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// (about two minutes the first time, seconds when the module and build
// caches are warm), runs as
//
//	versitygw --access KEY --secret SECRET --port 127.0.0.1:PORT --quiet posix DIR
//
// and is ready in about 0.1 s.
//
// SeaweedFS is built from module github.com/seaweedfs/seaweedfs at
// v0.0.0-20261109003541-7506e5f91cd6: `go mod download`, a copy of the
// module out of the module cache, and `go build ./weed` there as the main
// module (its go.mod has replace directives, so `go install` refuses it);
// about seven minutes on two cores the first time. It runs as
//
//	weed -logtostderr mini -dir=DIR -s3.port=PORT ... -volume.max=1000 -master.volumeSizeLimitMB=16
//
// with its credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, every
// component (master, volume, filer, S3, admin) on a free port of its own, and
// is ready in a few seconds. Each bucket is a collection with volumes of its
// own, hence the many small volumes.
//
// # Environment
//
// Set NODB_S3_ENDPOINT to use another server instead; no local server is
// then built:
//
//   - NODB_S3_ENDPOINT: base URL, e.g. http://127.0.0.1:8333 or
//     https://s3.eu-west-1.amazonaws.com
//   - NODB_S3_ACCESS_KEY, NODB_S3_SECRET_KEY: credentials; when unset, the
//     standard AWS chain (AWS_ACCESS_KEY_ID, profiles, roles) is used
//   - NODB_S3_REGION: region, default us-east-1
//   - NODB_S3_PATH_STYLE: "false" for virtual-hosted bucket addressing;
//     default true
//
// NODB_S3_SERVER and NODB_S3_ENDPOINT are exclusive.
//
// Buckets are named nodb-test-<random> and deleted, with their objects,
// when the test that made them ends.
package s3test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// Env describes the S3 server tests talk to.
type Env struct {
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	// AccessKey and SecretKey are static credentials; both empty when an
	// external server is reached with the standard AWS credential chain.
	AccessKey, SecretKey string
	// Region is the signing region.
	Region string
	// PathStyle reports whether buckets are addressed in the URL path.
	PathStyle bool
	// External reports whether the server came from NODB_S3_ENDPOINT
	// rather than a local server.
	External bool
	// Name names the server: "versitygw" or "seaweedfs" for a local
	// server, "external" for NODB_S3_ENDPOINT. Tests use it to tell a
	// server's documented quirks from bugs.
	Name string

	cfg aws.Config
}

// NewClient returns a new client for the server; optFns adjust it (a custom
// HTTPClient, retryer or middleware, say).
func (e *Env) NewClient(optFns ...func(*s3.Options)) *s3.Client {
	fns := append([]func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.Endpoint)
		o.UsePathStyle = e.PathStyle
	}}, optFns...)
	return s3.NewFromConfig(e.cfg, fns...)
}

var (
	startOnce sync.Once
	theEnv    *Env
	startErr  error
	local     *server // nil when external or not started
)

// Server returns the test binary's S3 server, starting it on first use. It
// fails the test if the server cannot be built or started. With go test
// -short (and no NODB_S3_ENDPOINT) it skips the test instead, for a quick
// edit loop; the default run never skips.
func Server(t testing.TB) *Env {
	t.Helper()
	if testing.Short() && os.Getenv("NODB_S3_ENDPOINT") == "" {
		// A quick edit loop (go test -short ./...) leaves the S3 server
		// out; the default run never does.
		t.Skip("s3test: -short: no S3 server is started (run without -short, or set NODB_S3_ENDPOINT)")
	}
	startOnce.Do(func() {
		start := time.Now()
		theEnv, startErr = setup()
		if startErr == nil && !theEnv.External {
			t.Logf("s3test: %s ready at %s in %v", theEnv.Name, theEnv.Endpoint, time.Since(start).Round(time.Millisecond))
		}
	})
	if startErr != nil {
		t.Fatalf("s3test: no S3 server: %v", startErr)
	}
	return theEnv
}

// Main runs the tests and then stops the server, if one was started, even
// when tests fail. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the local server and removes its directory. Main calls it;
// later calls to Server fail.
func Stop() {
	startOnce.Do(func() { startErr = errors.New("s3test: server already stopped") })
	if local != nil {
		local.stop()
		local = nil
	}
}

func setup() (*Env, error) {
	name := os.Getenv("NODB_S3_SERVER")
	if ep := os.Getenv("NODB_S3_ENDPOINT"); ep != "" {
		if name != "" {
			return nil, fmt.Errorf("NODB_S3_SERVER=%s and NODB_S3_ENDPOINT=%s are both set: set one", name, ep)
		}
		return external(ep)
	}
	k, err := kindNamed(name)
	if err != nil {
		return nil, err
	}
	srv, err := startLocal(k)
	if err != nil {
		return nil, err
	}
	local = srv
	return &Env{
		Name:      k.name,
		Endpoint:  srv.endpoint,
		AccessKey: srv.access,
		SecretKey: srv.secret,
		Region:    "us-east-1",
		PathStyle: true,
		cfg:       staticConfig("us-east-1", srv.access, srv.secret),
	}, nil
}

func staticConfig(region, access, secret string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(access, secret, "")),
	}
}

func external(endpoint string) (*Env, error) {
	e := &Env{
		Endpoint:  endpoint,
		AccessKey: os.Getenv("NODB_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("NODB_S3_SECRET_KEY"),
		Region:    cmp.Or(os.Getenv("NODB_S3_REGION"), "us-east-1"),
		PathStyle: true,
		External:  true,
		Name:      "external",
	}
	if v := os.Getenv("NODB_S3_PATH_STYLE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("NODB_S3_PATH_STYLE=%q is not true or false", v)
		}
		e.PathStyle = b
	}
	if (e.AccessKey == "") != (e.SecretKey == "") {
		return nil, errors.New("set both NODB_S3_ACCESS_KEY and NODB_S3_SECRET_KEY, or neither")
	}
	if e.AccessKey != "" {
		e.cfg = staticConfig(e.Region, e.AccessKey, e.SecretKey)
		return e, nil
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(e.Region))
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration for %s: %w", endpoint, err)
	}
	e.cfg = cfg
	return e, nil
}

// NewBucket creates a bucket with a unique name on the test server and
// returns a client for it. The bucket and everything in it are deleted when
// the test ends.
func NewBucket(t testing.TB) (client *s3.Client, bucket string) {
	t.Helper()
	env := Server(t)
	client = env.NewClient()
	bucket = "nodb-test-" + randomHex(8)
	in := &s3.CreateBucketInput{Bucket: &bucket}
	if env.External && env.Region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(env.Region),
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.CreateBucket(ctx, in); err != nil {
		t.Fatalf("s3test: creating bucket %s on %s: %v", bucket, env.Endpoint, err)
	}
	t.Cleanup(func() {
		if err := deleteBucket(client, bucket); err != nil {
			t.Errorf("s3test: removing bucket %s: %v", bucket, err)
		}
	})
	return client, bucket
}

// StoreOptions returns an s3store.Open option that sets the store's
// options to *opts, or leaves the defaults if opts is nil: the tests keep
// their option sets as values.
func StoreOptions(opts *s3store.Options) func(*s3store.Options) {
	return func(o *s3store.Options) {
		if opts != nil {
			*o = *opts
		}
	}
}

// NewStore returns an s3store over a new bucket (see [NewBucket]). opts may
// be nil.
func NewStore(t testing.TB, opts *s3store.Options) object.Store {
	t.Helper()
	client, bucket := NewBucket(t)
	st, err := s3store.Open(context.Background(), client, bucket, StoreOptions(opts))
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	return st
}

// deleteBucket empties bucket and deletes it.
func deleteBucket(client *s3.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		out, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &bucket,
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return err
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("deleting %q: %s: %s (and %d more)", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1)
		}
	}
	_, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket})
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
