package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/nodb-go/nodb/repo/object"
)

// ---- Close and a second client of the same storage ----

// closeStore closes st and fails t on an error.
func closeStore(t *testing.T, st object.Store, what string) {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Fatalf("Close(%s): %v", what, err)
	}
}

// wantClosed checks that every request on st fails with ErrClosed and
// changes nothing that another client, other, can see.
func wantClosed(t *testing.T, st, other object.Store, key string) {
	t.Helper()
	ctx := t.Context()
	before := list(t, other, "")
	closed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, object.ErrClosed) {
			t.Errorf("%s after Close: error = %v; want one wrapping ErrClosed", what, err)
		}
	}
	_, err := st.Get(ctx, key, object.GetOptions{})
	closed("Get", err)
	_, err = st.Head(ctx, key)
	closed("Head", err)
	_, err = st.Put(ctx, key, []byte("after close"), object.PutOptions{})
	closed("Put", err)
	_, err = st.Put(ctx, "new-after-close", []byte("x"), object.PutOptions{IfNoneMatch: "*"})
	closed(`Put(IfNoneMatch "*")`, err)
	err = st.Delete(ctx, key, object.DeleteOptions{})
	closed("Delete", err)
	_, err = st.List(ctx, object.ListOptions{})
	closed("List", err)
	for range object.All(ctx, st, "", "", 0) {
		break // the first item is the error, checked by List above
	}
	after := list(t, other, "")
	if !slices.Equal(after, before) {
		t.Errorf("calls on a closed store changed the data:\nbefore %+v\n after %+v", before, after)
	}
}

// testClose: Close is idempotent, later calls fail with ErrClosed and do
// nothing, Capabilities still answers, and the data stays for the next
// client.
func testClose(t *testing.T, st object.Store, reopen func() object.Store) {
	v1 := put(t, st, "k", []byte("kept"), object.PutOptions{})
	caps := st.Capabilities()
	closeStore(t, st, "first")
	closeStore(t, st, "again") // idempotent: nil again
	if st.Capabilities() != caps {
		t.Errorf("Capabilities after Close = %+v; want %+v", st.Capabilities(), caps)
	}
	b := reopen()
	wantClosed(t, st, b, "k")
	wantBody(t, b, "k", []byte("kept"), v1.Version)
	wantKeys(t, "List by a new client after Close", listKeys(t, b, ""), []string{"k"})
	put(t, b, "k2", []byte("new client"), object.PutOptions{IfNoneMatch: "*"})
}

func testTwoReadAfterWrite(t *testing.T, a object.Store, reopen func() object.Store) {
	ctx := t.Context()
	b := reopen()
	v1 := put(t, a, "k", []byte("from a"), object.PutOptions{})
	wantBody(t, b, "k", []byte("from a"), v1.Version)
	if info, err := b.Head(ctx, "k"); err != nil || info.Version != v1.Version || info.Size != int64(len("from a")) {
		t.Errorf("b.Head(k) = %+v, %v; want version %q, size %d", info, err, v1.Version, len("from a"))
	}
	v2 := put(t, b, "k", []byte("from b"), object.PutOptions{})
	if v2.Version == v1.Version {
		t.Errorf("b's overwrite kept version %q", v1.Version)
	}
	wantBody(t, a, "k", []byte("from b"), v2.Version)
	// a's cached idea of the version is no excuse: IfNoneMatch with the old
	// version returns the new object.
	obj, err := a.Get(ctx, "k", object.GetOptions{IfNoneMatch: v1.Version})
	if err != nil || string(obj.Body) != "from b" || obj.Version != v2.Version {
		t.Errorf("a.Get(k, IfNoneMatch old) = %q %q, %v; want b's write %q", obj.Body, obj.Version, err, v2.Version)
	}
	_, err = a.Get(ctx, "k", object.GetOptions{IfNoneMatch: v2.Version})
	wantErr(t, "a.Get(k, IfNoneMatch b's version)", err, object.ErrNotModified)
}

// raceTwo races the writers over two clients, alternately.
func raceTwo(a, b object.Store, fn func(st object.Store, i int) (object.Info, error)) ([]object.Info, []error) {
	return race(func(i int) (object.Info, error) {
		if i%2 == 0 {
			return fn(a, i)
		}
		return fn(b, i)
	})
}

func testTwoConcurrentCreate(t *testing.T, a object.Store, reopen func() object.Store) {
	b := reopen()
	infos, errs := raceTwo(a, b, func(st object.Store, i int) (object.Info, error) {
		return st.Put(t.Context(), "claim", racerBody(i), object.PutOptions{IfNoneMatch: "*"})
	})
	oneWinner(t, a, "claim", infos, errs)
	oneWinner(t, b, "claim", infos, errs)
}

func testTwoConcurrentIfMatch(t *testing.T, a object.Store, reopen func() object.Store) {
	b := reopen()
	v0 := put(t, a, "rec", []byte("start"), object.PutOptions{})
	infos, errs := raceTwo(a, b, func(st object.Store, i int) (object.Info, error) {
		return st.Put(t.Context(), "rec", racerBody(i), object.PutOptions{IfMatch: v0.Version})
	})
	oneWinner(t, a, "rec", infos, errs)
	oneWinner(t, b, "rec", infos, errs)
}

// testTwoStaleVersion: a version that another client has replaced fails
// every condition on it.
func testTwoStaleVersion(t *testing.T, a object.Store, reopen func() object.Store) {
	ctx := t.Context()
	b := reopen()
	v1 := put(t, a, "k", []byte("one"), object.PutOptions{})
	_, err := b.Put(ctx, "k", []byte("b create"), object.PutOptions{IfNoneMatch: "*"})
	wantErr(t, `b.Put(k, IfNoneMatch "*") after a's Put`, err, object.ErrPrecondition)
	v2 := put(t, b, "k", []byte("two"), object.PutOptions{IfMatch: v1.Version})
	_, err = a.Put(ctx, "k", []byte("stale"), object.PutOptions{IfMatch: v1.Version})
	wantErr(t, "a.Put(k, IfMatch replaced by b)", err, object.ErrPrecondition)
	if a.Capabilities().ConditionalDelete {
		err = a.Delete(ctx, "k", object.DeleteOptions{IfMatch: v1.Version})
		wantErr(t, "a.Delete(k, IfMatch replaced by b)", err, object.ErrPrecondition)
	}
	wantBody(t, a, "k", []byte("two"), v2.Version)
	wantBody(t, b, "k", []byte("two"), v2.Version)
}

func testTwoList(t *testing.T, a object.Store, reopen func() object.Store) {
	b := reopen()
	infos := map[string]object.Info{}
	for i, key := range []string{"m/a1", "m/b1", "m/a2", "m/b2", "m/a3", "n/b"} {
		st := a
		if i%2 == 1 {
			st = b
		}
		infos[key] = put(t, st, key, []byte(key), object.PutOptions{})
	}
	want := []string{"m/a1", "m/a2", "m/a3", "m/b1", "m/b2"}
	for name, st := range map[string]object.Store{"a": a, "b": b} {
		got := list(t, st, "m/")
		wantKeys(t, name+".List(m/)", keysOf(got), want)
		for _, info := range got {
			if info.Version != infos[info.Key].Version {
				t.Errorf("%s.List: %q has version %q; its writer got %q", name, info.Key, info.Version, infos[info.Key].Version)
			}
		}
		page, err := st.List(t.Context(), object.ListOptions{Prefix: "m/", StartAfter: "m/a2", PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		wantKeys(t, name+".List(m/, after m/a2, 2)", keysOf(page.Objects), []string{"m/a3", "m/b1"})
		if !page.More {
			t.Errorf("%s.List(m/, after m/a2, 2): More is false; m/b2 follows", name)
		}
	}
}

func testTwoDelete(t *testing.T, a object.Store, reopen func() object.Store) {
	ctx := t.Context()
	b := reopen()
	put(t, a, "k", []byte("one"), object.PutOptions{})
	put(t, a, "other", []byte("stays"), object.PutOptions{})
	if err := b.Delete(ctx, "k", object.DeleteOptions{}); err != nil {
		t.Fatalf("b.Delete(k): %v", err)
	}
	wantMissing(t, a, "k")
	if _, err := a.Get(ctx, "k", object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("a.Get(k) after b deleted it: %v; want ErrNotFound", err)
	}
	wantKeys(t, "a.List after b's Delete", listKeys(t, a, ""), []string{"other"})
	// The key is free again, for either client.
	v := put(t, a, "k", []byte("again"), object.PutOptions{IfNoneMatch: "*"})
	if b.Capabilities().ConditionalDelete {
		if err := b.Delete(ctx, "k", object.DeleteOptions{IfMatch: v.Version}); err != nil {
			t.Fatalf("b.Delete(k, IfMatch a's version): %v", err)
		}
		wantMissing(t, a, "k")
	}
}

// testTwoCloseOne: closing one client neither closes the other nor touches
// the data; a client opened afterwards sees everything.
func testTwoCloseOne(t *testing.T, a object.Store, reopen func() object.Store) {
	ctx := t.Context()
	b := reopen()
	vb := put(t, b, "from-b", []byte("b"), object.PutOptions{})
	closeStore(t, b, "b")
	wantClosed(t, b, a, "from-b")
	wantBody(t, a, "from-b", []byte("b"), vb.Version)
	va := put(t, a, "from-a", []byte("a"), object.PutOptions{IfNoneMatch: "*"})
	if _, err := a.Put(ctx, "from-b", []byte("a over b"), object.PutOptions{IfMatch: vb.Version}); err != nil {
		t.Errorf("a.Put(from-b, IfMatch b's version) after b closed: %v", err)
	}
	c := reopen()
	wantKeys(t, "List by a third client", listKeys(t, c, ""), []string{"from-a", "from-b"})
	wantBody(t, c, "from-a", []byte("a"), va.Version)
	wantBody(t, c, "from-b", []byte("a over b"), "")
	closeStore(t, c, "c")
	wantBody(t, a, "from-a", []byte("a"), va.Version)
	if _, err := a.List(ctx, object.ListOptions{}); err != nil {
		t.Errorf("a.List after b and c closed: %v", err)
	}
}
