package faults_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nodb-go/nodb/internal/faults"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

// writeThree makes three requests: Put a, Put b, Put c.
func writeThree(ctx context.Context, st object.Store) []error {
	var errs []error
	for _, k := range []string{"a", "b", "c"} {
		_, err := st.Put(ctx, k, []byte(k), object.PutOptions{})
		errs = append(errs, err)
	}
	return errs
}

// stored reports which of a, b, c reached the inner store.
func stored(t *testing.T, st object.Store) string {
	t.Helper()
	s := ""
	for info, err := range object.All(t.Context(), st, "", "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		s += info.Key
	}
	return s
}

// failed renders which requests failed, e.g. "..x" when the third did.
func failed(t *testing.T, errs []error) string {
	t.Helper()
	s := ""
	for _, err := range errs {
		switch {
		case err == nil:
			s += "."
		case errors.Is(err, faults.ErrInjected):
			s += "x"
		default:
			t.Fatalf("error not injected: %v", err)
		}
	}
	return s
}

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		n        int
		mode     faults.Mode
		failed   string // per request: . ok, x injected
		stored   string // keys that reached the inner store
		injected int
	}{
		{0, faults.Crash, "...", "abc", 0},
		{1, faults.Crash, "xxx", "", 3},
		{2, faults.Crash, ".xx", "a", 2},
		{3, faults.Crash, "..x", "ab", 1},
		{4, faults.Crash, "...", "abc", 0},
		{1, faults.CrashAfterSend, "xxx", "a", 3},
		{2, faults.CrashAfterSend, ".xx", "ab", 2},
		{3, faults.CrashAfterSend, "..x", "abc", 1},
		{1, faults.LoseResponse, "x..", "abc", 1},
		{2, faults.LoseResponse, ".x.", "abc", 1},
		{-1, faults.LoseResponse, "...", "abc", 0},
	} {
		t.Run(fmt.Sprintf("%v/%d", tc.mode, tc.n), func(t *testing.T) {
			inner := memstore.New()
			st := faults.New(inner)
			st.Arm(tc.n, tc.mode)
			errs := writeThree(t.Context(), st)
			if got := failed(t, errs); got != tc.failed {
				t.Errorf("failed requests %q; want %q", got, tc.failed)
			}
			if got := stored(t, inner); got != tc.stored {
				t.Errorf("stored %q; want %q", got, tc.stored)
			}
			if got := st.Requests(); got != 3 {
				t.Errorf("Requests() = %d; want 3", got)
			}
			if got := st.Injected(); got != tc.injected {
				t.Errorf("Injected() = %d; want %d", got, tc.injected)
			}
		})
	}
}

func TestEveryMethod(t *testing.T) {
	ctx := t.Context()
	inner := memstore.New()
	if _, err := inner.Put(ctx, "k", []byte("v"), object.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	st := faults.New(inner)
	calls := map[string]func() error{
		"Get":  func() error { _, err := st.Get(ctx, "k", object.GetOptions{}); return err },
		"Head": func() error { _, err := st.Head(ctx, "k"); return err },
		"Put":  func() error { _, err := st.Put(ctx, "k", []byte("v"), object.PutOptions{}); return err },
		"Delete": func() error {
			err := st.Delete(ctx, "gone", object.DeleteOptions{})
			return err
		},
		"List": func() error { _, err := st.List(ctx, object.ListOptions{}); return err },
	}
	for name, call := range calls {
		for _, mode := range []faults.Mode{faults.Crash, faults.CrashAfterSend, faults.LoseResponse} {
			st.Arm(1, mode)
			if err := call(); !errors.Is(err, faults.ErrInjected) {
				t.Errorf("%s armed at 1 (%v): error %v; want ErrInjected", name, mode, err)
			}
		}
		st.Disarm()
		if err := call(); err != nil {
			t.Errorf("%s disarmed: %v", name, err)
		}
	}
	if st.Capabilities() != inner.Capabilities() {
		t.Error("Capabilities not forwarded")
	}
	if st.Unwrap() != inner {
		t.Error("Unwrap does not return the inner store")
	}
	// Close is no request: armed to crash at once, it still closes the
	// inner store, which then refuses calls.
	st.Arm(1, faults.Crash)
	if err := st.Close(); err != nil {
		t.Fatalf("Close armed to crash: %v", err)
	}
	if st.Requests() != 0 {
		t.Errorf("Close was numbered as a request: %d requests", st.Requests())
	}
	if _, err := inner.Head(ctx, "k"); !errors.Is(err, object.ErrClosed) {
		t.Errorf("Head on the inner store after Close: %v; want ErrClosed", err)
	}
}

// TestLostResponseLanded: a lost Put response hides a write that landed, and
// a lost Delete response hides a delete that happened.
func TestLostResponseLanded(t *testing.T) {
	ctx := t.Context()
	inner := memstore.New()
	st := faults.New(inner)
	st.Arm(1, faults.LoseResponse)
	if _, err := st.Put(ctx, "k", []byte("v"), object.PutOptions{IfNoneMatch: "*"}); !errors.Is(err, faults.ErrInjected) {
		t.Fatalf("Put: %v; want ErrInjected", err)
	}
	// A retry sees the first attempt's write.
	if _, err := st.Put(ctx, "k", []byte("v"), object.PutOptions{IfNoneMatch: "*"}); !errors.Is(err, object.ErrPrecondition) {
		t.Errorf("retried Put: %v; want ErrPrecondition", err)
	}
	st.Arm(1, faults.LoseResponse)
	if err := st.Delete(ctx, "k", object.DeleteOptions{}); !errors.Is(err, faults.ErrInjected) {
		t.Fatalf("Delete: %v; want ErrInjected", err)
	}
	if _, err := inner.Head(ctx, "k"); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("Head after a Delete whose response was lost: %v; want ErrNotFound", err)
	}
}

func TestErrorMessage(t *testing.T) {
	st := faults.New(memstore.New())
	st.Arm(1, faults.CrashAfterSend)
	_, err1 := st.Put(t.Context(), "key1", nil, object.PutOptions{})
	_, err2 := st.Head(t.Context(), "key2")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{err1, `faults: Put "key1" (request 1): response lost: faults: injected failure`},
		{err2, `faults: Head "key2" (request 2): not sent: faults: injected failure`},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error %v; want %q", tc.err, tc.want)
		}
	}
	if got := faults.LoseResponse.String(); got != "lose response" {
		t.Errorf("LoseResponse.String() = %q", got)
	}
}

// TestConcurrent: with concurrent requests, exactly the requests from the
// nth on fail, whichever goroutines make them.
func TestConcurrent(t *testing.T) {
	const n, total = 50, 200
	inner := memstore.New()
	st := faults.New(inner)
	st.Arm(n, faults.Crash)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		fail int
	)
	for i := range total {
		wg.Go(func() {
			_, err := st.Put(context.Background(), fmt.Sprint(i), nil, object.PutOptions{})
			if err != nil {
				if !errors.Is(err, faults.ErrInjected) {
					t.Errorf("Put: %v", err)
				}
				mu.Lock()
				fail++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if fail != total-n+1 || st.Injected() != fail || st.Requests() != total {
		t.Errorf("%d failed, Injected %d, Requests %d; want %d, %d, %d", fail, st.Injected(), st.Requests(), total-n+1, total-n+1, total)
	}
	if got := len(stored(t, inner)); got == 0 {
		t.Error("nothing stored")
	}
	count := 0
	for _, err := range object.All(t.Context(), inner, "", "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != n-1 {
		t.Errorf("%d objects stored; want %d", count, n-1)
	}
}
