package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/repo/object"
)

// ProbePrefix is where, under the store's prefix, the conditional-write
// probe writes its temporary object. NoDB's key layout never uses it.
const ProbePrefix = "_nodb/probe/"

// probeResult is what a completed probe found out.
type probeResult struct {
	put bool // PutObject honours If-None-Match "*" and If-Match
	del bool // DeleteObject honours If-Match
	// headBeforeDelete: DeleteObject with If-Match on a missing key does
	// not fail with 404 (versitygw says 204), so a conditional Delete
	// checks with HEAD first.
	headBeforeDelete bool
	detail           string // what the server ignored, when !put or !del
}

// requireConditional returns nil if the server honours the conditions a
// conditional op (a Delete if del) relies on, probing it the first time.
func (s *store) requireConditional(ctx context.Context, op, key string, del bool) error {
	if s.skipProbe {
		return nil
	}
	r, err := s.probe(ctx)
	if err != nil {
		// Keep only sentinels that describe the probe's failure, not the
		// caller's request (a 412 in the probe is not the caller's 412).
		var sentinel error
		if sn := sentinelFor(err); sn == object.ErrPermission {
			sentinel = sn
		}
		return &opError{op: op, key: key, sentinel: sentinel, err: err,
			msg: fmt.Sprintf("checking that server %s honours conditional writes", s.server)}
	}
	if r.put && (r.del || !del) {
		return nil
	}
	what := "If-None-Match/If-Match conditional writes"
	if r.put {
		what = "If-Match on DeleteObject"
	}
	return &opError{
		op: op, key: key, sentinel: object.ErrUnsupported,
		msg: fmt.Sprintf("server %s ignores %s (%s); NoDB cannot guarantee unique constraints or safe concurrent updates on it (unconditional reads and writes still work)", s.server, what, r.detail),
	}
}

// probe returns the cached probe result, or probes the server. A failed
// probe (network error, throttling, cancelled context) is not cached.
func (s *store) probe(ctx context.Context) (*probeResult, error) {
	if r := s.probed.Load(); r != nil {
		return r, nil
	}
	select {
	case s.probeSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.probeSem }()
	if r := s.probed.Load(); r != nil {
		return r, nil
	}
	r, err := s.runProbe(ctx)
	if err != nil {
		return nil, err
	}
	s.probed.Store(r)
	return r, nil
}

// outcome of a request that must fail its condition.
type outcome int

const (
	refused  outcome = iota // 412 or 409: the condition was honoured
	accepted                // 2xx: the condition was ignored
	failed                  // any other error: the probe cannot tell
)

func conditionOutcome(err error) outcome {
	switch {
	case err == nil:
		return accepted
	case isConditionFailure(err):
		return refused
	}
	return failed
}

func (s *store) runProbe(ctx context.Context) (_ *probeResult, err error) {
	var rnd [12]byte
	rand.Read(rnd[:])
	key := s.prefix + ProbePrefix + hex.EncodeToString(rnd[:])
	gone := false
	defer func() {
		if gone {
			return
		}
		// Best effort: never leave the probe object behind, even when ctx
		// is done.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = s.client.DeleteObject(cctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	}()
	put := func(body string, ifMatch, ifNoneMatch *string) (*s3.PutObjectOutput, error) {
		return s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: &key,
			Body: bytes.NewReader([]byte(body)), ContentLength: aws.Int64(int64(len(body))),
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
		})
	}
	unsupported := func(detail string) (*probeResult, error) {
		return &probeResult{detail: detail}, nil
	}

	// 1. Create with If-None-Match "*": must succeed on a new key.
	out, err := put("nodb probe 1", nil, aws.String("*"))
	if err != nil {
		if sentinelFor(err) == object.ErrUnsupported {
			return unsupported("PutObject with If-None-Match: " + describe(err))
		}
		return nil, err
	}
	etag1 := aws.ToString(out.ETag)
	if etag1 == "" {
		return nil, errors.New("server returned no ETag for PutObject")
	}

	// 2. If-None-Match "*" on an existing key: must fail.
	_, err = put("nodb probe 2", nil, aws.String("*"))
	switch conditionOutcome(err) {
	case accepted:
		return unsupported("PutObject with If-None-Match \"*\" overwrote an existing object")
	case failed:
		return nil, err
	}

	// 3. If-Match with a wrong ETag: must fail.
	_, err = put("nodb probe 3", aws.String(`"00000000000000000000000000000000"`), nil)
	switch conditionOutcome(err) {
	case accepted:
		return unsupported("PutObject with a stale If-Match overwrote the object")
	case failed:
		return nil, err
	}

	// 4. If-Match with the right ETag: must succeed.
	out, err = put("nodb probe 4", &etag1, nil)
	if err != nil {
		if isConditionFailure(err) {
			return unsupported("PutObject with the current ETag in If-Match failed: " + describe(err))
		}
		return nil, err
	}
	etag2 := aws.ToString(out.ETag)
	r := &probeResult{put: true, del: true}

	// 5. DeleteObject with a stale If-Match: must fail.
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key, IfMatch: &etag1})
	switch {
	case err == nil:
		gone = true
		r.del, r.detail = false, "DeleteObject with a stale If-Match deleted the object"
		return r, nil
	case isConditionFailure(err):
	case sentinelFor(err) == object.ErrUnsupported:
		r.del, r.detail = false, "DeleteObject with If-Match: "+describe(err)
		return r, nil
	default:
		return nil, err
	}

	// 6. DeleteObject with the current ETag: must succeed.
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key, IfMatch: &etag2})
	switch {
	case err == nil:
		gone = true
	case isConditionFailure(err):
		r.del, r.detail = false, "DeleteObject with the current ETag in If-Match failed: "+describe(err)
		return r, nil
	default:
		return nil, err
	}

	// 7. DeleteObject with If-Match on the missing key: S3 says 404.
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key, IfMatch: &etag2})
	switch {
	case sentinelFor(err) == object.ErrNotFound:
	case err == nil || isConditionFailure(err):
		r.headBeforeDelete = true
	default:
		return nil, err
	}
	return r, nil
}
