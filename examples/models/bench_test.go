package models

import (
	"context"
	"fmt"
	"testing"

	"github.com/nodb-go/nodb/repo"
	"github.com/nodb-go/nodb/repo/memstore"
)

// BenchmarkCreate measures Create on memstore through the generated
// constructor (schema) and through repo.New (reflection).
func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, create func(User) error) {
		b.ReportAllocs()
		u := users()[0]
		i := 0
		for b.Loop() {
			i++
			u.ID = fmt.Sprintf("u%d", i)
			u.Email = u.ID + "@x.io"
			if err := create(u); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("generated", func(b *testing.B) {
		r, err := NewUserRepo(memstore.New())
		if err != nil {
			b.Fatal(err)
		}
		run(b, func(u User) error { return r.Create(ctx, u) })
	})
	b.Run("reflect", func(b *testing.B) {
		r, err := repo.New[User](memstore.New())
		if err != nil {
			b.Fatal(err)
		}
		run(b, func(u User) error { return r.Create(ctx, u) })
	})
}
