package tracker

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/nodb-go/nodb/internal/s3test"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
)

func TestMain(m *testing.M) { s3test.Main(m) }

var stores = []struct {
	name string
	open func(t testing.TB) object.Store
}{
	{"file", func(t testing.TB) object.Store {
		st, err := repo.Open(context.Background(), (&url.URL{Scheme: "file", Path: t.TempDir()}).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"s3", func(t testing.TB) object.Store {
		st := s3test.NewStore(t, nil)
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

func serve(t testing.TB, st object.Store, opts ...func(*Options)) (*Tracker, string) {
	tr, err := New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(tr)
	t.Cleanup(hs.Close)
	return tr, hs.URL
}

// announceResp is an announce answer as a client decodes it.
type announceResp struct {
	Failure     string `bencode:"failure reason"`
	Interval    int    `bencode:"interval"`
	MinInterval int    `bencode:"min interval"`
	Complete    int    `bencode:"complete"`
	Incomplete  int    `bencode:"incomplete"`
	Peers       any    `bencode:"peers"`
}

type scrapeResp struct {
	Failure string `bencode:"failure reason"`
	Files   map[string]struct {
		Complete   int `bencode:"complete"`
		Incomplete int `bencode:"incomplete"`
		Downloaded int `bencode:"downloaded"`
	} `bencode:"files"`
}

func get(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	if err := bencode.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %q", u, err, body)
	}
}

type peer struct {
	id   string // 20 bytes
	port int
	left int64
}

func announceURL(base, ih string, p peer, extra string) string {
	q := url.Values{
		"info_hash": {ih}, "peer_id": {p.id}, "port": {fmt.Sprint(p.port)},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {fmt.Sprint(p.left)},
	}
	return base + "/announce?" + q.Encode() + extra
}

// compactPeers decodes a BEP 23 peer string into "ip:port" strings.
func compactPeers(t *testing.T, v any) []string {
	t.Helper()
	s, ok := v.(string)
	if !ok || len(s)%6 != 0 {
		t.Fatalf("peers %#v is not a compact peer string", v)
	}
	var out []string
	for i := 0; i < len(s); i += 6 {
		out = append(out, fmt.Sprintf("%d.%d.%d.%d:%d", s[i], s[i+1], s[i+2], s[i+3], binary.BigEndian.Uint16([]byte(s[i+4:i+6]))))
	}
	return out
}

func hash(s string) string { h := sha1.Sum([]byte(s)); return string(h[:]) }

func TestAnnounceScrape(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			_, base := serve(t, st.open(t), func(o *Options) { o.Interval = 10 * time.Minute })
			a, b := hash("torrent a"), hash("torrent b")
			seeder := peer{"-SD0001-aaaaaaaaaaaa", 7001, 0}
			leech1 := peer{"-LE0001-bbbbbbbbbbbb", 7002, 500}
			leech2 := peer{"-LE0002-cccccccccccc", 7003, 1000}
			other := peer{"-OT0001-dddddddddddd", 7004, 10}

			var r announceResp
			get(t, announceURL(base, a, seeder, "&event=started"), &r)
			if r.Failure != "" || r.Interval != 600 || r.MinInterval != 300 || r.Complete != 1 || r.Incomplete != 0 {
				t.Errorf("first announce: %+v", r)
			}
			if got := compactPeers(t, r.Peers); len(got) != 0 {
				t.Errorf("first announce lists %v; want nobody but itself, left out", got)
			}
			get(t, announceURL(base, a, leech1, "&event=started&compact=1"), &r)
			get(t, announceURL(base, b, other, "&event=started"), &r)
			get(t, announceURL(base, a, leech2, "&event=started"), &r)
			if r.Complete != 1 || r.Incomplete != 2 {
				t.Errorf("after 3 peers of a: complete %d incomplete %d", r.Complete, r.Incomplete)
			}
			got := compactPeers(t, r.Peers)
			if strings.Join(got, " ") != "127.0.0.1:7002 127.0.0.1:7001" {
				t.Errorf("leech2's peers: %v; want leech1 and the seeder, not itself, not torrent b's", got)
			}
			get(t, announceURL(base, a, leech2, "&numwant=1"), &r)
			if got := compactPeers(t, r.Peers); len(got) != 1 {
				t.Errorf("numwant=1: %v", got)
			}
			get(t, announceURL(base, a, leech2, "&numwant=0"), &r)
			if got := compactPeers(t, r.Peers); len(got) != 0 {
				t.Errorf("numwant=0: %v", got)
			}
			// Non-compact: dictionaries with the peer id, or without.
			var full struct {
				Peers []struct {
					ID   string `bencode:"peer id"`
					IP   string `bencode:"ip"`
					Port int    `bencode:"port"`
				} `bencode:"peers"`
			}
			get(t, announceURL(base, a, leech1, "&compact=0"), &full)
			if len(full.Peers) != 2 || full.Peers[0].ID != leech2.id || full.Peers[0].IP != "127.0.0.1" || full.Peers[0].Port != 7003 ||
				full.Peers[1].ID != seeder.id || full.Peers[1].Port != 7001 {
				t.Errorf("compact=0: %+v", full.Peers)
			}
			get(t, announceURL(base, a, leech1, "&compact=0&no_peer_id=1"), &full)
			if len(full.Peers) != 2 || full.Peers[0].ID != "" {
				t.Errorf("no_peer_id: %+v", full.Peers)
			}

			// leech1 completes: a seeder now, one download.
			leech1.left = 0
			get(t, announceURL(base, a, leech1, "&event=completed"), &r)
			if r.Complete != 2 || r.Incomplete != 1 {
				t.Errorf("after completed: %+v", r)
			}
			// leech2 stops: gone.
			get(t, announceURL(base, a, leech2, "&event=stopped"), &r)
			if r.Complete != 2 || r.Incomplete != 0 {
				t.Errorf("after stopped: %+v", r)
			}
			get(t, announceURL(base, a, seeder, ""), &r)
			if got := compactPeers(t, r.Peers); strings.Join(got, " ") != "127.0.0.1:7002" {
				t.Errorf("after stopped, the seeder's peers: %v", got)
			}

			var s scrapeResp
			unknown := hash("nobody")
			get(t, base+"/scrape?"+url.Values{"info_hash": {a, b, unknown}}.Encode(), &s)
			if s.Failure != "" || len(s.Files) != 3 {
				t.Fatalf("scrape: %+v", s)
			}
			if f := s.Files[a]; f.Complete != 2 || f.Incomplete != 0 || f.Downloaded != 1 {
				t.Errorf("scrape a: %+v", f)
			}
			if f := s.Files[b]; f.Complete != 0 || f.Incomplete != 1 || f.Downloaded != 0 {
				t.Errorf("scrape b: %+v", f)
			}
			if f := s.Files[unknown]; f.Complete != 0 || f.Incomplete != 0 || f.Downloaded != 0 {
				t.Errorf("scrape unknown: %+v", f)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	_, base := serve(t, stores[0].open(t))
	a := hash("a")
	p := peer{"-XX0001-eeeeeeeeeeee", 6881, 0}
	for _, tc := range []struct{ u, want string }{
		{base + "/announce?port=1", "info_hash is missing"},
		{announceURL(base, "short", p, ""), "info_hash is 5 bytes"},
		{announceURL(base, a, peer{"short", 1, 0}, ""), "peer_id is 5 bytes"},
		{announceURL(base, a, peer{p.id, 0, 0}, ""), `port "0"`},
		{announceURL(base, a, peer{p.id, 70000, 0}, ""), `port "70000"`},
		{announceURL(base, a, peer{p.id, 1, -1}, ""), `left "-1"`},
		{announceURL(base, a, p, "&event=paused"), `event "paused"`},
		{announceURL(base, a, p, "&numwant=x"), `numwant "x"`},
		{base + "/scrape", "needs info_hash"},
		{base + "/scrape?info_hash=abc", "3 bytes"},
	} {
		var r announceResp
		get(t, tc.u, &r)
		if !strings.Contains(r.Failure, tc.want) {
			t.Errorf("%s: failure %q, want it to say %q", tc.u, r.Failure, tc.want)
		}
	}
}

// TestExpiry: a peer whose announce is older than two intervals is not
// handed out, and Sweep deletes it.
func TestExpiry(t *testing.T) {
	st := stores[0].open(t)
	past := func(o *Options) {
		o.Interval = time.Minute
		o.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	}
	_, oldBase := serve(t, st, past)
	tr, base := serve(t, st)
	a := hash("a")
	var r announceResp
	get(t, announceURL(oldBase, a, peer{"-OL0001-ffffffffffff", 7001, 0}, ""), &r)
	get(t, announceURL(base, a, peer{"-NE0001-gggggggggggg", 7002, 0}, ""), &r)
	get(t, announceURL(base, a, peer{"-NE0002-hhhhhhhhhhhh", 7003, 0}, ""), &r)
	if got := compactPeers(t, r.Peers); strings.Join(got, " ") != "127.0.0.1:7002" {
		t.Errorf("peers %v; want the live one only", got)
	}
	if r.Complete != 3 {
		t.Errorf("complete %d before the sweep: counts come from listings and include the expired peer until swept", r.Complete)
	}
	n, err := tr.Sweep(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Sweep: %d, %v; want 1", n, err)
	}
	get(t, announceURL(base, a, peer{"-NE0002-hhhhhhhhhhhh", 7003, 0}, ""), &r)
	if r.Complete != 2 {
		t.Errorf("complete %d after the sweep, want 2", r.Complete)
	}
}

// TestRealClients runs a seeder and a leecher of github.com/anacrolix/torrent
// on loopback, with DHT, PEX and every other way of finding peers off: the
// leecher finds the seeder only through this tracker, downloads the file and
// checks it against the original.
func TestRealClients(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			_, base := serve(t, st.open(t), func(o *Options) { o.Interval = 10 * time.Second })
			content := make([]byte, 3<<20+12345)
			rand.Read(content)
			seedDir := t.TempDir()
			if err := os.WriteFile(filepath.Join(seedDir, "payload.bin"), content, 0o644); err != nil {
				t.Fatal(err)
			}
			info := metainfo.Info{PieceLength: 256 << 10}
			if err := info.BuildFromFilePath(filepath.Join(seedDir, "payload.bin")); err != nil {
				t.Fatal(err)
			}
			mi := metainfo.MetaInfo{Announce: base + "/announce"}
			var err error
			if mi.InfoBytes, err = bencode.Marshal(info); err != nil {
				t.Fatal(err)
			}

			newClient := func(dir string, seed bool) *torrent.Client {
				cfg := torrent.NewDefaultClientConfig()
				cfg.DataDir = dir
				cfg.Seed = seed
				cfg.NoDHT = true
				cfg.DisablePEX = true
				cfg.DisableIPv6 = true
				cfg.DisableUTP = true
				cfg.DisableWebseeds = true
				cfg.NoDefaultPortForwarding = true
				cfg.ListenHost = func(string) string { return "127.0.0.1" }
				cfg.ListenPort = 0
				cl, err := torrent.NewClient(cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cl.Close() })
				return cl
			}
			seedCl := newClient(seedDir, true)
			seedT, err := seedCl.AddTorrent(&mi)
			if err != nil {
				t.Fatal(err)
			}
			<-seedT.GotInfo()
			if err := seedT.VerifyData(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(time.Minute); seedT.BytesCompleted() != seedT.Length(); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the seeder holds %d of %d bytes after verifying", seedT.BytesCompleted(), seedT.Length())
				}
			}

			leechDir := t.TempDir()
			leechCl := newClient(leechDir, false)
			leechT, err := leechCl.AddTorrent(&mi)
			if err != nil {
				t.Fatal(err)
			}
			<-leechT.GotInfo()
			leechT.DownloadAll()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			done := make(chan bool, 1)
			go func() { done <- leechCl.WaitAll() }()
			select {
			case ok := <-done:
				if !ok {
					t.Fatal("the leecher's client closed before the download finished")
				}
			case <-ctx.Done():
				t.Fatalf("no download after 2 minutes: the leecher has %d of %d bytes; stats %+v", leechT.BytesCompleted(), leechT.Length(), leechT.Stats())
			}
			got, err := os.ReadFile(filepath.Join(leechDir, "payload.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) {
				t.Fatalf("downloaded %d bytes that differ from the %d seeded", len(got), len(content))
			}
			t.Logf("leecher downloaded %d bytes through the tracker", len(got))
		})
	}
}
