package change

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/nodb-go/nodb/repo/object"
)

// Dedup remembers the events it has passed on, to skip duplicates without
// a request. It is safe for concurrent use.
type Dedup struct {
	mu    sync.Mutex
	size  int
	seen  map[string]bool
	order []string // FIFO of seen, for eviction
	next  int
}

// NewDedup returns a Dedup that remembers the last size events (at least 1).
// In a Lambda function, keep it in a package variable: a warm container
// then skips the duplicates it is sent again.
func NewDedup(size int) *Dedup {
	size = max(size, 1)
	return &Dedup{size: size, seen: make(map[string]bool, size), order: make([]string, 0, size)}
}

// Handler returns a handler that passes each event to h unless an event
// with the same bucket, key, name and sequencer was passed on before and
// h succeeded for it. Events without a sequencer are always passed on.
func (d *Dedup) Handler(h Handler) Handler {
	return func(ctx context.Context, e Event) error {
		if e.Sequencer == "" {
			return h(ctx, e)
		}
		id := e.Bucket + "\x00" + e.Key + "\x00" + e.Name + "\x00" + e.Sequencer
		d.mu.Lock()
		dup := d.seen[id]
		d.mu.Unlock()
		if dup {
			return nil
		}
		if err := h(ctx, e); err != nil {
			return err
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.seen[id] {
			return nil
		}
		if len(d.order) < d.size {
			d.order = append(d.order, id)
		} else {
			delete(d.seen, d.order[d.next])
			d.order[d.next] = id
			d.next = (d.next + 1) % d.size
		}
		d.seen[id] = true
		return nil
	}
}

// Notifier is an object.Store that reports every successful Put and
// Delete to a handler, as S3 notifications would: after the write, on a
// goroutine of its own, so events may reach the handler in any order and
// concurrently. Use it over mem:// and file:// stores to run the same
// handlers as in production. Events carry the store's object names (no
// bucket), the new version as ETag, and a sequencer that increases with
// every write through this Notifier.
type Notifier struct {
	object.Store
	h   Handler
	seq atomic.Uint64

	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// Notify returns a Notifier that forwards to st and reports its writes to
// h. Handlers run with a context that is never cancelled; their errors are
// kept for [Notifier.Wait].
func Notify(st object.Store, h Handler) *Notifier {
	return &Notifier{Store: st, h: h}
}

// Put forwards to the store and, if the write succeeded, reports an
// ObjectCreated:Put event.
func (n *Notifier) Put(ctx context.Context, key string, body []byte, opts object.PutOptions) (object.Info, error) {
	info, err := n.Store.Put(ctx, key, body, opts)
	if err == nil {
		n.emit(Event{Name: "ObjectCreated:Put", Key: key, ETag: info.Version})
	}
	return info, err
}

// Delete forwards to the store and, if it succeeded, reports an
// ObjectRemoved:Delete event.
func (n *Notifier) Delete(ctx context.Context, key string, opts object.DeleteOptions) error {
	err := n.Store.Delete(ctx, key, opts)
	if err == nil {
		n.emit(Event{Name: "ObjectRemoved:Delete", Key: key})
	}
	return err
}

func (n *Notifier) emit(e Event) {
	e.Sequencer = fmt.Sprintf("%016X", n.seq.Add(1))
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.h(context.Background(), e); err != nil {
			n.mu.Lock()
			n.errs = append(n.errs, fmt.Errorf("change: handling %s %s: %w", e.Name, e.Key, err))
			n.mu.Unlock()
		}
	}()
}

// Wait waits until the handler has returned for every event reported so
// far, including events of writes the handler itself made, and returns
// (and forgets) the errors it returned. In tests, call it after writing
// and before querying an asynchronous index: the indexer has caught up
// when it returns.
func (n *Notifier) Wait() error {
	n.wg.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	err := errors.Join(n.errs...)
	n.errs = nil
	return err
}

// Unwrap returns the wrapped store.
func (n *Notifier) Unwrap() object.Store { return n.Store }

// maxWebhookBody bounds the body a webhook accepts.
const maxWebhookBody = 8 << 20

// Webhook returns an http.Handler that receives S3 event notifications
// posted by S3-compatible servers (versitygw's --event-webhook-url, say),
// parses them with [Parse] and passes each event to h before it answers:
// 204 when every event was handled, 400 for a body that is not a
// notification, 500 with the errors otherwise (servers that post
// fire-and-forget do not retry, so a sweep must catch up). Handling goes on
// if the poster hangs up. Other methods than POST get 405.
func Webhook(h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "change: webhook: POST an S3 event notification", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, maxWebhookBody+1))
		if err == nil && len(body) > maxWebhookBody {
			err = fmt.Errorf("body larger than %d bytes", maxWebhookBody)
		}
		if err != nil {
			http.Error(w, "change: webhook: "+err.Error(), http.StatusBadRequest)
			return
		}
		events, err := Parse(body)
		if err != nil && len(events) == 0 {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Posters time out and hang up (versitygw after 3 s) without
		// retrying: finish the work rather than lose the event.
		if herr := Deliver(context.WithoutCancel(req.Context()), events, h); herr != nil {
			err = errors.Join(err, herr)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
