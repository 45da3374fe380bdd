//go:build extra

package tags

// Tagged is a model only with the build tag extra.
type Tagged struct {
	ID string `nodb:"key"`
}
