package repo_test

// Issue 9, the read-side and repair half: cases 2, 3 and 5 on every
// backend, and Check's guarantees (repair never makes anything worse).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// ExStr and ExInt are one model ("Ex") before and after its indexed field
// Num was retyped from string to int.
type ExStr struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	Num   string `nodb:"index"`
}

type ExInt struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
	Num   int    `nodb:"index"`
}

func exModel(o *repo.Options) { o.Model = "Ex" }

func mustT(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// objects returns every object key in st under prefix.
func objects(t *testing.T, st object.Store, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range object.All(context.Background(), st, prefix, "", 0) {
		mustT(t, err)
		keys = append(keys, info.Key)
	}
	return keys
}

// TestRepairKeepsWhatUnreadableRecordsHold is case 2: Check(repair) run by
// a model that cannot decode the stored records (an indexed field retyped
// from string to int) must not free their unique values, nor drop their
// entries, however old they are.
func TestRepairKeepsWhatUnreadableRecordsHold(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		a := newRepo[ExStr](t, st, exModel)
		for _, v := range []ExStr{{"a1", "one@x", "x"}, {"a2", "two@x", "x"}} {
			mustT(t, a.Create(ctx, v))
		}
		before := objects(t, st, "Ex/")
		time.Sleep(20 * time.Millisecond) // older than the lease below
		b := newRepo[ExInt](t, st, exModel, func(o *repo.Options) { o.ClaimLease = time.Nanosecond })
		rep, err := b.Check(ctx, true)
		mustT(t, err)
		if rep.Repaired != 0 || !slices.Equal(rep.Unreadable, []string{"a1", "a2"}) || len(rep.Problems) != 2 {
			t.Fatalf("Check by the retyped model: %+v", rep)
		}
		for _, p := range rep.Problems {
			if !strings.Contains(p, "schema version 0") || !strings.Contains(p, "kept") {
				t.Errorf("problem does not name the schema version or what was kept: %s", p)
			}
		}
		if after := objects(t, st, "Ex/"); !slices.Equal(before, after) {
			t.Fatalf("repair changed the store:\nbefore %q\nafter  %q", before, after)
		}
		// A second run changes nothing either.
		if rep2, err := b.Check(ctx, true); err != nil || rep2.Repaired != 0 {
			t.Fatalf("second repair: %+v %v", rep2, err)
		}
		// Back on the original model the constraint holds.
		if err := a.Create(ctx, ExStr{"a3", "one@x", "y"}); !errors.Is(err, repo.ErrUnique) {
			t.Fatalf("Create of a held value after the repair: %v, want ErrUnique", err)
		}
		if v, err := a.GetBy(ctx, "Email", "one@x"); err != nil || v.ID != "a1" {
			t.Fatalf("GetBy: %+v %v", v, err)
		}
		if got := collect(t, a.Find(ctx, "Num", "x")); len(got) != 2 {
			t.Fatalf("Find after the repair: %v", got)
		}
	})
}

// TestRepairNeverMakesAnythingWorse fills a store with undecodable
// records, a record of a newer schema, foreign objects and ordinary damage,
// and checks that repair fixes the damage, keeps everything else, and finds
// nothing more to do when run again.
func TestRepairNeverMakesAnythingWorse(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		v1 := func(o *repo.Options) { o.Model = "Ex"; o.SchemaVersion = 1; o.ClaimLease = time.Nanosecond }
		a := newRepo[ExStr](t, st, v1)
		for i := range 6 {
			mustT(t, a.Create(ctx, ExStr{fmt.Sprint("k", i), fmt.Sprint(i, "@x"), "n"}))
		}
		// A record written by schema version 2, with its entries and claim.
		newer := newRepo[ExStr](t, st, func(o *repo.Options) { o.Model = "Ex"; o.SchemaVersion = 2 })
		mustT(t, newer.Create(ctx, ExStr{"new", "new@x", "n"}))
		// A record whose value the model cannot decode, with an entry and a
		// claim naming it; and a garbage record with an entry.
		put := func(key, body string) {
			t.Helper()
			_, err := st.Put(ctx, key, []byte(body), object.PutOptions{})
			mustT(t, err)
		}
		put("Ex/r/bad", `{"nodb":1,"model":"Ex","key":"bad","codec":"json","schema":1,"value":{"ID":"bad","Email":7,"Num":"n"}}`)
		put("Ex/i/Num/"+gen.IndexString("n")+"/bad", "")
		put("Ex/u/Email/"+gen.IndexString("bad@x"), `{"key":"bad","seg":"bad","write":"w"}`)
		put("Ex/r/garbage", "\x00 not a record")
		put("Ex/i/Num/"+gen.IndexString("n")+"/garbage", "")
		// Foreign objects under the model's prefix.
		foreign := []string{"Ex/notes.txt", "Ex/i/readme", "Ex/i/Num/not-a-value/k1", "Ex/u/Email/zzz", "Ex/u/Email/" + gen.IndexString("foreign@x")}
		for _, k := range foreign {
			put(k, "hello")
		}
		// Ordinary damage: an orphan entry, a missing entry, a stale claim,
		// a missing claim.
		put("Ex/i/Num/"+gen.IndexString("gone")+"/k1", "")
		mustT(t, deleteAll(ctx, st, "Ex/i/Num/"+gen.IndexString("n")+"/k2"))
		put("Ex/u/Email/"+gen.IndexString("ghost@x"), `{"key":"ghost","seg":"ghost","write":"w","create":true}`)
		mustT(t, st.Delete(ctx, "Ex/u/Email/"+gen.IndexString("3@x"), object.DeleteOptions{}))
		time.Sleep(1100 * time.Millisecond) // older than the lease on every clock granularity

		rep, err := a.Check(ctx, false)
		mustT(t, err)
		if rep.OrphanEntries != 1 || rep.MissingEntries != 1 || rep.StaleClaims != 1 || rep.MissingClaims != 1 ||
			!slices.Equal(rep.Unreadable, []string{"bad", "garbage", "new"}) || rep.Records != 9 {
			t.Fatalf("Check: %+v", rep)
		}
		for _, want := range []string{`"bad"`, `"garbage"`, "schema version 2, this Repo knows up to 1", "Ex/i/readme", "Ex/u/Email/zzz", "not a NoDB claim"} {
			if !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.Contains(p, want) }) {
				t.Errorf("Problems do not mention %s: %q", want, rep.Problems)
			}
		}
		rep, err = a.Check(ctx, true)
		mustT(t, err)
		if rep.Repaired != 4 {
			t.Fatalf("repair: %+v", rep)
		}
		after := objects(t, st, "Ex/")
		for _, k := range append(foreign, "Ex/r/bad", "Ex/r/garbage", "Ex/r/new", "Ex/i/Num/"+gen.IndexString("n")+"/bad",
			"Ex/i/Num/"+gen.IndexString("n")+"/garbage", "Ex/u/Email/"+gen.IndexString("bad@x"),
			"Ex/u/Email/"+gen.IndexString("new@x"), "Ex/i/Num/"+gen.IndexString("n")+"/new") {
			// An entry's name goes on with its write id.
			if !slices.ContainsFunc(after, func(o string) bool { return o == k || strings.HasPrefix(o, k+"!-") }) {
				t.Errorf("repair removed %s", k)
			}
		}
		rep, err = a.Check(ctx, true)
		mustT(t, err)
		if rep.Repaired != 0 || rep.OrphanEntries+rep.MissingEntries+rep.StaleClaims+rep.MissingClaims != 0 {
			t.Fatalf("second repair: %+v", rep)
		}
		if again := objects(t, st, "Ex/"); !slices.Equal(after, again) {
			t.Fatalf("second repair changed the store")
		}
		// The values the unreadable records hold stay taken.
		for _, email := range []string{"bad@x", "new@x"} {
			if err := a.Create(ctx, ExStr{"thief", email, "n"}); !errors.Is(err, repo.ErrUnique) {
				t.Errorf("Create with %s: %v, want ErrUnique", email, err)
			}
		}
		if v, err := a.GetBy(ctx, "Email", "3@x"); err != nil || v.ID != "k3" {
			t.Errorf("GetBy of the repaired claim: %+v %v", v, err)
		}
	})
}

// TestRepairBesideWriters runs Check(repair) while writers Put, Update,
// Create and Delete their own records; afterwards queries agree with the
// writers' oracle and a second Check is OK.
func TestRepairBesideWriters(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		lease := func(o *repo.Options) { o.Model = "Ex"; o.ClaimLease = 2 * time.Second }
		a := newRepo[ExStr](t, st, lease)
		oracle := map[string]ExStr{}
		for i := range 8 {
			v := ExStr{fmt.Sprint("d", i), fmt.Sprint("d", i, "@x"), "n"}
			mustT(t, a.Create(ctx, v))
			oracle[v.ID] = v
		}
		// Damage on records the writers do not touch, older than the lease.
		_, err := st.Put(ctx, "Ex/i/Num/"+gen.IndexString("gone")+"/d1", nil, object.PutOptions{})
		mustT(t, err)
		mustT(t, deleteAll(ctx, st, "Ex/i/Num/"+gen.IndexString("n")+"/d2"))
		mustT(t, st.Delete(ctx, "Ex/u/Email/"+gen.IndexString("d3@x"), object.DeleteOptions{}))
		time.Sleep(3 * time.Second)

		var mu sync.Mutex
		var wg sync.WaitGroup
		done := make(chan struct{})
		for w := range 3 {
			r := newRepo[ExStr](t, st, lease)
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 9))
				mine := map[string]ExStr{}
				for op := 0; ; op++ {
					select {
					case <-done:
						if op >= 20 {
							mu.Lock()
							maps.Copy(oracle, mine)
							mu.Unlock()
							return
						}
					default:
					}
					id := fmt.Sprint("w", w, "-", rng.IntN(4))
					v := ExStr{id, fmt.Sprint(id, "-", op, "@x"), fmt.Sprint("n", rng.IntN(3))}
					_, exists := mine[id]
					var err error
					switch rng.IntN(3) {
					case 0:
						err = r.Put(ctx, v)
					case 1:
						if !exists {
							err = r.Create(ctx, v)
						} else {
							_, err = r.Update(ctx, id, func(p *ExStr) error { p.Email, p.Num = v.Email, v.Num; return nil })
						}
					default:
						if exists {
							err = r.Delete(ctx, id)
							delete(mine, id)
							v.ID = ""
						} else {
							err = r.Put(ctx, v)
						}
					}
					if err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					if v.ID != "" {
						mine[id] = v
					}
				}
			}()
		}
		// Several repairs in a row, so that they overlap many writes.
		repaired := 0
		for range 5 {
			rep, err := a.Check(ctx, true)
			if err != nil {
				t.Error(err)
				break
			}
			repaired += rep.Repaired
		}
		close(done)
		wg.Wait()
		if repaired < 3 {
			t.Errorf("repair beside writers did not fix the damage: %d repaired", repaired)
		}
		// Queries agree with the oracle.
		var want []string
		for id := range oracle {
			want = append(want, id)
		}
		slices.Sort(want)
		var got []string
		for v, err := range a.All(ctx) {
			mustT(t, err)
			if v != oracle[v.ID] {
				t.Errorf("All: %+v, oracle %+v", v, oracle[v.ID])
			}
			got = append(got, v.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("All: %v, want %v", got, want)
		}
		for _, num := range []string{"n", "n0", "n1", "n2", "gone"} {
			var wantN []string
			for _, id := range want {
				if oracle[id].Num == num {
					wantN = append(wantN, id)
				}
			}
			var gotN []string
			for v, err := range a.Find(ctx, "Num", num) {
				mustT(t, err)
				gotN = append(gotN, v.ID)
			}
			if n, err := a.CountBy(ctx, "Num", num); err != nil || n != len(wantN) || !slices.Equal(gotN, wantN) {
				t.Errorf("Num %s: Find %v, CountBy %d %v; want %v", num, gotN, n, err, wantN)
			}
		}
		for _, id := range want {
			if v, err := a.GetBy(ctx, "Email", oracle[id].Email); err != nil || v.ID != id {
				t.Errorf("GetBy %s: %+v %v", oracle[id].Email, v, err)
			}
		}
		rep, err := a.Check(ctx, false)
		if err != nil || !rep.OK() {
			t.Fatalf("Check after the writers: %+v %v", rep, err)
		}
	})
}

// Ex3 is the model of the undecodable-record tests.
type Ex3 struct {
	ID    string `nodb:"key"`
	City  string `nodb:"index"`
	Count int
}

// TestUndecodableRecordHidesNothing is case 3: records the model cannot
// decode are an error each, and every other record is still returned by
// All, Find, Range and the page calls.
func TestUndecodableRecordHidesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		v1 := func(o *repo.Options) { o.SchemaVersion = 1 }
		r := newRepo[Ex3](t, st, v1)
		var good []string
		for i := range 10 {
			id := fmt.Sprint("k", i)
			mustT(t, r.Create(ctx, Ex3{ID: id, City: "Paris"}))
			good = append(good, id)
		}
		put := func(key, body string) {
			t.Helper()
			_, err := st.Put(ctx, key, []byte(body), object.PutOptions{})
			mustT(t, err)
		}
		paris := gen.IndexString("Paris")
		// k2: a value the model cannot decode; k5: not a record at all;
		// k7: written by schema version 2.
		put("Ex3/r/k2", `{"nodb":1,"model":"Ex3","key":"k2","codec":"json","schema":1,"value":{"ID":"k2","City":"Paris","Count":"many"}}`)
		put("Ex3/r/k5", "garbage")
		mustT(t, newRepo[Ex3](t, st, func(o *repo.Options) { o.SchemaVersion = 2 }).Put(ctx, Ex3{ID: "k7", City: "Paris"}))
		_ = paris
		good = slices.DeleteFunc(good, func(id string) bool { return id == "k2" || id == "k5" || id == "k7" })
		bad := []string{"k2", "k5", "k7"}

		checkSeq := func(what string, seq func(func(Ex3, error) bool)) {
			t.Helper()
			var ids, errKeys []string
			for v, err := range seq {
				if err != nil {
					var re *repo.Error
					if !errors.Is(err, repo.ErrCorrupt) || !errors.As(err, &re) {
						t.Fatalf("%s: %v", what, err)
					}
					if !strings.Contains(err.Error(), `"`+re.Key+`"`) {
						t.Errorf("%s: error does not name the key: %v", what, err)
					}
					errKeys = append(errKeys, re.Key)
					continue
				}
				ids = append(ids, v.ID)
			}
			if !slices.Equal(ids, good) || !slices.Equal(errKeys, bad) {
				t.Errorf("%s: records %v errors %v; want %v and %v", what, ids, errKeys, good, bad)
			}
		}
		checkSeq("All", r.All(ctx))
		checkSeq("Find", r.Find(ctx, "City", "Paris"))
		checkSeq("Range", r.Range(ctx, "City", "A", "Z"))
		pages := func(what string, page func(cursor string) (repo.Page[Ex3], error)) {
			t.Helper()
			checkSeq(what, func(yield func(Ex3, error) bool) {
				cursor := ""
				for range 20 {
					p, err := page(cursor)
					if err != nil {
						yield(Ex3{}, err)
						return
					}
					for _, v := range p.Items {
						yield(v, nil)
					}
					for _, err := range p.Errors {
						yield(Ex3{}, err)
					}
					if cursor = p.Next; cursor == "" {
						return
					}
				}
				t.Errorf("%s: the cursor does not advance", what)
			})
		}
		// Pages of 3: the page holding k2 and k5 still has 3 good records.
		pages("AllPage", func(c string) (repo.Page[Ex3], error) { return r.AllPage(ctx, c, 3) })
		pages("FindPage", func(c string) (repo.Page[Ex3], error) { return r.FindPage(ctx, "City", "Paris", c, 3) })
		pages("RangePage", func(c string) (repo.Page[Ex3], error) { return r.RangePage(ctx, "City", "A", "Z", c, 3) })
		p, err := r.AllPage(ctx, "", 3)
		mustT(t, err)
		if len(p.Items) != 3 || len(p.Errors) != 1 {
			t.Errorf("first page: %d items, errors %v", len(p.Items), p.Errors)
		}

		// Get names the key and what to do.
		for key, want := range map[string]string{
			"k2": "add an upgrade step for schema version 1 or fix the record",
			"k5": "is not a NoDB record",
			"k7": "written by schema version 2, this Repo knows up to 1",
		} {
			_, err := r.Get(ctx, key)
			if !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"`+key+`"`) {
				t.Errorf("Get %s: %v; want ErrCorrupt saying %q", key, err, want)
			}
		}
	})
}

// TestEmptyPageJSON: an empty page marshals its items as [].
func TestEmptyPageJSON(t *testing.T) {
	ctx := context.Background()
	r := newRepo[Ex3](t, memstore.New())
	for _, p := range []func() (repo.Page[Ex3], error){
		func() (repo.Page[Ex3], error) { return r.AllPage(ctx, "", 10) },
		func() (repo.Page[Ex3], error) { return r.FindPage(ctx, "City", "nowhere", "", 10) },
		func() (repo.Page[Ex3], error) { return r.RangePage(ctx, "City", "a", "b", "", 10) },
	} {
		page, err := p()
		mustT(t, err)
		b, err := json.Marshal(page)
		mustT(t, err)
		if string(b) != `{"Items":[],"Next":""}` {
			t.Errorf("empty page: %s", b)
		}
	}
}

// TestErrorMessagesCapValues is case 5: messages quote at most 64 bytes of
// a value or key.
func TestErrorMessagesCapValues(t *testing.T) {
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		ctx := context.Background()
		huge := strings.Repeat("é", 1<<19) // 1 MiB
		r := newRepo[ExStr](t, st, exModel)
		mustT(t, r.Create(ctx, ExStr{ID: "a", Email: huge}))
		short := func(what string, err error, sentinel error) {
			t.Helper()
			if !errors.Is(err, sentinel) {
				t.Fatalf("%s: %v, want %v", what, err, sentinel)
			}
			if msg := err.Error(); len(msg) > 400 || !strings.Contains(msg, "…") || !strings.Contains(msg, " bytes)") {
				t.Errorf("%s: %d-byte message: %.500s", what, len(msg), msg)
			}
		}
		err := r.Create(ctx, ExStr{ID: "b", Email: huge})
		short("ErrUnique", err, repo.ErrUnique)
		_, err = r.GetBy(ctx, "Email", huge+"x")
		short("GetBy", err, repo.ErrNotFound)
		_, err = r.FindPage(ctx, "Email", "x", huge, 10)
		short("cursor", err, repo.ErrInvalid)
		hashed := newRepo[ExStr](t, st, func(o *repo.Options) { o.Model = "Hashed"; o.HashKeys = true })
		mustT(t, hashed.Create(ctx, ExStr{ID: huge, Email: "h"}))
		short("ErrExists", hashed.Create(ctx, ExStr{ID: huge, Email: "h"}), repo.ErrExists)
		var re *repo.Error
		if errors.As(hashed.Create(ctx, ExStr{ID: huge, Email: "h"}), &re) && re.Key != huge {
			t.Errorf("Error.Key is cut too: %d bytes", len(re.Key))
		}
	})
}

// TestCheckRequests asserts Check's requests on a small store: one GET of
// the manifest, one LIST per kind of object, one GET per record and one per
// claim. The unique index (Email) has claims and no entries.
func TestCheckRequests(t *testing.T) {
	ctx := context.Background()
	m := meter.Wrap(memstore.New())
	r := newRepo[Indexed](t, m)
	for i := range 5 {
		mustT(t, r.Create(ctx, Indexed{ID: fmt.Sprint("r", i), Email: fmt.Sprint(i, "@x"), City: "X", Age: i}))
	}
	for _, repair := range []bool{false, true} {
		m.Reset()
		rep, err := r.Check(ctx, repair)
		if err != nil || !rep.OK() || rep.Records != 5 || rep.Entries != 10 || rep.Claims != 5 {
			t.Fatalf("Check: %+v %v", rep, err)
		}
		if c := m.Reset(); c.List != 3 || c.Get != 11 || c.Total() != 14 {
			t.Errorf("Check(repair=%v): %v, want 3 LISTs and 11 GETs", repair, c)
		}
	}
	// Reading a record the model cannot decode is one GET, like any other.
	_, err := m.Put(ctx, "Indexed/r/bad", []byte(`{"nodb":1,"model":"Indexed","key":"bad","codec":"json","value":{"Age":"old"}}`), object.PutOptions{})
	mustT(t, err)
	m.Reset()
	if _, err := r.Get(ctx, "bad"); !errors.Is(err, repo.ErrCorrupt) {
		t.Fatalf("Get bad: %v", err)
	}
	if c := m.Reset(); c.Get != 1 || c.Total() != 1 {
		t.Errorf("Get of an undecodable record: %v, want 1 GET", c)
	}
}
