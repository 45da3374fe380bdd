package s3store

import "github.com/nodb-go/nodb/repo"

// Importing this package registers the s3:// scheme with repo.Open:
//
//	import _ "github.com/nodb-go/nodb/repo/s3store"
func init() { repo.Register(Scheme, OpenURL) }
