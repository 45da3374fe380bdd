package repo_test

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
)

// isolateAWS keeps the developer's AWS configuration out of a test.
func isolateAWS(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	for _, v := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestMain(m *testing.M) { s3test.Main(m) }

func TestOpen(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "fake")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake")
	tmp := t.TempDir()
	t.Chdir(tmp)

	// roundTrip checks that st works, without the network.
	roundTrip := func(t *testing.T, st object.Store) {
		t.Helper()
		ctx := t.Context()
		if _, err := st.Put(ctx, "k", []byte("v"), object.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if obj, err := st.Get(ctx, "k", object.GetOptions{}); err != nil || string(obj.Body) != "v" {
			t.Fatalf("Get = %q, %v", obj.Body, err)
		}
	}
	// inDir checks that a file store keeps its data under dir.
	inDir := func(dir string) func(*testing.T, object.Store) {
		return func(t *testing.T, st object.Store) {
			t.Helper()
			roundTrip(t, st)
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) == 0 {
				t.Errorf("nothing in %s (%v)", dir, err)
			}
		}
	}
	// noNetwork checks that an s3 store was built, making no request.
	noNetwork := func(t *testing.T, st object.Store) {
		t.Helper()
		if st == nil || !st.Capabilities().ConditionalDelete {
			t.Errorf("store = %v", st)
		}
	}

	tests := []struct {
		url   string
		check func(*testing.T, object.Store) // nil: Open must fail
		err   string                         // substring of the error after the `repo: Open "<url>": ` prefix
	}{
		{url: "mem://", check: roundTrip},
		{url: "mem://?param=value", err: "mem:// accepts no query parameters"},
		{url: "mem://?", err: "mem:// accepts no query parameters"},
		{url: "mem://name", err: "mem:// names no bucket or path"},
		{url: "mem://#x", err: "accepts no fragment"},
		{url: "file://" + filepath.ToSlash(filepath.Join(tmp, "abs")), check: inDir(filepath.Join(tmp, "abs"))},
		{url: "file://./rel", check: inDir(filepath.Join(tmp, "rel"))},
		{url: "file://plain", check: inDir(filepath.Join(tmp, "plain"))},
		{url: "file://plain2/sub", check: inDir(filepath.Join(tmp, "plain2", "sub"))},
		{url: "file://", err: "no directory"},
		{url: "file:rel", err: "want file:///abs/dir or file://./rel/dir"},
		{url: "file:///x?mode=fast", err: "file:// accepts no query parameters"},
		{url: "file://user@dir", err: "accepts no user information"},
		{url: "s3://bucket?region=us-east-1", check: noNetwork},
		{url: "s3://bucket/some/prefix?region=eu-west-1&endpoint=http://127.0.0.1:1&path_style=true&skip_probe=true", check: noNetwork},
		{url: "s3://bucket?endpoint=https://s3.example.com", check: noNetwork},
		{url: "s3://bucket?region=us-east-1&conditional_delete=false", check: func(t *testing.T, st object.Store) {
			if st.Capabilities().ConditionalDelete {
				t.Error("conditional_delete=false: the store still deletes conditionally")
			}
		}},
		{url: "s3://bucket?conditional_delete=sometimes", err: `conditional_delete="sometimes" is not true or false`},
		{url: "s3://bucket?bogus=1", err: `unknown query parameter "bogus"; accepted: region, endpoint, path_style, skip_probe`},
		{url: "s3://bucket?path_style=maybe", err: `path_style="maybe" is not true or false`},
		{url: "s3://bucket?region=a&region=b", err: `"region" given 2 times`},
		{url: "s3://?region=us-east-1", err: "URL names no bucket"},
		{url: "s3://bucket:9000", err: "give a server's address with endpoint="},
		{url: "s3://bucket?endpoint=localhost:9000", err: "not an http:// or https:// URL"},
		{url: "s3://bucket-name--usw2-az1--x-s3?region=us-west-2", err: "Express One Zone"},
		{url: "ftp://host/x", err: `unknown scheme "ftp"; accepted: mem://, file:///abs/dir, file://./rel/dir, s3:// (other schemes are registered by importing their package)`},
		{url: "data", err: "no scheme; accepted: mem://"},
		{url: "%zz", err: "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			st, err := repo.Open(t.Context(), tt.url)
			if tt.check != nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				tt.check(t, st)
				return
			}
			if err == nil {
				t.Fatalf("Open succeeded, want an error containing %q", tt.err)
			}
			prefix := fmt.Sprintf("repo: Open %q: ", tt.url)
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %q\nwant %s...%s...", err, prefix, tt.err)
			}
		})
	}

	t.Run("s3 without a region", func(t *testing.T) {
		_, err := repo.Open(t.Context(), "s3://bucket")
		if err == nil || !strings.Contains(err.Error(), "no AWS region") {
			t.Errorf("Open without region: %v", err)
		}
	})
	t.Run("mem stores are separate", func(t *testing.T) {
		a, _ := repo.Open(t.Context(), "mem://")
		b, _ := repo.Open(t.Context(), "mem://")
		a.Put(t.Context(), "k", nil, object.PutOptions{})
		if _, err := b.Head(t.Context(), "k"); !errors.Is(err, object.ErrNotFound) {
			t.Errorf("second mem:// store sees the first one's key: %v", err)
		}
	})
	t.Run("file store reopens", func(t *testing.T) {
		u := "file://./reopen"
		a, err := repo.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, a)
		b, err := repo.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Head(t.Context(), "k"); err != nil {
			t.Errorf("reopened store: %v", err)
		}
	})
}

func TestOpenS3(t *testing.T) {
	env := s3test.Server(t)
	client, bucket := s3test.NewBucket(t)
	isolateAWS(t)
	if env.AccessKey != "" {
		t.Setenv("AWS_ACCESS_KEY_ID", env.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", env.SecretKey)
	}
	q := url.Values{}
	q.Set("endpoint", env.Endpoint)
	q.Set("region", env.Region)
	q.Set("path_style", fmt.Sprint(env.PathStyle))
	u := "s3://" + bucket + "/app/data?" + q.Encode()

	st, err := repo.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	info, err := st.Put(ctx, "k", []byte("v"), object.PutOptions{IfNoneMatch: "*"}) // probes the server
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "k", []byte("w"), object.PutOptions{IfNoneMatch: "*"}); !errors.Is(err, object.ErrPrecondition) {
		t.Errorf("second create: %v, want ErrPrecondition", err)
	}
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("app/data/k")})
	if err != nil {
		t.Fatalf("the object is not at prefix/key: %v", err)
	}
	if got := strings.Trim(aws.ToString(out.ETag), `"`); got != info.Version {
		t.Errorf("ETag %s, Put returned version %s", got, info.Version)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: info.Version}); err != nil {
		t.Error(err)
	}
}
