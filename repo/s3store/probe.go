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

// probeRuns is how many times a probe is run when lost replies make its
// runs inconclusive, before the calling operation gets an error.
const probeRuns = 3

// errInconclusive marks a probe run that cannot give a verdict because a
// request's reply was lost and the SDK retried it: the retry's answer may
// be to our own first attempt (a 412 after our own write, say).
var errInconclusive = errors.New("a reply was lost and the request retried, so its answer is ambiguous")

// probe returns the cached probe result, or probes the server. Only a clean
// run gives a verdict, and only a verdict is cached: a run in which a reply
// was lost is discarded and the probe runs again, with a fresh object; a
// failed run (network error, throttling, cancelled context) or one that
// stays inconclusive fails the calling operation only, and the next
// conditional call probes again.
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
	var errs []error
	for range probeRuns {
		r, err := s.runProbe(ctx)
		if err == nil {
			s.probed.Store(r)
			return r, nil
		}
		if !errors.Is(err, errInconclusive) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no clean probe in %d runs: %w", probeRuns, errors.Join(errs...))
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

// probeRun is one run of the probe on one fresh object.
type probeRun struct {
	s   *store
	ctx context.Context
	key string // with the store's prefix

	etag1, etag2 string // the object's ETags after steps 1 and 4
	gone         bool   // the object is known to be deleted
	retried      bool   // some request took more than one attempt
	r            probeResult
}

// probeStep is one request of the probe. It returns done when the server
// has shown that it ignores a condition (r then says which), and an error
// when the probe cannot tell.
type probeStep struct {
	name string
	run  func(p *probeRun) (done bool, err error)
}

// probeSteps are the probe's requests, in order, on one object. The steps
// on PutObject come first; if they pass, the store has conditional writes,
// and the steps on DeleteObject decide conditional deletes.
var probeSteps = []probeStep{
	{"1. PutObject If-None-Match * on a new key (must succeed)", (*probeRun).create},
	{"2. PutObject If-None-Match * on the existing key (must fail)", (*probeRun).createExisting},
	{"3. PutObject with a stale If-Match (must fail)", (*probeRun).replaceStale},
	{"4. PutObject with the current ETag in If-Match (must succeed)", (*probeRun).replace},
	{"5. DeleteObject with a stale If-Match (must fail)", (*probeRun).deleteStale},
	{"6. DeleteObject with the current ETag in If-Match (must succeed)", (*probeRun).delete},
	{"7. DeleteObject with If-Match on the missing key (S3 says 404)", (*probeRun).deleteMissing},
}

// runProbe runs the probe's steps on a fresh object under ProbePrefix and
// removes the object. An error wrapping errInconclusive means a reply was
// lost in the run: its answers prove nothing.
func (s *store) runProbe(ctx context.Context) (*probeResult, error) {
	var rnd [12]byte
	rand.Read(rnd[:])
	p := &probeRun{s: s, ctx: ctx, key: s.prefix + ProbePrefix + hex.EncodeToString(rnd[:])}
	defer p.cleanUp()
	for _, step := range probeSteps {
		done, err := step.run(p)
		if p.retried {
			return nil, fmt.Errorf("probe step %q: %w", step.name, errInconclusive)
		}
		if err != nil {
			return nil, err
		}
		if done {
			return &p.r, nil
		}
	}
	return &p.r, nil
}

// cleanUp deletes the probe object unless it is known to be gone: best
// effort, even when the run's context is done.
func (p *probeRun) cleanUp() {
	if p.gone {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 10*time.Second)
	defer cancel()
	_, _ = p.s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &p.s.bucket, Key: &p.key})
}

// put sends one PutObject of the probe object, noting retries.
func (p *probeRun) put(body string, ifMatch, ifNoneMatch *string) (*s3.PutObjectOutput, error) {
	var attempts attemptCounter
	out, err := p.s.client.PutObject(p.ctx, &s3.PutObjectInput{
		Bucket: &p.s.bucket, Key: &p.key,
		Body: bytes.NewReader([]byte(body)), ContentLength: aws.Int64(int64(len(body))),
		IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
	}, attempts.option)
	p.retried = p.retried || attempts.n.Load() > 1
	return out, err
}

// deleteIfMatch sends one DeleteObject of the probe object with If-Match,
// noting retries.
func (p *probeRun) deleteIfMatch(etag string) error {
	var attempts attemptCounter
	_, err := p.s.client.DeleteObject(p.ctx, &s3.DeleteObjectInput{Bucket: &p.s.bucket, Key: &p.key, IfMatch: &etag}, attempts.option)
	p.retried = p.retried || attempts.n.Load() > 1
	return err
}

// unsupported ends the probe: PutObject ignores conditions.
func (p *probeRun) unsupported(detail string) (bool, error) {
	p.r = probeResult{detail: detail}
	return true, nil
}

// noConditionalDelete ends the probe: PutObject honours conditions,
// DeleteObject does not.
func (p *probeRun) noConditionalDelete(detail string) (bool, error) {
	p.r.del, p.r.detail = false, detail
	return true, nil
}

func (p *probeRun) create() (bool, error) {
	out, err := p.put("nodb probe 1", nil, aws.String("*"))
	if err != nil {
		if sentinelFor(err) == object.ErrUnsupported {
			return p.unsupported("PutObject with If-None-Match: " + describe(err))
		}
		return false, err
	}
	p.etag1 = aws.ToString(out.ETag)
	if p.etag1 == "" {
		return false, errors.New("server returned no ETag for PutObject")
	}
	return false, nil
}

func (p *probeRun) createExisting() (bool, error) {
	_, err := p.put("nodb probe 2", nil, aws.String("*"))
	switch conditionOutcome(err) {
	case accepted:
		return p.unsupported("PutObject with If-None-Match \"*\" overwrote an existing object")
	case failed:
		return false, err
	}
	return false, nil
}

func (p *probeRun) replaceStale() (bool, error) {
	_, err := p.put("nodb probe 3", aws.String(`"00000000000000000000000000000000"`), nil)
	switch conditionOutcome(err) {
	case accepted:
		return p.unsupported("PutObject with a stale If-Match overwrote the object")
	case failed:
		return false, err
	}
	return false, nil
}

func (p *probeRun) replace() (bool, error) {
	out, err := p.put("nodb probe 4", &p.etag1, nil)
	if err != nil {
		if isConditionFailure(err) {
			return p.unsupported("PutObject with the current ETag in If-Match failed: " + describe(err))
		}
		return false, err
	}
	p.etag2 = aws.ToString(out.ETag)
	p.r = probeResult{put: true, del: true}
	return false, nil
}

func (p *probeRun) deleteStale() (bool, error) {
	err := p.deleteIfMatch(p.etag1)
	switch {
	case err == nil:
		p.gone = true
		return p.noConditionalDelete("DeleteObject with a stale If-Match deleted the object")
	case isConditionFailure(err):
		return false, nil
	case sentinelFor(err) == object.ErrUnsupported:
		return p.noConditionalDelete("DeleteObject with If-Match: " + describe(err))
	}
	return false, err
}

func (p *probeRun) delete() (bool, error) {
	err := p.deleteIfMatch(p.etag2)
	switch {
	case err == nil:
		p.gone = true
		return false, nil
	case isConditionFailure(err):
		return p.noConditionalDelete("DeleteObject with the current ETag in If-Match failed: " + describe(err))
	}
	return false, err
}

func (p *probeRun) deleteMissing() (bool, error) {
	err := p.deleteIfMatch(p.etag2)
	switch {
	case sentinelFor(err) == object.ErrNotFound:
	case err == nil || isConditionFailure(err):
		p.r.headBeforeDelete = true
	default:
		return false, err
	}
	return true, nil
}
