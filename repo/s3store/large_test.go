package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// TestBodyTooLarge: a Put over the body limit (object.MaxBodySize, lowered
// here) fails with ErrTooLarge before any request is sent, and a Get of an
// object over it fails with ErrTooLarge, naming the sizes, instead of
// reading it into memory.
func TestBodyTooLarge(t *testing.T) {
	ctx := context.Background()
	env := s3test.Server(t)
	var hc s3test.RequestCounter
	client := env.NewClient(hc.Option)
	_, bucket := s3test.NewBucket(t)
	st, err := s3store.Open(ctx, client, bucket, func(o *s3store.Options) { o.SkipProbe = true })
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 2048)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("big"), Body: bytes.NewReader(big)}); err != nil {
		t.Fatal(err)
	}
	defer s3store.SetMaxBody(1024)()
	hc.Reset()
	_, err = st.Put(ctx, "k", big, object.PutOptions{})
	if !errors.Is(err, object.ErrTooLarge) || !strings.Contains(err.Error(), "2048 bytes") {
		t.Errorf("Put of 2048 bytes over a limit of 1024: %v, want ErrTooLarge naming the size", err)
	}
	if n := hc.Reset(); len(n) != 0 {
		t.Errorf("Put over the limit sent %v, want no request", n)
	}
	_, err = st.Get(ctx, "big", object.GetOptions{})
	if !errors.Is(err, object.ErrTooLarge) || !strings.Contains(err.Error(), "2048 bytes") {
		t.Errorf("Get of a 2048-byte object over a limit of 1024: %v, want ErrTooLarge naming the size", err)
	}
	if _, err := st.Put(ctx, "k", big[:1024], object.PutOptions{}); err != nil {
		t.Errorf("Put at the limit: %v", err)
	}
	obj, err := st.Get(ctx, "k", object.GetOptions{})
	if err != nil || len(obj.Body) != 1024 {
		t.Errorf("Get at the limit: %d bytes, %v", len(obj.Body), err)
	}
}
