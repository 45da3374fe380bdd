package s3test

import (
	"context"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// EditRequests returns a client option that calls fn on every attempt's
// HTTP request (retries included) before it is signed, with the operation's
// name ("PutObject"), so that tests can change headers or fail attempts. A
// non-nil error from fn fails the attempt.
func EditRequests(fn func(op string, req *smithyhttp.Request) error) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("s3test.EditRequests",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						if err := fn(awsmiddleware.GetOperationName(ctx), req); err != nil {
							return middleware.FinalizeOutput{}, middleware.Metadata{}, err
						}
					}
					return next.HandleFinalize(ctx, in)
				}), "Signing", middleware.Before)
		})
	}
}

// RequestCounter counts the HTTP requests a client sends, by operation
// name, every attempt (retries included). Install it with its Option.
type RequestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

// Option is a client option that makes the client count into c.
func (c *RequestCounter) Option(o *s3.Options) {
	EditRequests(func(op string, _ *smithyhttp.Request) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[op]++
		return nil
	})(o)
}

// Reset returns the counts so far and starts over.
func (c *RequestCounter) Reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	if n == nil {
		n = map[string]int{}
	}
	c.n = map[string]int{}
	return n
}
