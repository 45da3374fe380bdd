package bookmarks

import (
	"time"

	"github.com/nodb-go/nodb/repo"
)

//go:generate go run github.com/nodb-go/nodb/cmd/nodbgen -type Bookmark

// Bookmark is the service's one model. The tags say what NoDB keeps
// indexes for: the key, a unique URL (409 on a second bookmark of one
// URL), a sparse index on Tag (the filter; most lookups are by tag, and
// untagged bookmarks cost no entry), and Created stored newest first, so
// that the first page of the newest bookmarks is one LIST.
type Bookmark struct {
	ID      string    `nodb:"key" json:"id"`
	URL     string    `nodb:"unique" json:"url"`
	Title   string    `json:"title"`
	Tag     string    `nodb:"index,omitempty" json:"tag,omitempty"`
	Created time.Time `nodb:"index,desc" json:"created"`
	Clicks  int       `json:"clicks"`
}

// SchemaVersion is the Bookmark schema this program writes. Version 0 (the
// service's first release) called the title "name"; version 1 renamed it.
// Records written by version 0 are upgraded when read (see [Options]).
const SchemaVersion = 1

// Options sets the schema version and the upgrade steps from older
// versions on o. [New] applies it; a program opening the same store with
// its own Repo of Bookmark should too.
func Options(o *repo.Options) {
	o.SchemaVersion = SchemaVersion
	o.Upgrades = map[int]repo.Upgrade{
		0: repo.RenameField("name", "title"), // version 0 -> 1
	}
}
