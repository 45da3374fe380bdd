package stale

func use() { _, _ = NewUserRepo(nil) }
