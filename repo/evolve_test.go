package repo_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nodb-go/nodb/internal/faults"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/meter"
	"github.com/nodb-go/nodb/repo/object"
)

// One model, "Evo", through six schema versions. Each version is its own Go
// type, as it would be in successive releases of a program.

// EvoV0 is the first release.
type EvoV0 struct {
	ID   string `nodb:"key"`
	Name string
	City string `nodb:"index"`
	Age  string `nodb:"index"`
}

// EvoV1 adds a field, Email.
type EvoV1 struct {
	ID    string `nodb:"key"`
	Name  string
	City  string `nodb:"index"`
	Age   string `nodb:"index"`
	Email string
}

// EvoV2 adds an index on Name.
type EvoV2 struct {
	ID    string `nodb:"key"`
	Name  string `nodb:"index"`
	City  string `nodb:"index"`
	Age   string `nodb:"index"`
	Email string
}

// EvoV3 renames the indexed field City to Town.
type EvoV3 struct {
	ID    string `nodb:"key"`
	Name  string `nodb:"index"`
	Town  string `nodb:"index"`
	Age   string `nodb:"index"`
	Email string
}

// EvoV4 retypes the indexed field Age from string to int.
type EvoV4 struct {
	ID    string `nodb:"key"`
	Name  string `nodb:"index"`
	Town  string `nodb:"index"`
	Age   int    `nodb:"index"`
	Email string
}

// EvoV5 makes Email unique.
type EvoV5 struct {
	ID    string `nodb:"key"`
	Name  string `nodb:"index"`
	Town  string `nodb:"index"`
	Age   int    `nodb:"index"`
	Email string `nodb:"unique"`
}

// evoSteps are the upgrade steps of Evo: evoSteps[v] upgrades a version v
// document to version v+1.
var evoSteps = map[int]repo.Upgrade{
	// v1 adds Email: old records get one made from their key.
	0: func(doc map[string]any) error {
		if _, ok := doc["Email"]; !ok {
			id, _ := doc["ID"].(string)
			doc["Email"] = strings.ToLower(id) + "@old.example"
		}
		return nil
	},
	// v2 adds an index: documents do not change.
	1: repo.Steps(),
	2: repo.RenameField("City", "Town"),
	3: repo.ConvertField("Age", func(old any) (any, error) {
		s, ok := old.(string)
		if !ok {
			return nil, fmt.Errorf("Age is %T, want a string", old)
		}
		return strconv.Atoi(s)
	}),
	4: repo.Steps(),
}

func evoOptions(version int) func(*repo.Options) {
	return func(o *repo.Options) {
		o.Model = "Evo"
		o.SchemaVersion = version
		if version > 0 {
			o.Upgrades = map[int]repo.Upgrade{}
			for v := range version {
				o.Upgrades[v] = evoSteps[v]
			}
		}
	}
}

// evo is a record as the oracle holds it: the latest model, with the values
// the upgrade steps give old records.
type evo struct {
	ID, Name, Town, Email string
	Age                   int
}

// evoQuery is an indexed field of one version, and the value a record holds
// for it in that version's type.
type evoQuery struct {
	field   string
	val     func(evo) any
	unique  bool
	missing any
}

func strAge(e evo) any  { return strconv.Itoa(e.Age) }
func intAge(e evo) any  { return e.Age }
func town(e evo) any    { return e.Town }
func name(e evo) any    { return e.Name }
func email(e evo) any   { return e.Email }
func noEmail(e evo) evo { e.Email = ""; return e }
func same(e evo) evo    { return e }

// evoVersion is one version of Evo seen through its own Go type.
type evoVersion interface {
	create(ctx context.Context, e evo) error
	update(ctx context.Context, id string, f func(*evo)) error
	verify(t *testing.T, step string, o map[string]evo)
	repo() any
}

type evoRepo[T any] struct {
	r       *repo.Repo[T]
	to      func(T) evo
	from    func(evo) T
	proj    func(evo) evo // the oracle's record as this version sees it
	queries []evoQuery
}

func (e *evoRepo[T]) repo() any { return e.r }

func (e *evoRepo[T]) create(ctx context.Context, v evo) error { return e.r.Create(ctx, e.from(v)) }

func (e *evoRepo[T]) update(ctx context.Context, id string, f func(*evo)) error {
	_, err := e.r.Update(ctx, id, func(v *T) error {
		x := e.to(*v)
		f(&x)
		*v = e.from(x)
		return nil
	})
	return err
}

func cmpAny(a, b any) int {
	switch a := a.(type) {
	case string:
		return strings.Compare(a, b.(string))
	case int:
		return cmp.Compare(a, b.(int))
	}
	panic(fmt.Sprintf("cmpAny %T", a))
}

// verify compares All, Count, Find, CountBy, Range and GetBy with the oracle.
func (e *evoRepo[T]) verify(t *testing.T, step string, o map[string]evo) {
	t.Helper()
	ctx := context.Background()
	var want []evo
	for _, v := range o {
		want = append(want, e.proj(v))
	}
	slices.SortFunc(want, func(a, b evo) int { return strings.Compare(a.ID, b.ID) })
	var got []evo
	for v, err := range e.r.All(ctx) {
		if err != nil {
			t.Fatalf("%s: All: %v", step, err)
		}
		got = append(got, e.to(v))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: All:\n got %v\nwant %v", step, got, want)
	}
	if n, err := e.r.Count(ctx); err != nil || n != len(o) {
		t.Fatalf("%s: Count = %d, %v; want %d", step, n, err, len(o))
	}
	ids := func(vs []evo) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.ID
		}
		return out
	}
	for _, q := range e.queries {
		values := []any{q.missing}
		for _, v := range want {
			if x := q.val(v); !slices.Contains(values, x) {
				values = append(values, x)
			}
		}
		for _, value := range values {
			var match []evo
			for _, v := range want {
				if q.val(v) == value {
					match = append(match, v)
				}
			}
			var found []evo
			for v, err := range e.r.Find(ctx, q.field, value) {
				if err != nil {
					t.Fatalf("%s: Find(%s, %v): %v", step, q.field, value, err)
				}
				found = append(found, e.to(v))
			}
			if !slices.Equal(found, match) {
				t.Fatalf("%s: Find(%s, %v):\n got %v\nwant %v", step, q.field, value, found, match)
			}
			if n, err := e.r.CountBy(ctx, q.field, value); err != nil || n != len(match) {
				t.Fatalf("%s: CountBy(%s, %v) = %d, %v; want %d", step, q.field, value, n, err, len(match))
			}
			if q.unique {
				v, err := e.r.GetBy(ctx, q.field, value)
				switch {
				case len(match) == 0 && !errors.Is(err, repo.ErrNotFound):
					t.Fatalf("%s: GetBy(%s, %v) = %v, %v; want ErrNotFound", step, q.field, value, v, err)
				case len(match) == 1 && (err != nil || e.to(v) != match[0]):
					t.Fatalf("%s: GetBy(%s, %v) = %v, %v; want %v", step, q.field, value, v, err, match[0])
				}
			}
		}
		// Ranges: the middle half of the values, and all of them.
		slices.SortFunc(values, cmpAny)
		for _, lh := range [][2]any{{values[len(values)/4], values[3*len(values)/4]}, {values[0], values[len(values)-1]}} {
			lo, hi := lh[0], lh[1]
			var match []evo
			for _, v := range want {
				if x := q.val(v); cmpAny(x, lo) >= 0 && cmpAny(x, hi) <= 0 {
					match = append(match, v)
				}
			}
			slices.SortStableFunc(match, func(a, b evo) int { return cmpAny(q.val(a), q.val(b)) })
			var found []evo
			for v, err := range e.r.Range(ctx, q.field, lo, hi) {
				if err != nil {
					t.Fatalf("%s: Range(%s, %v, %v): %v", step, q.field, lo, hi, err)
				}
				found = append(found, e.to(v))
			}
			if !slices.Equal(ids(found), ids(match)) || !slices.Equal(found, match) {
				t.Fatalf("%s: Range(%s, %v, %v):\n got %v\nwant %v", step, q.field, lo, hi, found, match)
			}
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// openEvo returns version v of Evo over st.
func openEvo(t *testing.T, st object.Store, v int) evoVersion {
	t.Helper()
	opt := evoOptions(v)
	cityAge := []evoQuery{{field: "City", val: town, missing: "nowhere"}, {field: "Age", val: strAge, missing: "-1"}}
	switch v {
	case 0:
		return &evoRepo[EvoV0]{r: newRepo[EvoV0](t, st, opt),
			to:   func(x EvoV0) evo { return evo{ID: x.ID, Name: x.Name, Town: x.City, Age: atoi(x.Age)} },
			from: func(e evo) EvoV0 { return EvoV0{ID: e.ID, Name: e.Name, City: e.Town, Age: strconv.Itoa(e.Age)} },
			proj: noEmail, queries: cityAge}
	case 1:
		return &evoRepo[EvoV1]{r: newRepo[EvoV1](t, st, opt),
			to: func(x EvoV1) evo {
				return evo{ID: x.ID, Name: x.Name, Town: x.City, Age: atoi(x.Age), Email: x.Email}
			},
			from: func(e evo) EvoV1 {
				return EvoV1{ID: e.ID, Name: e.Name, City: e.Town, Age: strconv.Itoa(e.Age), Email: e.Email}
			},
			proj: same, queries: cityAge}
	case 2:
		return &evoRepo[EvoV2]{r: newRepo[EvoV2](t, st, opt),
			to: func(x EvoV2) evo {
				return evo{ID: x.ID, Name: x.Name, Town: x.City, Age: atoi(x.Age), Email: x.Email}
			},
			from: func(e evo) EvoV2 {
				return EvoV2{ID: e.ID, Name: e.Name, City: e.Town, Age: strconv.Itoa(e.Age), Email: e.Email}
			},
			proj: same, queries: append(cityAge, evoQuery{field: "Name", val: name, missing: "zed"})}
	case 3:
		return &evoRepo[EvoV3]{r: newRepo[EvoV3](t, st, opt),
			to: func(x EvoV3) evo {
				return evo{ID: x.ID, Name: x.Name, Town: x.Town, Age: atoi(x.Age), Email: x.Email}
			},
			from: func(e evo) EvoV3 {
				return EvoV3{ID: e.ID, Name: e.Name, Town: e.Town, Age: strconv.Itoa(e.Age), Email: e.Email}
			},
			proj: same, queries: []evoQuery{{field: "Town", val: town, missing: "nowhere"}, {field: "Age", val: strAge, missing: "-1"}, {field: "Name", val: name, missing: "zed"}}}
	case 4:
		return &evoRepo[EvoV4]{r: newRepo[EvoV4](t, st, opt),
			to: func(x EvoV4) evo {
				return evo{ID: x.ID, Name: x.Name, Town: x.Town, Age: x.Age, Email: x.Email}
			},
			from: func(e evo) EvoV4 {
				return EvoV4{ID: e.ID, Name: e.Name, Town: e.Town, Age: e.Age, Email: e.Email}
			},
			proj: same, queries: []evoQuery{{field: "Town", val: town, missing: "nowhere"}, {field: "Age", val: intAge, missing: -1}, {field: "Name", val: name, missing: "zed"}}}
	case 5:
		return &evoRepo[EvoV5]{r: newRepo[EvoV5](t, st, opt),
			to: func(x EvoV5) evo {
				return evo{ID: x.ID, Name: x.Name, Town: x.Town, Age: x.Age, Email: x.Email}
			},
			from: func(e evo) EvoV5 {
				return EvoV5{ID: e.ID, Name: e.Name, Town: e.Town, Age: e.Age, Email: e.Email}
			},
			proj: same, queries: []evoQuery{{field: "Town", val: town, missing: "nowhere"}, {field: "Age", val: intAge, missing: -1},
				{field: "Name", val: name, missing: "zed"}, {field: "Email", val: email, unique: true, missing: "nobody@x"}}}
	}
	t.Fatalf("no Evo version %d", v)
	return nil
}

// Evolver is what every version's Repo offers for maintenance.
type evolver interface {
	Reindex(ctx context.Context) error
	Migrate(ctx context.Context, opts ...func(*repo.MigrateOptions)) (repo.MigrateReport, error)
	DropIndex(ctx context.Context, name string) error
	Diff(ctx context.Context) ([]string, error)
	Check(ctx context.Context, repair bool) (repo.Report, error)
}

// TestEvolveFiveVersions walks Evo through six versions (add a field, add an
// index, rename an indexed field, retype an indexed field, add a unique
// constraint), writing records at every version, and compares every query
// with an oracle after each step. Once with records of every older version
// left in the store until a final Migrate, once migrating after every step.
func TestEvolveFiveVersions(t *testing.T) {
	for _, migrateEach := range []bool{false, true} {
		t.Run(fmt.Sprint("migrateEachStep=", migrateEach), func(t *testing.T) {
			eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
				walkEvo(t, st, migrateEach)
			})
		})
	}
}

var (
	evoNames = []string{"ann", "bob", "cid"}
	evoTowns = []string{"Paris", "Lyon", "", "Nice"}
	evoAges  = []int{7, 20, 31, 45, 100}
)

func walkEvo(t *testing.T, st object.Store, migrateEach bool) {
	ctx := context.Background()
	o := map[string]evo{}
	for v := 0; v <= 5; v++ {
		step := fmt.Sprintf("version %d", v)
		ev := openEvo(t, st, v)
		mt := ev.repo().(evolver)
		mk := func(j int) {
			t.Helper()
			id := fmt.Sprintf("s%d-%d", v, j)
			e := evo{ID: id, Name: evoNames[(v+j)%3], Town: evoTowns[(v*3+j)%4], Age: evoAges[(v+2*j)%5], Email: id + "@new.example"}
			if v == 0 {
				e.Email = strings.ToLower(id) + "@old.example" // what the v1 step gives it
			}
			if err := ev.create(ctx, e); err != nil {
				t.Fatalf("%s: Create %s: %v", step, id, err)
			}
			o[id] = e
		}
		// A record written before the step's maintenance call.
		mk(0)
		switch v {
		case 2, 3, 4, 5:
			// The changed index is not answered until it is built.
			field := map[int]string{2: "Name", 3: "Town", 4: "Age", 5: "Email"}[v]
			diff, err := mt.Diff(ctx)
			if err != nil || !slices.ContainsFunc(diff, func(s string) bool {
				return strings.Contains(s, "index "+field+" is not built") && strings.Contains(s, "run Reindex")
			}) {
				t.Fatalf("%s: Diff = %q, %v; want index %s not built", step, diff, err, field)
			}
			if err := queryErr(ev, field); !errors.Is(err, repo.ErrNotBuilt) {
				t.Fatalf("%s: query on %s before Reindex: %v, want ErrNotBuilt", step, field, err)
			}
			if err := mt.Reindex(ctx); err != nil {
				t.Fatalf("%s: Reindex: %v", step, err)
			}
		}
		if v == 3 {
			diff, _ := mt.Diff(ctx)
			if !slices.ContainsFunc(diff, func(s string) bool { return strings.Contains(s, `run DropIndex(ctx, "City")`) }) {
				t.Fatalf("%s: Diff does not report the removed index City: %q", step, diff)
			}
			if err := mt.DropIndex(ctx, "City"); err != nil {
				t.Fatalf("%s: DropIndex: %v", step, err)
			}
		}
		mk(1)
		mk(2)
		if v > 0 { // an older record, rewritten by this version
			id := fmt.Sprintf("s%d-0", v-1)
			if err := ev.update(ctx, id, func(e *evo) { e.Name += "+" }); err != nil {
				t.Fatalf("%s: Update %s: %v", step, id, err)
			}
			e := o[id]
			e.Name += "+"
			o[id] = e
		}
		ev.verify(t, step, o)
		if rep, err := mt.Check(ctx, false); err != nil || !rep.OK() {
			t.Fatalf("%s: Check: %+v %v", step, rep, err)
		}
		if diff, err := mt.Diff(ctx); err != nil || slices.ContainsFunc(diff, func(s string) bool { return strings.Contains(s, "index") }) {
			t.Fatalf("%s: Diff after the step: %q %v", step, diff, err)
		}
		if migrateEach || v == 5 {
			if v == 5 && !migrateEach {
				// Every version wrote records that are still stored as written.
				versions := map[int]int{}
				r5 := ev.repo().(*repo.Repo[EvoV5])
				for id := range o {
					rec, err := r5.GetRecord(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					versions[rec.Schema]++
				}
				for sv := range 6 {
					if versions[sv] == 0 {
						t.Fatalf("no record of schema version %d left before Migrate: %v", sv, versions)
					}
				}
			}
			rep, err := mt.Migrate(ctx)
			if err != nil || rep.Records != len(o) || rep.Migrated+rep.Current != len(o) || len(rep.Failed) != 0 || rep.Version != v {
				t.Fatalf("%s: Migrate: %+v %v", step, rep, err)
			}
			if v > 0 && rep.Migrated == 0 {
				t.Fatalf("%s: Migrate found no old record: %+v", step, rep)
			}
			ev.verify(t, step+" after Migrate", o)
			if rep, err := mt.Migrate(ctx); err != nil || rep.Migrated != 0 || rep.Current != len(o) {
				t.Fatalf("%s: second Migrate: %+v %v", step, rep, err)
			}
			if rep, err := mt.Check(ctx, false); err != nil || !rep.OK() {
				t.Fatalf("%s: Check after Migrate: %+v %v", step, rep, err)
			}
		}
	}
	// After the final Migrate the old steps can go: a Repo without them
	// reads every record.
	r5 := newRepo[EvoV5](t, st, func(o *repo.Options) { o.Model = "Evo"; o.SchemaVersion = 5 })
	if got := collect(t, r5.All(ctx)); len(got) != len(o) {
		t.Fatalf("without upgrade steps: %d records, want %d", len(got), len(o))
	}
}

// queryErr runs a query on field through ev's Repo and returns its error.
func queryErr(ev evoVersion, field string) error {
	ctx := context.Background()
	switch r := ev.repo().(type) {
	case *repo.Repo[EvoV2]:
		return first(r.Find(ctx, field, "x"))
	case *repo.Repo[EvoV3]:
		return first(r.Find(ctx, field, "x"))
	case *repo.Repo[EvoV4]:
		return first(r.Range(ctx, field, 0, 10))
	case *repo.Repo[EvoV5]:
		_, err := r.GetBy(ctx, field, "x")
		return err
	}
	return fmt.Errorf("queryErr: %T", ev.repo())
}

// Case 4 of issue 9: renaming an indexed field.

type ShopV1 struct {
	ID   string `nodb:"key"`
	City string `nodb:"index"`
}

// ShopRenamed renames City to Town without telling NoDB how.
type ShopRenamed struct {
	ID   string `nodb:"key"`
	Town string `nodb:"index"`
}

// ShopTagged maps Town back to the stored member "City".
type ShopTagged struct {
	ID   string `json:"ID" nodb:"key"`
	Town string `json:"City" nodb:"index"`
}

var shopCities = map[string]string{"a": "Paris", "b": "Lyon", "c": "Paris", "d": ""}

func createShops(t *testing.T, st object.Store) {
	t.Helper()
	v1 := newRepo[ShopV1](t, st, func(o *repo.Options) { o.Model = "Shop" })
	for id, c := range shopCities {
		if err := v1.Create(context.Background(), ShopV1{ID: id, City: c}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkTowns checks Find and CountBy on Town for every city, and Check.
func checkTowns[T any](t *testing.T, r *repo.Repo[T], town func(T) string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []string{"Paris", "Lyon", "", "Nice"} {
		var want []string
		for id, x := range shopCities {
			if x == c {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		var got []string
		for v, err := range r.Find(ctx, "Town", c) {
			if err != nil {
				t.Fatalf("Find(Town, %q): %v", c, err)
			}
			if town(v) != c {
				t.Fatalf("Find(Town, %q) returned %+v", c, v)
			}
			got = append(got, fmt.Sprint(v))
		}
		if len(got) != len(want) {
			t.Fatalf("Find(Town, %q) = %v, want keys %v", c, got, want)
		}
		if n, err := r.CountBy(ctx, "Town", c); err != nil || n != len(want) {
			t.Fatalf("CountBy(Town, %q) = %d, %v; want %d", c, n, err, len(want))
		}
	}
	if rep, err := r.Check(ctx, false); err != nil || !rep.OK() {
		t.Fatalf("Check: %+v %v", rep, err)
	}
}

func TestRenameIndexedField(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		t.Run("upgrade step", func(t *testing.T) {
			createShops(t, st)
			opts := func(o *repo.Options) {
				o.Model = "Shop"
				o.SchemaVersion = 1
				o.Upgrades = map[int]repo.Upgrade{0: repo.RenameField("City", "Town")}
			}
			r := newRepo[ShopRenamed](t, st, opts)
			if err := r.Reindex(ctx); err != nil {
				t.Fatal(err)
			}
			// A later write keeps the old field's data, under its new name.
			if _, err := r.Update(ctx, "a", func(*ShopRenamed) error { return nil }); err != nil {
				t.Fatal(err)
			}
			obj, err := st.Get(ctx, "Shop/r/a", object.GetOptions{})
			if err != nil || !strings.Contains(string(obj.Body), `"value":{"ID":"a","Town":"Paris"}`) {
				t.Fatalf("stored after Update: %s %v", obj.Body, err)
			}
			diff, _ := r.Diff(ctx)
			if !slices.ContainsFunc(diff, func(s string) bool { return strings.Contains(s, `run DropIndex(ctx, "City")`) }) {
				t.Fatalf("Diff: %q", diff)
			}
			if err := r.DropIndex(ctx, "City"); err != nil {
				t.Fatal(err)
			}
			checkTowns(t, r, func(s ShopRenamed) string { return s.Town })
			for _, s := range collect(t, r.All(ctx)) {
				if s.Town != shopCities[s.ID] {
					t.Fatalf("All: %+v", s)
				}
			}
			clear(st)
		})
		t.Run("json tag", func(t *testing.T) {
			createShops(t, st)
			// A rename without an upgrade step: the stored documents have
			// no "Town", so every old record is indexed under "".
			r := newRepo[ShopRenamed](t, st, func(o *repo.Options) { o.Model = "Shop" })
			if err := r.Reindex(ctx); err != nil {
				t.Fatal(err)
			}
			diff, _ := r.Diff(ctx)
			if !slices.ContainsFunc(diff, func(s string) bool {
				return strings.Contains(s, "field City") && strings.Contains(s, `repo.RenameField("City", "Town")`)
			}) {
				t.Fatalf("Diff does not suggest the rename step: %q", diff)
			}
			// Fixing the mapping with a json tag makes the index unbuilt
			// until Reindex rebuilds it.
			fixed := newRepo[ShopTagged](t, st, func(o *repo.Options) { o.Model = "Shop" })
			err := first(fixed.Find(ctx, "Town", "Paris"))
			if !errors.Is(err, repo.ErrNotBuilt) || !strings.Contains(err.Error(), `now stored as "City"`) {
				t.Fatalf("Find after the json tag fix: %v", err)
			}
			if err := fixed.Reindex(ctx); err != nil {
				t.Fatal(err)
			}
			if err := fixed.DropIndex(ctx, "City"); err != nil {
				t.Fatal(err)
			}
			checkTowns(t, fixed, func(s ShopTagged) string { return s.Town })
			clear(st)
		})
	})
}

// clear deletes every object of the store.
func clear(st object.Store) {
	ctx := context.Background()
	for info, err := range object.All(ctx, st, "", "", 0) {
		if err != nil {
			panic(err)
		}
		_ = st.Delete(ctx, info.Key, object.DeleteOptions{MissingOK: true})
	}
}

// Upgrade steps are checked at New, and per record.

type Versioned struct {
	ID  string `nodb:"key"`
	N   int    `nodb:"index"`
	Tag string
}

func TestUpgradeStepsChecked(t *testing.T) {
	st := memstore.New()
	step := repo.Steps()
	for _, tc := range []struct {
		name string
		opt  func(*repo.Options)
		want string
	}{
		{"gap", func(o *repo.Options) { o.SchemaVersion = 3; o.Upgrades = map[int]repo.Upgrade{0: step, 2: step} }, "none for version 1"},
		{"beyond", func(o *repo.Options) { o.SchemaVersion = 1; o.Upgrades = map[int]repo.Upgrade{0: step, 1: step} }, "Upgrades[1] upgrades version 1 to 2, but SchemaVersion is 1"},
		{"short", func(o *repo.Options) { o.SchemaVersion = 3; o.Upgrades = map[int]repo.Upgrade{0: step} }, "add the step Upgrades[2]"},
		{"nil", func(o *repo.Options) { o.SchemaVersion = 1; o.Upgrades = map[int]repo.Upgrade{0: nil} }, "Upgrades[0] is nil"},
		{"negative", func(o *repo.Options) { o.SchemaVersion = -1 }, "negative"},
		{"gob", func(o *repo.Options) {
			o.SchemaVersion = 1
			o.Upgrades = map[int]repo.Upgrade{0: step}
			o.Codec = repo.Gob
		}, "gob codec stores bytes"},
	} {
		_, err := repo.New[Versioned](st, tc.opt)
		if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalid with %q", tc.name, err, tc.want)
		}
	}
}

func TestUpgradePerRecord(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	for v := range 3 {
		r := newRepo[Versioned](t, st, func(o *repo.Options) { o.SchemaVersion = v })
		if err := r.Create(ctx, Versioned{ID: fmt.Sprint("v", v), N: v}); err != nil {
			t.Fatal(err)
		}
	}
	// Version 3 doubles N; it kept only the step from version 1 on (the
	// steps from 0 were deleted too early).
	double := repo.ConvertField("N", func(old any) (any, error) {
		n, err := old.(json.Number).Int64()
		return n * 2, err
	})
	r := newRepo[Versioned](t, st, func(o *repo.Options) {
		o.SchemaVersion = 3
		o.Upgrades = map[int]repo.Upgrade{1: repo.Steps(), 2: double}
	})
	if v, err := r.Get(ctx, "v2"); err != nil || v.N != 4 {
		t.Fatalf("Get v2 = %+v, %v", v, err)
	}
	if v, err := r.Get(ctx, "v1"); err != nil || v.N != 2 {
		t.Fatalf("Get v1 = %+v, %v", v, err)
	}
	_, err := r.Get(ctx, "v0")
	if !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), `"v0"`) || !strings.Contains(err.Error(), "schema version 0") ||
		!strings.Contains(err.Error(), "no upgrade step from version 0 (the oldest is Upgrades[1])") {
		t.Fatalf("Get of a record older than the oldest step: %v", err)
	}
	// A step that fails names the record and the step.
	bad := newRepo[Versioned](t, st, func(o *repo.Options) {
		o.SchemaVersion = 3
		o.Upgrades = map[int]repo.Upgrade{0: repo.Steps(), 1: func(map[string]any) error { return errors.New("no way") }, 2: double}
	})
	if _, err := bad.Get(ctx, "v1"); !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), `"v1"`) || !strings.Contains(err.Error(), "upgrade step from schema version 1: no way") {
		t.Fatalf("Get with a failing step: %v", err)
	}
	// Migrate lists what it cannot migrate and does the rest.
	rep, err := r.Migrate(ctx)
	if err == nil || rep.Migrated != 2 || rep.Current != 0 || len(rep.Failed) != 1 || !strings.Contains(rep.Failed[0], `"v0" (schema version 0)`) {
		t.Fatalf("Migrate: %+v, %v", rep, err)
	}
	if rec, err := r.GetRecord(ctx, "v1"); err != nil || rec.Schema != 3 || rec.Value.N != 2 {
		t.Fatalf("v1 after Migrate: %+v, %v", rec, err)
	}
	if got := collect(t, r.Find(ctx, "N", 2)); len(got) != 1 || got[0].ID != "v1" {
		t.Fatalf("Find(N, 2) after Migrate: %+v", got)
	}
}

// TestNewerSchemaRecord: a record written by a newer schema is an error for
// that record, and no write of an older Repo overwrites it.
func TestNewerSchemaRecord(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		newer := newRepo[Versioned](t, st, func(o *repo.Options) {
			o.SchemaVersion = 2
			o.Upgrades = map[int]repo.Upgrade{0: repo.Steps(), 1: repo.Steps()}
		})
		if err := newer.Create(ctx, Versioned{ID: "k", N: 5, Tag: "new"}); err != nil {
			t.Fatal(err)
		}
		before, err := st.Get(ctx, "Versioned/r/k", object.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		older := newRepo[Versioned](t, st, func(o *repo.Options) { o.SchemaVersion = 1 })
		const msg = "written by schema version 2, this Repo knows up to 1"
		if _, err := older.Get(ctx, "k"); !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), `"k"`) {
			t.Fatalf("Get: %v", err)
		}
		rec, err := newer.GetRecord(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		for name, write := range map[string]func() error{
			"Put":     func() error { return older.Put(ctx, Versioned{ID: "k", Tag: "old"}) },
			"Replace": func() error { return older.Replace(ctx, Versioned{ID: "k", Tag: "old"}, rec.Version) },
			"Update": func() error {
				_, err := older.Update(ctx, "k", func(v *Versioned) error { v.Tag = "old"; return nil })
				return err
			},
		} {
			if err := write(); err == nil || !strings.Contains(err.Error(), msg) {
				t.Fatalf("%s over a newer record: %v", name, err)
			}
		}
		after, err := st.Get(ctx, "Versioned/r/k", object.GetOptions{})
		if err != nil || string(after.Body) != string(before.Body) {
			t.Fatalf("the newer record changed: %s %v", after.Body, err)
		}
	})
}

// TestOldRecordCost: reading a record of an older version is one GET; the
// upgrade runs in memory.
func TestOldRecordCost(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	v0 := newRepo[ShopV1](t, st, func(o *repo.Options) { o.Model = "Shop" })
	if err := v0.Create(ctx, ShopV1{ID: "a", City: "Paris"}); err != nil {
		t.Fatal(err)
	}
	m := meter.Wrap(st)
	r := newRepo[ShopRenamed](t, m, func(o *repo.Options) {
		o.Model = "Shop"
		o.SchemaVersion = 1
		o.Upgrades = map[int]repo.Upgrade{0: repo.RenameField("City", "Town")}
	})
	s, err := r.Get(ctx, "a")
	if err != nil || s.Town != "Paris" {
		t.Fatalf("Get = %+v, %v", s, err)
	}
	if c := m.Snapshot(); c.Get != 1 || c.Total() != 1 {
		t.Fatalf("Get of an old record: %v, want 1 GET", c)
	}
	// Migrate of n old records: n GETs and n PUTs (no index value changes
	// here: Town is not built yet), one LIST, and the manifest's reads
	// and writes.
	for i := range 4 {
		if err := v0.Create(ctx, ShopV1{ID: fmt.Sprint("b", i), City: "Lyon"}); err != nil {
			t.Fatal(err)
		}
	}
	m.Reset()
	rep, err := r.Migrate(ctx)
	if err != nil || rep.Migrated != 5 {
		t.Fatalf("Migrate: %+v %v", rep, err)
	}
	c := m.Snapshot()
	// Records: 1 LIST + 5 GETs; per record 1 PUT of the record, 1 PUT of
	// its new Town entry and 1 DELETE of its entry of the removed index
	// City. Manifest: attach (GET, and a PUT marking City removed and Town
	// added), then a read and a write of the progress per batch and at the
	// end. The second LIST is the emptiness check for the new index.
	if c.List != 2 || c.Get != 5+3 || c.Put != 5+5+3 || c.Delete != 5 {
		t.Fatalf("Migrate of 5 old records: %v", c)
	}
}

// Adding a unique constraint to data with duplicates reports every one.

type Member struct {
	ID    string `nodb:"key"`
	Email string
}

type MemberUnique struct {
	ID    string `nodb:"key"`
	Email string `nodb:"unique"`
}

func TestUniqueOverDuplicates(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		name := func(o *repo.Options) { o.Model = "Member" }
		old := newRepo[Member](t, st, name)
		long := strings.Repeat("x", 2000)
		for id, e := range map[string]string{"a": "same", "b": "same", "c": "same", "d": "other", "e": "other", "f": "alone", "g": long, "h": long} {
			if err := old.Create(ctx, Member{ID: id, Email: e}); err != nil {
				t.Fatal(err)
			}
		}
		r := newRepo[MemberUnique](t, st, name)
		err := r.Reindex(ctx)
		if !errors.Is(err, repo.ErrUnique) {
			t.Fatalf("Reindex: %v", err)
		}
		for _, want := range []string{`"same" is held by "a", "b", "c"`, `"other" is held by "d", "e"`, `is held by "g", "h"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the error does not say %s: %v", want, err)
			}
		}
		if len(err.Error()) > 2000 {
			t.Errorf("the error quotes whole values: %d bytes", len(err.Error()))
		}
		if _, err := r.GetBy(ctx, "Email", "alone"); !errors.Is(err, repo.ErrNotBuilt) {
			t.Fatalf("GetBy on an index with duplicates: %v", err)
		}
		// Fix the data; Reindex then builds the index.
		for id, e := range map[string]string{"b": "b@x", "c": "c@x", "e": "e@x", "h": "h@x"} {
			if err := r.Put(ctx, MemberUnique{ID: id, Email: e}); err != nil {
				t.Fatalf("Put %s: %v", id, err)
			}
		}
		if err := r.Reindex(ctx); err != nil {
			t.Fatal(err)
		}
		for id, e := range map[string]string{"a": "same", "b": "b@x", "d": "other", "g": long} {
			if v, err := r.GetBy(ctx, "Email", e); err != nil || v.ID != id {
				t.Fatalf("GetBy(%.10s) = %+v, %v", e, v, err)
			}
		}
		if n, err := r.CountBy(ctx, "Email", "same"); err != nil || n != 1 {
			t.Fatalf("CountBy(same) = %d, %v", n, err)
		}
		if rep, err := r.Check(ctx, false); err != nil || !rep.OK() {
			t.Fatalf("Check: %+v %v", rep, err)
		}
		if err := r.Create(ctx, MemberUnique{ID: "z", Email: "same"}); !errors.Is(err, repo.ErrUnique) {
			t.Fatalf("Create of a duplicate: %v", err)
		}
	})
}

// TestReindexListsUndecodable: a record the model cannot decode does not
// stop Reindex; it is listed, left alone, and keeps the index unbuilt.
func TestReindexListsUndecodable(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		type AgeV1 struct {
			ID  string `nodb:"key"`
			Age string `nodb:"index"`
		}
		type AgeV2 struct {
			ID  string `nodb:"key"`
			Age int    `nodb:"index"`
		}
		name := func(o *repo.Options) { o.Model = "Ages" }
		v1 := newRepo[AgeV1](t, st, name)
		for id, a := range map[string]string{"a": "1", "b": "x", "c": "3", "d": "1"} {
			if err := v1.Create(ctx, AgeV1{ID: id, Age: a}); err != nil {
				t.Fatal(err)
			}
		}
		// Retyped without an upgrade step: no record decodes.
		v2 := newRepo[AgeV2](t, st, name)
		err := v2.Reindex(ctx)
		if !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), "4 records could not be read") {
			t.Fatalf("Reindex: %v", err)
		}
		// With the step, only "b" fails, and is named.
		v2 = newRepo[AgeV2](t, st, name, func(o *repo.Options) {
			o.SchemaVersion = 1
			o.Upgrades = map[int]repo.Upgrade{0: repo.ConvertField("Age", func(old any) (any, error) { return strconv.Atoi(old.(string)) })}
		})
		err = v2.Reindex(ctx)
		if !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), `1 records could not be read`) || !strings.Contains(err.Error(), `"b" (schema version 0)`) {
			t.Fatalf("Reindex: %v", err)
		}
		if err := first(v2.Find(ctx, "Age", 1)); !errors.Is(err, repo.ErrNotBuilt) {
			t.Fatalf("Find with a record left out: %v", err)
		}
		// Deleting (or fixing) it lets Reindex finish.
		if err := v2.Delete(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := v2.Reindex(ctx); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, v2.Find(ctx, "Age", 1)); len(got) != 2 {
			t.Fatalf("Find(Age, 1) = %+v", got)
		}
		if n, err := v2.CountBy(ctx, "Age", 1); err != nil || n != 2 {
			t.Fatalf("CountBy(Age, 1) = %d, %v", n, err)
		}
		if rep, err := v2.Check(ctx, false); err != nil || !rep.OK() {
			t.Fatalf("Check: %+v %v", rep, err)
		}
	})
}

// TestDropAndReAdd: a removed index is reported until DropIndex; added back
// later, it is rebuilt, not trusted.
func TestDropAndReAdd(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		type Plain struct {
			ID   string `nodb:"key"`
			City string
		}
		name := func(o *repo.Options) { o.Model = "Shop" }
		createShops(t, st)
		plain := newRepo[Plain](t, st, name)
		if err := plain.DropIndex(ctx, "Nope"); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("DropIndex of no index: %v", err)
		}
		if _, err := plain.Count(ctx); err != nil { // attaches: City is removed
			t.Fatal(err)
		}
		if rep, err := plain.Check(ctx, false); err != nil || !slices.Equal(rep.UnknownIndexes, []string{"City"}) {
			t.Fatalf("Check before DropIndex: %+v %v", rep, err)
		}
		if err := plain.DropIndex(ctx, "City"); err != nil {
			t.Fatal(err)
		}
		if rep, err := plain.Check(ctx, false); err != nil || !rep.OK() {
			t.Fatalf("Check after DropIndex: %+v %v", rep, err)
		}
		back := newRepo[ShopV1](t, st, name)
		if err := back.DropIndex(ctx, "City"); !errors.Is(err, repo.ErrInvalid) {
			t.Fatalf("DropIndex of an index the model has: %v", err)
		}
		if err := first(back.Find(ctx, "City", "Paris")); !errors.Is(err, repo.ErrNotBuilt) || !strings.Contains(err.Error(), "added back") {
			t.Fatalf("Find on an index added back: %v", err)
		}
		if err := back.Reindex(ctx); err != nil {
			t.Fatal(err)
		}
		for c, n := range map[string]int{"Paris": 2, "Lyon": 1, "": 1} {
			if got := collect(t, back.Find(ctx, "City", c)); len(got) != n {
				t.Fatalf("Find(City, %q) = %+v, want %d", c, got, n)
			}
			if k, err := back.CountBy(ctx, "City", c); err != nil || k != n {
				t.Fatalf("CountBy(City, %q) = %d, %v", c, k, err)
			}
		}
		if rep, err := back.Check(ctx, false); err != nil || !rep.OK() {
			t.Fatalf("Check: %+v %v", rep, err)
		}
	})
}

// TestRebuild: Rebuild repairs an index whose objects were changed behind
// NoDB's back: a missing entry is written, a stray one removed.
func TestRebuild(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		createShops(t, st)
		r := newRepo[ShopV1](t, st, func(o *repo.Options) { o.Model = "Shop" })
		var paris []string
		for info, err := range object.All(ctx, st, "Shop/i/City/", "", 0) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(info.Key, "/a") {
				paris = append(paris, info.Key)
			}
		}
		if len(paris) != 1 {
			t.Fatalf("entries of a: %v", paris)
		}
		if err := st.Delete(ctx, paris[0], object.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// A stray entry naming b under Paris (b is in Lyon).
		stray := strings.Replace(paris[0], "/a", "/b", 1)
		if _, err := st.Put(ctx, stray, []byte(`{"write":"x"}`), object.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := r.Rebuild(ctx, "Nope"); !errors.Is(err, repo.ErrInvalid) {
			t.Fatalf("Rebuild of no index: %v", err)
		}
		if err := r.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, r.Find(ctx, "City", "Paris")); len(got) != 2 {
			t.Fatalf("Find(Paris) = %+v", got)
		}
		if n, err := r.CountBy(ctx, "City", "Paris"); err != nil || n != 2 {
			t.Fatalf("CountBy(Paris) = %d, %v", n, err)
		}
		if rep, err := r.Check(ctx, false); err != nil || !rep.OK() {
			t.Fatalf("Check: %+v %v", rep, err)
		}
	})
}

// TestMigrateBesideWriters: Migrate loses no concurrent write, and resumes
// where an interrupted run stopped.
func TestMigrateBesideWriters(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		type CounterV0 struct {
			ID    string `nodb:"key"`
			Count int
			Group string `nodb:"index"`
		}
		type CounterV1 struct {
			ID    string `nodb:"key"`
			Hits  int
			Group string `nodb:"index"`
		}
		name := func(o *repo.Options) { o.Model = "Counter" }
		n := 300 // more than one batch
		v0 := newRepo[CounterV0](t, st, name)
		tasks := make([]error, n)
		for i := range n {
			tasks[i] = v0.Create(ctx, CounterV0{ID: fmt.Sprintf("c%03d", i), Group: fmt.Sprint("g", i%3)})
		}
		if err := errors.Join(tasks...); err != nil {
			t.Fatal(err)
		}
		opts := func(o *repo.Options) {
			o.Model = "Counter"
			o.SchemaVersion = 1
			o.Upgrades = map[int]repo.Upgrade{0: repo.RenameField("Count", "Hits")}
		}
		v1 := newRepo[CounterV1](t, st, opts)
		// An interrupted Migrate: cancelled after its first batch.
		cctx, cancel := context.WithCancel(ctx)
		_, err := v1.Migrate(cctx, func(o *repo.MigrateOptions) { o.Progress = func(repo.MigrateReport) { cancel() } })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Migrate: %v", err)
		}
		// Writers increment counters while the resumed Migrate runs.
		const writers, incs = 4, 10
		done := make(chan error, writers)
		for w := range writers {
			go func() {
				wr := newRepo[CounterV1](t, st, opts)
				var errs []error
				for i := range incs {
					_, err := wr.Update(ctx, fmt.Sprintf("c%03d", (w*incs+i)*7%n), func(c *CounterV1) error { c.Hits++; return nil })
					errs = append(errs, err)
				}
				done <- errors.Join(errs...)
			}()
		}
		var progress []repo.MigrateReport
		rep, err := v1.Migrate(ctx, func(o *repo.MigrateOptions) {
			o.Progress = func(r repo.MigrateReport) { progress = append(progress, r) }
		})
		for range writers {
			if werr := <-done; werr != nil {
				t.Fatal(werr)
			}
		}
		if err != nil || rep.Records >= n || len(progress) == 0 || len(rep.Failed) != 0 {
			t.Fatalf("resumed Migrate: %+v (progress %d) %v", rep, len(progress), err)
		}
		if rep, err := v1.Migrate(ctx, func(o *repo.MigrateOptions) { o.Restart = true }); err != nil || rep.Migrated != 0 || rep.Current != n {
			t.Fatalf("Migrate again from the start: %+v %v", rep, err)
		}
		total := 0
		for c, err := range v1.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			total += c.Hits
			if rec, err := v1.GetRecord(ctx, c.ID); err != nil || rec.Schema != 1 {
				t.Fatalf("%s after Migrate: %+v %v", c.ID, rec, err)
			}
		}
		if total != writers*incs {
			t.Fatalf("%d increments survived, want %d", total, writers*incs)
		}
		for g := range 3 {
			if k, err := v1.CountBy(ctx, "Group", fmt.Sprint("g", g)); err != nil || k != n/3 {
				t.Fatalf("CountBy(g%d) = %d, %v", g, k, err)
			}
		}
		if rep, err := v1.Check(ctx, false); err != nil || !rep.OK() {
			t.Fatalf("Check: %+v %v", rep, err)
		}
	})
}

// TestDiffInPlainWords: Diff says what differs and what to run, without Go
// struct dumps.
func TestDiffInPlainWords(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	type V1 struct {
		ID    string `nodb:"key"`
		City  string `nodb:"index"`
		Age   string
		Score int `nodb:"index"`
	}
	type V2 struct {
		ID    string `nodb:"key"`
		Town  string `nodb:"index"`
		Age   int
		Score string `nodb:"index"`
	}
	name := func(o *repo.Options) { o.Model = "D" }
	if err := newRepo[V1](t, st, name).Create(ctx, V1{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	r := newRepo[V2](t, st, name)
	if err := first(r.Find(ctx, "Town", "x")); !errors.Is(err, repo.ErrNotBuilt) {
		t.Fatal(err)
	}
	diff, err := r.Diff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(diff, "\n")
	for _, want := range []string{
		`field Age is int in the model and string in records of schema version 0: add Upgrades[0] = repo.ConvertField("Age", ...) and set SchemaVersion to 1`,
		`field City (string, stored as "City") is no longer in the model`,
		`if it was renamed to Town, add Upgrades[0] = repo.RenameField("City", "Town")`,
		`index Score is not built: its kind changed from int to string: run Reindex`,
		`index Town is not built: it was added to the model after records existed: run Reindex`,
		`index City is no longer in the model; its entries and claims are still stored: run DropIndex(ctx, "City")`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Diff lacks %q:\n%s", want, text)
		}
	}
	if strings.ContainsAny(text, "{}") || strings.Contains(text, "map[") {
		t.Errorf("Diff dumps Go values:\n%s", text)
	}
}

// TestRebuildBesideWriters: a rebuild of every index while writers change
// indexed values leaves every query exact.
func TestRebuildBesideWriters(t *testing.T) {
	ctx := context.Background()
	eachRacingBackend(t, func(t *testing.T, st object.Store, _ func() object.Store) {
		type Racer struct {
			ID    string `nodb:"key"`
			Color string `nodb:"index"`
			Email string `nodb:"unique"`
		}
		colors := []string{"red", "green", "blue"}
		r := newRepo[Racer](t, st)
		const n = 40
		for i := range n {
			if err := r.Create(ctx, Racer{ID: fmt.Sprintf("r%02d", i), Color: colors[i%3], Email: fmt.Sprint(i, "@x")}); err != nil {
				t.Fatal(err)
			}
		}
		const writers, rounds = 3, 8
		done := make(chan error, writers)
		for w := range writers {
			go func() {
				wr := newRepo[Racer](t, st)
				var errs []error
				for i := range rounds {
					id := fmt.Sprintf("r%02d", (w*rounds+i)*5%n)
					_, err := wr.Update(ctx, id, func(v *Racer) error {
						v.Color = colors[(w+i)%3]
						v.Email = fmt.Sprintf("%s-w%d-%d@x", v.ID, w, i)
						return nil
					})
					errs = append(errs, err)
				}
				done <- errors.Join(errs...)
			}()
		}
		rerr := r.Rebuild(ctx)
		for range writers {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
		all := collect(t, r.All(ctx))
		exact := st.Capabilities().ConditionalDelete
		for _, c := range colors {
			want := 0
			for _, v := range all {
				if v.Color == c {
					want++
				}
			}
			if got := collect(t, r.Find(ctx, "Color", c)); len(got) != want {
				t.Fatalf("Find(%s) = %d, want %d", c, len(got), want)
			}
			if k, err := r.CountBy(ctx, "Color", c); err != nil || exact && k != want {
				t.Fatalf("CountBy(%s) = %d, %v; want %d", c, k, err, want)
			}
		}
		for _, v := range all {
			if got, err := r.GetBy(ctx, "Email", v.Email); err != nil || got.ID != v.ID {
				t.Fatalf("GetBy(%s) = %+v, %v", v.Email, got, err)
			}
		}
		if rep, err := r.Check(ctx, false); err != nil || exact && !rep.OK() {
			t.Fatalf("Check: %+v %v", rep, err)
		}
	})
}

// hexJSON is a custom codec whose output is not JSON; upperJSON's is.
type hexJSON struct{}

func (hexJSON) Name() string { return "hexjson" }
func (hexJSON) Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return []byte(fmt.Sprintf("%x", b)), err
}
func (hexJSON) Unmarshal(data []byte, v any) error {
	var b []byte
	if _, err := fmt.Sscanf(string(data), "%x", &b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

type plainJSON struct{}

func (plainJSON) Name() string                       { return "plainjson" }
func (plainJSON) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (plainJSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// TestUpgradeCustomCodecs: upgrade steps run for a custom codec whose
// output is JSON; for one whose output is not, a record that needs a step
// is an error saying why.
func TestUpgradeCustomCodecs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		codec repo.Codec
		ok    bool
	}{{plainJSON{}, true}, {hexJSON{}, false}} {
		st := memstore.New()
		v0 := newRepo[ShopV1](t, st, func(o *repo.Options) { o.Model = "Shop"; o.Codec = tc.codec })
		if err := v0.Create(ctx, ShopV1{ID: "a", City: "Paris"}); err != nil {
			t.Fatal(err)
		}
		v1 := newRepo[ShopRenamed](t, st, func(o *repo.Options) {
			o.Model = "Shop"
			o.Codec = tc.codec
			o.SchemaVersion = 1
			o.Upgrades = map[int]repo.Upgrade{0: repo.RenameField("City", "Town")}
		})
		s, err := v1.Get(ctx, "a")
		if tc.ok && (err != nil || s.Town != "Paris") {
			t.Fatalf("%s: Get = %+v, %v", tc.codec.Name(), s, err)
		}
		if !tc.ok && (!errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), `codec "hexjson" stored it as bytes`)) {
			t.Fatalf("%s: Get = %+v, %v", tc.codec.Name(), s, err)
		}
	}
}

// TestMigrateResumesAfterCrash interrupts Migrate at many points; running it
// again finishes the job without redoing what was saved.
func TestMigrateResumesAfterCrash(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	type V0 struct {
		ID    string `nodb:"key"`
		Note  string
		Group string `nodb:"index"`
	}
	type V1 struct {
		ID    string `nodb:"key"`
		Text  string
		Group string `nodb:"index"`
	}
	name := func(o *repo.Options) { o.Model = "Crashy" }
	v0 := newRepo[V0](t, st, name)
	const n = 600
	for i := range n {
		if err := v0.Create(ctx, V0{ID: fmt.Sprintf("k%04d", i), Note: fmt.Sprint("note ", i), Group: fmt.Sprint(i % 4)}); err != nil {
			t.Fatal(err)
		}
	}
	opts := func(o *repo.Options) {
		o.Model = "Crashy"
		o.SchemaVersion = 1
		o.Upgrades = map[int]repo.Upgrade{0: repo.RenameField("Note", "Text")}
	}
	for _, crashAt := range []int{1, 3, 100, 700} {
		fs := faults.New(st)
		fs.Arm(crashAt, faults.Crash)
		_, err := newRepo[V1](t, fs, opts).Migrate(ctx)
		fs.Disarm()
		if !errors.Is(err, faults.ErrInjected) {
			t.Fatalf("Migrate crashing at %d: %v", crashAt, err)
		}
	}
	m := meter.Wrap(st)
	r := newRepo[V1](t, m, opts)
	rep, err := r.Migrate(ctx)
	if err != nil || len(rep.Failed) != 0 {
		t.Fatalf("final Migrate: %+v %v", rep, err)
	}
	// It resumed after the last batch saved: far fewer than n GETs.
	if c := m.Snapshot(); rep.Records >= n || c.Get >= n {
		t.Fatalf("the final Migrate did not resume: %+v, %v", rep, c)
	}
	for v, err := range r.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if rec, err := r.GetRecord(ctx, v.ID); err != nil || rec.Schema != 1 || !strings.HasPrefix(v.Text, "note ") {
			t.Fatalf("%s: %+v %v", v.ID, rec, err)
		}
	}
	if k, err := r.CountBy(ctx, "Group", "1"); err != nil || k != n/4 {
		t.Fatalf("CountBy = %d, %v", k, err)
	}
	if rep, err := r.Check(ctx, false); err != nil || !rep.OK() {
		t.Fatalf("Check: %+v %v", rep, err)
	}
}
