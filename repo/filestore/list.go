package filestore

import (
	"container/list"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nodb-go/nodb/repo/object"
)

// dirent is a directory entry that stands for a key segment.
type dirent struct {
	name string // on disk
	seg  string // the key segment it decodes to
	sk   string // sort key: seg, plus "/" for a directory
	dir  bool
}

// List implements [object.Store.List]. It walks the directory tree depth
// first, reading only the directories on the way to the page: the prefix's
// complete segments lead straight to the directory to start in, and subtrees
// that sort entirely before StartAfter are skipped unread. Entries are ordered
// by their decoded segment, with "/" appended for directories, which is the
// byte order of the full keys (as S3 lists). More is exact: it is true only
// when a key follows the page.
func (s *store) List(ctx context.Context, opts object.ListOptions) (object.ListPage, error) {
	listErr := func(err error) error { return fmt.Errorf("filestore: List %q: %w", opts.Prefix, err) }
	if err := s.gate.List(ctx, opts); err != nil {
		return object.ListPage{}, listErr(err)
	}
	n := opts.PageSize
	if n <= 0 || n > object.MaxPageSize {
		n = object.MaxPageSize
	}
	after := opts.StartAfter

	// Split the prefix into the directory it selects and a partial segment.
	cut := strings.LastIndexByte(opts.Prefix, '/') + 1
	dirKey, partial := opts.Prefix[:cut], opts.Prefix[cut:]
	dir := s.root
	if dirKey != "" {
		for _, seg := range strings.Split(dirKey[:len(dirKey)-1], "/") {
			name := escapeSeg(seg, s.fold)
			if len(name) > object.MaxSegmentLen {
				return object.ListPage{}, nil // no key can have such a segment
			}
			dir += string(filepath.Separator) + name
		}
	}
	ents, err := s.readDir(dir)
	if err != nil {
		if notExist(err) {
			return object.ListPage{}, nil
		}
		return object.ListPage{}, listErr(classify(err))
	}
	lo := sort.Search(len(ents), func(i int) bool { return ents[i].sk >= partial })
	hi := lo
	for hi < len(ents) && strings.HasPrefix(ents[hi].sk, partial) {
		hi++
	}

	type frame struct {
		dir    string   // on disk
		prefix string   // key prefix of the entries: "" or ending in "/"
		ents   []dirent // still to visit
	}
	stack := []frame{{dir, dirKey, skipBefore(ents[lo:hi], dirKey, after)}}
	var page object.ListPage
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if len(top.ents) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		e := top.ents[0]
		top.ents = top.ents[1:]
		path := top.dir + string(filepath.Separator) + e.name
		if e.dir {
			if err := ctx.Err(); err != nil {
				return object.ListPage{}, listErr(err)
			}
			sub, err := s.readDir(path)
			if err != nil {
				if notExist(err) {
					continue // removed since its parent was read
				}
				return object.ListPage{}, listErr(classify(err))
			}
			prefix := top.prefix + e.sk
			stack = append(stack, frame{path, prefix, skipBefore(sub, prefix, after)})
			continue
		}
		key := top.prefix + e.seg
		if key <= after || object.CheckKey(key) != nil {
			continue
		}
		if len(page.Objects) == n {
			page.More = true
			break
		}
		fi, err := os.Lstat(path)
		if err != nil {
			if notExist(err) {
				continue // deleted since its directory was read
			}
			return object.ListPage{}, listErr(classify(err))
		}
		if fi.Mode().IsRegular() {
			page.Objects = append(page.Objects, info(key, fi))
		}
	}
	return page, nil
}

// skipBefore drops the leading entries of a directory whose keys (prefix +
// entry...) all sort at or before after. The entries are sorted, and the
// subtrees of siblings hold disjoint, ordered ranges of keys, so the test is
// monotone and a binary search finds the first entry to keep.
func skipBefore(ents []dirent, prefix, after string) []dirent {
	if after < prefix {
		return ents // every key here is longer than prefix, so after it
	}
	if !strings.HasPrefix(after, prefix) {
		return nil // after > prefix, not within: every key here is before it
	}
	rest := after[len(prefix):]
	i := sort.Search(len(ents), func(i int) bool {
		e := &ents[i]
		return e.sk > rest || e.dir && strings.HasPrefix(rest, e.sk)
	})
	return ents[i:]
}

// readDir returns the entries of dir that stand for keys, sorted by sort key.
// Names starting with "." (the private directory, editors' and macOS's
// files), names the store does not produce, and anything neither a regular
// file nor a directory (symbolic links included) are left out.
func (s *store) readDir(dir string) ([]dirent, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fs.ErrNotExist
	}
	if ents, ok := s.cache.get(dir, fi); ok {
		return ents, nil
	}
	des, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	ents := make([]dirent, 0, len(des))
	for _, de := range des {
		name := de.Name()
		t := de.Type()
		if name[0] == '.' || !(t.IsRegular() || t.IsDir()) {
			continue
		}
		seg, ok := unescapeSeg(name, s.fold)
		if !ok {
			continue
		}
		e := dirent{name: name, seg: seg, sk: seg, dir: t.IsDir()}
		if e.dir {
			e.sk += "/"
		}
		ents = append(ents, e)
	}
	slices.SortFunc(ents, func(a, b dirent) int { return strings.Compare(a.sk, b.sk) })
	s.cache.put(dir, fi, ents)
	return ents, nil
}

// dirCache keeps the sorted entries of a few large directories, so that
// paging through a directory of many keys does not read and sort it again
// for every page. An entry is valid while the directory's modification time,
// size and inode are unchanged. Only directories whose modification time was
// settled (well in the past) when they were read are cached: a change made
// later necessarily gives a later time, even on a file system with coarse
// timestamps.
type dirCache struct {
	mu    sync.Mutex
	lru   list.List // of *cached, most recently used first
	byDir map[string]*list.Element
}

type cached struct {
	dir   string
	mtime time.Time
	size  int64
	ino   uint64
	ents  []dirent // shared, never modified
}

const (
	cacheDirs    = 4               // directories kept
	cacheMinEnts = 256             // smaller directories are cheap to read again
	cacheSettle  = 2 * time.Second // how old a modification time must be
)

// cacheMin is cacheMinEnts, a variable for tests.
var cacheMin = cacheMinEnts

func (c *dirCache) get(dir string, fi fs.FileInfo) ([]dirent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byDir[dir]
	if el == nil {
		return nil, false
	}
	e := el.Value.(*cached)
	if !e.mtime.Equal(fi.ModTime()) || e.size != fi.Size() || e.ino != inode(fi) {
		c.lru.Remove(el)
		delete(c.byDir, dir)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.ents, true
}

func (c *dirCache) put(dir string, fi fs.FileInfo, ents []dirent) {
	if len(ents) < cacheMin || time.Since(fi.ModTime()) < cacheSettle {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byDir == nil {
		c.byDir = make(map[string]*list.Element)
	}
	if el := c.byDir[dir]; el != nil {
		c.lru.Remove(el)
	}
	c.byDir[dir] = c.lru.PushFront(&cached{dir, fi.ModTime(), fi.Size(), inode(fi), ents})
	for c.lru.Len() > cacheDirs {
		el := c.lru.Back()
		c.lru.Remove(el)
		delete(c.byDir, el.Value.(*cached).dir)
	}
}

// clear drops every cached directory.
func (c *dirCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	c.byDir = nil
}
