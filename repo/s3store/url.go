package s3store

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nodb-go/nodb/repo/object"
)

// Scheme is the URL scheme [OpenURL] accepts.
const Scheme = "s3"

// NewClient returns an *s3.Client configured by the standard AWS chain
// (environment, shared config files, SSO, instance roles; see
// [config.LoadDefaultConfig]). region, when not empty, overrides the chain's
// region; endpoint, when not empty, is the base URL of an S3-compatible
// server, and then the region defaults to us-east-1; pathStyle puts the
// bucket in the URL path instead of the host name.
func NewClient(ctx context.Context, region, endpoint string, pathStyle bool) (*s3.Client, error) {
	c, _, err := newClient(ctx, region, endpoint, pathStyle)
	return c, err
}

// newClient is NewClient, also returning the HTTP transport of the client
// (nil if the configuration chain supplied an HTTP client of its own), so
// that a store that owns the client can close its idle connections. Like the
// SDK's default HTTP client, the client does not follow redirects.
func newClient(ctx context.Context, region, endpoint string, pathStyle bool) (*s3.Client, *http.Transport, error) {
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, fmt.Errorf("s3store: endpoint %q is not an http:// or https:// URL", endpoint)
		}
	}
	var lo []func(*config.LoadOptions) error
	if region != "" {
		lo = append(lo, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, nil, fmt.Errorf("s3store: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		if endpoint == "" {
			return nil, nil, fmt.Errorf("s3store: no AWS region: set region (URL parameter region=) or AWS_REGION")
		}
		cfg.Region = "us-east-1"
	}
	// The SDK's default HTTP client hides its transport, so a store could
	// not close its idle connections. Build the same client over a
	// transport we keep: the configuration chain has already set it up
	// (AWS_CA_BUNDLE, for one).
	var tr *http.Transport
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		tr = bc.GetTransport()
		cfg.HTTPClient = &http.Client{
			Transport:     tr,
			Timeout:       bc.GetTimeout(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
	}), tr, nil
}

// urlParams are the query parameters OpenURL accepts.
var urlParams = []string{"region", "endpoint", "path_style", "skip_probe", "conditional_delete"}

// OpenURL opens the store that an s3:// URL names (see the package doc,
// "URLs"), with a client from [NewClient]. It makes no request.
func OpenURL(ctx context.Context, u *url.URL) (object.Store, error) {
	if u.Scheme != Scheme {
		return nil, fmt.Errorf("s3store: URL scheme is %q, want %q", u.Scheme, Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("s3store: URL names no bucket; the form is s3://bucket/prefix?%s", strings.Join(urlParamsForm(), "&"))
	}
	if u.User != nil {
		return nil, fmt.Errorf("s3store: URL must not carry user information; credentials come from the AWS configuration chain")
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("s3store: URL must not have a fragment (#%s)", u.Fragment)
	}
	if u.Port() != "" {
		return nil, fmt.Errorf("s3store: URL host is the bucket name %q; give a server's address with endpoint=", u.Host)
	}
	q := u.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(urlParams, k) {
			return nil, fmt.Errorf("s3store: unknown query parameter %q; accepted: %s", k, strings.Join(urlParams, ", "))
		}
		if len(q[k]) > 1 {
			return nil, fmt.Errorf("s3store: query parameter %q given %d times", k, len(q[k]))
		}
	}
	pathStyle, err := parseBool(q, "path_style")
	if err != nil {
		return nil, err
	}
	skipProbe, err := parseBool(q, "skip_probe")
	if err != nil {
		return nil, err
	}
	condDelete := true
	if q.Has("conditional_delete") {
		if condDelete, err = parseBool(q, "conditional_delete"); err != nil {
			return nil, err
		}
	}
	client, tr, err := newClient(ctx, q.Get("region"), q.Get("endpoint"), pathStyle)
	if err != nil {
		return nil, err
	}
	st, err := Open(ctx, client, u.Host, func(o *Options) {
		o.Prefix, o.SkipProbe, o.NoConditionalDelete = strings.TrimPrefix(u.Path, "/"), skipProbe, !condDelete
	})
	if err != nil {
		return nil, err
	}
	st.(*store).transport = tr // the store owns the client it built
	return st, nil
}

func urlParamsForm() []string {
	var f []string
	for _, p := range urlParams {
		f = append(f, p+"=...")
	}
	return f
}

func parseBool(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("s3store: query parameter %s=%q is not true or false", name, v)
	}
	return b, nil
}
