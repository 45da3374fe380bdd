package repo_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nodb-go/nodb/examples/models"
	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/gen"
	"github.com/nodb-go/nodb/repo/memstore"
)

func sampleUser() models.User {
	return models.User{ID: "u1", Email: "u1@x.io", City: "Paris", Age: 42, Seen: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
}

// TestSchemaMatchesReflection checks that generated extractors and the
// reflection path agree, value for value.
func TestSchemaMatchesReflection(t *testing.T) {
	generated, err := models.NewUserRepo(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	refl := newRepo[models.User](t, memstore.New())
	for _, u := range []models.User{sampleUser(), {ID: "z"}, {ID: "n", Age: -3, Seen: time.Unix(0, 0).In(time.FixedZone("X", 3600))}} {
		a, err1 := repo.IndexValues(generated.Repo, &u)
		b, err2 := repo.IndexValues(refl, &u)
		if err1 != nil || err2 != nil || !slices.Equal(a, b) {
			t.Fatalf("%+v: generated %v %v, reflection %v %v", u, a, err1, b, err2)
		}
	}
	// A schema that does not match the tags is refused.
	bad := gen.Schema[models.User]{Key: "ID", KeyOf: func(*models.User) (string, string, error) { return "", "", nil },
		IndexOf: func(_ *models.User, d []string) ([]string, error) { return d, nil }}
	if _, err := gen.New(memstore.New(), &bad); !errors.Is(err, repo.ErrInvalid) {
		t.Fatalf("mismatched schema: %v", err)
	}
	if err := generated.Create(context.Background(), sampleUser()); err != nil {
		t.Fatal(err)
	}
}

var sink []string

// BenchmarkIndexOf compares building the index values of User (4 indexes)
// with the generated schema and with reflection.
func BenchmarkIndexOf(b *testing.B) {
	generated, err := models.NewUserRepo(memstore.New())
	if err != nil {
		b.Fatal(err)
	}
	refl, err := repo.New[models.User](memstore.New())
	if err != nil {
		b.Fatal(err)
	}
	u := sampleUser()
	for name, r := range map[string]*repo.Repo[models.User]{"generated": generated.Repo, "reflection": refl} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				segs, err := repo.IndexValues(r, &u)
				if err != nil {
					b.Fatal(err)
				}
				sink = segs
			}
		})
	}
}
