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
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

func reversed[S ~[]E, E any](s S) S {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func keysOf(t *testing.T, seq func(func(string, error) bool)) []string {
	t.Helper()
	var out []string
	for k, err := range seq {
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		out = append(out, k)
	}
	return out
}

// keysMatch reports whether Keys' answer got holds want, in order, once
// the keys of index leftovers are set aside: Keys answers from listings
// alone, so, like CountBy, it may include the key of an entry that a write
// left when its cleanup failed (writers racing on S3 without conditional
// deletes). Such a key names no stored record that matches, or, in a
// listing of several values, repeats the key of one that does (the
// leftover lies under a value the record no longer holds). Any other
// difference is a failure.
func keysMatch(got, want []string, o oracle, match func(Person) bool) bool {
	i := 0
	for _, k := range got {
		if i < len(want) && k == want[i] {
			i++
			continue
		}
		if p, ok := o[k]; ok && match(p) && !slices.Contains(want, k) {
			return false
		}
	}
	return i == len(want)
}

// verifyQueries checks the query builder against the oracle: descending
// order on a plain index (Age) and ascending on a desc one (Score, both
// against stored order), prefixes on an index and on keys, ANDed
// conditions, the Go predicate, limits, pages, First, Exists and Keys.
func verifyQueries(t *testing.T, people *repo.Repo[Person], o oracle, rng *rand.Rand, step int) {
	t.Helper()
	ctx := context.Background()
	fail := func(what string, got, want any) {
		t.Helper()
		t.Fatalf("step %d: %s: got %v, want %v", step, what, got, want)
	}
	byAge := func(a, b Person) int { return cmp.Compare(a.Age, b.Age) }
	byScore := func(a, b Person) int { return cmp.Compare(a.Score, b.Score) }
	lo, hi := ages[rng.IntN(len(ages))], ages[rng.IntN(len(ages))]
	inAge := func(p Person) bool { return p.Age >= lo && p.Age <= hi }
	neg := func(f func(a, b Person) int) func(a, b Person) int { return func(a, b Person) int { return f(b, a) } }
	// Desc reverses the values' order; keys stay ascending within a value.
	want := ids(o.sorted(inAge, neg(byAge)))
	q := people.Query().Between("Age", lo, hi).Desc()
	if got := ids(collect(t, q.All(ctx))); !slices.Equal(got, want) {
		fail(fmt.Sprintf("Between Age [%d, %d] Desc", lo, hi), got, want)
	}
	// Keys answers from listings alone: expired records not swept yet too.
	if got, w := keysOf(t, q.Keys(ctx)), ids(o.stored(inAge, neg(byAge))); !keysMatch(got, w, o, inAge) {
		fail(fmt.Sprintf("Keys Between Age [%d, %d] Desc", lo, hi), got, w)
	}
	// Pages of 2 walk the same sequence.
	var paged []string
	for cursor := ""; ; {
		p, err := q.Page(ctx, cursor, 2)
		if err != nil {
			fail("Page", err, nil)
		}
		paged = append(paged, ids(p.Items)...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, want) {
		fail("pages of Between Age Desc", paged, want)
	}
	flo, fhi := scores[rng.IntN(len(scores))], scores[rng.IntN(len(scores))]
	inScore := func(p Person) bool { return p.Score >= flo && p.Score <= fhi }
	for _, desc := range []bool{false, true} {
		q := people.Query().Between("Score", flo, fhi)
		w := ids(o.sorted(inScore, byScore))
		if desc {
			q, w = q.Desc(), ids(o.sorted(inScore, neg(byScore)))
		}
		if got := ids(collect(t, q.All(ctx))); !slices.Equal(got, w) {
			fail(fmt.Sprintf("Between Score [%v, %v] desc=%v", flo, fhi, desc), got, w)
		}
		n := 1 + rng.IntN(3)
		if got := ids(collect(t, q.Limit(n).All(ctx))); !slices.Equal(got, w[:min(n, len(w))]) {
			fail(fmt.Sprintf("Between Score desc=%v Limit %d", desc, n), got, w[:min(n, len(w))])
		}
		first, err := q.First(ctx)
		switch {
		case len(w) == 0 && !errors.Is(err, repo.ErrNotFound):
			fail("First of nothing", err, repo.ErrNotFound)
		case len(w) > 0 && (err != nil || first.ID != w[0]):
			fail("First", fmt.Sprint(first.ID, err), w[0])
		}
		if ok, err := q.Exists(ctx); err != nil || ok != (len(w) > 0) {
			fail("Exists", fmt.Sprint(ok, err), len(w) > 0)
		}
	}
	// Prefixes, on an index and on the key.
	for _, pre := range []string{"Paris", "p", "", "東", "a/"} {
		has := func(p Person) bool { return strings.HasPrefix(p.City, pre) }
		byCity := func(a, b Person) int { return strings.Compare(a.City, b.City) }
		w := ids(o.sorted(has, byCity))
		if got := ids(collect(t, people.Query().Prefix("City", pre).All(ctx))); !slices.Equal(got, w) {
			fail(fmt.Sprintf("Prefix City %q", pre), got, w)
		}
		wd := ids(o.stored(has, neg(byCity)))
		if got := keysOf(t, people.Query().Prefix("City", pre).Desc().Keys(ctx)); !keysMatch(got, wd, o, has) {
			fail(fmt.Sprintf("Keys Prefix City %q Desc", pre), got, wd)
		}
	}
	for _, pre := range []string{"k", "k1", "k ", "клю", "k/", "x"} {
		w := ids(o.sorted(func(p Person) bool { return strings.HasPrefix(p.ID, pre) }, byKey))
		if got := ids(collect(t, people.Query().Prefix("ID", pre).All(ctx))); !slices.Equal(got, w) {
			fail(fmt.Sprintf("Prefix ID %q", pre), got, w)
		}
		wk := reversed(ids(o.stored(func(p Person) bool { return strings.HasPrefix(p.ID, pre) }, byKey)))
		if got := keysOf(t, people.Query().Prefix("ID", pre).Desc().Keys(ctx)); !keysMatch(got, wk, o, func(Person) bool { return true }) {
			fail(fmt.Sprintf("Keys Prefix ID %q Desc", pre), got, wk)
		}
	}
	// Several conditions, ANDed, and a predicate.
	c := cities[rng.IntN(len(cities))]
	act := rng.IntN(2) == 0
	both := func(p Person) bool { return p.City == c && p.Active == act && inAge(p) }
	w := ids(o.sorted(both, neg(byAge)))
	q = people.Query().Where("City", c).Between("Age", lo, hi).Where("Active", act).Desc()
	if got := ids(collect(t, q.All(ctx))); !slices.Equal(got, w) {
		fail(fmt.Sprintf("City %q, Active %v, Age [%d, %d] Desc", c, act, lo, hi), got, w)
	}
	if got, wk := keysOf(t, q.Keys(ctx)), ids(o.stored(both, neg(byAge))); !keysMatch(got, wk, o, both) {
		fail("Keys of the intersection", got, wk)
	}
	even := func(p Person) bool { return len(p.ID)%2 == 0 }
	wf := ids(o.sorted(func(p Person) bool { return p.City == c && even(p) }, byKey))
	if got := ids(collect(t, people.Query().Where("City", c).Filter(even).All(ctx))); !slices.Equal(got, wf) {
		fail("Where City Filter", got, wf)
	}
	if got := ids(collect(t, people.Query().Desc().All(ctx))); !slices.Equal(got, reversed(ids(o.sorted(func(Person) bool { return true }, byKey)))) {
		fail("All Desc", got, "keys descending")
	}
	verifyUniqueAndOrder(t, people, o, rng, step)
	for _, id := range []string{"k1", "k 8", "nope"} {
		p, in := o[id]
		in = in && live(p)
		if ok, err := people.Exists(ctx, id); err != nil || ok != in {
			fail("Exists "+id, fmt.Sprint(ok, err), in)
		}
	}
}

// pagesOf walks q with pages of size n and returns the keys of the items.
func pagesOf(t *testing.T, q *repo.Query[Person], n int) []string {
	t.Helper()
	var out []string
	for cursor, i := "", 0; ; i++ {
		p, err := q.Page(context.Background(), cursor, n)
		if err != nil {
			t.Fatalf("Page: %v", err)
		}
		if i > 100 {
			t.Fatalf("Page: no end after %d pages", i)
		}
		out = append(out, ids(p.Items)...)
		if cursor = p.Next; cursor == "" {
			return out
		}
	}
}

// verifyUniqueAndOrder checks conditions on unique fields (Email; Nick is
// unique and omitempty) and OrderBy against the oracle: alone, ANDed with
// other conditions on either side of the plan, descending, with limits,
// pages and Keys.
func verifyUniqueAndOrder(t *testing.T, people *repo.Repo[Person], o oracle, rng *rand.Rand, step int) {
	t.Helper()
	ctx := context.Background()
	fail := func(what string, got, want any) {
		t.Helper()
		t.Fatalf("step %d: %s: got %v, want %v", step, what, got, want)
	}
	check := func(what string, q *repo.Query[Person], keep func(Person) bool, less func(a, b Person) int) {
		t.Helper()
		want := ids(o.sorted(keep, less))
		if got := ids(collect(t, q.All(ctx))); !slices.Equal(got, want) {
			fail(what, got, want)
		}
		if got := pagesOf(t, q, 1+rng.IntN(3)); !slices.Equal(got, want) {
			fail("pages of "+what, got, want)
		}
		n := 1 + rng.IntN(3)
		if got := ids(collect(t, q.Limit(n).All(ctx))); !slices.Equal(got, want[:min(n, len(want))]) {
			fail(fmt.Sprintf("%s Limit %d", what, n), got, want[:min(n, len(want))])
		}
		if got, w := keysOf(t, q.Keys(ctx)), ids(o.stored(keep, less)); !keysMatch(got, w, o, keep) {
			fail("Keys of "+what, got, w)
		}
	}
	neg := func(f func(a, b Person) int) func(a, b Person) int { return func(a, b Person) int { return f(b, a) } }
	byAge := func(a, b Person) int { return cmp.Compare(a.Age, b.Age) }
	byScore := func(a, b Person) int { return cmp.Compare(a.Score, b.Score) }
	byEmail := func(a, b Person) int { return strings.Compare(a.Email, b.Email) }
	byNick := func(a, b Person) int { return strings.Compare(a.Nick, b.Nick) }
	c := cities[rng.IntN(len(cities))]
	act := rng.IntN(2) == 0
	lo, hi := ages[rng.IntN(len(ages))], ages[rng.IntN(len(ages))]
	inAge := func(p Person) bool { return p.Age >= lo && p.Age <= hi }

	// Where on a unique field: its claim names the one candidate.
	for _, e := range emails {
		is := func(p Person) bool { return p.Email == e }
		check(fmt.Sprintf("Where Email %q", e), people.Query().Where("Email", e), is, byKey)
		both := func(p Person) bool { return is(p) && p.City == c }
		check(fmt.Sprintf("Where City %q, Email %q", c, e), people.Query().Where("City", c).Where("Email", e).Desc(), both, byKey)
		ranged := func(p Person) bool { return is(p) && inAge(p) && p.Active == act }
		check(fmt.Sprintf("Between Age [%d, %d], Where Email %q, Active %v", lo, hi, e, act),
			people.Query().Between("Age", lo, hi).Where("Email", e).Where("Active", act).OrderBy("Age"), ranged, byKey)
	}
	nick := nicks[2+rng.IntN(len(nicks)-2)]
	e := emails[rng.IntN(len(emails))]
	two := func(p Person) bool { return p.Nick == nick && p.Email == e }
	check(fmt.Sprintf("Where Nick %q, Email %q", nick, e), people.Query().Where("Nick", nick).Where("Email", e), two, byKey)

	// Between and Prefix on a unique field: its claims, in value order.
	elo, ehi := emails[rng.IntN(len(emails))], emails[rng.IntN(len(emails))]
	inEmail := func(p Person) bool { return p.Email >= elo && p.Email <= ehi }
	check(fmt.Sprintf("Between Email [%q, %q]", elo, ehi), people.Query().Between("Email", elo, ehi), inEmail, byEmail)
	check(fmt.Sprintf("Between Email [%q, %q] Desc", elo, ehi), people.Query().Between("Email", elo, ehi).Desc(), inEmail, neg(byEmail))
	withCity := func(p Person) bool { return inEmail(p) && p.City == c }
	check(fmt.Sprintf("Between Email [%q, %q], Where City %q Desc", elo, ehi, c),
		people.Query().Between("Email", elo, ehi).Where("City", c).Desc(), withCity, neg(byEmail))
	for _, pre := range []string{"", "a", "é", "d@x.io", "z"} {
		has := func(p Person) bool { return strings.HasPrefix(p.Email, pre) }
		check(fmt.Sprintf("Prefix Email %q", pre), people.Query().Prefix("Email", pre), has, byEmail)
		// Intersected: Age drives, the Email claims give the key set.
		both := func(p Person) bool { return has(p) && inAge(p) }
		check(fmt.Sprintf("Between Age [%d, %d], Prefix Email %q Desc", lo, hi, pre),
			people.Query().Between("Age", lo, hi).Prefix("Email", pre).Desc(), both, neg(byAge))
	}
	hasNick := func(p Person) bool { return p.Nick != "" }
	check("Prefix Nick \"\" Desc", people.Query().Prefix("Nick", "").Desc(), hasNick, neg(byNick))

	// OrderBy: every record, by an index.
	all := func(Person) bool { return true }
	for _, desc := range []bool{false, true} {
		for _, ob := range []struct {
			field string
			less  func(a, b Person) int
		}{{"Age", byAge}, {"Score", byScore}, {"Email", byEmail}} {
			q, less := people.Query().OrderBy(ob.field), ob.less
			if desc {
				q, less = q.Desc(), neg(less)
			}
			check(fmt.Sprintf("OrderBy %s desc=%v", ob.field, desc), q, all, less)
			inCity := func(p Person) bool { return p.City == c && p.Active == act }
			check(fmt.Sprintf("OrderBy %s desc=%v, Where City %q, Active %v", ob.field, desc, c, act),
				q.Where("City", c).Where("Active", act), inCity, less)
		}
		q, less := people.Query().OrderBy("Nick").Between("Nick", "a", "z"), byNick
		if desc {
			q, less = q.Desc(), neg(less)
		}
		check(fmt.Sprintf("OrderBy Nick with Between Nick desc=%v", desc), q, func(p Person) bool { return p.Nick >= "a" && p.Nick <= "z" }, less)
	}
	check("OrderBy ID Desc, Where City", people.Query().Where("City", c).OrderBy("ID").Desc(), func(p Person) bool { return p.City == c }, func(a, b Person) int { return strings.Compare(b.ID, a.ID) })
	check("OrderBy Age, Where Age", people.Query().OrderBy("Age").Where("Age", lo), func(p Person) bool { return p.Age == lo }, byKey)
}

// Bookmark is the example: newest first, by tag.
type Bookmark struct {
	ID      string    `nodb:"key"`
	Tag     string    `nodb:"index"`
	Created time.Time `nodb:"index,desc"`
	Title   string
}

func TestQueryRequestCounts(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st, meter.WithLatency(5*time.Millisecond))
		r := newRepo[Bookmark](t, m)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		const n = 60
		for i := range n {
			tag := "rust"
			if i%3 == 0 {
				tag = "go"
			}
			if err := r.Create(ctx, Bookmark{ID: fmt.Sprintf("b%03d", i), Tag: tag, Created: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		m.Reset()
		// The 20 newest: 1 LIST and 20 GETs.
		q := r.Query().Between("Created", t0, t0.Add(1000*time.Hour)).Desc()
		p, err := q.Page(ctx, "", 20)
		if err != nil {
			t.Fatal(err)
		}
		if c := m.Reset(); c.List != 1 || c.Get != 20 || c.Total() != 21 {
			t.Errorf("first page of the 20 newest: %v, want 1 LIST + 20 GETs", c)
		}
		if len(p.Items) != 20 || p.Items[0].ID != "b059" || p.Items[19].ID != "b040" {
			t.Fatalf("first page: %v", ids2(p.Items))
		}
		p2, err := q.Page(ctx, p.Next, 20)
		if err != nil || len(p2.Items) != 20 || p2.Items[0].ID != "b039" {
			t.Fatalf("second page: %v %v", ids2(p2.Items), err)
		}
		m.Reset()
		// First: 1 LIST, 1 GET.
		if b, err := r.Query().Desc().Between("Created", t0, t0.Add(1000*time.Hour)).First(ctx); err != nil || b.ID != "b059" {
			t.Fatalf("First: %v %v", b.ID, err)
		}
		if c := m.Reset(); c.List != 1 || c.Get != 1 || c.Total() != 2 {
			t.Errorf("First: %v, want 1 LIST + 1 GET", c)
		}
		// Keys only: LISTs alone.
		if ks := keysOf(t, r.Query().Where("Tag", "go").Keys(ctx)); len(ks) != n/3 || ks[0] != "b000" {
			t.Fatalf("Keys: %v", ks)
		}
		if c := m.Reset(); c.List != 1 || c.Total() != 1 {
			t.Errorf("Keys: %v, want 1 LIST", c)
		}
		// Tag "go" added in a window, newest first: the tag's listing and
		// the window's, then GETs of the intersection only.
		lo, hi := t0.Add(10*time.Hour), t0.Add(30*time.Hour)
		got := collect(t, r.Query().Where("Tag", "go").Between("Created", lo, hi).Desc().All(ctx))
		want := []string{"b030", "b027", "b024", "b021", "b018", "b015", "b012"}
		if !slices.Equal(ids2(got), want) {
			t.Fatalf("Tag go in window: %v, want %v", ids2(got), want)
		}
		if c := m.Reset(); c.List != 2 || c.Get != len(want) || c.Total() != 2+len(want) || c.Rounds != 3 {
			t.Errorf("intersection: %v, want 2 LISTs + %d GETs in 3 rounds", c, len(want))
		}
		// The same with a limit stops listing early.
		got = collect(t, r.Query().Where("Tag", "go").Between("Created", lo, hi).Desc().Limit(2).All(ctx))
		if !slices.Equal(ids2(got), want[:2]) {
			t.Fatalf("Limit 2: %v", ids2(got))
		}
		if c := m.Reset(); c.List != 2 || c.Get != 2 {
			t.Errorf("intersection with Limit 2: %v, want 2 LISTs + 2 GETs", c)
		}
		// Prefix on the key: 1 LIST + one GET per result.
		if got := collect(t, r.Query().Prefix("ID", "b05").All(ctx)); len(got) != 10 {
			t.Fatalf("Prefix ID b05: %v", ids2(got))
		}
		if c := m.Reset(); c.List != 1 || c.Get != 10 || c.Total() != 11 {
			t.Errorf("Prefix: %v, want 1 LIST + 10 GETs", c)
		}
		if ok, err := r.Exists(ctx, "b001"); err != nil || !ok {
			t.Fatalf("Exists b001: %v %v", ok, err)
		}
		if c := m.Reset(); c.Head != 1 || c.Total() != 1 {
			t.Errorf("Exists: %v, want 1 HEAD", c)
		}
		ex, err := q.Limit(3).Explain()
		if err != nil || !strings.Contains(ex, "in stored order") || !strings.Contains(ex, "limit: 3") {
			t.Errorf("Explain: %q %v", ex, err)
		}
		if c := m.Reset(); c.Total() != 0 {
			t.Errorf("Explain made requests: %v", c)
		}
	})
}

func ids2(bs []Bookmark) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	return out
}

func TestQueryBuilderErrors(t *testing.T) {
	ctx := context.Background()
	r := newRepo[Person](t, memstore.New())
	for name, q := range map[string]*repo.Query[Person]{
		"not indexed":       r.Query().Where("Bio", "x"),
		"no such field":     r.Query().Where("Nope", 1),
		"Between bool":      r.Query().Between("Active", false, true),
		"Prefix on int":     r.Query().Prefix("Age", "1"),
		"wrong value type":  r.Query().Where("Age", "x"),
		"sparse zero value": r.Query().Where("Nick", ""),
	} {
		if err := first(q.All(ctx)); !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		if _, err := q.Explain(); !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("%s: Explain: %v, want ErrInvalid", name, err)
		}
	}
	if err := first(r.Query().Filter(func(Person) bool { return true }).Keys(ctx)); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("Keys with a Filter: %v", err)
	}
}

// Club has a unique field beside plain and desc indexes.
type Club struct {
	ID     string    `nodb:"key"`
	Email  string    `nodb:"unique"`
	Tag    string    `nodb:"index"`
	Joined time.Time `nodb:"index,desc"`
}

func idsC(ms []Club) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// TestQueryUniqueAndOrderRequestCounts asserts what conditions on a
// unique field and OrderBy cost, on every backend.
func TestQueryUniqueAndOrderRequestCounts(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st)
		r := newRepo[Club](t, m)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		const n = 60
		for i := range n {
			tag := "rust"
			if i%3 == 0 {
				tag = "go"
			}
			mustT(t, r.Create(ctx, Club{ID: fmt.Sprintf("m%03d", i), Email: fmt.Sprintf("e%03d@x", i), Tag: tag, Joined: t0.Add(time.Duration(i) * time.Hour)}))
		}
		expect := func(what string, got []string, want []string, list, get int) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", what, got, want)
			}
			if c := m.Reset(); c.List != list || c.Get != get || c.Total() != list+get {
				t.Errorf("%s: %v, want %d LIST + %d GET", what, c, list, get)
			}
		}
		m.Reset()
		// Where on a unique field drives: its claim, then its record.
		got := idsC(collect(t, r.Query().Where("Email", "e007@x").All(ctx)))
		expect("Where Email", got, []string{"m007"}, 0, 2)
		// ... whatever else the query asks: the others are checked on
		// that record, not listed.
		got = idsC(collect(t, r.Query().Between("Joined", t0, t0.Add(time.Hour*100)).Where("Tag", "rust").Where("Email", "e007@x").Desc().All(ctx)))
		expect("Where Email, Tag, Between Joined", got, []string{"m007"}, 0, 2)
		got = idsC(collect(t, r.Query().Where("Tag", "go").Where("Email", "e007@x").All(ctx)))
		expect("Where Email, Tag not held", got, nil, 0, 2)
		got = idsC(collect(t, r.Query().Where("Email", "nobody").All(ctx)))
		expect("Where Email, no claim", got, nil, 0, 1)
		// Keys: the claim names the key (1 GET); another condition is
		// listed and intersected with it.
		expect("Keys Where Email", keysOf(t, r.Query().Where("Email", "e009@x").Keys(ctx)), []string{"m009"}, 0, 1)
		expect("Keys Where Email, Tag", keysOf(t, r.Query().Where("Email", "e009@x").Where("Tag", "go").Keys(ctx)), []string{"m009"}, 1, 1)
		expect("Keys Where Email, Tag not held", keysOf(t, r.Query().Where("Email", "e010@x").Where("Tag", "go").Keys(ctx)), nil, 1, 1)
		// Two unique Wheres, Keys: each claim read once, intersected.
		expect("Keys Where Email twice", keysOf(t, r.Query().Where("Email", "e010@x").Where("Email", "e011@x").Keys(ctx)), nil, 0, 2)

		// Between on a unique field: 1 LIST of claims, then per claim its
		// GET and its record's GET.
		var want []string
		for i := 10; i < 20; i++ {
			want = append(want, fmt.Sprintf("m%03d", i))
		}
		q := r.Query().Between("Email", "e010@x", "e019@x")
		expect("Between Email", idsC(collect(t, q.All(ctx))), want, 1, 20)
		expect("Between Email Desc", idsC(collect(t, q.Desc().All(ctx))), reversed(want), 1, 20)
		expect("Keys Between Email", keysOf(t, q.Keys(ctx)), want, 1, 10)
		expect("Between Email Limit 3", idsC(collect(t, q.Limit(3).All(ctx))), want[:3], 1, 6)
		// Intersected with Tag go (m012, m015, m018): the claims' GETs
		// name the owners, and only those in the tag's listing are fetched.
		expect("Between Email, Where Tag", idsC(collect(t, q.Where("Tag", "go").All(ctx))), []string{"m012", "m015", "m018"}, 2, 13)
		expect("Keys Between Email, Where Tag", keysOf(t, q.Where("Tag", "go").Keys(ctx)), []string{"m012", "m015", "m018"}, 2, 10)
		// A unique condition intersected into another's plan: the claims
		// are listed and read before the driving listing's GETs.
		qj := r.Query().Between("Joined", t0.Add(15*time.Hour), t0.Add(25*time.Hour)).Between("Email", "e010@x", "e019@x")
		expect("Between Joined, Between Email", idsC(collect(t, qj.All(ctx))), []string{"m015", "m016", "m017", "m018", "m019"}, 2, 10+5)

		// OrderBy: newest first, a page of 20 is 1 LIST + 20 GETs.
		var newest []string
		for i := n - 1; i >= 0; i-- {
			newest = append(newest, fmt.Sprintf("m%03d", i))
		}
		ob := r.Query().OrderBy("Joined").Desc()
		p, err := ob.Page(ctx, "", 20)
		mustT(t, err)
		expect("OrderBy Joined Desc, first page of 20", idsC(p.Items), newest[:20], 1, 20)
		p, err = ob.Page(ctx, p.Next, 20)
		mustT(t, err)
		expect("OrderBy Joined Desc, second page", idsC(p.Items), newest[20:40], 1, 20)
		expect("OrderBy Joined Desc Limit 20", idsC(collect(t, ob.Limit(20).All(ctx))), newest[:20], 1, 20)
		expect("Keys OrderBy Joined Desc Limit 5", keysOf(t, ob.Limit(5).Keys(ctx)), newest[:5], 1, 0)
		// Against stored order: the whole index is listed first.
		expect("OrderBy Joined Limit 3", idsC(collect(t, r.Query().OrderBy("Joined").Limit(3).All(ctx))), reversed(newest)[:3], 1, 3)
		// With a Where: the tag's listing, then the ordered one.
		expect("OrderBy Joined Desc, Where Tag Limit 2", idsC(collect(t, ob.Where("Tag", "go").Limit(2).All(ctx))), []string{"m057", "m054"}, 2, 2)
		// By a unique field: claims, each read before its record.
		expect("OrderBy Email Limit 4", idsC(collect(t, r.Query().OrderBy("Email").Limit(4).All(ctx))), reversed(newest)[:4], 1, 8)

		ex, err := ob.Where("Tag", "go").Where("Email", "e001@x").Explain()
		if err != nil || !strings.Contains(ex, "drive: Email = e001@x (GET claim") || !strings.Contains(ex, "check: Tag = go") || strings.Contains(ex, "intersect") {
			t.Errorf("Explain: %q %v", ex, err)
		}
		if c := m.Reset(); c.Total() != 0 {
			t.Errorf("Explain made requests: %v", c)
		}
	})
}

// TestQueryUniqueOlderLayout: a store whose unique index holds an entry
// beside every claim answers the builder's unique conditions and OrderBy
// too; Between and Keys read its entries (no GET for Keys).
func TestQueryUniqueOlderLayout(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		m := meter.Wrap(st)
		mustT(t, collectErr(newRepo[Indexed](t, m).Find(ctx, "City", "x")))
		olderLayout(t, m, "Indexed")
		old := newRepo[Indexed](t, m)
		for i, e := range []string{"d@x", "a@x", "c@x", "b@x"} {
			mustT(t, old.Create(ctx, Indexed{ID: fmt.Sprint("k", i), Email: e, City: []string{"X", "Y"}[i%2], Age: i}))
		}
		r := newRepo[Indexed](t, m)
		emails := func(seq func(func(Indexed, error) bool)) []string { return emailsOf(collect(t, seq)) }
		m.Reset()
		if got := emails(r.Query().Where("Email", "c@x").Where("City", "X").All(ctx)); !slices.Equal(got, []string{"c@x"}) {
			t.Errorf("Where Email, City: %v", got)
		}
		if got := emails(r.Query().Between("Email", "b", "d").Desc().All(ctx)); !slices.Equal(got, []string{"c@x", "b@x"}) {
			t.Errorf("Between Email Desc: %v", got)
		}
		if got := emails(r.Query().OrderBy("Email").Where("City", "Y").All(ctx)); !slices.Equal(got, []string{"a@x", "b@x"}) {
			t.Errorf("OrderBy Email, Where City: %v", got)
		}
		m.Reset()
		if got := keysOf(t, r.Query().OrderBy("Email").Desc().Keys(ctx)); !slices.Equal(got, []string{"k0", "k2", "k3", "k1"}) {
			t.Errorf("Keys OrderBy Email Desc: %v", got)
		}
		if c := m.Reset(); c.List != 1 || c.Total() != 1 {
			t.Errorf("Keys over the older layout's entries: %v, want 1 LIST", c)
		}
		// After Rebuild, the same answers from the claims.
		mustT(t, r.Rebuild(ctx, "Email"))
		if got := keysOf(t, r.Query().OrderBy("Email").Desc().Keys(ctx)); !slices.Equal(got, []string{"k0", "k2", "k3", "k1"}) {
			t.Errorf("Keys OrderBy Email Desc after Rebuild: %v", got)
		}
		if got := emails(r.Query().Between("Email", "b", "d").Desc().All(ctx)); !slices.Equal(got, []string{"c@x", "b@x"}) {
			t.Errorf("Between Email Desc after Rebuild: %v", got)
		}
	})
}

func TestQueryOrderByErrors(t *testing.T) {
	ctx := context.Background()
	r := newRepo[Person](t, memstore.New())
	for name, c := range map[string]struct {
		q    *repo.Query[Person]
		says string
	}{
		"not indexed":            {r.Query().OrderBy("Bio"), "not indexed"},
		"no such field":          {r.Query().OrderBy("Nope"), "no field"},
		"bool":                   {r.Query().OrderBy("Active"), "ordered kind"},
		"omitempty":              {r.Query().OrderBy("Nick"), "omitempty"},
		"omitempty, other field": {r.Query().OrderBy("Nick").Where("City", "x"), "leave them out"},
		"Between on another":     {r.Query().OrderBy("Age").Between("Score", 1.0, 2.0), "drives the query"},
		"Prefix on the key":      {r.Query().Prefix("ID", "k").OrderBy("Age"), "one order"},
		"two orders":             {r.Query().OrderBy("Age").OrderBy("City"), "one order"},
		"key with Between":       {r.Query().OrderBy("ID").Between("Age", 1, 2), "drives the query"},
	} {
		err := first(c.q.All(ctx))
		if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", name, err, c.says)
		}
		if _, err := c.q.Explain(); !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("%s: Explain: %v, want ErrInvalid", name, err)
		}
		if err := first(c.q.Keys(ctx)); !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("%s: Keys: %v, want ErrInvalid", name, err)
		}
	}
	hashed := newRepo[Person](t, memstore.New(), func(o *repo.Options) { o.HashKeys = true })
	if err := first(hashed.Query().OrderBy("ID").All(ctx)); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("OrderBy key with HashKeys: %v", err)
	}
	// Accepted: a condition on the omitempty field, the key order.
	for name, q := range map[string]*repo.Query[Person]{
		"omitempty with Prefix": r.Query().OrderBy("Nick").Prefix("Nick", ""),
		"omitempty with Where":  r.Query().OrderBy("Nick").Where("Nick", "neo"),
		"key with Prefix":       r.Query().OrderBy("ID").Prefix("ID", "k").Desc(),
		"unique":                r.Query().OrderBy("Email").Where("City", "x"),
	} {
		if err := first(q.All(ctx)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
