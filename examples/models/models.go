// Package models shows NoDB models with the helpers nodbgen generates for
// them (user_nodb.go, order_nodb.go; run go generate after changing a
// model's key or indexed fields).
package models

import "time"

//go:generate go run github.com/nodb-go/nodb/cmd/nodbgen -type User,Order

// User is a person using the service.
type User struct {
	ID    string    `nodb:"key"`
	Email string    `nodb:"unique"`
	City  string    `nodb:"index"`
	Age   int       `nodb:"index"`
	Seen  time.Time `nodb:"index,desc"` // stored newest first: "recently seen" pages cost 1 LIST
	Tags  []string  `nodb:"index"`      // a list: every tag indexed, FindByTags(ctx, "go")
	Bio   string
}

// Order is a purchase by a User.
type Order struct {
	ID       int64   `nodb:"key"`
	Customer string  `nodb:"index"` // the User's ID
	Total    float64 `nodb:"index"`
	Coupon   string  `nodb:"index,omitempty"` // most orders have none
	Status   Status  `nodb:"index"`
	Paid     bool    `nodb:"index"`
	Notes    string
}

// Status is the state of an Order.
type Status string

// The states of an Order.
const (
	Pending  Status = "pending"
	Shipped  Status = "shipped"
	Canceled Status = "canceled"
)
