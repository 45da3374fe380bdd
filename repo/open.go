package repo

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/nodb-go/nodb/repo/filestore"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
	"github.com/nodb-go/nodb/repo/s3store"
)

// Open opens the object store that url names:
//
//	mem://                          a new, empty in-memory store
//	file:///abs/dir                 a local directory (created if missing)
//	file://./rel/dir, file://rel    a directory relative to the working directory
//	s3://bucket/prefix?region=..&endpoint=..&path_style=true&skip_probe=true
//
// For s3:// URLs, the path is an optional key prefix and every query
// parameter is optional; credentials come from the standard AWS chain (see
// [s3store] for the details and the conditional-write probe). mem:// and
// file:// take no query parameters. An unknown scheme or query parameter is
// an error that lists what is accepted. Open makes no network request.
func Open(ctx context.Context, rawURL string) (object.Store, error) {
	st, err := openURL(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("repo: Open %q: %w", rawURL, err)
	}
	return st, nil
}

const acceptedSchemes = "mem://, file:///abs/dir, file://./rel/dir, s3://bucket/prefix"

func openURL(ctx context.Context, rawURL string) (object.Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "mem":
		if err := noExtras(u); err != nil {
			return nil, err
		}
		if u.Opaque != "" || u.Host != "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("mem:// names no bucket or path; use exactly \"mem://\"")
		}
		return memstore.New(), nil
	case "file":
		if err := noExtras(u); err != nil {
			return nil, err
		}
		dir, err := fileDir(u)
		if err != nil {
			return nil, err
		}
		return filestore.Open(dir)
	case s3store.Scheme:
		return s3store.OpenURL(ctx, u)
	case "":
		return nil, fmt.Errorf("no scheme; accepted: %s", acceptedSchemes)
	}
	return nil, fmt.Errorf("unknown scheme %q; accepted: %s", u.Scheme, acceptedSchemes)
}

// noExtras rejects query parameters, fragments and user info.
func noExtras(u *url.URL) error {
	switch {
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Errorf("%s:// accepts no query parameters (got %q)", u.Scheme, u.RawQuery)
	case u.Fragment != "":
		return fmt.Errorf("%s:// accepts no fragment (got #%s)", u.Scheme, u.Fragment)
	case u.User != nil:
		return fmt.Errorf("%s:// accepts no user information", u.Scheme)
	}
	return nil
}

// fileDir returns the directory a file:// URL names. The host, if any, is
// the first segment of a relative path: file://./data is "./data",
// file://data/sub is "data/sub"; file:///abs is "/abs".
func fileDir(u *url.URL) (string, error) {
	if u.Opaque != "" {
		return "", fmt.Errorf("want file:///abs/dir or file://./rel/dir, not file:%s", u.Opaque)
	}
	if u.Port() != "" {
		return "", fmt.Errorf("file:// URL has a port")
	}
	dir := u.Host + u.Path
	if dir == "" {
		return "", fmt.Errorf("no directory; want file:///abs/dir or file://./rel/dir")
	}
	return filepath.FromSlash(dir), nil
}
