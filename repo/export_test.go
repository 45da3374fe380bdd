package repo

// IndexValues exposes the extractor a Repo uses (generated or reflection)
// to the benchmarks in package repo_test.
func IndexValues[T any](r *Repo[T], v *T) ([]string, error) { return r.indexOf(v, nil) }
