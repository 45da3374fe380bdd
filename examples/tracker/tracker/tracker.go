// Package tracker is an HTTP BitTorrent tracker whose swarms live in NoDB:
// announce (BEP 3) with compact peer lists (BEP 23, and peers6 for IPv6
// peers), numwant, interval and the started, stopped and completed events,
// and scrape (BEP 48). Peers are records with a nodb:"expires" time: a peer
// that stops announcing disappears from answers after two intervals, and
// [Tracker.Sweep] deletes it.
//
//	GET /announce?info_hash=..&peer_id=..&port=..&uploaded=..&downloaded=..&left=..[&event=..][&compact=0|1][&numwant=..][&no_peer_id=1]
//	GET /scrape?info_hash=..[&info_hash=..]
package tracker

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/object"
)

// Peer is one peer of one torrent's swarm, as it last announced itself.
type Peer struct {
	// Key is the info hash and peer id in hex: one record per peer and
	// torrent.
	Key string `nodb:"key" json:"key"`
	// Swarm is the info hash in hex, then "/seed" or "/leech": a prefix
	// query on the info hash lists the swarm; a count of one value is a
	// scrape's complete or incomplete figure, from LISTs alone.
	Swarm  string    `nodb:"index" json:"swarm"`
	PeerID string    `json:"peer_id"` // hex
	IP     string    `json:"ip"`
	Port   int       `json:"port"`
	Left   int64     `json:"left"`
	Expiry time.Time `nodb:"expires" json:"expires"`
}

// Torrent is what the tracker keeps per torrent beyond its peers.
type Torrent struct {
	InfoHash   string `nodb:"key" json:"info_hash"` // hex
	Downloaded int    `json:"downloaded"`           // completed events
}

// Options set up a Tracker. The zero value means the defaults.
type Options struct {
	// Interval is the announce interval told to clients; the default is
	// 30 minutes. A peer expires two intervals after its last announce.
	Interval time.Duration
	// DefaultNumWant is the number of peers sent when the client does not
	// say (default 50); MaxNumWant bounds what a client may ask for
	// (default 200).
	DefaultNumWant, MaxNumWant int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Tracker serves announces and scrapes.
type Tracker struct {
	peers    *repo.Repo[Peer]
	torrents *repo.Repo[Torrent]
	o        Options
	mux      *http.ServeMux
}

// New returns a Tracker keeping its swarms in st. st stays the caller's to
// close.
func New(st object.Store, opts ...func(*Options)) (*Tracker, error) {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if o.Interval <= 0 {
		o.Interval = 30 * time.Minute
	}
	if o.DefaultNumWant <= 0 {
		o.DefaultNumWant = 50
	}
	if o.MaxNumWant <= 0 {
		o.MaxNumWant = 200
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	peers, err := repo.New[Peer](st)
	if err != nil {
		return nil, err
	}
	torrents, err := repo.New[Torrent](st)
	if err != nil {
		return nil, err
	}
	t := &Tracker{peers: peers, torrents: torrents, o: o, mux: http.NewServeMux()}
	t.mux.HandleFunc("GET /announce", t.announce)
	t.mux.HandleFunc("GET /scrape", t.scrape)
	return t, nil
}

// ServeHTTP serves one request.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.mux.ServeHTTP(w, r) }

// Sweep deletes the peers whose expiry has passed, with their index
// entries, so that scrape counts (from listings) drop them too. Run it
// about once an interval.
func (t *Tracker) Sweep(ctx context.Context) (int, error) {
	rep, err := t.peers.DeleteExpired(ctx, "", nil)
	return rep.Deleted, err
}

// announceReq is a parsed announce.
type announceReq struct {
	infoHash, peerID string // hex
	port             int
	left             int64
	event            string
	compact, noID    bool
	numWant          int
	ip               netip.Addr
}

// failure answers with a BEP 3 failure reason (status 200, as clients
// expect a bencoded body).
func failure(w http.ResponseWriter, format string, args ...any) {
	var buf bytes.Buffer
	benc(&buf, map[string]any{"failure reason": fmt.Sprintf(format, args...)})
	w.Header().Set("Content-Type", "text/plain")
	w.Write(buf.Bytes())
}

// rawParam returns the raw bytes of a 20-byte parameter.
func hash20(q url.Values, name string) (string, error) {
	vs, ok := q[name]
	if !ok {
		return "", fmt.Errorf("%s is missing", name)
	}
	if len(vs[0]) != 20 {
		return "", fmt.Errorf("%s is %d bytes; want 20", name, len(vs[0]))
	}
	return hex.EncodeToString([]byte(vs[0])), nil
}

func (t *Tracker) parseAnnounce(r *http.Request) (announceReq, error) {
	q := r.URL.Query()
	var a announceReq
	var err error
	if a.infoHash, err = hash20(q, "info_hash"); err != nil {
		return a, err
	}
	if a.peerID, err = hash20(q, "peer_id"); err != nil {
		return a, err
	}
	if a.port, err = strconv.Atoi(q.Get("port")); err != nil || a.port < 1 || a.port > 65535 {
		return a, fmt.Errorf("port %q: want 1 to 65535", q.Get("port"))
	}
	for _, n := range []string{"uploaded", "downloaded", "left"} {
		v := q.Get(n)
		if v == "" {
			return a, fmt.Errorf("%s is missing", n)
		}
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil || x < 0 {
			return a, fmt.Errorf("%s %q: want a number of bytes", n, v)
		}
		if n == "left" {
			a.left = x
		}
	}
	switch a.event = q.Get("event"); a.event {
	case "", "started", "stopped", "completed", "empty":
	default:
		return a, fmt.Errorf("event %q: want started, stopped, completed or none", a.event)
	}
	a.compact = q.Get("compact") != "0"
	a.noID = q.Get("no_peer_id") == "1"
	a.numWant = t.o.DefaultNumWant
	if v := q.Get("numwant"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return a, fmt.Errorf("numwant %q: want a whole number", v)
		}
		a.numWant = min(n, t.o.MaxNumWant)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return a, fmt.Errorf("remote address %q: %v", r.RemoteAddr, err)
	}
	if a.ip, err = netip.ParseAddr(host); err != nil {
		return a, fmt.Errorf("remote address %q: %v", r.RemoteAddr, err)
	}
	a.ip = a.ip.Unmap()
	return a, nil
}

func swarmOf(infoHash string, left int64) string {
	if left == 0 {
		return infoHash + "/seed"
	}
	return infoHash + "/leech"
}

func (t *Tracker) announce(w http.ResponseWriter, r *http.Request) {
	a, err := t.parseAnnounce(r)
	if err != nil {
		failure(w, "%v", err)
		return
	}
	ctx := r.Context()
	key := a.infoHash + a.peerID
	if a.event == "stopped" {
		if err := t.peers.Delete(ctx, key); err != nil && !errors.Is(err, repo.ErrNotFound) {
			failure(w, "%v", err)
			return
		}
	} else {
		p := Peer{Key: key, Swarm: swarmOf(a.infoHash, a.left), PeerID: a.peerID, IP: a.ip.String(), Port: a.port, Left: a.left,
			Expiry: t.o.Now().Add(2 * t.o.Interval).UTC()}
		if err := t.peers.Put(ctx, p); err != nil {
			failure(w, "%v", err)
			return
		}
	}
	if a.event == "completed" {
		if err := t.completed(ctx, a.infoHash); err != nil {
			failure(w, "%v", err)
			return
		}
	}
	complete, incomplete, err := t.counts(ctx, a.infoHash)
	if err != nil {
		failure(w, "%v", err)
		return
	}
	resp := map[string]any{
		"interval":     int(t.o.Interval / time.Second),
		"min interval": int(t.o.Interval / 2 / time.Second),
		"complete":     complete,
		"incomplete":   incomplete,
	}
	var peers []Peer
	if a.event != "stopped" && a.numWant > 0 {
		// One more than wanted: the asking peer may be among them.
		q := t.peers.Query().Prefix("Swarm", a.infoHash+"/").Limit(a.numWant + 1)
		for p, err := range q.All(ctx) {
			if err != nil {
				failure(w, "%v", err)
				return
			}
			if p.Key != key && len(peers) < a.numWant {
				peers = append(peers, p)
			}
		}
	}
	if a.compact {
		var v4, v6 []byte
		for _, p := range peers {
			ip, err := netip.ParseAddr(p.IP)
			if err != nil {
				continue
			}
			port := []byte{byte(p.Port >> 8), byte(p.Port)}
			if ip.Is4() {
				v4 = append(append(v4, ip.AsSlice()...), port...)
			} else {
				v6 = append(append(v6, ip.AsSlice()...), port...)
			}
		}
		resp["peers"] = string(v4)
		if len(v6) > 0 {
			resp["peers6"] = string(v6)
		}
	} else {
		list := []any{}
		for _, p := range peers {
			d := map[string]any{"ip": p.IP, "port": p.Port}
			if !a.noID {
				id, _ := hex.DecodeString(p.PeerID)
				d["peer id"] = string(id)
			}
			list = append(list, d)
		}
		resp["peers"] = list
	}
	var buf bytes.Buffer
	benc(&buf, resp)
	w.Header().Set("Content-Type", "text/plain")
	w.Write(buf.Bytes())
}

// completed counts a completed download of the torrent.
func (t *Tracker) completed(ctx context.Context, infoHash string) error {
	for {
		_, err := t.torrents.Update(ctx, infoHash, func(tr *Torrent) error { tr.Downloaded++; return nil })
		if !errors.Is(err, repo.ErrNotFound) {
			return err
		}
		err = t.torrents.Create(ctx, Torrent{InfoHash: infoHash, Downloaded: 1})
		if !errors.Is(err, repo.ErrExists) {
			return err
		}
		// Another announce created it first: count on it.
	}
}

// counts returns the swarm's seeders and leechers from index listings
// alone (2 LISTs for swarms under 1000 peers each). Peers past their
// expiry count until Sweep removes them.
func (t *Tracker) counts(ctx context.Context, infoHash string) (complete, incomplete int, err error) {
	if complete, err = t.peers.CountBy(ctx, "Swarm", infoHash+"/seed"); err != nil {
		return
	}
	incomplete, err = t.peers.CountBy(ctx, "Swarm", infoHash+"/leech")
	return
}

func (t *Tracker) scrape(w http.ResponseWriter, r *http.Request) {
	hashes := r.URL.Query()["info_hash"]
	if len(hashes) == 0 {
		failure(w, "scrape needs info_hash: this tracker does not list every torrent")
		return
	}
	if len(hashes) > 100 {
		failure(w, "scrape of %d torrents: at most 100 at once", len(hashes))
		return
	}
	ctx := r.Context()
	files := map[string]any{}
	for _, h := range hashes {
		if len(h) != 20 {
			failure(w, "info_hash is %d bytes; want 20", len(h))
			return
		}
		ih := hex.EncodeToString([]byte(h))
		complete, incomplete, err := t.counts(ctx, ih)
		if err != nil {
			failure(w, "%v", err)
			return
		}
		downloaded := 0
		switch tr, err := t.torrents.Get(ctx, ih); {
		case err == nil:
			downloaded = tr.Downloaded
		case !errors.Is(err, repo.ErrNotFound):
			failure(w, "%v", err)
			return
		}
		files[h] = map[string]any{"complete": complete, "incomplete": incomplete, "downloaded": downloaded}
	}
	var buf bytes.Buffer
	benc(&buf, map[string]any{"files": files})
	w.Header().Set("Content-Type", "text/plain")
	w.Write(buf.Bytes())
}

// ScrapeURL returns the scrape URL of an announce URL, by the BEP 48
// convention (the last path segment "announce" becomes "scrape"), or ""
// when the announce URL does not follow it.
func ScrapeURL(announce string) string {
	i := strings.LastIndex(announce, "/")
	if i < 0 || !strings.HasPrefix(announce[i+1:], "announce") {
		return ""
	}
	return announce[:i+1] + "scrape" + announce[i+1+len("announce"):]
}
