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
	// SchemaVersion is the model's schema version, recorded in every record
	// written (Record.Schema). The default is 0. Raise it when a change to
	// the model needs old records to be upgraded (a field renamed or
	// retyped), and add the step to Upgrades. A record written by a newer
	// version than this is an error wrapping ErrCorrupt, and is never
	// overwritten by this Repo.
	SchemaVersion int
	// Upgrades[v] upgrades the stored value document of a record written at
	// schema version v to version v+1 (see Upgrade). Reading a record written
	// at version v runs Upgrades[v], Upgrades[v+1], ... up to
	// SchemaVersion-1, then decodes it; New checks that the steps form one
	// chain ending at SchemaVersion-1. After Migrate the oldest steps may be
	// deleted; a record older than the oldest step is then an error naming
	// what to do. With no steps at all, SchemaVersion is a label only and
	// records of any older version are decoded as they are. Steps need a
	// codec that stores JSON: the default, or a Codec whose output is JSON;
	// New refuses them with Gob.
	Upgrades map[int]Upgrade
	// CheckPassRecords bounds the records Check holds in memory at once,
	// about 60 bytes each plus the key. A model with more records is
	// checked in passes of this many, each of which lists the index entries
	// and claims and reads every claim again (see Check). The default is
	// 1,000,000.
	CheckPassRecords int
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
	if o.CheckPassRecords <= 0 {
		o.CheckPassRecords = 1_000_000
	}
	if o.ClaimLease <= 0 {
		o.ClaimLease = time.Minute
	}
}
