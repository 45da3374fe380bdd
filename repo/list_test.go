package repo_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// Post has list fields: every element of Tags, Nums and Grades is indexed
// (Grades stored order-inverted).
type Post struct {
	ID     string    `nodb:"key"`
	Tags   []string  `nodb:"index"`
	Nums   []int     `nodb:"index"`
	Grades []float64 `nodb:"index,desc"`
	Title  string
}

var (
	listTags   = []string{"go", "", "s3", "a/b", "Go", "東京", "go-nuts", "rust"}
	listNums   = []int{-3, 0, 1, 7, 42, 1000}
	listGrades = []float64{-1.5, 0, 2.5, 9}
)

// pick returns up to 4 random elements of pool, duplicates possible;
// sometimes nil, sometimes empty.
func pick[E any](rng *rand.Rand, pool []E) []E {
	switch n := rng.IntN(6); n {
	case 0:
		return nil
	case 1:
		return []E{}
	default:
		out := make([]E, n-1)
		for i := range out {
			out[i] = pool[rng.IntN(len(pool))]
		}
		return out
	}
}

func randomPost(rng *rand.Rand, id string) Post {
	return Post{ID: id, Tags: pick(rng, listTags), Nums: pick(rng, listNums), Grades: pick(rng, listGrades), Title: fmt.Sprint(rng.IntN(100))}
}

// postOracle is the in-memory model the store must agree with; every
// query is computed from it by filtering all records in Go.
type postOracle map[string]Post

// where returns the posts keep accepts, ordered by the sort value first
// returns (ok false: not a result), then key.
func (o postOracle) where(first func(Post) (float64, string, bool), desc bool) []string {
	type hit struct {
		id  string
		num float64
		s   string
	}
	var hits []hit
	for _, p := range o {
		if n, s, ok := first(p); ok {
			hits = append(hits, hit{p.ID, n, s})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		c := cmp.Or(cmp.Compare(a.num, b.num), strings.Compare(a.s, b.s))
		if desc {
			c = -c
		}
		return cmp.Or(c, strings.Compare(a.id, b.id))
	})
	out := []string{}
	for _, h := range hits {
		out = append(out, h.id)
	}
	return out
}

// has is Where: key order.
func has[E comparable](list func(Post) []E, v E) func(Post) (float64, string, bool) {
	return func(p Post) (float64, string, bool) { return 0, "", slices.Contains(list(p), v) }
}

// inRange is Between: ordered by the first element in [lo, hi] in the
// scan's order (the smallest, or the largest if desc).
func inRange[E cmp.Ordered](list func(Post) []E, lo, hi E, desc bool, num func(E) (float64, string)) func(Post) (float64, string, bool) {
	return func(p Post) (float64, string, bool) {
		var in []E
		for _, e := range list(p) {
			if e >= lo && e <= hi {
				in = append(in, e)
			}
		}
		if len(in) == 0 {
			return 0, "", false
		}
		first := slices.Min(in)
		if desc {
			first = slices.Max(in)
		}
		n, s := num(first)
		return n, s, true
	}
}

func tagsOf(p Post) []string    { return p.Tags }
func numsOf(p Post) []int       { return p.Nums }
func gradesOf(p Post) []float64 { return p.Grades }
func strKey(s string) (float64, string) {
	return 0, s
}
func intKey(i int) (float64, string)       { return float64(i), "" }
func floatKey(f float64) (float64, string) { return f, "" }

func postIDs(ps []Post) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// pages reads a paged query to its end, limit at a time.
func pages(t *testing.T, page func(cursor string, limit int) (repo.Page[Post], error), limit int) []string {
	t.Helper()
	out, cursor := []string{}, ""
	for range 100 {
		p, err := page(cursor, limit)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		out = append(out, postIDs(p.Items)...)
		if cursor = p.Next; cursor == "" {
			return out
		}
	}
	t.Fatal("too many pages")
	return nil
}

// verifyPosts compares every query on the list fields with the oracle.
func verifyPosts(t *testing.T, posts *repo.Repo[Post], o postOracle, rng *rand.Rand, step int) {
	t.Helper()
	ctx := context.Background()
	check := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: %s: got %q, want %q", step, what, got, want)
		}
	}
	for _, tag := range listTags {
		want := o.where(has(tagsOf, tag), false)
		check(fmt.Sprintf("Find Tags %q", tag), postIDs(collect(t, posts.Find(ctx, "Tags", tag))), want)
		check(fmt.Sprintf("FindPage Tags %q", tag), pages(t, func(c string, n int) (repo.Page[Post], error) { return posts.FindPage(ctx, "Tags", tag, c, n) }, 2), want)
		check(fmt.Sprintf("Query Where Tags %q", tag), postIDs(collect(t, posts.Query().Where("Tags", tag).All(ctx))), want)
		if n, err := posts.CountBy(ctx, "Tags", tag); err != nil || n != len(want) {
			t.Fatalf("step %d: CountBy Tags %q: %d %v, want %d", step, tag, n, err, len(want))
		}
	}
	for _, num := range listNums {
		check(fmt.Sprintf("Find Nums %d", num), postIDs(collect(t, posts.Find(ctx, "Nums", num))), o.where(has(numsOf, num), false))
	}
	for _, g := range listGrades {
		check(fmt.Sprintf("Find Grades %v", g), postIDs(collect(t, posts.Find(ctx, "Grades", g))), o.where(has(gradesOf, g), false))
	}
	// Ranges: each record once, at its first element in the range.
	tlo, thi := listTags[rng.IntN(len(listTags))], listTags[rng.IntN(len(listTags))]
	want := o.where(inRange(tagsOf, tlo, thi, false, strKey), false)
	check(fmt.Sprintf("Range Tags [%q, %q]", tlo, thi), postIDs(collect(t, posts.Range(ctx, "Tags", tlo, thi))), want)
	check(fmt.Sprintf("RangePage Tags [%q, %q]", tlo, thi), pages(t, func(c string, n int) (repo.Page[Post], error) { return posts.RangePage(ctx, "Tags", tlo, thi, c, n) }, 1+rng.IntN(3)), want)
	check(fmt.Sprintf("Query Between Tags [%q, %q]", tlo, thi), postIDs(collect(t, posts.Query().Between("Tags", tlo, thi).All(ctx))), want)
	check(fmt.Sprintf("Query Between Tags [%q, %q] Keys", tlo, thi), collect(t, posts.Query().Between("Tags", tlo, thi).Keys(ctx)), want)
	wantDesc := o.where(inRange(tagsOf, tlo, thi, true, strKey), true)
	check(fmt.Sprintf("Query Between Tags [%q, %q] Desc", tlo, thi), postIDs(collect(t, posts.Query().Between("Tags", tlo, thi).Desc().All(ctx))), wantDesc)
	check(fmt.Sprintf("Query Between Tags [%q, %q] Desc pages", tlo, thi), pages(t, func(c string, n int) (repo.Page[Post], error) {
		return posts.Query().Between("Tags", tlo, thi).Desc().Page(ctx, c, n)
	}, 2), wantDesc)

	nlo, nhi := listNums[rng.IntN(len(listNums))], listNums[rng.IntN(len(listNums))]
	want = o.where(inRange(numsOf, nlo, nhi, false, intKey), false)
	check(fmt.Sprintf("Range Nums [%d, %d]", nlo, nhi), postIDs(collect(t, posts.Range(ctx, "Nums", nlo, nhi))), want)
	check(fmt.Sprintf("RangePage Nums [%d, %d]", nlo, nhi), pages(t, func(c string, n int) (repo.Page[Post], error) { return posts.RangePage(ctx, "Nums", nlo, nhi, c, n) }, 2), want)
	check(fmt.Sprintf("Query Between Nums [%d, %d] Desc", nlo, nhi), postIDs(collect(t, posts.Query().Between("Nums", nlo, nhi).Desc().All(ctx))), o.where(inRange(numsOf, nlo, nhi, true, intKey), true))

	// Grades is stored descending: Desc is its stored order, ascending is
	// the listing reversed.
	glo, ghi := listGrades[rng.IntN(len(listGrades))], listGrades[rng.IntN(len(listGrades))]
	check(fmt.Sprintf("Range Grades [%v, %v]", glo, ghi), postIDs(collect(t, posts.Range(ctx, "Grades", glo, ghi))), o.where(inRange(gradesOf, glo, ghi, false, floatKey), false))
	wantDesc = o.where(inRange(gradesOf, glo, ghi, true, floatKey), true)
	check(fmt.Sprintf("Query Between Grades [%v, %v] Desc", glo, ghi), postIDs(collect(t, posts.Query().Between("Grades", glo, ghi).Desc().All(ctx))), wantDesc)
	check(fmt.Sprintf("Query Between Grades [%v, %v] Desc pages", glo, ghi), pages(t, func(c string, n int) (repo.Page[Post], error) {
		return posts.Query().Between("Grades", glo, ghi).Desc().Page(ctx, c, n)
	}, 1), wantDesc)

	// Several conditions: two elements of one list (ContainsAll), and a
	// list with a range on another list.
	a, b := listTags[rng.IntN(len(listTags))], listTags[rng.IntN(len(listTags))]
	check(fmt.Sprintf("Query Where Tags %q and %q", a, b), postIDs(collect(t, posts.Query().Where("Tags", a).Where("Tags", b).All(ctx))),
		o.where(func(p Post) (float64, string, bool) {
			return 0, "", slices.Contains(p.Tags, a) && slices.Contains(p.Tags, b)
		}, false))
	check(fmt.Sprintf("Query Where Tags %q, Between Nums [%d, %d]", a, nlo, nhi), postIDs(collect(t, posts.Query().Where("Tags", a).Between("Nums", nlo, nhi).All(ctx))),
		o.where(func(p Post) (float64, string, bool) {
			n, s, ok := inRange(numsOf, nlo, nhi, false, intKey)(p)
			return n, s, ok && slices.Contains(p.Tags, a)
		}, false))
	check("Query Prefix Tags \"go\"", postIDs(collect(t, posts.Query().Prefix("Tags", "go").All(ctx))),
		o.where(func(p Post) (float64, string, bool) {
			var in []string
			for _, tag := range p.Tags {
				if strings.HasPrefix(tag, "go") {
					in = append(in, tag)
				}
			}
			if len(in) == 0 {
				return 0, "", false
			}
			return 0, slices.Min(in), true
		}, false))
}

// TestListModelBased runs random writes of records with list fields
// against the store and an oracle, and compares every query on the list
// fields with the same query computed without the index.
func TestListModelBased(t *testing.T) {
	steps := map[string]int{"mem": 300, "file": 200, "s3": 120}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { listModelBased(t, b, steps[b.name]) })
	}
}

func listModelBased(t *testing.T, b backend, n int) {
	{
		st, reopen := b.open(t)
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 11))
		ctx := context.Background()
		posts := newRepo[Post](t, st)
		o := postOracle{}
		keys := []string{"p1", "p2", "p3", "p4", "p5", "p 6", "пост", "p/8"}
		for step := range n {
			id := keys[rng.IntN(len(keys))]
			p := randomPost(rng, id)
			_, exists := o[id]
			switch op := rng.IntN(10); {
			case op < 3:
				err := posts.Create(ctx, p)
				if exists != errors.Is(err, repo.ErrExists) || !exists && err != nil {
					t.Fatalf("step %d: Create %s (exists %v): %v", step, id, exists, err)
				}
				if err == nil {
					o[id] = p
				}
			case op < 5:
				if err := posts.Put(ctx, p); err != nil {
					t.Fatalf("step %d: Put: %v", step, err)
				}
				o[id] = p
			case op < 8:
				// Add one element and drop another, as a user would.
				got, err := posts.Update(ctx, id, func(q *Post) error {
					if len(q.Tags) > 0 {
						q.Tags = slices.Delete(q.Tags, 0, 1)
					}
					q.Tags = append(q.Tags, listTags[rng.IntN(len(listTags))])
					q.Nums = p.Nums
					return nil
				})
				if exists != (err == nil) || !exists && !errors.Is(err, repo.ErrNotFound) {
					t.Fatalf("step %d: Update %s (exists %v): %v", step, id, exists, err)
				}
				if err == nil {
					o[id] = got
				}
			case op < 9 && exists:
				rec, err := posts.GetRecord(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if err := posts.Replace(ctx, p, rec.Version); err != nil {
					t.Fatalf("step %d: Replace: %v", step, err)
				}
				o[id] = p
			default:
				err := posts.Delete(ctx, id)
				if exists != (err == nil) {
					t.Fatalf("step %d: Delete %s (exists %v): %v", step, id, exists, err)
				}
				delete(o, id)
			}
			if step%9 == 8 {
				verifyPosts(t, posts, o, rng, step)
			}
		}
		fresh := newRepo[Post](t, reopen())
		verifyPosts(t, fresh, o, rng, -1)
		rep, err := fresh.Check(ctx, false)
		if err != nil || !rep.OK() || rep.Records != len(o) {
			t.Fatalf("Check: %+v, %v", rep, err)
		}
		entries := 0
		for _, p := range o {
			entries += distinct(p.Tags) + distinct(p.Nums) + distinct(p.Grades)
		}
		if rep.Entries != entries {
			t.Fatalf("Check counted %d entries, want one per distinct element: %d", rep.Entries, entries)
		}
	}
}

func distinct[E comparable](s []E) int {
	seen := map[E]bool{}
	for _, e := range s {
		seen[e] = true
	}
	return len(seen)
}

// TestListRequestCounts asserts the cost of writes and queries on list
// fields: the same floor as scalar indexes, one entry per element.
func TestListRequestCounts(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st, meter.WithLatency(10*time.Millisecond))
		posts := newRepo[Post](t, m)
		if err := posts.Create(ctx, Post{ID: "warm"}); err != nil { // reads the manifest once
			t.Fatal(err)
		}
		m.Reset()
		// k = 3 + 2 + 1 distinct elements ("go" twice is one entry).
		if err := posts.Create(ctx, Post{ID: "a", Tags: []string{"go", "s3", "go", "db"}, Nums: []int{1, 2}, Grades: []float64{9}}); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 7 || c.Total() != 7 || c.Rounds != 2 {
			t.Errorf("Create with 6 distinct elements: %v, want 7 PUTs in 2 rounds", c)
		}
		if err := posts.Create(ctx, Post{ID: "empty", Tags: []string{}}); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Put != 1 || c.Total() != 1 {
			t.Errorf("Create with empty lists: %v, want 1 PUT", c)
		}
		if _, err := posts.Get(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		m.Reset()
		// Add "aws", drop "s3": 1 entry PUT, the record PUT, 1 entry DELETE;
		// this Repo knows the record's state, so no GET.
		if _, err := posts.Update(ctx, "a", func(p *Post) error {
			p.Tags = []string{"go", "db", "aws"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Get != 0 || c.Put != 2 || c.Delete != 1 || c.Total() != 3 {
			t.Errorf("Update adding one element and removing another: %v, want 2 PUTs + 1 DELETE", c)
		}
		// From another Repo (no state known): the GET it needs, then the same.
		other := newRepo[Post](t, m)
		if _, err := other.Update(ctx, "a", func(p *Post) error {
			p.Tags = []string{"go", "aws", "cloud"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.Get != 2 || c.Put != 2 || c.Delete != 1 || c.Total() != 5 {
			t.Errorf("Update by a fresh Repo: %v, want the manifest and record GETs, 2 PUTs, 1 DELETE", c)
		}
		for i := range 4 {
			if err := posts.Create(ctx, Post{ID: fmt.Sprint("b", i), Tags: []string{"go", fmt.Sprint("t", i)}}); err != nil {
				t.Fatal(err)
			}
		}
		m.Reset()
		if got := collect(t, posts.Find(ctx, "Tags", "go")); len(got) != 5 {
			t.Fatalf("Find: %v", postIDs(got))
		}
		if c := m.Reset(); c.List != 1 || c.Get != 5 || c.Total() != 6 {
			t.Errorf("Find returning 5: %v, want 1 LIST + 5 GETs", c)
		}
		if n, err := posts.CountBy(ctx, "Tags", "go"); err != nil || n != 5 {
			t.Fatalf("CountBy: %d %v", n, err)
		}
		if c := m.Reset(); c.List != 1 || c.Total() != 1 {
			t.Errorf("CountBy: %v, want 1 LIST", c)
		}
		// "a" holds "aws" and "cloud", both in the range: 2 entries, 2
		// GETs, one result.
		if got := postIDs(collect(t, posts.Range(ctx, "Tags", "a", "d"))); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("Range: %v", got)
		}
		if c := m.Reset(); c.List != 1 || c.Get != 2 || c.Total() != 3 {
			t.Errorf("Range meeting one record twice: %v, want 1 LIST + 2 GETs", c)
		}
		if err := posts.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		// The record, then 3 + 2 + 1 entries.
		if c := m.Reset(); c.Delete != 7 || c.Total() != 7 {
			t.Errorf("Delete: %v, want 7 DELETEs", c)
		}
	})
}

func TestListModelErrors(t *testing.T) {
	st := memstore.New()
	type UniqueList struct {
		ID   string   `nodb:"key"`
		Tags []string `nodb:"unique"`
	}
	if _, err := repo.New[UniqueList](st); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "Tags") || !strings.Contains(err.Error(), "slice cannot be unique") {
		t.Errorf("unique on a slice: %v", err)
	}
	type Bytes struct {
		ID  string `nodb:"key"`
		Raw []byte `nodb:"index"`
	}
	if _, err := repo.New[Bytes](st); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "byte slice") {
		t.Errorf("index on []byte: %v", err)
	}
	type Nested struct {
		ID   string     `nodb:"key"`
		Tags [][]string `nodb:"index"`
	}
	if _, err := repo.New[Nested](st); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "elements") {
		t.Errorf("index on [][]string: %v", err)
	}
	type Ptrs struct {
		ID   string    `nodb:"key"`
		Tags []*string `nodb:"index"`
	}
	if _, err := repo.New[Ptrs](st); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("index on []*string: %v", err)
	}
	posts := newRepo[Post](t, st)
	ctx := context.Background()
	if _, err := posts.GetBy(ctx, "Tags", "go"); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "not unique") {
		t.Errorf("GetBy on a list field: %v", err)
	}
	if err := first(posts.Find(ctx, "Tags", []string{"go"})); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "one element") {
		t.Errorf("Find with a slice: %v", err)
	}
	if err := first(posts.Find(ctx, "Nums", "x")); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("Find Nums with a string: %v", err)
	}
	if err := first(posts.Query().OrderBy("Nums").All(ctx)); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "list field") {
		t.Errorf("OrderBy on a list field: %v", err)
	}
}

// TestListCheckRepair: Check finds a missing element entry and an orphan
// one, repair fixes both, and a second Check finds nothing.
func TestListCheckRepair(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	posts := newRepo[Post](t, st, func(o *repo.Options) { o.ClaimLease = time.Nanosecond })
	for i := range 4 {
		if err := posts.Create(ctx, Post{ID: fmt.Sprint("p", i), Tags: []string{"go", fmt.Sprint("t", i)}, Nums: []int{i}}); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(deleteAll(ctx, st, "Post/i/Tags/"+gen.IndexString("t1")+"/p1"))                           // missing
	_, err := st.Put(ctx, "Post/i/Tags/"+gen.IndexString("ghost")+"/p2", nil, object.PutOptions{}) // orphan
	must(err)
	time.Sleep(5 * time.Millisecond)
	rep, err := posts.Check(ctx, false)
	must(err)
	if rep.OrphanEntries != 1 || rep.MissingEntries != 1 || rep.Records != 4 || rep.Entries != 12 {
		t.Fatalf("Check: %+v", rep)
	}
	if got := collect(t, posts.Find(ctx, "Tags", "t1")); len(got) != 0 {
		t.Fatalf("before repair Find t1: %v", postIDs(got))
	}
	rep, err = posts.Check(ctx, true)
	must(err)
	if rep.Repaired != 2 {
		t.Fatalf("repair: %+v", rep)
	}
	rep, err = posts.Check(ctx, false)
	if err != nil || !rep.OK() || rep.Repaired != 0 || rep.Entries != 12 {
		t.Fatalf("after repair: %+v %v", rep, err)
	}
	if got := postIDs(collect(t, posts.Find(ctx, "Tags", "t1"))); !slices.Equal(got, []string{"p1"}) {
		t.Fatalf("after repair Find t1: %v", got)
	}
	if got := collect(t, posts.Find(ctx, "Tags", "go")); len(got) != 4 {
		t.Fatalf("after repair Find go: %v", postIDs(got))
	}
}

// PlainPost is Post before its lists were indexed.
type PlainPost struct {
	ID    string `nodb:"key"`
	Tags  []string
	Nums  []int
	Title string
}

// ListPost indexes PlainPost's lists.
type ListPost struct {
	ID    string   `nodb:"key"`
	Tags  []string `nodb:"index"`
	Nums  []int    `nodb:"index"`
	Title string
}

// TestListReindex: list indexes added to a model with records are built by
// Reindex, and rebuilt by Rebuild, which drops entries no record backs.
func TestListReindex(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		name := func(o *repo.Options) { o.Model = "Posts"; o.ClaimLease = time.Nanosecond }
		old := newRepo[PlainPost](t, st, name)
		for i := range 12 {
			if err := old.Create(ctx, PlainPost{ID: fmt.Sprint("o", i), Tags: []string{"all", []string{"a", "b", "c"}[i%3]}, Nums: []int{i, i + 1}}); err != nil {
				t.Fatal(err)
			}
		}
		nw := newRepo[ListPost](t, st, name)
		if err := first(nw.Find(ctx, "Tags", "a")); !errors.Is(err, repo.ErrNotBuilt) {
			t.Fatalf("Find before Reindex: %v", err)
		}
		if err := nw.Create(ctx, ListPost{ID: "n1", Tags: []string{"a", "new"}}); err != nil {
			t.Fatal(err)
		}
		if err := nw.Reindex(ctx); err != nil {
			t.Fatal(err)
		}
		if got := postIDs2(collect(t, nw.Find(ctx, "Tags", "a"))); !slices.Equal(got, []string{"n1", "o0", "o3", "o6", "o9"}) {
			t.Fatalf("Find after Reindex: %v", got)
		}
		if got := postIDs2(collect(t, nw.Range(ctx, "Nums", 3, 4))); !slices.Equal(got, []string{"o2", "o3", "o4"}) {
			t.Fatalf("Range after Reindex: %v", got)
		}
		if n, err := nw.CountBy(ctx, "Tags", "all"); err != nil || n != 12 {
			t.Fatalf("CountBy after Reindex: %d %v", n, err)
		}
		rep, err := nw.Check(ctx, false)
		if err != nil || !rep.OK() || rep.Entries != 12*4+2 {
			t.Fatalf("Check after Reindex: %+v %v", rep, err)
		}
		// A lost entry and a stray one: Rebuild sweeps both.
		if err := deleteAll(ctx, st, "Posts/i/Tags/"+gen.IndexString("b")+"/o1"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(ctx, "Posts/i/Tags/"+gen.IndexString("zz")+"/o1", nil, object.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := nw.Rebuild(ctx, "Tags"); err != nil {
			t.Fatal(err)
		}
		if got := postIDs2(collect(t, nw.Find(ctx, "Tags", "b"))); !slices.Equal(got, []string{"o1", "o10", "o4", "o7"}) {
			t.Fatalf("Find after Rebuild: %v", got)
		}
		rep, err = nw.Check(ctx, false)
		if err != nil || !rep.OK() || rep.Entries != 12*4+2 {
			t.Fatalf("Check after Rebuild: %+v %v", rep, err)
		}
	})
}

func postIDs2(ps []ListPost) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// AsyncPost's Labels are indexed by the indexer, not by writers.
type AsyncPost struct {
	ID     string   `nodb:"key"`
	Labels []string `nodb:"index,async"`
}

// TestListAsync: an async list index costs writers nothing; IndexKey and
// SweepIndexes write and remove one entry per element added or removed.
func TestListAsync(t *testing.T) {
	ctx := context.Background()
	m := meter.Wrap(memstore.New())
	r := newRepo[AsyncPost](t, m)
	if err := r.Create(ctx, AsyncPost{ID: "warm"}); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	if err := r.Create(ctx, AsyncPost{ID: "a", Labels: []string{"x", "y", "z"}}); err != nil {
		t.Fatal(err)
	}
	if c := m.Reset(); c.Put != 1 || c.Total() != 1 {
		t.Errorf("Create with an async list: %v, want 1 PUT", c)
	}
	if got := collect(t, r.Find(ctx, "Labels", "y")); len(got) != 0 {
		t.Fatalf("Find before indexing: %v", got)
	}
	if err := r.IndexKey(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	// 2 GETs (state, record), 3 entry PUTs, 1 state PUT, the record again.
	if c := m.Reset(); c.Get != 3 || c.Put != 4 || c.Delete != 0 {
		t.Errorf("IndexKey of 3 new elements: %v", c)
	}
	if got := collect(t, r.Find(ctx, "Labels", "y")); len(got) != 1 {
		t.Fatalf("Find after IndexKey: %v", got)
	}
	if _, err := r.Update(ctx, "a", func(p *AsyncPost) error { p.Labels = []string{"x", "z", "w"}; return nil }); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	if err := r.IndexKey(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if c := m.Reset(); c.Get != 3 || c.Put != 2 || c.Delete != 1 {
		t.Errorf("IndexKey adding one element and removing one: %v, want 3 GETs, 2 PUTs, 1 DELETE", c)
	}
	if err := r.Create(ctx, AsyncPost{ID: "b", Labels: []string{"w"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SweepIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, r.Find(ctx, "Labels", "w")); len(got) != 2 {
		t.Fatalf("Find after SweepIndexes: %v", got)
	}
	if got := collect(t, r.Find(ctx, "Labels", "y")); len(got) != 0 {
		t.Fatalf("Find of a removed element: %v", got)
	}
	if rep, err := r.Check(ctx, false); err != nil || !rep.OK() || rep.Entries != 4 {
		t.Fatalf("Check: %+v %v", rep, err)
	}
}

// TestListMigrate: Migrate rewrites old records with their list entries
// maintained; an upgrade step that changes a list moves its entries.
func TestListMigrate(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	v0 := newRepo[ListPost](t, st)
	for i := range 5 {
		if err := v0.Create(ctx, ListPost{ID: fmt.Sprint("m", i), Tags: []string{"old", fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	v1 := newRepo[ListPost](t, st, func(o *repo.Options) {
		o.SchemaVersion = 1
		o.Upgrades = map[int]repo.Upgrade{0: repo.ConvertField("Tags", func(old any) (any, error) {
			out := []any{"new"}
			for _, e := range old.([]any) {
				if e != "old" {
					out = append(out, e)
				}
			}
			return out, nil
		})}
	})
	if _, err := v1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, v1.Find(ctx, "Tags", "new")); len(got) != 5 {
		t.Fatalf("Find new after Migrate: %v", postIDs2(got))
	}
	if got := collect(t, v1.Find(ctx, "Tags", "old")); len(got) != 0 {
		t.Fatalf("Find old after Migrate: %v", postIDs2(got))
	}
	if rep, err := v1.Check(ctx, false); err != nil || !rep.OK() || rep.Entries != 10 {
		t.Fatalf("Check after Migrate: %+v %v", rep, err)
	}
}
