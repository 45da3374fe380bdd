// Package change turns S3 event notifications into events a program can
// act on, and gives the same events without AWS: [Notify] wraps a local
// store (mem://, file://) and reports its writes, [Webhook] receives the
// notifications S3-compatible servers post to a URL.
//
// An [Event] says "this object was written" or "this object was removed".
// Package repo turns the events that name records of a model into typed
// changes (repo.Change[T], read from the store) and keeps asynchronous
// indexes up to date from them (Repo.Indexer); this package knows nothing
// of models.
//
// # Delivery
//
// Notifications arrive at least once, in any order, sometimes long after
// the write; duplicates carry the same sequencer, and two quick writes of
// one key may yield a single event. S3-compatible servers may lose them
// (versitygw posts each once, without retry). So an event is a hint, "look
// at this key": a handler reads the current state and acts idempotently.
// [Dedup] skips duplicates without a request; a sweep (repo's
// SweepIndexes) catches up after lost events.
//
// # Loops
//
// A handler that writes into the bucket it listens to is fed its own
// writes. Configure the notification with a key prefix filter on the
// record objects ("<prefix><model>/r/"): index entries, claims and the
// indexer's state objects are then never sent. Events for them that arrive
// anyway are dropped by repo's handlers from the object name alone,
// without a request.
package change

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Event is one object notification.
type Event struct {
	// Name is the event name as S3 gives it, e.g. "ObjectCreated:Put" or
	// "s3:ObjectRemoved:Delete" (servers differ on the "s3:" prefix).
	Name string
	// Bucket is the bucket's name ("" from a local source).
	Bucket string
	// Key is the object name, URL-decoded.
	Key string
	// ETag, VersionID and Sequencer are as S3 sends them ("" if absent).
	// Sequencers of one key order its events: see [Later].
	ETag, VersionID, Sequencer string
	// Time is the event time (zero if absent or unparsable).
	Time time.Time
}

// Removed reports whether the event reports a deletion (ObjectRemoved:*).
func (e Event) Removed() bool {
	return strings.HasPrefix(strings.TrimPrefix(e.Name, "s3:"), "ObjectRemoved:")
}

// Created reports whether the event reports a write (ObjectCreated:*).
func (e Event) Created() bool {
	return strings.HasPrefix(strings.TrimPrefix(e.Name, "s3:"), "ObjectCreated:")
}

// Later reports whether sequencer a is later than b, for events of one
// key: the shorter is right-padded with zeros, then they compare as
// strings. Sequencers of different keys do not compare.
func Later(a, b string) bool {
	for len(a) < len(b) {
		a += "0"
	}
	for len(b) < len(a) {
		b += "0"
	}
	return a > b
}

// Handler acts on one event. It must be idempotent: it may see an event
// twice, late, or out of order.
type Handler func(ctx context.Context, e Event) error

// record is the JSON of one notification record (AWS's format, and the
// one S3-compatible servers post).
type record struct {
	EventName string `json:"eventName"`
	EventTime string `json:"eventTime"`
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string  `json:"key"`
			ETag      *string `json:"eTag"`
			VersionID *string `json:"versionId"`
			Sequencer string  `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// Parse decodes an S3 event notification: a JSON object with a Records
// array, as S3 sends to Lambda, SQS or SNS and S3-compatible servers post
// to webhooks. Object keys are URL-decoded ('+' is a space). Records that
// are not object events (s3:TestEvent, say) are left out. A body that is not
// such JSON, or a key that does not decode, is an error.
func Parse(body []byte) ([]Event, error) {
	var doc struct {
		Records []record `json:"Records"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("change: not an S3 event notification: %v", err)
	}
	out := make([]Event, 0, len(doc.Records))
	var errs []error
	for i, rec := range doc.Records {
		e := Event{Name: rec.EventName, Bucket: rec.S3.Bucket.Name, Sequencer: rec.S3.Object.Sequencer}
		if !e.Created() && !e.Removed() {
			continue
		}
		key, err := url.QueryUnescape(rec.S3.Object.Key)
		if err != nil {
			errs = append(errs, fmt.Errorf("change: record %d: object key %q: %v", i, rec.S3.Object.Key, err))
			continue
		}
		e.Key = key
		if rec.S3.Object.ETag != nil {
			e.ETag = *rec.S3.Object.ETag
		}
		if rec.S3.Object.VersionID != nil {
			e.VersionID = *rec.S3.Object.VersionID
		}
		if t, err := time.Parse(time.RFC3339Nano, rec.EventTime); err == nil {
			e.Time = t
		}
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}

// Deliver passes each event to each handler, in order, and returns the
// handlers' errors joined. Every event reaches every handler whatever the
// others return.
func Deliver(ctx context.Context, events []Event, hs ...Handler) error {
	var errs []error
	for _, e := range events {
		for _, h := range hs {
			if err := h(ctx, e); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Within returns a handler that passes on the events of bucket (any bucket
// if "") whose key starts with prefix, with prefix cut from the key, and
// drops the others. Use it when the store a Repo works on is rooted at a
// prefix of the bucket (s3://bucket/prefix): repo's handlers expect keys
// as the store names them.
func Within(bucket, prefix string, h Handler) Handler {
	return func(ctx context.Context, e Event) error {
		if bucket != "" && e.Bucket != bucket || !strings.HasPrefix(e.Key, prefix) {
			return nil
		}
		e.Key = e.Key[len(prefix):]
		return h(ctx, e)
	}
}
