package s3test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ErrReplyLost is the error LoseReplies returns for a request whose reply
// it threw away. The SDK treats it like a broken connection and retries.
var ErrReplyLost = errors.New("s3test: connection reset after the request reached the server (reply lost on purpose)")

// LoseReplies is an HTTP transport for S3 clients that loses replies on
// purpose: every request goes to the server, but for a request that a
// planned loss matches, the server's reply is read, thrown away, and
// ErrReplyLost is returned instead, as if the connection had broken after
// the server acted. The SDK then retries the request, which is what NoDB
// must handle: a write that landed although its caller saw an error.
// Install it with Option; plan losses with LoseNext. It is safe for
// concurrent use.
type LoseReplies struct {
	// Base sends the requests; nil means a clone of http.DefaultTransport.
	Base http.RoundTripper

	once  sync.Once
	mu    sync.Mutex
	plans []*lossPlan
	lost  []string // "METHOD /path (status)" of every lost reply
}

type lossPlan struct {
	match     func(*http.Request) bool
	meanwhile func()
}

// Option is a client option that sends the client's requests through l.
func (l *LoseReplies) Option(o *s3.Options) {
	o.HTTPClient = &http.Client{Transport: l}
}

// LoseNext plans the loss of the reply to the next request that match
// selects (match sees each request before it is sent). meanwhile, if not
// nil, runs after that request has reached the server and before the
// client sees the error: a second client can write there, as another
// writer would between a lost reply and the retry. Plans are used once,
// in the order they were made.
func (l *LoseReplies) LoseNext(match func(*http.Request) bool, meanwhile func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.plans = append(l.plans, &lossPlan{match, meanwhile})
}

// Lost returns the requests whose replies were lost so far, as "METHOD
// /path (HTTP status)", in order.
func (l *LoseReplies) Lost() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lost...)
}

// Pending reports how many planned losses have not happened yet.
func (l *LoseReplies) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.plans)
}

// RoundTrip implements http.RoundTripper.
func (l *LoseReplies) RoundTrip(req *http.Request) (*http.Response, error) {
	l.once.Do(func() {
		if l.Base == nil {
			l.Base = http.DefaultTransport.(*http.Transport).Clone()
		}
	})
	l.mu.Lock()
	var plan *lossPlan
	for i, p := range l.plans {
		if p.match(req) {
			plan = p
			l.plans = append(l.plans[:i:i], l.plans[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	resp, err := l.Base.RoundTrip(req)
	if plan == nil || err != nil {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.mu.Lock()
	l.lost = append(l.lost, fmt.Sprintf("%s %s (HTTP %d)", req.Method, req.URL.Path, resp.StatusCode))
	l.mu.Unlock()
	if plan.meanwhile != nil {
		plan.meanwhile()
	}
	return nil, ErrReplyLost
}

// Request returns a match for LoseNext: requests with this HTTP method
// whose URL path ends in "/" + key (the bucket comes first in path-style
// URLs, and key includes any store prefix).
func Request(method, key string) func(*http.Request) bool {
	return func(req *http.Request) bool {
		return req.Method == method && len(req.URL.Path) > len(key) && req.URL.Path[len(req.URL.Path)-len(key)-1:] == "/"+key
	}
}
