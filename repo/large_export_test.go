package repo

// SetMaxRecordSize lowers the record size limit for a test and returns a
// function that restores it.
func SetMaxRecordSize(n int64) (restore func()) {
	old := maxRecordSize
	maxRecordSize = n
	return func() { maxRecordSize = old }
}
