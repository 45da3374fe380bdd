// Service is a JSON HTTP bookmarks service on NoDB: create, read, replace
// and delete bookmarks, list them newest first a page at a time, filter
// them by tag, with a unique URL (409), ETags and If-Match (412), on
// net/http and the standard library alone. The handler is package
// examples/service/bookmarks; README.md there lists the calls and what
// each costs in S3 requests.
//
//	go run ./examples/service                      # data in ./data, on 127.0.0.1:8080
//	go run ./examples/service -addr :9000 -data /tmp/bm
//	NODB_URL='s3://my-bucket/bookmarks?region=eu-west-1' go run ./examples/service
//
// NODB_URL, when set, replaces -data; it takes any URL repo.Open accepts
// (s3:// credentials come from the standard AWS chain). The program prints
// the address it serves on, and stops cleanly on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/nodb-go/nodb/examples/service/bookmarks"
	"github.com/nodb-go/nodb/repo"
	_ "github.com/nodb-go/nodb/repo/s3store" // registers s3:// with repo.Open
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	data := flag.String("data", "./data", "directory to keep the data in (ignored when NODB_URL is set)")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *data, os.Getenv("NODB_URL"), func(a, store string) {
		fmt.Printf("serving bookmarks on http://%s (store %s)\n", a, store)
	}); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		stop()
		os.Exit(1)
	}
}

// run serves on addr until ctx ends, calling ready once it listens.
func run(ctx context.Context, addr, dir, env string, ready func(addr, store string)) error {
	storeURL, err := urlFor(dir, env)
	if err != nil {
		return err
	}
	st, err := repo.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := bookmarks.New(st)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ready(ln.Addr().String(), storeURL)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(shut)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// urlFor returns the store URL: env if set, else a file:// URL for the
// directory dir.
func urlFor(dir, env string) (string, error) {
	if env != "" {
		return env, nil
	}
	if dir == "" {
		return "", errors.New("-data is empty; name a directory, or set NODB_URL")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("-data %s: %v", dir, err)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return (&url.URL{Scheme: "file", Path: p}).String(), nil
}
