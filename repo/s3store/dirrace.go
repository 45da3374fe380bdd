package s3store

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Servers that keep objects as files (versitygw's posix backend) remove a
// directory when its last object is deleted. A PUT under the same directory
// at that moment finds its parent gone while it creates it, and fails with
// 409 ExistingObjectIsDirectory although no key is a directory of another
// (NoDB's layout never makes one). Such a PUT did not happen: it is safe to
// send again, which putObject does a few times before giving up.
const dirRaceRetries = 5

// putObject sends in, again if it lost a directory race; body is its body.
// attempts, if not nil, counts the SDK's attempts of the last send only: a
// send that lost the race did not happen, so it is no retry of a request
// that may have landed.
func (s *store) putObject(ctx context.Context, in *s3.PutObjectInput, body []byte, attempts *attemptCounter) (*s3.PutObjectOutput, error) {
	var optFns []func(*s3.Options)
	if attempts != nil {
		optFns = append(optFns, attempts.option)
	}
	for attempt := 0; ; attempt++ {
		in.Body = bytes.NewReader(body)
		if attempts != nil {
			attempts.n.Store(0)
		}
		out, err := s.client.PutObject(ctx, in, optFns...)
		if err == nil || attempt >= dirRaceRetries || !lostDirRace(err) {
			return out, err
		}
		t := time.NewTimer(time.Duration(attempt+1) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, err
		case <-t.C:
		}
	}
}

// lostDirRace reports whether err is a file-backed server's answer to a PUT
// whose parent directory was removed under it.
func lostDirRace(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ExistingObjectIsDirectory"
}
