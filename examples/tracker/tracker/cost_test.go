package tracker

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
)

// TestCosts asserts the S3 requests of each tracker call, counted with
// repo/meter at the object-store interface (one S3 request each), on
// memstore and on versitygw: the table in README.md. A swarm of 30 peers
// (10 seeders, 20 leechers) is announced first.
func TestCosts(t *testing.T) {
	t.Run("mem", func(t *testing.T) { testCosts(t, meter.Wrap(memstore.New())) })
	t.Run("s3", func(t *testing.T) { testCosts(t, meter.Wrap(s3test.NewStore(t, nil))) })
}

func testCosts(t *testing.T, st *meter.Store) {
	defer st.Close()
	_, base := serve(t, st, func(o *Options) { o.Interval = 10 * time.Minute })
	ih := hash("cost")
	var r announceResp
	for i := range 30 {
		get(t, announceURL(base, ih, peer{fmt.Sprintf("-CO0001-%012d", i), 7000 + i, int64(i % 3)}, "&event=started"), &r)
	}
	p := peer{"-CO0001-newpeer00000", 8000, 100}
	for _, tc := range []struct {
		what string
		u    string
		want meter.Counts
	}{
		{"started, new peer, numwant=50", announceURL(base, ih, p, "&event=started&numwant=50"), meter.Counts{Put: 2, Get: 1 + 31, List: 3}},
		{"regular, numwant=50", announceURL(base, ih, p, "&numwant=50"), meter.Counts{Put: 1, List: 3, Get: 31}},
		{"regular, numwant=5", announceURL(base, ih, p, "&numwant=5"), meter.Counts{Put: 1, List: 3, Get: 6}},
		{"regular, numwant=0", announceURL(base, ih, p, "&numwant=0"), meter.Counts{Put: 1, List: 2}},
		{"completed, numwant=0", announceURL(base, ih, peer{p.id, p.port, 0}, "&event=completed&numwant=0"), meter.Counts{Put: 3, Delete: 1, Get: 1, List: 2}},
		{"stopped", announceURL(base, ih, p, "&event=stopped"), meter.Counts{Delete: 2, List: 2}},
		{"scrape, 1 torrent", base + "/scrape?" + url.Values{"info_hash": {ih}}.Encode(), meter.Counts{List: 2, Get: 1}},
	} {
		st.Reset()
		get(t, tc.u, &r)
		if r.Failure != "" {
			t.Fatalf("%s: %s", tc.what, r.Failure)
		}
		got := st.Snapshot()
		got.Rounds, got.Conditional = 0, 0
		t.Logf("%-32s %v", tc.what, got)
		if got != tc.want {
			t.Errorf("%s: %v, want %v", tc.what, got, tc.want)
		}
	}
}
