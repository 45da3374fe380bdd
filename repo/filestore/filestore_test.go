package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

func open(t testing.TB, dir string) object.Store {
	t.Helper()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func put(t testing.TB, st object.Store, key, body string) object.Info {
	t.Helper()
	info, err := st.Put(context.Background(), key, []byte(body), object.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// listAll lists with the given page size, checking each page's size.
func listAll(t testing.TB, st object.Store, prefix, after string, size int) []string {
	t.Helper()
	var keys []string
	for {
		page, err := st.List(context.Background(), object.ListOptions{Prefix: prefix, StartAfter: after, PageSize: size})
		if err != nil {
			t.Fatal(err)
		}
		if size > 0 && len(page.Objects) > size {
			t.Fatalf("page of %d for PageSize %d", len(page.Objects), size)
		}
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
		if !page.More {
			return keys
		}
		if len(page.Objects) == 0 {
			t.Fatal("empty page with More")
		}
		after = page.Objects[len(page.Objects)-1].Key
	}
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestOpenRelativeAndReopen(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	st := open(t, "data/store")
	put(t, st, "User/r/alice", `{"name":"alice"}`)
	b, err := os.ReadFile(filepath.Join(dir, "data", "store", "User", "r", "alice"))
	if err != nil || string(b) != `{"name":"alice"}` {
		t.Fatalf("file content %q, %v: want the body, unchanged", b, err)
	}
	st2 := open(t, filepath.Join(dir, "data", "store"))
	obj, err := st2.Get(context.Background(), "User/r/alice", object.GetOptions{})
	if err != nil || string(obj.Body) != `{"name":"alice"}` {
		t.Fatalf("Get from a second store: %q, %v", obj.Body, err)
	}
	if _, err := Open(filepath.Join(dir, "data", "store", "User", "r", "alice")); err == nil {
		t.Fatal("Open of a file succeeded")
	}
}

func TestPutGetHeadDelete(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	body := []byte("hello")
	info, err := st.Put(ctx, "a/b", body, object.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "a/b" || info.Size != 5 || info.Version == "" || info.LastModified.IsZero() {
		t.Fatalf("Put = %+v", info)
	}
	if d := time.Since(info.LastModified); d < -time.Second || d > time.Minute {
		t.Fatalf("LastModified %v is not about now", info.LastModified)
	}
	obj, err := st.Get(ctx, "a/b", object.GetOptions{})
	if err != nil || string(obj.Body) != "hello" || !obj.Info.LastModified.Equal(info.LastModified) || obj.Info.Version != info.Version || obj.Size != 5 {
		t.Fatalf("Get = %+v %q, %v; want %+v", obj.Info, obj.Body, err, info)
	}
	if h, err := st.Head(ctx, "a/b"); err != nil || h.Version != info.Version || h.Size != 5 {
		t.Fatalf("Head = %+v, %v", h, err)
	}
	if _, err := st.Get(ctx, "a/b", object.GetOptions{IfNoneMatch: info.Version}); !errors.Is(err, object.ErrNotModified) {
		t.Fatalf("Get IfNoneMatch current: %v", err)
	}
	if _, err := st.Get(ctx, "a/b", object.GetOptions{IfNoneMatch: "other"}); err != nil {
		t.Fatalf("Get IfNoneMatch other: %v", err)
	}
	if _, err := st.Put(ctx, "empty", nil, object.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if obj, err := st.Get(ctx, "empty", object.GetOptions{}); err != nil || len(obj.Body) != 0 || obj.Size != 0 {
		t.Fatalf("Get empty = %+v %q, %v", obj.Info, obj.Body, err)
	}
	for _, key := range []string{"a", "a/b/c", "missing", "a/", "empty/x"} {
		if _, err := st.Get(ctx, key, object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
			t.Errorf("Get %q: %v, want ErrNotFound", key, err)
		}
		if _, err := st.Head(ctx, key); !errors.Is(err, object.ErrNotFound) {
			t.Errorf("Head %q: %v, want ErrNotFound", key, err)
		}
		if err := st.Delete(ctx, key, object.DeleteOptions{}); err != nil {
			t.Errorf("Delete missing %q: %v", key, err)
		}
		if err := st.Delete(ctx, key, object.DeleteOptions{IfMatch: info.Version}); !errors.Is(err, object.ErrNotFound) {
			t.Errorf("conditional Delete missing %q: %v, want ErrNotFound", key, err)
		}
	}
	if _, err := st.Get(ctx, "missing", object.GetOptions{}); err == nil || err.Error() != `filestore: Get "missing": object: not found` {
		t.Errorf("error message: %v", err)
	}
	if err := st.Delete(ctx, "a/b", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "a/b", object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if !st.Capabilities().ConditionalDelete {
		t.Fatal("ConditionalDelete not reported")
	}
}

func TestConditions(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	if _, err := st.Put(ctx, "k", []byte("1"), object.PutOptions{IfMatch: "nope"}); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("IfMatch on a missing key: %v", err)
	}
	v1, err := st.Put(ctx, "k", []byte("1"), object.PutOptions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "k", []byte("2"), object.PutOptions{IfNoneMatch: "*"}); !errors.Is(err, object.ErrPrecondition) {
		t.Fatalf("IfNoneMatch on an existing key: %v", err)
	}
	v2, err := st.Put(ctx, "k", []byte("1"), object.PutOptions{IfMatch: v1.Version})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "k", []byte("3"), object.PutOptions{IfMatch: v1.Version}); !errors.Is(err, object.ErrPrecondition) {
		t.Fatalf("stale IfMatch: %v", err)
	}
	if _, err := st.Put(ctx, "k", nil, object.PutOptions{IfNoneMatch: "v"}); err == nil {
		t.Fatal("IfNoneMatch other than * accepted")
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v1.Version}); !errors.Is(err, object.ErrPrecondition) {
		t.Fatalf("stale conditional Delete: %v", err)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{IfMatch: v2.Version}); err != nil {
		t.Fatal(err)
	}
	if obj, err := st.Get(ctx, "k", object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Get after conditional Delete: %q, %v", obj.Body, err)
	}
	// Nothing is left behind in the temp directory.
	if names := dirNames(t, st.(*store).tmpDir); len(names) != 0 {
		t.Fatalf("temp files left: %q", names)
	}
}

func TestVersionChangesOnSameBytes(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	seen := map[string]bool{}
	var last object.Info
	for i := range 20 {
		if i%5 == 4 { // a Delete and a new Put must not bring back an old version
			if err := st.Delete(ctx, "k", object.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		info := put(t, st, "k", "same bytes")
		if seen[info.Version] {
			t.Fatalf("write %d reused version %q", i, info.Version)
		}
		seen[info.Version] = true
		if !info.LastModified.After(last.LastModified) {
			t.Fatalf("LastModified %v not after %v", info.LastModified, last.LastModified)
		}
		last = info
	}
	obj, err := st.Get(ctx, "k", object.GetOptions{})
	if err != nil || obj.Version != last.Version {
		t.Fatalf("Get version %q, %v; Put returned %q", obj.Version, err, last.Version)
	}
}

// TestKeysStayInsideRoot stores keys that look like path tricks and checks
// that nothing appears outside the root, and that they all round-trip.
func TestKeysStayInsideRoot(t *testing.T) {
	// No key of a set is a directory of another, so every Put must succeed.
	sets := [][]string{
		{"../../x", "a/../../b", "/abs", "a//b", "x/", "./y", "../", ".nodb/locks/00", ".nodb/x", "z/.nodb/tmp/t",
			"a/./c", "C:/w", "c:x", "//", "..../e", "%2E%2E/f", "%/g"},
		{"..", ".", ".nodb", "...", "%", "/", "x", "~", "$HOME", "a/..", "a/."},
	}
	for _, keys := range sets {
		ctx := context.Background()
		parent := t.TempDir()
		root := filepath.Join(parent, "store")
		st := open(t, root)
		for _, key := range keys {
			if _, err := st.Put(ctx, key, []byte(key), object.PutOptions{IfNoneMatch: "*"}); err != nil {
				t.Fatalf("Put %q: %v", key, err)
			}
		}
		if names := dirNames(t, parent); !slices.Equal(names, []string{"store"}) {
			t.Fatalf("the root's parent holds %q, want only the root", names)
		}
		if names := dirNames(t, filepath.Join(root, ".nodb")); !slices.Equal(names, []string{"layout", "locks", "tmp"}) {
			t.Fatalf(".nodb holds %q", names)
		}
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type()&os.ModeSymlink != 0 {
				t.Errorf("symlink %s", path)
			}
			if path != root && strings.HasPrefix(d.Name(), ".") {
				if path != filepath.Join(root, ".nodb") {
					t.Errorf("a key made %s", path)
				}
				return filepath.SkipDir
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		if got := listAll(t, st, "", "", 0); !slices.Equal(got, want) {
			t.Fatalf("List = %q\nwant %q", got, want)
		}
		for _, key := range keys {
			obj, err := st.Get(ctx, key, object.GetOptions{})
			if err != nil || string(obj.Body) != key {
				t.Errorf("Get %q = %q, %v", key, obj.Body, err)
			}
		}
		for _, key := range keys {
			if err := st.Delete(ctx, key, object.DeleteOptions{}); err != nil {
				t.Errorf("Delete %q: %v", key, err)
			}
		}
		if names := dirNames(t, root); !slices.Equal(names, []string{".nodb"}) {
			t.Fatalf("after deleting every key the root holds %q", names)
		}
	}
}

func TestInvalidKeys(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	long := strings.Repeat("%", 86) // 258 bytes escaped
	for _, key := range []string{"", "a\x00b", "\xff", `..\..\w`, `\abs`, `..\`, strings.Repeat("a", 256), strings.Repeat("a/", 600), long, "ok/" + long} {
		_, err := st.Put(ctx, key, nil, object.PutOptions{})
		if !errors.Is(err, object.ErrInvalidKey) {
			t.Errorf("Put %.50q: %v, want ErrInvalidKey", key, err)
		}
		if _, err := st.Get(ctx, key, object.GetOptions{}); !errors.Is(err, object.ErrInvalidKey) {
			t.Errorf("Get %.50q: %v, want ErrInvalidKey", key, err)
		}
	}
	_, err := st.Put(ctx, long, nil, object.PutOptions{})
	if err == nil || !strings.Contains(err.Error(), `filestore: Put "%%%%`) {
		t.Errorf("error does not name the key: %v", err)
	}
	if _, err := st.Put(ctx, strings.Repeat("%", 85), nil, object.PutOptions{}); err != nil {
		t.Errorf("a segment escaping to 255 bytes: %v", err)
	}
}

func TestDirectoryConflicts(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st := open(t, root)
	put(t, st, "x", "file")
	for _, key := range []string{"x/y", "x/y/z", "x/"} {
		_, err := st.Put(ctx, key, nil, object.PutOptions{})
		if !errors.Is(err, object.ErrInvalidKey) || errors.Is(err, object.ErrConcurrentRequest) {
			t.Errorf("Put %q with x stored: %v, want ErrInvalidKey", key, err)
		}
	}
	if err := st.Delete(ctx, "x", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	put(t, st, "x/y/z", "deep")
	for _, key := range []string{"x", "x/y"} {
		for _, opts := range []object.PutOptions{{}, {IfNoneMatch: "*"}} {
			_, err := st.Put(ctx, key, nil, opts)
			if !errors.Is(err, object.ErrInvalidKey) {
				t.Errorf("Put %q %+v with x/y/z stored: %v, want ErrInvalidKey", key, opts, err)
			}
		}
	}
	if err := st.Delete(ctx, "x/y/z", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "x")); !os.IsNotExist(err) {
		t.Fatalf("directory x left after its last key was deleted: %v", err)
	}
	put(t, st, "x", "file again")
	// A leftover empty directory (a crash between mkdir and rename) does not
	// block the key.
	if err := os.MkdirAll(filepath.Join(root, "e", "f"), 0o777); err != nil {
		t.Fatal(err)
	}
	put(t, st, "e/f", "over an empty directory")
	if got := listAll(t, st, "", "", 0); !slices.Equal(got, []string{"e/f", "x"}) {
		t.Fatalf("List = %q", got)
	}
}

func TestDeleteRemovesEmptyParents(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st := open(t, root)
	put(t, st, "a/b/c/d", "1")
	put(t, st, "a/e", "2")
	if err := st.Delete(ctx, "a/b/c/d", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, filepath.Join(root, "a")); !slices.Equal(names, []string{"e"}) {
		t.Fatalf("a holds %q, want [e]", names)
	}
	if err := st.Delete(ctx, "a/e", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, root); !slices.Equal(names, []string{".nodb"}) {
		t.Fatalf("root holds %q", names)
	}
}

// TestPruneRace runs Puts and Deletes of keys sharing directories, so that
// Deletes remove directories that concurrent Puts are about to rename into.
func TestPruneRace(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				key := fmt.Sprintf("d/e/%d-%d", g, i%3)
				if _, err := st.Put(ctx, key, []byte("x"), object.PutOptions{}); err != nil {
					t.Error(err)
					return
				}
				if err := st.Delete(ctx, key, object.DeleteOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
			put(t, st, fmt.Sprintf("d/e/%d-final", g), "x")
		})
	}
	wg.Wait()
	if got := listAll(t, st, "d/", "", 0); len(got) != 4 {
		t.Fatalf("List = %q, want the 4 final keys", got)
	}
}

// trickyKeys contains no key that is a directory of another.
var trickyKeys = []string{
	"a-c", "a/b", "a/c/d", "a/c-", "a/c0", "a.", "a0", "a%", "a%2F", "a~", "a\x01", "a\x7f", "a b", "a b ", "A", "B/z",
	"é/x", "e/x", "e-", "ez", "..", "%", "x/", "x/%2F", "x/%", "w//y", "w/-", "CON", "con.txt", "z", "日本/語", "日本語", "\U0001F600",
	"\uFFFD", "a/c/d-", "a/c/d~", "m/n/o/p/q", "m/n/o/p-", "m/n/o-", "m/n-", "m-",
}

func TestListOrder(t *testing.T) {
	for _, fold := range []bool{false, true} {
		t.Run(fmt.Sprintf("fold=%v", fold), func(t *testing.T) {
			root := t.TempDir()
			if fold {
				if err := os.MkdirAll(filepath.Join(root, privDir), 0o777); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, privDir, layoutFile), []byte(layoutFold), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			st := open(t, root)
			if st.(*store).fold != fold {
				t.Fatalf("fold = %v", st.(*store).fold)
			}
			keys := slices.Clone(trickyKeys)
			if fold {
				keys = append(keys, "A-c", "b/z", "Z")
			}
			for _, k := range keys {
				put(t, st, k, k)
			}
			slices.Sort(keys)
			for _, size := range []int{0, 1, 2, 3, 7} {
				if got := listAll(t, st, "", "", size); !slices.Equal(got, keys) {
					t.Fatalf("List (page size %d) =\n%q\nwant\n%q", size, got, keys)
				}
			}
			// Prefixes and StartAfters that are not valid UTF-8 are refused
			// by object.Gate (the conformance suite checks that).
			prefixes := []string{"", "a", "a/", "a/c", "a/c/", "a/c/d", "x/", "w//", "m/n/o", "日", "日本", "é", "é/", "q", "a%", "..", "%", "a/c/d/"}
			afters := []string{"", "a", "a-c", "a/", "a/b", "a/c", "a/c/", "a/c/d", "a/c/d-", "a/c0", "m/n/o/p", "m/n/o/p/q", "x/", "é", "zz", "\U0010ffff", "0"}
			for _, prefix := range prefixes {
				for _, after := range afters {
					var want []string
					for _, k := range keys {
						if strings.HasPrefix(k, prefix) && k > after {
							want = append(want, k)
						}
					}
					for _, size := range []int{1, 2, 1000} {
						if got := listAll(t, st, prefix, after, size); !slices.Equal(got, want) {
							t.Errorf("List(prefix %q, after %q, size %d) =\n%q\nwant\n%q", prefix, after, size, got, want)
						}
					}
				}
			}
			var all []string
			for o, err := range object.All(context.Background(), st, "", "", 4) {
				if err != nil {
					t.Fatal(err)
				}
				obj, err := st.Get(context.Background(), o.Key, object.GetOptions{})
				if err != nil || string(obj.Body) != o.Key || obj.Version != o.Version || obj.Size != o.Size {
					t.Fatalf("Get %q = %+v %q, %v; List said %+v", o.Key, obj.Info, obj.Body, err, o)
				}
				all = append(all, o.Key)
			}
			if !slices.Equal(all, keys) {
				t.Fatalf("All = %q", all)
			}
		})
	}
}

func TestListSkipsForeignFiles(t *testing.T) {
	root := t.TempDir()
	st := open(t, root)
	put(t, st, "d/k", "k")
	for _, name := range []string{".DS_Store", "d/.hidden", "d/bad%zz", "d/lower%2e", "d/end.", "CON", "d/x:y"} {
		if err := os.WriteFile(filepath.Join(root, name), nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "d", "k"), filepath.Join(root, "d", "link")); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, st, "", "", 0); !slices.Equal(got, []string{"d/k"}) {
		t.Fatalf("List = %q, want only d/k", got)
	}
	if _, err := st.Get(context.Background(), "d/link", object.GetOptions{}); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("Get of a symlink: %v, want ErrNotFound", err)
	}
}

// TestListCache checks that the cache of large directories serves pages and
// sees later changes.
func TestListCache(t *testing.T) {
	old := cacheMin
	cacheMin = 2
	t.Cleanup(func() { cacheMin = old })
	root := t.TempDir()
	st := open(t, root)
	var keys []string
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("d/%02d", i))
		put(t, st, keys[i], "x")
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(root, "d"), past, past); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, st, "d/", "", 3); !slices.Equal(got, keys) {
		t.Fatalf("List = %q", got)
	}
	if st.(*store).cache.lru.Len() != 1 {
		t.Fatal("directory d was not cached")
	}
	if got := listAll(t, st, "d/", "d/04", 3); !slices.Equal(got, keys[5:]) {
		t.Fatalf("List from the cache = %q", got)
	}
	put(t, st, "d/10", "x")
	if err := st.Delete(context.Background(), "d/00", object.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(keys[1:]), "d/10")
	if got := listAll(t, st, "d/", "", 3); !slices.Equal(got, want) {
		t.Fatalf("List after changes = %q, want %q", got, want)
	}
}

func FuzzListOrder(f *testing.F) {
	f.Add("a\na-c\na/b\na/b/c\nb")
	f.Add("x/\nx//y\n..\n.\n%\n%25\nCON\ncon.txt")
	f.Add("é/x\ne/x\ne\xcc\x81\nz\n\U0001F600\n\uFFFD")
	f.Add("m/n-\nm/n/o\nm-\nm0\nm.\nm \nm/ ")
	f.Fuzz(func(t *testing.T, data string) {
		lines := strings.Split(data, "\n")
		if len(lines) > 16 {
			lines = lines[:16]
		}
		st := open(t, t.TempDir())
		var stored []string
		for _, key := range lines {
			_, err := st.Put(context.Background(), key, []byte(key), object.PutOptions{})
			switch {
			case err == nil:
				if !slices.Contains(stored, key) {
					stored = append(stored, key)
				}
			case !errors.Is(err, object.ErrInvalidKey):
				t.Fatalf("Put %q: %v", key, err)
			}
		}
		slices.Sort(stored)
		if got := listAll(t, st, "", "", 3); !slices.Equal(got, stored) {
			t.Fatalf("List = %q, want %q", got, stored)
		}
	})
}

func TestContext(t *testing.T) {
	st := open(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Put(ctx, "k", nil, object.PutOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v", err)
	}
	if _, err := st.Get(ctx, "k", object.GetOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get: %v", err)
	}
	if _, err := st.Head(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Head: %v", err)
	}
	if err := st.Delete(ctx, "k", object.DeleteOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := st.List(ctx, object.ListOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("List: %v", err)
	}
	if _, err := st.Head(context.Background(), "k"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("a canceled Put wrote: %v", err)
	}
}

// TestLockWaitHonoursContext holds a key's lock through another store on the
// same directory and checks that a Put gives up when its context expires.
func TestLockWaitHonoursContext(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir).(*store), open(t, dir).(*store)
	l, err := a.lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Put(ctx, "k", []byte("x"), object.PutOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put while another store holds the lock: %v", err)
	}
	l.unlock()
	put(t, b, "k", "x")
}

func TestConcurrentConditionalPuts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := []object.Store{open(t, dir), open(t, dir)} // flock must also separate stores in one process
	race := func(opts object.PutOptions) int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 20 {
			wg.Go(func() {
				_, err := stores[i%2].Put(ctx, "k", fmt.Appendf(nil, "%d", i), opts)
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
		return wins
	}
	if n := race(object.PutOptions{IfNoneMatch: "*"}); n != 1 {
		t.Fatalf("If-None-Match: %d winners, want 1", n)
	}
	for range 5 {
		h, err := stores[0].Head(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if n := race(object.PutOptions{IfMatch: h.Version}); n != 1 {
			t.Fatalf("If-Match: %d winners, want 1", n)
		}
	}
}

// TestReadersSeeWholeBodies reads while writers replace the object with
// bodies of different lengths; every read must be one whole body whose
// length matches the version's.
func TestReadersSeeWholeBodies(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	put(t, st, "k", "a")
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range 200 {
			body := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i*97%5000)
			if _, err := st.Put(ctx, "k", body, object.PutOptions{}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				obj, err := st.Get(ctx, "k", object.GetOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				if len(obj.Body) == 0 || bytes.Count(obj.Body, obj.Body[:1]) != len(obj.Body) || int64(len(obj.Body)) != obj.Size {
					t.Errorf("torn read: %d bytes, size %d", len(obj.Body), obj.Size)
					return
				}
				if !strings.Contains(obj.Version, fmt.Sprintf("-%x-", len(obj.Body))) {
					t.Errorf("version %q does not match a body of %d bytes", obj.Version, len(obj.Body))
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPermissionError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permissions")
	}
	root := t.TempDir()
	st := open(t, root)
	put(t, st, "d/k", "x")
	if err := os.Chmod(filepath.Join(root, "d"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "d"), 0o755) })
	if _, err := st.Get(context.Background(), "d/k", object.GetOptions{}); !errors.Is(err, object.ErrPermission) {
		t.Fatalf("Get: %v, want ErrPermission", err)
	}
	if _, err := st.List(context.Background(), object.ListOptions{Prefix: "d/"}); !errors.Is(err, object.ErrPermission) {
		t.Fatalf("List: %v, want ErrPermission", err)
	}
}
