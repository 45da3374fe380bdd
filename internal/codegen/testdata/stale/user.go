package stale

import "time"

// User was changed after its helpers were generated: Email became Mail,
// Age became a uint and Seen is new.
type User struct {
	ID   int64     `nodb:"key"`
	Mail string    `nodb:"unique"`
	Age  uint      `nodb:"index"`
	Seen time.Time `nodb:"index"`
}
