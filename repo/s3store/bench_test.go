package s3store_test

// Benchmarks of the store against the same requests made directly with the
// aws-sdk-go-v2 client, on the test server (TestMain in s3store_test.go
// starts it). Each benchmark runs the two sides interleaved and reports for
// each its ns/op and its HTTP requests per op (attempts, by operation), so
// that what the store adds over one S3 request, in time and in requests, is
// visible. BENCHMARKS.md has the figures.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// benchSide is one way of doing an operation: prep (optional) runs before
// each op, outside the measured time and counts.
type benchSide struct {
	name string
	prep func(i int)
	op   func(i int) error
	want map[string]int // HTTP requests per op, by operation; nil: not checked
}

// benchSides runs the sides b.N times each, interleaved (see
// s3test.Interleave), and reports each side's ns/op and HTTP requests per
// op, and the ratio of the last side's time to the first's.
func benchSides(b *testing.B, hc *s3test.RequestCounter, sides ...benchSide) {
	b.Helper()
	ss := make([]s3test.Side, len(sides))
	for k, sd := range sides {
		ss[k] = s3test.Side{Name: sd.name, Prep: sd.prep, Op: sd.op}
	}
	total, reqs := s3test.Interleave(b, hc, ss)
	n := float64(b.N)
	for k, s := range sides {
		b.ReportMetric(float64(total[k].Nanoseconds())/n, s.name+"-ns/op")
		all := 0
		for _, v := range reqs[k] {
			all += v
		}
		b.ReportMetric(float64(all)/n, s.name+"-http/op")
		if s.want == nil {
			continue
		}
		ok := len(reqs[k]) == len(s.want)
		for op, v := range s.want {
			ok = ok && reqs[k][op] == v*b.N
		}
		if !ok {
			b.Errorf("%s: requests %s over %d ops, want %v per op", s.name, describe(reqs[k]), b.N, s.want)
		}
	}
	last := len(sides) - 1
	b.ReportMetric(float64(total[last])/float64(total[0]), sides[last].name+"/"+sides[0].name)
}

func describe(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s:%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// BenchmarkStoreS3 compares each store method with the S3 request it maps
// to, made directly through the same client. Objects are 1 KiB.
func BenchmarkStoreS3(b *testing.B) {
	ctx := context.Background()
	env := s3test.Server(b)
	var hc s3test.RequestCounter
	hc.Reset()
	client := env.NewClient(hc.Option)
	_, bucket := s3test.NewBucket(b)
	st, err := s3store.Open(ctx, client, bucket)
	if err != nil {
		b.Fatal(err)
	}
	// Probe the server once (the first conditional write does), outside
	// the measurements; BenchmarkStoreS3Probe measures it.
	if _, err := st.Put(ctx, "warm", []byte("x"), object.PutOptions{IfNoneMatch: "*"}); err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 1<<10)
	rawPut := func(key string, in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
		if in == nil {
			in = &s3.PutObjectInput{}
		}
		in.Bucket, in.Key = &bucket, &key
		in.Body, in.ContentLength = bytes.NewReader(body), aws.Int64(int64(len(body)))
		return client.PutObject(ctx, in)
	}
	for _, k := range []string{"sdk/obj", "store/obj"} {
		if _, err := rawPut(k, nil); err != nil {
			b.Fatal(err)
		}
	}
	one := func(op string) map[string]int { return map[string]int{op: 1} }

	b.Run("Get", func(b *testing.B) {
		benchSides(b, &hc,
			benchSide{name: "sdk", want: one("GetObject"), op: func(int) error {
				out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("sdk/obj")})
				if err != nil {
					return err
				}
				defer out.Body.Close()
				_, err = io.ReadAll(out.Body)
				return err
			}},
			benchSide{name: "store", want: one("GetObject"), op: func(int) error {
				_, err := st.Get(ctx, "store/obj", object.GetOptions{})
				return err
			}})
	})
	b.Run("Head", func(b *testing.B) {
		benchSides(b, &hc,
			benchSide{name: "sdk", want: one("HeadObject"), op: func(int) error {
				_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("sdk/obj")})
				return err
			}},
			benchSide{name: "store", want: one("HeadObject"), op: func(int) error {
				_, err := st.Head(ctx, "store/obj")
				return err
			}})
	})
	b.Run("Put", func(b *testing.B) {
		benchSides(b, &hc,
			benchSide{name: "sdk", want: one("PutObject"), op: func(int) error {
				_, err := rawPut("sdk/obj", nil)
				return err
			}},
			benchSide{name: "store", want: one("PutObject"), op: func(int) error {
				_, err := st.Put(ctx, "store/obj", body, object.PutOptions{})
				return err
			}})
	})
	b.Run("Put/IfMatch", func(b *testing.B) {
		var sdkTag *string
		var storeVer string
		benchSides(b, &hc,
			benchSide{name: "sdk", want: one("PutObject"),
				prep: func(int) {
					if sdkTag == nil {
						out, err := rawPut("sdk/obj", nil)
						if err != nil {
							b.Fatal(err)
						}
						sdkTag = out.ETag
					}
				},
				op: func(int) error {
					out, err := rawPut("sdk/obj", &s3.PutObjectInput{IfMatch: sdkTag})
					if err == nil {
						sdkTag = out.ETag
					}
					return err
				}},
			benchSide{name: "store", want: one("PutObject"),
				prep: func(int) {
					if storeVer == "" {
						info, err := st.Put(ctx, "store/obj", body, object.PutOptions{})
						if err != nil {
							b.Fatal(err)
						}
						storeVer = info.Version
					}
				},
				op: func(int) error {
					info, err := st.Put(ctx, "store/obj", body, object.PutOptions{IfMatch: storeVer})
					storeVer = info.Version
					return err
				}})
	})
	created := 0 // names new keys across runs
	b.Run("Put/IfNoneMatch", func(b *testing.B) {
		benchSides(b, &hc,
			benchSide{name: "sdk", want: one("PutObject"), prep: func(int) { created++ }, op: func(int) error {
				_, err := rawPut(fmt.Sprint("sdk/new/", created), &s3.PutObjectInput{IfNoneMatch: aws.String("*")})
				return err
			}},
			benchSide{name: "store", want: one("PutObject"), prep: func(int) { created++ }, op: func(int) error {
				_, err := st.Put(ctx, fmt.Sprint("store/new/", created), body, object.PutOptions{IfNoneMatch: "*"})
				return err
			}})
	})
	b.Run("Delete/IfMatch", func(b *testing.B) {
		// A conditional delete of an existing object. Where the probe found
		// that the server answers a conditional delete of a missing key
		// with success (versitygw does), the store sends a HEAD first.
		want := map[string]int{"HeadObject": 1, "DeleteObject": 1}
		if env.External {
			want = nil // not known in advance: reported, not checked
		}
		var sdkTag *string
		var storeVer string
		benchSides(b, &hc,
			benchSide{name: "sdk", want: one("DeleteObject"),
				prep: func(i int) {
					out, err := rawPut("sdk/del", nil)
					if err != nil {
						b.Fatal(err)
					}
					sdkTag = out.ETag
				},
				op: func(int) error {
					_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("sdk/del"), IfMatch: sdkTag})
					return err
				}},
			benchSide{name: "store", want: want,
				prep: func(i int) {
					info, err := st.Put(ctx, "store/del", body, object.PutOptions{})
					if err != nil {
						b.Fatal(err)
					}
					storeVer = info.Version
				},
				op: func(int) error {
					return st.Delete(ctx, "store/del", object.DeleteOptions{IfMatch: storeVer})
				}})
	})
	b.Run("List/100", func(b *testing.B) {
		for i := range 100 {
			if _, err := rawPut(fmt.Sprintf("list/%03d", i), nil); err != nil {
				b.Fatal(err)
			}
		}
		benchSides(b, &hc,
			benchSide{name: "sdk", want: one("ListObjectsV2"), op: func(int) error {
				out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("list/"), MaxKeys: aws.Int32(1000)})
				if err == nil && len(out.Contents) != 100 {
					err = fmt.Errorf("%d keys", len(out.Contents))
				}
				return err
			}},
			benchSide{name: "store", want: one("ListObjectsV2"), op: func(int) error {
				p, err := st.List(ctx, object.ListOptions{Prefix: "list/"})
				if err == nil && len(p.Objects) != 100 {
					err = fmt.Errorf("%d keys", len(p.Objects))
				}
				return err
			}})
	})
}

// BenchmarkStoreS3Probe measures the first conditional write of a new store
// (one per process, typically): the store first checks that the server
// honours conditional requests, with requests of its own.
func BenchmarkStoreS3Probe(b *testing.B) {
	ctx := context.Background()
	env := s3test.Server(b)
	var hc s3test.RequestCounter
	hc.Reset()
	client := env.NewClient(hc.Option)
	_, bucket := s3test.NewBucket(b)
	var st object.Store
	created := 0
	benchSides(b, &hc,
		benchSide{name: "sdk", want: map[string]int{"PutObject": 1}, prep: func(int) { created++ }, op: func(int) error {
			key := fmt.Sprint("sdk/", created)
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader("x"), IfNoneMatch: aws.String("*")})
			return err
		}},
		benchSide{name: "store", want: map[string]int{"PutObject": 5, "DeleteObject": 3},
			prep: func(int) {
				created++
				var err error
				if st, err = s3store.Open(ctx, client, bucket); err != nil {
					b.Fatal(err)
				}
			},
			op: func(int) error {
				_, err := st.Put(ctx, fmt.Sprint("store/", created), []byte("x"), object.PutOptions{IfNoneMatch: "*"})
				return err
			}})
}
