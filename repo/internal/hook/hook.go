// Package hook lets package repo/gen reach into package repo without
// widening repo's exported API: repo/gen imports repo, so repo cannot
// import repo/gen; both import this package instead, and repo fills in
// its functions at init.
package hook

// Index describes one indexed field of a generated schema.
type Index struct {
	Field     string
	Unique    bool
	OmitEmpty bool
}

// Schema is a generated schema as package repo sees it (repo/gen copies
// its exported Schema into one).
type Schema[T any] struct {
	Key     string
	Indexes []Index
	KeyOf   func(v *T) (text, seg string, err error)
	IndexOf func(v *T, dst []string) ([]string, error)
}

// UseSchema makes r, a *repo.Repo[T] fresh from repo.New, use s, a
// *Schema[T], instead of reflection, after checking s against the
// struct's tags. Package repo sets it at init.
var UseSchema func(r, s any) error
