package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/nodb-go/nodb/repo/object"
)

// Client is the part of *s3.Client that a store uses. Pass an *s3.Client,
// or a wrapper around one.
type Client interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ Client = (*s3.Client)(nil)

// Options configure a store. The zero value means: no prefix, probe the
// server before the first conditional write.
type Options struct {
	// Prefix is prepended to every key; "/" is appended to it if it does
	// not end in one. Empty means the whole bucket.
	Prefix string

	// SkipProbe trusts the server to honour If-None-Match and If-Match
	// without checking. Set it only for servers known to honour them, such
	// as Amazon S3 (general purpose buckets) and versitygw.
	SkipProbe bool

	// NoConditionalDelete makes the store never delete conditionally:
	// Capabilities reports ConditionalDelete false and Delete with IfMatch
	// fails with object.ErrUnsupported. NoDB then leaves superseded index
	// entries and claims in place for Check instead of deleting them, which
	// is always safe. Set it for servers whose conditional DELETE is not
	// atomic with concurrent writes to the same key: versitygw v1.8.0 is
	// one (a DELETE with If-Match racing a PUT with the same If-Match both
	// succeeded in 9 of 300 trials, and the DELETE removed the new object).
	NoConditionalDelete bool
}

// Open returns a store over bucket, reached through client. It makes no
// request: a missing bucket or bad credentials show up on the first call.
// opts set Options, in order, on a zero Options:
//
//	st, err := s3store.Open(ctx, client, "my-bucket", func(o *s3store.Options) {
//		o.Prefix = "app/"
//	})
func Open(ctx context.Context, client Client, bucket string, opts ...func(*Options)) (object.Store, error) {
	if client == nil {
		return nil, errors.New("s3store: Open: nil client")
	}
	if bucket == "" {
		return nil, errors.New("s3store: Open: empty bucket name")
	}
	if strings.HasSuffix(bucket, "--x-s3") {
		return nil, fmt.Errorf("s3store: Open: bucket %q is an S3 Express One Zone directory bucket, which is not supported (it does not list keys in order)", bucket)
	}
	var o Options
	for _, f := range opts {
		f(&o)
	}
	prefix := o.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if prefix != "" {
		err := object.CheckKey(prefix + "k")
		if err == nil {
			err = checkSegments(prefix + "k")
		}
		if err != nil {
			return nil, fmt.Errorf("s3store: Open: bad prefix %q: %w", o.Prefix, err)
		}
	}
	s := &store{
		client:    client,
		bucket:    bucket,
		prefix:    prefix,
		server:    describeServer(client, bucket),
		skipProbe: o.SkipProbe,
		noCondDel: o.NoConditionalDelete,
		probeSem:  make(chan struct{}, 1),
	}
	return s, nil
}

// describeServer names the server for error messages.
func describeServer(c Client, bucket string) string {
	oc, ok := c.(interface{ Options() s3.Options })
	if !ok {
		return fmt.Sprintf("of bucket %q", bucket)
	}
	o := oc.Options()
	if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
		return *o.BaseEndpoint
	}
	return fmt.Sprintf("Amazon S3 (%s)", o.Region)
}

type store struct {
	gate      object.Gate
	client    Client
	transport *http.Transport // of a client the store built (OpenURL), else nil
	bucket    string
	prefix    string // "" or ends in "/"
	server    string // for messages
	skipProbe bool
	noCondDel bool

	probeSem chan struct{}               // held while probing
	probed   atomic.Pointer[probeResult] // set once a probe completed
}

// fullKey returns key with the prefix. gateErr is the verdict of the
// object.Gate check the caller made; on top of it, the key with the prefix
// must fit S3's limit and have no empty, "." or ".." segment.
func (s *store) fullKey(op, key string, gateErr error) (string, error) {
	if gateErr != nil {
		return "", &opError{op: op, key: key, err: gateErr}
	}
	full := s.prefix + key
	if len(full) > object.MaxKeyLen {
		return "", &opError{op: op, key: key, sentinel: object.ErrInvalidKey,
			msg: fmt.Sprintf("invalid key: with the prefix %q the key is %d bytes, the limit is %d", s.prefix, len(full), object.MaxKeyLen)}
	}
	if err := checkSegments(full); err != nil {
		return "", &opError{op: op, key: key, sentinel: object.ErrInvalidKey, msg: strings.TrimPrefix(err.Error(), "object: ")}
	}
	return full, nil
}

// checkSegments refuses keys with an empty, "." or ".." segment: servers
// that keep objects as files resolve them as paths, so that "a/../b" would
// silently read and write "b" (versitygw does).
func checkSegments(full string) error {
	for seg := range strings.SplitSeq(full, "/") {
		switch seg {
		case "", ".", "..":
			return fmt.Errorf("%w: %q has an empty, \".\" or \"..\" segment, which S3-compatible servers on file systems resolve as a path", object.ErrInvalidKey, full)
		}
	}
	return nil
}

// quote turns a version into an ETag for a conditional header.
func quote(v string) string {
	if strings.HasPrefix(v, `"`) || v == "*" {
		return v
	}
	return `"` + v + `"`
}

// unquote turns an ETag into a version.
func unquote(etag *string) string {
	return strings.Trim(aws.ToString(etag), `"`)
}

func (s *store) Get(ctx context.Context, key string, opts object.GetOptions) (object.Object, error) {
	full, err := s.fullKey("Get", key, s.gate.Key(ctx, key))
	if err != nil {
		return object.Object{}, err
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &full}
	if opts.IfNoneMatch != "" {
		in.IfNoneMatch = aws.String(quote(opts.IfNoneMatch))
	}
	obj, err := s.get(ctx, key, in)
	if err != nil {
		return object.Object{}, s.wrap("Get", key, err)
	}
	if opts.IfNoneMatch != "" && obj.Version == strings.Trim(opts.IfNoneMatch, `"`) {
		// The server ignored If-None-Match.
		return object.Object{}, &opError{op: "Get", key: key, sentinel: object.ErrNotModified}
	}
	return obj, nil
}

func (s *store) get(ctx context.Context, key string, in *s3.GetObjectInput) (object.Object, error) {
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return object.Object{}, err
	}
	defer out.Body.Close()
	body, err := readBody(out.Body, out.ContentLength)
	if err != nil {
		return object.Object{}, err
	}
	return object.Object{
		Info: object.Info{
			Key:          key,
			Version:      unquote(out.ETag),
			Size:         int64(len(body)),
			LastModified: aws.ToTime(out.LastModified),
		},
		Body: body,
	}, nil
}

func (s *store) Head(ctx context.Context, key string) (object.Info, error) {
	full, err := s.fullKey("Head", key, s.gate.Key(ctx, key))
	if err != nil {
		return object.Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &full})
	if err != nil {
		return object.Info{}, s.wrap("Head", key, err)
	}
	return object.Info{
		Key:          key,
		Version:      unquote(out.ETag),
		Size:         aws.ToInt64(out.ContentLength),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}

func (s *store) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	full, err := s.fullKey("Put", key, s.gate.Put(ctx, key, opts))
	if err != nil {
		return object.Info{}, err
	}
	if int64(len(body)) > maxBody {
		return object.Info{}, &opError{op: "Put", key: key, sentinel: object.ErrTooLarge,
			msg: fmt.Sprintf("the body is %d bytes; S3 stores at most %d in one PutObject", len(body), maxBody)}
	}
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &full,
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	conditional := opts.IfMatch != "" || opts.IfNoneMatch != ""
	if !conditional {
		out, err := s.putObject(ctx, in, body, nil)
		if err != nil {
			return object.Info{}, s.wrap("Put", key, err)
		}
		return putInfo(key, body, out), nil
	}
	if err := s.requireConditional(ctx, "Put", key, false); err != nil {
		return object.Info{}, err
	}
	if opts.IfMatch != "" {
		in.IfMatch = aws.String(quote(opts.IfMatch))
	} else {
		in.IfNoneMatch = aws.String("*")
	}
	var attempts attemptCounter
	out, err := s.putObject(ctx, in, body, &attempts)
	if err != nil {
		if attempts.n.Load() > 1 && (isConditionFailure(err) || (opts.IfMatch != "" && sentinelFor(err) == object.ErrNotFound)) {
			return s.settleRetriedPut(ctx, key, full, body, err)
		}
		return object.Info{}, s.wrap("Put", key, err)
	}
	return putInfo(key, body, out), nil
}

// settleRetriedPut decides a conditional Put whose request the SDK sent
// more than once and whose last attempt failed its condition (err). The
// first attempt may have landed and its response been lost, so that the
// retry failed the condition our own write broke. Equal bytes mean our own
// write: NoDB puts a unique write id in every body it writes conditionally.
// Anything else (another body, no object, a failed read) does not tell
// whether our write landed and was replaced or never landed: the outcome is
// unknown, never a failed condition.
func (s *store) settleRetriedPut(ctx context.Context, key, full string, body []byte, err error) (object.Info, error) {
	got, gerr := s.get(ctx, key, &s3.GetObjectInput{Bucket: &s.bucket, Key: &full})
	switch {
	case gerr == nil && bytes.Equal(got.Body, body):
		return got.Info, nil
	case errors.Is(gerr, context.Canceled) || errors.Is(gerr, context.DeadlineExceeded):
		return object.Info{}, &opError{op: "Put", key: key, sentinel: object.ErrOutcomeUnknown, err: gerr,
			msg: fmt.Sprintf("outcome unknown: the request was retried after a lost response and the retry failed its condition (%s); reading the object back", describe(err))}
	}
	found := "another writer's object"
	if gerr != nil {
		found = "no readable object (" + describe(gerr) + ")"
	}
	return object.Info{}, &opError{op: "Put", key: key, sentinel: object.ErrOutcomeUnknown, err: err,
		msg: fmt.Sprintf("outcome unknown: the request was retried after a lost response, the retry failed its condition, and the key holds %s: the first attempt may have landed and been replaced, or never landed", found)}
}

func putInfo(key string, body []byte, out *s3.PutObjectOutput) object.Info {
	info := object.Info{Key: key, Version: unquote(out.ETag), Size: int64(len(body))}
	if resp, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok && resp.Response != nil {
		if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			info.LastModified = t.UTC()
		}
	}
	return info
}

func (s *store) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	full, err := s.fullKey("Delete", key, s.gate.Key(ctx, key))
	if err != nil {
		return err
	}
	in := &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &full}
	if opts.IfMatch == "" {
		if _, err := s.client.DeleteObject(ctx, in); err != nil {
			if err := s.wrap("Delete", key, err); !errors.Is(err, object.ErrNotFound) {
				return err
			}
		}
		return nil
	}
	if s.noCondDel {
		return &opError{op: "Delete", key: key, sentinel: object.ErrUnsupported, msg: "conditional deletes are disabled (Options.NoConditionalDelete)"}
	}
	if err := s.requireConditional(ctx, "Delete", key, true); err != nil {
		return err
	}
	if r := s.probed.Load(); r != nil && r.headBeforeDelete && !opts.MissingOK {
		// The server does not report a missing key on a conditional
		// delete; find out first. A HEAD showing another version fails
		// the condition right away.
		out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &full})
		if err != nil {
			return s.wrap("Delete", key, err)
		}
		if unquote(out.ETag) != strings.Trim(opts.IfMatch, `"`) {
			return &opError{op: "Delete", key: key, sentinel: object.ErrPrecondition}
		}
	}
	in.IfMatch = aws.String(quote(opts.IfMatch))
	var attempts attemptCounter
	_, err = s.client.DeleteObject(ctx, in, attempts.option)
	if err != nil {
		if attempts.n.Load() > 1 && (isConditionFailure(err) || sentinelFor(err) == object.ErrNotFound) {
			return s.settleRetriedDelete(ctx, key, full, err)
		}
		return s.wrap("Delete", key, err)
	}
	return nil
}

// settleRetriedDelete decides a conditional Delete whose request the SDK
// sent more than once and whose last attempt failed (err): once the first
// attempt has deleted the key, servers answer the retry with 404 (Amazon
// S3), 412 (SeaweedFS) or 204 (versitygw, which needs nothing here). Which
// one must not matter, so the store looks: a key that is gone was deleted, which is what the call
// asked for. A key that is present, at whatever version, does not tell
// whether the first attempt deleted our version before another writer put
// a new one, or never took effect: the outcome is unknown.
func (s *store) settleRetriedDelete(ctx context.Context, key, full string, err error) error {
	out, herr := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &full})
	if herr != nil && sentinelFor(herr) == object.ErrNotFound {
		return nil
	}
	var what string
	switch {
	case herr == nil:
		what = fmt.Sprintf("the key holds version %s", unquote(out.ETag))
	case errors.Is(herr, context.Canceled) || errors.Is(herr, context.DeadlineExceeded):
		what, err = "reading it back failed", herr
	default:
		what = "reading it back failed: " + describe(herr)
	}
	return &opError{op: "Delete", key: key, sentinel: object.ErrOutcomeUnknown, err: err,
		msg: fmt.Sprintf("outcome unknown: the request was retried after a lost response and the retry failed (%s); %s: the first attempt may have deleted the object before another writer replaced it, or never took effect", describe(err), what)}
}

func (s *store) List(ctx context.Context, opts object.ListOptions) (object.ListPage, error) {
	// The gate refuses what servers answer with a 500 (SeaweedFS, invalid
	// UTF-8) or rewrite (a backslash), rather than send it.
	if err := s.gate.List(ctx, opts); err != nil {
		return object.ListPage{}, &opError{op: "List", key: opts.Prefix, err: err}
	}
	n := opts.PageSize
	if n <= 0 || n > object.MaxPageSize {
		n = object.MaxPageSize
	}
	in := &s3.ListObjectsV2Input{
		Bucket:       &s.bucket,
		MaxKeys:      aws.Int32(int32(n)),
		EncodingType: types.EncodingTypeUrl,
	}
	if p := s.prefix + opts.Prefix; p != "" {
		in.Prefix = &p
	}
	if opts.StartAfter != "" {
		in.StartAfter = aws.String(s.prefix + opts.StartAfter)
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return object.ListPage{}, s.wrap("List", opts.Prefix, err)
	}
	page := object.ListPage{Objects: make([]object.Info, 0, len(out.Contents)), More: aws.ToBool(out.IsTruncated)}
	for _, o := range out.Contents {
		k := aws.ToString(o.Key)
		// Servers that ignore encoding-type=url do not echo it; decode only
		// when the server says it encoded.
		if out.EncodingType == types.EncodingTypeUrl {
			d, err := url.QueryUnescape(k)
			if err != nil {
				return object.ListPage{}, &opError{op: "List", key: opts.Prefix, err: fmt.Errorf("bad url-encoded key %q in listing: %w", k, err)}
			}
			k = d
		}
		rel, ok := strings.CutPrefix(k, s.prefix)
		if !ok {
			continue
		}
		page.Objects = append(page.Objects, object.Info{
			Key:          rel,
			Version:      unquote(o.ETag),
			Size:         aws.ToInt64(o.Size),
			LastModified: aws.ToTime(o.LastModified),
		})
	}
	return page, nil
}

func (s *store) Capabilities() object.Capabilities {
	if s.noCondDel {
		return object.Capabilities{ConditionalDelete: false}
	}
	if r := s.probed.Load(); r != nil && r.put && !r.del {
		return object.Capabilities{ConditionalDelete: false}
	}
	return object.Capabilities{ConditionalDelete: true}
}

// Close implements [object.Store.Close]. A store opened with [Open] leaves
// the caller's client alone: the caller may share it and closes what it
// holds. A store opened by [OpenURL] built its own client and closes that
// client's idle connections. Requests in progress are not interrupted.
func (s *store) Close() error {
	if s.gate.Close() && s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	return nil
}

// attemptCounter counts the attempts the SDK makes for one call, through a
// Finalize middleware placed after the retry loop.
type attemptCounter struct{ n atomic.Int32 }

func (c *attemptCounter) ID() string { return "nodb.AttemptCounter" }

func (c *attemptCounter) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	c.n.Add(1)
	return next.HandleFinalize(ctx, in)
}

// option is a per-call option that installs c.
func (c *attemptCounter) option(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		if err := st.Finalize.Insert(c, "Retry", middleware.After); err != nil {
			return st.Finalize.Add(c, middleware.After)
		}
		return nil
	})
}

// readBody reads r whole. When the response announced its size, the body
// is read into one buffer of exactly that size, whatever the reader does
// at the end: bytes.Buffer.ReadFrom wants 512 free bytes before every
// read, so into a buffer of the right capacity it still doubles it unless
// the reader returns io.EOF with its last bytes (net/http's body does; a
// wrapper need not), and io.ReadAll grows by steps. An object larger than
// [object.MaxBodySize] is refused before anything is allocated for it.
func readBody(r io.Reader, size *int64) ([]byte, error) {
	if size == nil || *size < 0 {
		return io.ReadAll(r)
	}
	if *size > maxBody {
		return nil, fmt.Errorf("%w: the object is %d bytes; the largest body a store reads into memory is %d", object.ErrTooLarge, *size, int64(maxBody))
	}
	body := make([]byte, *size)
	if n, err := io.ReadFull(r, body); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = fmt.Errorf("the body ended after %d of the %d bytes announced", n, *size)
		}
		return nil, err
	}
	// Read to the end, so that the connection can be reused and a body
	// longer than announced is an error rather than cut short.
	var one [1]byte
	if n, err := io.ReadFull(r, one[:]); n > 0 {
		return nil, fmt.Errorf("the body is longer than the %d bytes announced", *size)
	} else if err != io.EOF {
		return nil, err
	}
	return body, nil
}

// maxBody is object.MaxBodySize, a variable so that tests can lower it.
var maxBody int64 = object.MaxBodySize
