package repo_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodb-go/nodb/internal/dynamic"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
	"github.com/nodb-go/nodb/repo/object"
)

// DynUser has a key and indexes of every kind a tool can compute.
type DynUser struct {
	ID    string    `nodb:"key" json:"id"`
	Email string    `nodb:"unique" json:"email"`
	City  string    `nodb:"index,omitempty" json:"city,omitempty"`
	Age   int       `nodb:"index" json:"age"`
	Score float64   `nodb:"index"`
	Admin bool      `nodb:"index" json:"admin"`
	Seen  time.Time `nodb:"index" json:"seen"`
	Bio   string    `json:"bio"`
}

// openDyn builds the Repo a tool without the Go type uses for model.
func openDyn(t *testing.T, st object.Store, model string) *repo.Repo[dynamic.Doc] {
	t.Helper()
	obj, err := st.Get(context.Background(), model+"/_manifest", object.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := dynamic.New(st, obj.Body, "")
	if err != nil {
		t.Fatal(err)
	}
	return r.(*repo.Repo[dynamic.Doc])
}

func doc(t *testing.T, v any) dynamic.Doc {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return dynamic.Doc{JSON: b}
}

func TestDynamicManifestDescribesModel(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	users, err := repo.New[DynUser](st)
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Create(ctx, DynUser{ID: "a", Email: "a@x"}); err != nil {
		t.Fatal(err)
	}
	obj, err := st.Get(ctx, "DynUser/_manifest", object.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var m dynamic.Manifest
	if err := json.Unmarshal(obj.Body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Format != dynamic.ManifestFormat || m.KeyJSON != "id" || m.KeyKind != "string" || m.Lacks() != "" {
		t.Fatalf("manifest %s: format %d keyJSON %q lacks %q", obj.Body, m.Format, m.KeyJSON, m.Lacks())
	}
	want := map[string]dynamic.Index{
		"Admin": {Kind: "bool", JSON: "admin", State: "ready"},
		"Age":   {Kind: "int", JSON: "age", State: "ready"},
		"City":  {Kind: "string", JSON: "city", Sparse: true, State: "ready"},
		"Email": {Kind: "string", JSON: "email", Unique: true, State: "ready", Claims: true},
		"Score": {Kind: "float", JSON: "Score", State: "ready"},
		"Seen":  {Kind: "time.Time", JSON: "seen", State: "ready"},
	}
	for name, ix := range want {
		if m.Indexes[name] != ix {
			t.Errorf("index %s: %+v, want %+v", name, m.Indexes[name], ix)
		}
	}
}

// An old manifest (format 1: no key JSON name) is upgraded by the next write
// of a program with the Go type; a tool refuses to write through it.
func TestDynamicOldManifest(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	old := `{"nodb":1,"model":"DynUser","keyField":"ID","keyKind":"string","codec":"json","indexes":{"Email":{"kind":"string","unique":true,"state":"ready"}}}`
	if _, err := st.Put(ctx, "DynUser/_manifest", []byte(old), object.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var m dynamic.Manifest
	json.Unmarshal([]byte(old), &m)
	if why := m.Lacks(); !strings.Contains(why, "format 0") || !strings.Contains(why, "index Email has no JSON name") {
		t.Fatalf("Lacks = %q", why)
	}
	d := openDyn(t, st, "DynUser")
	err := d.Put(ctx, doc(t, map[string]any{"id": "x", "email": "x@x"}))
	if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), `no member "ID"`) {
		t.Fatalf("Put through an old manifest: %v", err)
	}
	err = d.Put(ctx, doc(t, map[string]any{"ID": "x", "email": "x@x"}))
	if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "format 0") {
		t.Fatalf("Put through an old manifest: %v", err)
	}
	users, _ := repo.New[DynUser](st, func(o *repo.Options) { o.Model = "DynUser" })
	if err := users.Put(ctx, DynUser{ID: "a", Email: "a@x"}); err != nil {
		t.Fatal(err)
	}
	obj, _ := st.Get(ctx, "DynUser/_manifest", object.GetOptions{})
	m = dynamic.Manifest{}
	json.Unmarshal(obj.Body, &m)
	if m.Lacks() != "" || m.KeyJSON != "id" || m.Indexes["Email"].JSON != "email" {
		t.Fatalf("upgraded manifest %s lacks %q", obj.Body, m.Lacks())
	}
	d = openDyn(t, st, "DynUser")
	if err := d.Put(ctx, doc(t, map[string]any{"id": "x", "email": "x@x"})); err != nil {
		t.Fatalf("Put after the upgrade: %v", err)
	}
}

func TestDynamicRepoSharesProtocol(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	users, err := repo.New[DynUser](st)
	if err != nil {
		t.Fatal(err)
	}
	seen := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, u := range []DynUser{
		{ID: "ann", Email: "ann@x", City: "Paris", Age: 30, Score: 1.5, Seen: seen},
		{ID: "bob", Email: "bob@x", City: "Oslo", Age: 41, Admin: true, Seen: seen.Add(time.Hour)},
	} {
		if err := users.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	d := openDyn(t, st, "DynUser")

	// Reads: the stored document and its metadata.
	got, err := d.Get(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	var back DynUser
	if err := json.Unmarshal(got.JSON, &back); err != nil || back.Email != "ann@x" || got.Version == "" || got.Created.IsZero() {
		t.Fatalf("Get: %s %+v %v", got.JSON, got, err)
	}

	// Writes through the tool are found by the typed Repo's queries.
	if err := d.Create(ctx, doc(t, map[string]any{"id": "cy", "email": "cy@x", "city": "Paris", "age": 22, "Score": 2.5, "seen": seen, "extra": "kept"})); err != nil {
		t.Fatal(err)
	}
	var paris []string
	for u, err := range users.Find(ctx, "City", "Paris") {
		if err != nil {
			t.Fatal(err)
		}
		paris = append(paris, u.ID)
	}
	if !slices.Equal(paris, []string{"ann", "cy"}) {
		t.Fatalf("typed Find after a tool's Create: %v", paris)
	}
	if u, err := users.GetBy(ctx, "Email", "cy@x"); err != nil || u.Age != 22 {
		t.Fatalf("GetBy: %+v %v", u, err)
	}
	stored, _ := d.Get(ctx, "cy")
	if !strings.Contains(string(stored.JSON), `"extra":"kept"`) {
		t.Fatalf("members outside the model are kept: %s", stored.JSON)
	}

	// The library's errors.
	err = d.Create(ctx, doc(t, map[string]any{"id": "cy", "email": "z@x"}))
	if !errors.Is(err, repo.ErrExists) {
		t.Fatalf("Create of an existing key: %v", err)
	}
	err = d.Put(ctx, doc(t, map[string]any{"id": "dan", "email": "ann@x"}))
	if !errors.Is(err, repo.ErrUnique) {
		t.Fatalf("Put of a held unique value: %v", err)
	}
	err = d.Put(ctx, doc(t, map[string]any{"id": "dan", "email": "d@x", "age": "old"}))
	if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), `"old" is not an integer`) {
		t.Fatalf("Put of a wrong kind: %v", err)
	}
	err = d.Put(ctx, dynamic.Doc{JSON: json.RawMessage(`[1]`)})
	if !errors.Is(err, repo.ErrInvalid) {
		t.Fatalf("Put of a non-object: %v", err)
	}
	err = d.Replace(ctx, doc(t, map[string]any{"id": "ann", "email": "ann@x"}), "stale")
	if !errors.Is(err, repo.ErrConflict) {
		t.Fatalf("Replace with a stale version: %v", err)
	}

	// Queries through the tool equal the typed ones.
	keys := func(seq func(func(dynamic.Doc, error) bool)) []string {
		var out []string
		for v, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			var u DynUser
			json.Unmarshal(v.JSON, &u)
			out = append(out, u.ID)
		}
		return out
	}
	if k := keys(d.Range(ctx, "Age", int64(25), int64(50))); !slices.Equal(k, []string{"ann", "bob"}) {
		t.Fatalf("Range Age: %v", k)
	}
	if k := keys(d.Find(ctx, "Admin", true)); !slices.Equal(k, []string{"bob"}) {
		t.Fatalf("Find Admin: %v", k)
	}
	if k := keys(d.Range(ctx, "Seen", seen, seen)); !slices.Equal(k, []string{"ann", "cy"}) {
		t.Fatalf("Range Seen: %v", k)
	}
	if k := keys(d.Range(ctx, "Score", 2.0, 3.0)); !slices.Equal(k, []string{"cy"}) {
		t.Fatalf("Range Score: %v", k)
	}
	rep, err := d.Check(ctx, false)
	if err != nil || !rep.OK() {
		t.Fatalf("Check: %+v %v", rep, err)
	}
	if err := d.Delete(ctx, "cy"); err != nil {
		t.Fatal(err)
	}
	if _, err := users.GetBy(ctx, "Email", "cy@x"); !errors.Is(err, repo.ErrNotFound) {
		t.Fatalf("GetBy after the tool's Delete: %v", err)
	}
	if rep, err := users.Check(ctx, false); err != nil || !rep.OK() {
		t.Fatalf("typed Check after the tool's writes: %+v %v", rep, err)
	}
}
