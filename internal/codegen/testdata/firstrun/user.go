package firstrun

// User is a model whose helpers other files use before they exist.
type User struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
}
