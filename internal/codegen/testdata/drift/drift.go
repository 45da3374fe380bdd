// Package drift has models that TestModelDrift changes without
// regenerating their helpers, to see what builds and what fails.
package drift

// Each model starts as this shape; the test's overlay changes one thing.

type Added struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string
}

type Removed struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	City  string `nodb:"index"`
}

type Sparse struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
}

type Demoted struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
}

type Rekeyed struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
}

type Renamed struct {
	ID   string `nodb:"key"`
	City string `nodb:"index"`
}

type Retyped struct {
	ID  string `nodb:"key"`
	Age int    `nodb:"index"`
}

type Untagged struct {
	ID   string `nodb:"key"`
	City string `nodb:"index"`
	Note string
}
