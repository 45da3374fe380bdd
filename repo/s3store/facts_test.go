package s3store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/nodb-go/nodb/internal/s3test"
)

// answer is a bare request's outcome: "2xx", or the error's HTTP status.
func answer(err error) string {
	if err == nil {
		return "2xx"
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprint(re.HTTPStatusCode())
	}
	return err.Error()
}

// TestServerFacts sends bare requests (no s3store checks in between) for
// each condition NoDB relies on or guards against, logs what the server
// answered (go test -v: the README's "Tested S3 servers" table comes from
// these lines), and fails where the server lacks what NoDB needs.
func TestServerFacts(t *testing.T) {
	client, bucket := s3test.NewBucket(t)
	server := s3test.Server(t).Name
	ctx := t.Context()
	put := func(key, body string, ifMatch, ifNoneMatch *string) (*s3.PutObjectOutput, error) {
		return client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body), IfMatch: ifMatch, IfNoneMatch: ifNoneMatch})
	}
	del := func(key string, ifMatch *string) error {
		_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key, IfMatch: ifMatch})
		return err
	}
	fact := func(name, got string, needed ...string) {
		t.Helper()
		t.Logf("FACT %s | %s | %s", server, name, got)
		if len(needed) > 0 && !slices.Contains(needed, got) {
			t.Errorf("%s: %s answered %s; NoDB needs %s", name, server, got, strings.Join(needed, " or "))
		}
	}

	v1, err := put("k", "one", nil, aws.String("*"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = put("k", "two", nil, aws.String("*"))
	fact("PUT If-None-Match * on an existing key", answer(err), "412", "409")
	_, err = put("k", "two", aws.String(`"00000000000000000000000000000000"`), nil)
	fact("PUT stale If-Match", answer(err), "412", "409")
	_, err = put("missing", "x", v1.ETag, nil)
	fact("PUT If-Match on a missing key", answer(err), "404", "412")
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("k"), IfNoneMatch: v1.ETag})
	fact("GET If-None-Match current", answer(err), "304")
	err = del("k", aws.String(`"00000000000000000000000000000000"`))
	fact("DELETE stale If-Match", answer(err), "412")
	err = del("missing", v1.ETag)
	fact("DELETE If-Match on a missing key", answer(err)) // 404 or 204 (HEAD first)

	_, err = put("k/child", "x", nil, nil)
	fact(`keys "k" and "k/child"`, answer(err)) // either (storetest KeyAndChildKey)
	_, err = put(strings.Repeat("s", 256), "x", nil, nil)
	fact("key segment of 256 bytes", answer(err)) // NoDB keeps segments to 255

	_, err = put(`back\slash`, "x", nil, nil)
	got := answer(err)
	if err == nil {
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("back")})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			got = "listed as " + aws.ToString(o.Key)
		}
	}
	fact(`key "back\slash"`, got) // object.CheckKey refuses backslashes
	_, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("\xe6")})
	fact("LIST with an invalid UTF-8 prefix", answer(err)) // s3store refuses before sending
}
