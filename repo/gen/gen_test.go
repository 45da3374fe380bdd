package gen_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
)

type Pet struct {
	Name string `nodb:"key"`
	Kind string `nodb:"index"`
	Age  int
}

// petSchema is what nodbgen would generate for Pet, with a counter of
// the calls that prove the Repo uses it instead of reflection.
func petSchema(calls *int) *gen.Schema[Pet] {
	return &gen.Schema[Pet]{
		Key:     "Name",
		Indexes: []gen.Index{{Field: "Kind"}},
		KeyOf: func(v *Pet) (string, string, error) {
			*calls++
			return gen.KeyString(v.Name)
		},
		IndexOf: func(v *Pet, dst []string) ([]string, error) {
			*calls++
			return append(dst, gen.IndexString(v.Kind)), nil
		},
	}
}

// An option that overwrites the whole Options value (the way
// func(o *repo.Options) { *o = repo.Options{...} } does) changes user
// settings only: the schema stays in use.
func TestOptionsCannotDropSchema(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	var calls int
	r, err := gen.New(st, petSchema(&calls), func(o *repo.Options) { *o = repo.Options{Model: "pets"} })
	if err != nil {
		t.Fatal(err)
	}
	if r.Model() != "pets" {
		t.Errorf("Model() = %q, want the option's pets", r.Model())
	}
	if err := r.Create(ctx, Pet{Name: "rex", Kind: "dog"}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("Create did not use the generated schema after an option replaced Options")
	}
	var got []string
	for p, err := range r.Find(ctx, "Kind", "dog") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Name)
	}
	if len(got) != 1 || got[0] != "rex" {
		t.Errorf("Find(Kind, dog) = %v, want [rex]", got)
	}

	// A schema that does not match the tags is refused whatever the
	// options do: they cannot hide it either.
	bad := petSchema(&calls)
	bad.Indexes[0].Unique = true
	_, err = gen.New(st, bad, func(o *repo.Options) { *o = repo.Options{} })
	if !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), `Kind is tagged nodb:"index" in the struct but nodb:"unique" in the generated code`) {
		t.Errorf("mismatched schema: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := gen.New[Pet](memstore.New(), nil); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "nil schema") {
		t.Errorf("nil schema: %v", err)
	}
	var calls int
	if _, err := gen.New(nil, petSchema(&calls)); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "nil store") {
		t.Errorf("nil store: %v", err)
	}
	noKeyOf := petSchema(&calls)
	noKeyOf.KeyOf = nil
	if _, err := gen.New(memstore.New(), noKeyOf); !errors.Is(err, repo.ErrInvalid) || !strings.Contains(err.Error(), "lacks its extractors") {
		t.Errorf("schema without KeyOf: %v", err)
	}
}

// The encoders' errors wrap repo.ErrInvalid and name the problem.
func TestEncoderErrors(t *testing.T) {
	for name, err := range map[string]error{
		"empty key": func() error { _, _, err := gen.KeyString(""); return err }(),
		"NaN":       func() error { _, err := gen.IndexFloat(nanValue()); return err }(),
		"long key":  func() error { _, _, err := gen.KeyString(strings.Repeat("é", 200)); return err }(),
	} {
		if !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("%s: %v, want an error wrapping repo.ErrInvalid", name, err)
		}
	}
	if _, _, err := gen.KeyString("alice"); err != nil {
		t.Errorf("KeyString(alice): %v", err)
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

// New is what a generated constructor (NewPetRepo) calls: the Repo it
// returns extracts keys and index values with the generated schema.
func ExampleNew() {
	ctx := context.Background()
	var calls int
	pets, err := gen.New(memstore.New(), petSchema(&calls))
	if err != nil {
		log.Fatal(err)
	}
	if err := pets.Create(ctx, Pet{Name: "rex", Kind: "dog"}); err != nil {
		log.Fatal(err)
	}
	p, err := pets.Get(ctx, "rex")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name, p.Kind, calls > 0)
	// Output: rex dog true
}
