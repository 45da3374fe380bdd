package s3test

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// WebhookStore starts a versitygw of the test's own, started with
// --event-webhook-url url so that it posts an S3 event notification for
// every object written or deleted in any of its buckets, and returns an
// s3store over a new bucket on it, and the bucket's name. url must answer
// already: versitygw posts a test event when it starts. The server is
// stopped, by its PID, when the test ends.
//
// versitygw v1.8.0 posts each event once, from a goroutine, after the
// write succeeded, without retry and with a 3 s timeout: events may arrive
// in any order and may be lost.
//
// It uses versitygw whatever NODB_S3_SERVER or NODB_S3_ENDPOINT say: the
// webhook is a versitygw option. Like Server, it skips the test under
// go test -short, and fails it if the server cannot be built or started.
func WebhookStore(t testing.TB, url string, opts *s3store.Options) (object.Store, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("s3test: -short: no S3 server is started (run without -short)")
	}
	k := *versitygw
	k.command = func(bin string, s *server, dir string, ports []int) *exec.Cmd {
		cmd := versitygw.command(bin, s, dir, ports)
		cmd.Args = slices.Insert(cmd.Args, 1, "--event-webhook-url", url)
		return cmd
	}
	srv, err := startLocal(&k)
	if err != nil {
		t.Fatalf("s3test: starting versitygw with --event-webhook-url: %v", err)
	}
	env := &Env{Name: k.name, Endpoint: srv.endpoint, AccessKey: srv.access, SecretKey: srv.secret,
		Region: "us-east-1", PathStyle: true, cfg: staticConfig("us-east-1", srv.access, srv.secret)}
	client := env.NewClient()
	bucket := "nodb-test-" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		srv.stop()
		t.Fatalf("s3test: creating bucket %s on %s: %v", bucket, env.Endpoint, err)
	}
	t.Cleanup(srv.stop) // after the bucket's removal below (cleanups run last first)
	t.Cleanup(func() {
		if err := deleteBucket(client, bucket); err != nil {
			t.Errorf("s3test: removing bucket %s: %v", bucket, err)
		}
	})
	st, err := s3store.Open(ctx, client, bucket, StoreOptions(opts))
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	return st, bucket
}
