package s3store

// SetMaxBody lowers the body size limit for a test and returns a function
// that restores it.
func SetMaxBody(n int64) (restore func()) {
	old := maxBody
	maxBody = n
	return func() { maxBody = old }
}
