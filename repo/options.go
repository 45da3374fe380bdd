package repo

import "time"

// Options configure a Repo. The zero value means "defaults"; pass functions
// that set fields to New:
//
//	users, err := repo.New[User](st, func(o *repo.Options) {
//		o.Model = "people"
//		o.Compress = true
//	})
type Options struct {
	// Model names the model in the store: its objects live under
	// "<Prefix><Model>/". The default is the Go type's name. Letters, digits,
	// '-', '.' and '_' only.
	Model string
	// Prefix is prepended to every object name, e.g. "myapp/". It is joined
	// with the model name with a "/" if it does not end in one.
	Prefix string
	// Codec encodes values. The default is JSON.
	Codec Codec
	// Compress gzips record bodies. Reading detects compression by itself,
	// so a model can switch either way at any time.
	Compress bool
	// Concurrency bounds the requests one call issues in parallel (index
	// writes, fetching query results). The default is 16.
	Concurrency int
	// HashKeys stores record keys as SHA-256 hex digests, for keys that must
	// not appear in object names or that are too long for them. All then
	// lists in digest order, not key order. It must not change for a model
	// that has records.
	HashKeys bool
	// MaxRetries bounds the attempts Update and Put make when a concurrent
	// writer changed the record first. The default is 100.
	MaxRetries int
	// ClaimLease is how old, by the store's clock, a unique claim of a
	// record create that never committed must be before another writer may
	// take the value over. The default is one minute. A writer that stalls
	// longer than this between claiming a value and creating its record can
	// lose the claim; see the package documentation.
	ClaimLease time.Duration
	// SchemaVersion is recorded in every record written, so that code can
	// tell old records from new ones (Record.Schema). The default is 0.
	SchemaVersion int

	// schema is set by generated code (see WithSchema).
	schema any
}

func (o *Options) fill() {
	if o.Codec == nil {
		o.Codec = JSON
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 100
	}
	if o.ClaimLease <= 0 {
		o.ClaimLease = time.Minute
	}
}
