package repo

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/nodb-go/nodb/repo/filestore"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

// Open opens the object store that url names. Two schemes are built in and
// need only the standard library:
//
//	mem://                          a new, empty in-memory store
//	file:///abs/dir                 a local directory (created if missing)
//	file://./rel/dir, file://rel    a directory relative to the working directory
//
// Other schemes come from the packages that implement them, registered when
// the program imports them (as database/sql drivers are):
//
//	import _ "github.com/nodb-go/nodb/repo/s3store"
//
//	s3://bucket/prefix?region=..&endpoint=..&path_style=true&skip_probe=true
//
// so that a program that never opens s3:// does not carry the AWS SDK. See
// each package for its URLs (the s3store package doc for s3://). mem:// and
// file:// take no query parameters. An unknown or unregistered scheme, or an
// unknown query parameter, is an error that says what is accepted and which
// import is missing. Open makes no network request.
func Open(ctx context.Context, rawURL string) (object.Store, error) {
	st, err := openURL(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("repo: Open %q: %w", rawURL, err)
	}
	return st, nil
}

// An Opener opens the store that a URL of its scheme names. It should
// reject query parameters it does not know, and make no network request.
type Opener func(ctx context.Context, u *url.URL) (object.Store, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// knownSchemes names the package that registers a scheme this module
// provides, for the error when a program did not import it.
var knownSchemes = map[string]string{"s3": "github.com/nodb-go/nodb/repo/s3store"}

// Register makes Open accept URLs of scheme, opened by open. A backend
// package calls it from an init function. It panics if scheme is empty, is
// "mem" or "file", or is registered twice, as database/sql.Register does:
// those are programming errors.
func Register(scheme string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	switch {
	case scheme == "" || strings.ContainsAny(scheme, ":/"):
		panic(fmt.Sprintf("repo: Register: invalid scheme %q", scheme))
	case scheme == "mem" || scheme == "file":
		panic("repo: Register: " + scheme + ":// is built in")
	case open == nil:
		panic("repo: Register: nil Opener for " + scheme)
	case openers[scheme] != nil:
		panic("repo: Register called twice for " + scheme)
	}
	openers[scheme] = open
}

// schemes lists the schemes Open accepts now.
func schemes() string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	list := []string{"mem://", "file:///abs/dir", "file://./rel/dir"}
	for _, s := range slices.Sorted(func(yield func(string) bool) {
		for k := range openers {
			if !yield(k) {
				return
			}
		}
	}) {
		list = append(list, s+"://")
	}
	return strings.Join(list, ", ")
}

func openURL(ctx context.Context, rawURL string) (object.Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "":
		return nil, fmt.Errorf("no scheme; accepted: %s", schemes())
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
	}
	openersMu.RLock()
	open := openers[u.Scheme]
	openersMu.RUnlock()
	if open != nil {
		return open(ctx, u)
	}
	if pkg, ok := knownSchemes[u.Scheme]; ok {
		return nil, fmt.Errorf("scheme %q is not registered: add import _ %q to your program", u.Scheme, pkg)
	}
	return nil, fmt.Errorf("unknown scheme %q; accepted: %s (other schemes are registered by importing their package)", u.Scheme, schemes())
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
