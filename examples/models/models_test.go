package models

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func users() []User {
	return []User{
		{ID: "alice", Email: "alice@x.io", City: "Paris", Age: 30, Seen: t0},
		{ID: "bob", Email: "bob@x.io", City: "Berlin", Age: 25, Seen: t0.Add(time.Hour)},
		{ID: "carol", Email: "carol@x.io", City: "Paris", Age: 41, Seen: t0.Add(2 * time.Hour)},
		{ID: "dave", Email: "dave@x.io", City: "Paris", Age: 18, Seen: t0.Add(3 * time.Hour)},
	}
}

// ids collects the keys of a query's results.
func ids[T any](t *testing.T, seq func(yield func(T, error) bool), key func(T) string) []string {
	t.Helper()
	var out []string
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, key(v))
	}
	return out
}

func userID(u User) string { return u.ID }

func TestUserRepo(t *testing.T) {
	ctx := context.Background()
	r, err := NewUserRepo(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users() {
		if err := r.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	u, err := r.Get(ctx, "bob")
	if err != nil || u.Email != "bob@x.io" {
		t.Fatalf("Get(bob) = %+v, %v", u, err)
	}
	rec, err := r.GetRecord(ctx, "bob")
	if err != nil || rec.Value.ID != "bob" || rec.Version == "" {
		t.Fatalf("GetRecord(bob) = %+v, %v", rec, err)
	}
	u, err = r.GetByEmail(ctx, "carol@x.io")
	if err != nil || u.ID != "carol" {
		t.Fatalf("GetByEmail = %+v, %v", u, err)
	}
	if _, err := r.GetByEmail(ctx, "nobody@x.io"); !errors.Is(err, repo.ErrNotFound) {
		t.Fatalf("GetByEmail(nobody) error = %v, want ErrNotFound", err)
	}
	if got, want := ids(t, r.FindByCity(ctx, "Paris"), userID), []string{"alice", "carol", "dave"}; !slices.Equal(got, want) {
		t.Errorf("FindByCity(Paris) = %v, want %v", got, want)
	}
	if got, want := ids(t, r.RangeByAge(ctx, 20, 40), userID), []string{"bob", "alice"}; !slices.Equal(got, want) {
		t.Errorf("RangeByAge(20, 40) = %v, want %v", got, want)
	}
	if got, want := ids(t, r.RangeBySeen(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour)), userID), []string{"bob", "carol"}; !slices.Equal(got, want) {
		t.Errorf("RangeBySeen = %v, want %v", got, want)
	}
	if got, want := ids(t, r.FindBySeen(ctx, t0), userID), []string{"alice"}; !slices.Equal(got, want) {
		t.Errorf("FindBySeen = %v, want %v", got, want)
	}
	if n, err := r.CountByCity(ctx, "Paris"); err != nil || n != 3 {
		t.Errorf("CountByCity(Paris) = %d, %v, want 3", n, err)
	}

	// Pages of two, then the rest.
	var paged []string
	cursor := ""
	for range 5 {
		p, err := r.FindByCityPage(ctx, "Paris", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Items {
			paged = append(paged, u.ID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if want := []string{"alice", "carol", "dave"}; !slices.Equal(paged, want) {
		t.Errorf("FindByCityPage pages = %v, want %v", paged, want)
	}
	p, err := r.RangeByAgePage(ctx, 0, 100, "", 3)
	if err != nil || len(p.Items) != 3 || p.Items[0].ID != "dave" || p.Next == "" {
		t.Errorf("RangeByAgePage = %+v, %v; want dave, bob, alice and a cursor", p, err)
	}

	u, err = r.Update(ctx, "dave", func(u *User) error { u.City = "Rome"; return nil })
	if err != nil || u.City != "Rome" {
		t.Fatalf("Update = %+v, %v", u, err)
	}
	if got, want := ids(t, r.FindByCity(ctx, "Paris"), userID), []string{"alice", "carol"}; !slices.Equal(got, want) {
		t.Errorf("FindByCity(Paris) after Update = %v, want %v", got, want)
	}
	if err := r.Delete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, "alice"); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("Get(alice) after Delete: %v, want ErrNotFound", err)
	}
	if err := r.Create(ctx, User{ID: "eve", Email: "bob@x.io"}); !errors.Is(err, repo.ErrUnique) {
		t.Errorf("Create with a taken email: %v, want ErrUnique", err)
	}
}

func orderID(o Order) string { return o.Customer + "/" + o.Coupon }

func TestOrderRepo(t *testing.T) {
	ctx := context.Background()
	r, err := NewOrderRepo(memstore.New(), func(o *repo.Options) { o.Model = "orders" })
	if err != nil {
		t.Fatal(err)
	}
	if r.Model() != "orders" {
		t.Errorf("Model() = %q: the caller's options must apply after the schema", r.Model())
	}
	orders := []Order{
		{ID: -5, Customer: "alice", Total: 9.5, Status: Pending},
		{ID: 7, Customer: "bob", Total: 120, Coupon: "SPRING", Status: Shipped, Paid: true},
		{ID: 42, Customer: "alice", Total: -3, Coupon: "SPRING", Status: Canceled},
		{ID: 1000, Customer: "carol", Total: 55.25, Status: Shipped, Paid: true},
	}
	for _, o := range orders {
		if err := r.Put(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	o, err := r.Get(ctx, 42)
	if err != nil || o.Customer != "alice" {
		t.Fatalf("Get(42) = %+v, %v", o, err)
	}
	key := func(o Order) int64 { return o.ID }
	var all []int64
	for o, err := range r.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, key(o))
	}
	if want := []int64{-5, 7, 42, 1000}; !slices.Equal(all, want) {
		t.Errorf("All = %v, want numeric key order %v", all, want)
	}
	if got, want := ids(t, r.RangeByTotal(ctx, 0, 100), orderID), []string{"alice/", "carol/"}; !slices.Equal(got, want) {
		t.Errorf("RangeByTotal(0, 100) = %v, want %v", got, want)
	}
	if got, want := ids(t, r.FindByCoupon(ctx, "SPRING"), orderID), []string{"bob/SPRING", "alice/SPRING"}; !slices.Equal(got, want) {
		t.Errorf("FindByCoupon(SPRING) = %v, want %v (key order: 7, 42)", got, want)
	}
	for _, err := range r.FindByCoupon(ctx, "") {
		if !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("FindByCoupon(\"\") on an omitempty index: %v, want ErrInvalid", err)
		}
	}
	if n, err := r.CountByPaid(ctx, true); err != nil || n != 2 {
		t.Errorf("CountByPaid(true) = %d, %v, want 2", n, err)
	}
	if got, want := ids(t, r.FindByStatus(ctx, Shipped), orderID), []string{"bob/SPRING", "carol/"}; !slices.Equal(got, want) {
		t.Errorf("FindByStatus(Shipped) = %v, want %v", got, want)
	}
	if got, want := ids(t, r.RangeByStatus(ctx, Canceled, Pending), orderID), []string{"alice/SPRING", "alice/"}; !slices.Equal(got, want) {
		t.Errorf("RangeByStatus(canceled..pending) = %v, want %v", got, want)
	}
	if _, err := r.Update(ctx, 7, func(o *Order) error { o.Coupon = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if n, err := r.CountByCoupon(ctx, "SPRING"); err != nil || n != 1 {
		t.Errorf("CountByCoupon(SPRING) after clearing one = %d, %v, want 1", n, err)
	}
	if err := r.Delete(ctx, -5); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Count(ctx); err != nil || n != 3 {
		t.Errorf("Count = %d, %v, want 3", n, err)
	}
}

// The generated extractors agree with reflection: see
// TestSchemaMatchesReflection in package repo.
func TestSchemaRejectsNaN(t *testing.T) {
	nan := Order{ID: 1, Total: 0}
	nan.Total /= nan.Total
	if _, err := orderSchema.IndexOf(&nan, nil); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("IndexOf with a NaN total: %v, want ErrInvalid", err)
	}
}

// TestUserQuery uses the generated typed builder: a retyped field makes it
// fail to build.
func TestUserQuery(t *testing.T) {
	ctx := context.Background()
	r, err := NewUserRepo(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users() {
		if err := r.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	// Seen is tagged index,desc: the most recently seen first, in stored order.
	q := r.Query().WhereCity("Paris").SeenBetween(t0, t0.Add(24*time.Hour)).Desc()
	if got, want := ids(t, q.All(ctx), userID), []string{"dave", "carol", "alice"}; !slices.Equal(got, want) {
		t.Errorf("Paris users, most recently seen first = %v, want %v", got, want)
	}
	if got, want := ids(t, q.Limit(2).All(ctx), userID), []string{"dave", "carol"}; !slices.Equal(got, want) {
		t.Errorf("Limit(2) = %v, want %v", got, want)
	}
	if got, want := ids(t, r.Query().AgeBetween(20, 40).Filter(func(u User) bool { return u.City == "Berlin" }).All(ctx), userID), []string{"bob"}; !slices.Equal(got, want) {
		t.Errorf("AgeBetween Filter = %v, want %v", got, want)
	}
	// Unique fields take conditions too, read from their claims.
	if u, err := r.Query().EmailPrefix("car").First(ctx); err != nil || u.ID != "carol" {
		t.Errorf("EmailPrefix(car) = %v, %v, want carol", u.ID, err)
	}
	if got, want := ids(t, r.Query().WhereEmail("dave@x.io").WhereCity("Paris").All(ctx), userID), []string{"dave"}; !slices.Equal(got, want) {
		t.Errorf("WhereEmail WhereCity = %v, want %v", got, want)
	}
	// OrderBy: every user, without bounds.
	if got, want := ids(t, r.Query().OrderBySeen().Desc().Limit(3).All(ctx), userID), []string{"dave", "carol", "bob"}; !slices.Equal(got, want) {
		t.Errorf("OrderBySeen Desc Limit 3 = %v, want %v", got, want)
	}
	if got, want := ids(t, r.Query().OrderByEmail().Desc().WhereCity("Paris").All(ctx), userID), []string{"dave", "carol", "alice"}; !slices.Equal(got, want) {
		t.Errorf("OrderByEmail Desc WhereCity = %v, want %v", got, want)
	}
	var keys []string
	for k, err := range r.Query().IDPrefix("a").Keys(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if !slices.Equal(keys, []string{"alice"}) {
		t.Errorf("IDPrefix(a).Keys = %v", keys)
	}
}

// TestUserTags uses the generated helpers of a list field: they take one
// element, and a record is found by any of its elements.
func TestUserTags(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	r, err := NewUserRepo(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users() {
		u.Tags = map[string][]string{"alice": {"go", "s3"}, "bob": {"rust"}, "carol": {"go", "go", "db"}}[u.ID]
		if err := r.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := ids(t, r.FindByTags(ctx, "go"), userID), []string{"alice", "carol"}; !slices.Equal(got, want) {
		t.Errorf("FindByTags go = %v, want %v", got, want)
	}
	if got, want := ids(t, r.RangeByTags(ctx, "d", "s3"), userID), []string{"carol", "alice", "bob"}; !slices.Equal(got, want) {
		t.Errorf("RangeByTags [d, s3] = %v, want %v (each once, by its first tag in range)", got, want)
	}
	if got, want := ids(t, r.Query().WhereTags("go").WhereTags("s3").All(ctx), userID), []string{"alice"}; !slices.Equal(got, want) {
		t.Errorf("WhereTags go and s3 = %v, want %v", got, want)
	}
	if n, err := r.CountByTags(ctx, "go"); err != nil || n != 2 {
		t.Errorf("CountByTags go = %d %v", n, err)
	}
	if _, err := r.Update(ctx, "bob", func(u *User) error { u.Tags = append(u.Tags, "go"); return nil }); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(t, r.FindByTags(ctx, "go"), userID), []string{"alice", "bob", "carol"}; !slices.Equal(got, want) {
		t.Errorf("FindByTags go after Update = %v, want %v", got, want)
	}
	// The generated extractor and reflection agree: a Repo without the
	// generated code finds every entry backed.
	plain, err := repo.New[User](st)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := plain.Check(ctx, false); err != nil || !rep.OK() {
		t.Errorf("Check by reflection of what generated code wrote: %+v %v", rep, err)
	}
}
