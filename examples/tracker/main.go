// Tracker is an HTTP BitTorrent tracker whose torrents and peers live in
// NoDB (package examples/tracker/tracker): announce and scrape on /announce
// and /scrape, peers expiring when they stop announcing, swept once an
// interval.
//
//	cd examples/tracker && go run .                  # data in ./data, on 127.0.0.1:6969
//	go run . -addr :6969 -interval 30m -data /var/lib/tracker
//	NODB_URL='s3://my-bucket/tracker?region=eu-west-1' go run .
//
// NODB_URL, when set, replaces -data; it takes any URL repo.Open accepts.
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
	"time"

	"github.com/nodb-go/nodb/examples/tracker/tracker"
	"github.com/nodb-go/nodb/repo"
	_ "github.com/nodb-go/nodb/repo/s3store" // registers s3:// with repo.Open
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6969", "address to listen on")
	data := flag.String("data", "./data", "directory to keep the data in (ignored when NODB_URL is set)")
	interval := flag.Duration("interval", 30*time.Minute, "announce interval; peers expire after two")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, *addr, *data, os.Getenv("NODB_URL"), *interval, func(a, store string) {
		fmt.Printf("tracker on http://%s/announce (store %s)\n", a, store)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracker:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, dir, env string, interval time.Duration, ready func(addr, store string)) error {
	storeURL := env
	if storeURL == "" {
		if dir == "" {
			return errors.New("-data is empty; name a directory, or set NODB_URL")
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		storeURL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	}
	st, err := repo.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	tr, err := tracker.New(st, func(o *tracker.Options) { o.Interval = interval })
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: tr, ReadHeaderTimeout: 10 * time.Second}
	ready(ln.Addr().String(), storeURL)
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				hs.Shutdown(shut)
				return
			case <-tick.C:
				if n, err := tr.Sweep(ctx); err != nil {
					fmt.Fprintln(os.Stderr, "tracker: sweep:", err)
				} else if n > 0 {
					fmt.Printf("swept %d expired peers\n", n)
				}
			}
		}
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
