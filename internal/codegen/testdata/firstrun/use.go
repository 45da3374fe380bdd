package firstrun

// Users uses the generated constructor, which does not exist yet.
func Users() *UserRepo {
	r, err := NewUserRepo(nil)
	if err != nil {
		panic(err)
	}
	_ = r.GetByEmail
	return r
}

// An unrelated type error elsewhere in the package.
var _ int = "not an int"
