// Package codegen is the library behind nodbgen: it loads Go packages, finds
// and validates NoDB models (structs with a field tagged nodb:"key"), and
// writes, per model, a file of typed, reflection-free helpers next to it.
// It is internal: cmd/nodbgen is its only user, and the command line is
// the interface.
//
// The three steps are separate so that tools and tests can use each:
//
//	pkgs, err := codegen.Load([]string{"."}, nil, []string{"User"}) // find and validate
//	files, err := codegen.Generate(pkgs[0], "", "nodbgen -type User") // render, in memory
//	err = codegen.Write(files, nil)                                  // write atomically
//
// [Run] does all three, as the command does.
//
// # Packages that do not compile
//
// go generate runs on packages that do not type-check: on the first run,
// other files already call NewUserRepo, which does not exist yet; after a
// model change, the previous generated file no longer fits the model. Load
// therefore ignores the generator's own output (every file whose first line
// is a header of [HeaderFor]) and tolerates type errors outside the models. Errors are
// reported, at file:line:col, only for the models themselves: a bad tag, a
// field type that cannot be a key or be indexed, or a type error inside the
// model's declaration.
//
// # Rules
//
// The tag rules are the runtime's (internal/tag.Parse, and the key and index type
// rules of repo.New), checked on go/types instead of reflect: exactly one
// field tagged nodb:"key", of a string kind, an integer kind or a non-pointer
// type implementing encoding.TextMarshaler; indexed fields (nodb:"index",
// nodb:"unique", with the option omitempty) of a string, bool, integer or
// float kind, time.Time or an encoding.TextMarshaler, never a pointer;
// tagged fields exported; nodb:"-" for fields not stored. Fields are the
// struct's visible fields, promoted ones included, as reflect.VisibleFields
// sees them.
//
// # Generated code
//
// For a model User, the file user_nodb.go holds UserRepo (a *repo.Repo[User]
// with typed methods: Get, GetRecord, Update and Delete taking the key's own
// type; GetBy<Field> per unique field; FindBy<Field>, FindBy<Field>Page and
// CountBy<Field> per index; RangeBy<Field> and RangeBy<Field>Page per
// ordered index), NewUserRepo, the constants UserField<Name> naming the key
// and indexed fields, the gen.Schema (package repo/gen) that replaces
// reflection, handed to gen.New outside repo.Options, and a
// compile-time guard that stops the build when the key or an indexed field
// is renamed or retyped without regenerating. A changed nodb tag cannot be
// caught at build time; NewUserRepo then returns an error naming the
// difference (the schema is checked against the struct's tags). The output
// is deterministic and gofmt-clean; its header records the command line,
// and its imports are grouped standard library first.
package codegen
