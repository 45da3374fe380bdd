package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/nodb-go/nodb/repo/object"
)

func TestPutGetDelete(t *testing.T) {
	ctx := context.Background()
	st := New()
	body := []byte("hello")
	info, err := st.Put(ctx, "a/b", body, object.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body[0] = 'X' // the store must have copied it
	if info.Key != "a/b" || info.Size != 5 || info.Version == "" || info.LastModified.IsZero() {
		t.Fatalf("Put returned %+v", info)
	}
	obj, err := st.Get(ctx, "a/b", object.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(obj.Body) != "hello" || obj.Info != info {
		t.Fatalf("Get = %+v %q, want %+v hello", obj.Info, obj.Body, info)
	}
	obj.Body[0] = 'Y'
	if obj, _ := st.Get(ctx, "a/b", object.GetOptions{}); string(obj.Body) != "hello" {
		t.Fatalf("body changed through the returned slice: %q", obj.Body)
	}
	if _, err := st.Get(ctx, "a/b", object.GetOptions{IfNoneMatch: info.Version}); !errors.Is(err, object.ErrNotModified) {
		t.Fatalf("Get IfNoneMatch current: %v", err)
	}
	if h, err := st.Head(ctx, "a/b"); err != nil || h != info {
		t.Fatalf("Head = %+v, %v", h, err)
	}
	// x and x/y can both exist in memory.
	if _, err := st.Put(ctx, "a", nil, object.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if obj, err := st.Get(ctx, "a", object.GetOptions{}); err != nil || obj.Body == nil || len(obj.Body) != 0 {
		t.Fatalf("Get empty body = %q (nil %v), %v", obj.Body, obj.Body == nil, err)
	}
	if err := st.Delete(ctx, "a/b", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "a/b", object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if _, err := st.Head(ctx, "a/b"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Head after Delete: %v", err)
	}
	if err := st.Delete(ctx, "a/b", object.DeleteOptions{}); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
}

func TestConditions(t *testing.T) {
	ctx := context.Background()
	st := New()
	if _, err := st.Put(ctx, "k", []byte("1"), object.PutOptions{IfMatch: "nope"}); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("IfMatch on missing key: %v", err)
	}
	v1, err := st.Put(ctx, "k", []byte("1"), object.PutOptions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "k", []byte("1"), object.PutOptions{IfNoneMatch: "*"}); !errors.Is(err, object.ErrPrecondition) {
		t.Fatalf("IfNoneMatch on existing key: %v", err)
	}
	v2, err := st.Put(ctx, "k", []byte("1"), object.PutOptions{IfMatch: v1.Version})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version == v1.Version {
		t.Fatal("same bytes written twice gave the same version")
	}
	if _, err := st.Put(ctx, "k", []byte("2"), object.PutOptions{IfMatch: v1.Version}); !errors.Is(err, object.ErrPrecondition) {
		t.Fatalf("stale IfMatch: %v", err)
	}
	if _, err := st.Put(ctx, "k", nil, object.PutOptions{IfNoneMatch: "x"}); err == nil {
		t.Fatal("IfNoneMatch other than * accepted")
	}
	if _, err := st.Put(ctx, "k", nil, object.PutOptions{IfNoneMatch: "*", IfMatch: "v"}); err == nil {
		t.Fatal("IfMatch with IfNoneMatch accepted")
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v1.Version}); !errors.Is(err, object.ErrPrecondition) {
		t.Fatalf("stale conditional Delete: %v", err)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v2.Version}); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v2.Version}); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("conditional Delete of missing key: %v", err)
	}
	if !st.Capabilities().ConditionalDelete {
		t.Fatal("ConditionalDelete not reported")
	}
}

func TestInvalidKeysAndContext(t *testing.T) {
	st := New()
	ctx := context.Background()
	for _, key := range []string{"", "a\x00b", "\xff", string(make([]byte, 1025))} {
		if _, err := st.Put(ctx, key, nil, object.PutOptions{}); !errors.Is(err, object.ErrInvalidKey) {
			t.Errorf("Put %q: %v", key, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.Put(cctx, "k", nil, object.PutOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with canceled context: %v", err)
	}
	if _, err := st.Head(ctx, "k"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("canceled Put wrote: %v", err)
	}
	if _, err := st.List(cctx, object.ListOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with canceled context: %v", err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	st := New()
	keys := []string{"a", "a/b", "a-c", "a/b/c", "b", "ab", "é", "z", "a0", "A"}
	for _, k := range keys {
		if _, err := st.Put(ctx, k, []byte(k), object.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(keys)
	for _, tc := range []struct {
		prefix, after string
	}{{"", ""}, {"a", ""}, {"a/", ""}, {"a", "a-c"}, {"", "a/b/c"}, {"a", "zz"}, {"b", "a"}, {"q", ""}} {
		for size := 1; size <= 4; size++ {
			var want []string
			for _, k := range keys {
				if len(k) >= len(tc.prefix) && k[:len(tc.prefix)] == tc.prefix && k > tc.after {
					want = append(want, k)
				}
			}
			var got []string
			after := tc.after
			for {
				page, err := st.List(ctx, object.ListOptions{Prefix: tc.prefix, StartAfter: after, PageSize: size})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Objects) > size {
					t.Fatalf("page of %d for PageSize %d", len(page.Objects), size)
				}
				for _, o := range page.Objects {
					got = append(got, o.Key)
				}
				if !page.More {
					break
				}
				after = page.Objects[len(page.Objects)-1].Key
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(%q, %q, %d) = %q, want %q", tc.prefix, tc.after, size, got, want)
			}
		}
	}
	var all []string
	for o, err := range object.All(ctx, st, "", "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, o.Key)
	}
	if !slices.Equal(all, keys) {
		t.Fatalf("All = %q, want %q", all, keys)
	}
}

func TestConcurrentCreateOneWinner(t *testing.T) {
	ctx := context.Background()
	st := New()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 20 {
		wg.Go(func() {
			_, err := st.Put(ctx, "k", fmt.Appendf(nil, "%d", i), object.PutOptions{IfNoneMatch: "*"})
			switch {
			case err == nil:
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, object.ErrPrecondition):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d winners, want 1", wins)
	}
}

func TestVersionsUniqueAcrossStores(t *testing.T) {
	ctx := context.Background()
	a, b := New(), New()
	ia, _ := a.Put(ctx, "k", []byte("x"), object.PutOptions{})
	ib, _ := b.Put(ctx, "k", []byte("x"), object.PutOptions{})
	if ia.Version == ib.Version {
		t.Fatal("two stores gave the same version")
	}
}
