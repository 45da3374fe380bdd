package codegen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dave/jennifer/jen"
)

// The import paths generated code uses.
const (
	repoPath   = "github.com/nodb-go/nodb/repo"
	objectPath = "github.com/nodb-go/nodb/repo/object"
	genPath    = "github.com/nodb-go/nodb/repo/gen"
)

// File is a generated file: its absolute path and contents.
type File struct {
	Path string
	Src  []byte
}

// FileName returns the name of the file generated for model name:
// "user_nodb.go" for User.
func FileName(model string) string { return strings.ToLower(model) + "_nodb.go" }

// Generate renders the code for p's models: one file per model, named by
// [FileName] in p.Dir, or, if output is not empty, a single file at output
// (relative to the working directory) with all of them. Files are sorted by
// path. command is the command line recorded in each file's header
// ("nodbgen -type User"; see [HeaderFor]). Generate writes nothing.
func Generate(p *Package, output, command string) ([]File, error) {
	if output != "" {
		path, err := filepath.Abs(output)
		if err != nil {
			return nil, err
		}
		src, err := render(p, p.Models, command)
		if err != nil {
			return nil, err
		}
		return []File{{Path: path, Src: src}}, nil
	}
	var files []File
	byPath := map[string]string{}
	for _, m := range p.Models {
		path := filepath.Join(p.Dir, FileName(m.Name))
		if other, dup := byPath[path]; dup {
			return nil, fmt.Errorf("nodbgen: models %s and %s would both be generated into %s; use -output", other, m.Name, filepath.Base(path))
		}
		byPath[path] = m.Name
		src, err := render(p, []*Model{m}, command)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: path, Src: src})
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// gen renders one file.
type gen struct {
	f *jen.File
	p *Package
}

// render returns the gofmt-formatted source of one file holding models,
// headed by [HeaderFor] command, its imports grouped standard library first.
func render(p *Package, models []*Model, command string) ([]byte, error) {
	g := &gen{f: jen.NewFilePathName(p.Path, p.Name), p: p}
	g.f.HeaderComment(strings.TrimPrefix(HeaderFor(command), "// "))
	g.importName(repoPath, "repo")
	g.importName(objectPath, "object")
	g.importName(genPath, "gen")
	for _, m := range models {
		g.model(m)
	}
	var buf bytes.Buffer
	if err := g.f.Render(&buf); err != nil {
		return nil, fmt.Errorf("nodbgen: rendering package %s: %w", p.Path, err)
	}
	src, err := groupImports(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("nodbgen: rendering package %s: %w", p.Path, err)
	}
	return src, nil
}

// groupImports rewrites the import block of src, which jennifer sorts as
// one group, into two, as goimports does: the standard library first,
// then everything else, each sorted, and formats the result. jennifer
// has no option for this; its output is already gofmt-clean, so only the
// block itself changes.
func groupImports(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT || !gd.Lparen.IsValid() {
			continue
		}
		var std, other []string
		for _, spec := range gd.Specs {
			is := spec.(*ast.ImportSpec)
			text := string(src[fset.Position(is.Pos()).Offset:fset.Position(is.End()).Offset])
			path, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return nil, err
			}
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				other = append(other, text)
			} else {
				std = append(std, text)
			}
		}
		var groups []string
		for _, g := range [][]string{std, other} {
			if len(g) > 0 {
				groups = append(groups, "\t"+strings.Join(g, "\n\t"))
			}
		}
		start, end := fset.Position(gd.Lparen).Offset, fset.Position(gd.Rparen).Offset
		out := append([]byte(nil), src[:start]...)
		out = append(out, "(\n"+strings.Join(groups, "\n\n")+"\n"...)
		out = append(out, src[end:]...)
		return format.Source(out)
	}
	return src, nil
}

// importName tells jennifer the package name of path, so that its import
// needs no alias, unless the name is already declared in the package: then
// it picks an alias the package does not use.
func (g *gen) importName(path, name string) {
	if g.p.scope == nil || g.p.scope.Lookup(name) == nil {
		g.f.ImportName(path, name)
		return
	}
	alias := "nodb" + name
	if path != repoPath && path != objectPath && path != genPath {
		alias = name + "pkg"
	}
	for i := 2; g.p.scope.Lookup(alias) != nil; i++ {
		alias = fmt.Sprintf("%s%d", strings.TrimRight(alias, "0123456789"), i)
	}
	g.f.ImportAlias(path, alias)
}

// Standard library packages generated code may use.
var stdImports = []string{"context", "fmt", "iter", "reflect", "slices"}

// model emits everything generated for m, in this order: the field-name
// constants, the UserRepo type and NewUserRepo, the typed key methods, the
// typed index methods, the schema and the compile-time guard.
func (g *gen) model(m *Model) {
	for _, path := range stdImports {
		g.importName(path, path)
	}
	g.fieldConsts(m)
	g.repoType(m)
	g.keyMethods(m)
	for _, f := range m.Indexes {
		g.indexMethods(m, f)
	}
	g.queryType(m)
	g.schema(m)
	g.guard(m)
}

// Names of generated identifiers.

func repoName(m *Model) string   { return m.Name + "Repo" }
func schemaName(m *Model) string { return lowerFirst(m.Name) + "Schema" }
func constName(m *Model, f *Field) string {
	return m.Name + "Field" + f.Name
}

func ctorName(m *Model) string {
	if token := upperFirst(m.Name); token != m.Name {
		return "new" + token + "Repo"
	}
	return "New" + m.Name + "Repo"
}

// doc formats a comment as "//" lines.
func doc(format string, args ...any) string {
	return "// " + strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", "\n// ")
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// fieldConsts emits
//
//	// Field names of User, for the Repo methods that take one (Find, Range,
//	// GetBy, CountBy).
//	const (
//		// UserFieldID names User's key field ID.
//		UserFieldID = "ID"
//		// UserFieldAge names User's indexed field Age.
//		UserFieldAge = "Age"
//	)
func (g *gen) fieldConsts(m *Model) {
	defs := []jen.Code{
		jen.Comment(doc("%s names %s's key field %s.", constName(m, m.Key), m.Name, m.Key.Name)),
		jen.Id(constName(m, m.Key)).Op("=").Lit(m.Key.Name),
	}
	for _, f := range m.Indexes {
		what := "indexed"
		if f.Unique {
			what = "unique"
		}
		defs = append(defs,
			jen.Comment(doc("%s names %s's %s field %s.", constName(m, f), m.Name, what, f.Name)),
			jen.Id(constName(m, f)).Op("=").Lit(f.Name),
		)
	}
	g.f.Comment(doc("Field names of %s, for the Repo methods that take one (Find, Range,\nGetBy, CountBy).", m.Name))
	g.f.Const().Defs(defs...)
	g.f.Line()
}

// repoType emits
//
//	// UserRepo stores User values: a *repo.Repo[User] with methods typed for
//	// User's key and indexed fields. Create one with NewUserRepo.
//	type UserRepo struct {
//		*repo.Repo[User]
//	}
//
//	// NewUserRepo returns a UserRepo over st. It validates User like repo.New
//	// and makes the Repo use the generated schema instead of reflection; opts
//	// set repo.Options and cannot replace the schema.
//	func NewUserRepo(st object.Store, opts ...func(*repo.Options)) (*UserRepo, error) {
//		r, err := gen.New(st, &userSchema, opts...)
//		if err != nil {
//			return nil, err
//		}
//		return &UserRepo{Repo: r}, nil
//	}
func (g *gen) repoType(m *Model) {
	rn, model := repoName(m), g.modelType(m)
	g.f.Comment(doc("%s stores %s values: a *repo.Repo[%s] with methods typed for\n%s's key and indexed fields. Create one with %s.", rn, m.Name, m.Name, m.Name, ctorName(m)))
	g.f.Type().Id(rn).Struct(jen.Op("*").Qual(repoPath, "Repo").Types(model))
	g.f.Line()

	optFunc := jen.Func().Params(jen.Op("*").Qual(repoPath, "Options"))
	g.f.Comment(doc("%s returns a %s over st. It validates %s like repo.New\nand makes the Repo use the generated schema instead of reflection; opts\nset repo.Options and cannot replace the schema.", ctorName(m), rn, m.Name))
	g.f.Func().Id(ctorName(m)).
		Params(jen.Id("st").Qual(objectPath, "Store"), jen.Id("opts").Op("...").Add(optFunc.Clone())).
		Params(jen.Op("*").Id(rn), jen.Error()).
		Block(
			jen.List(jen.Id("r"), jen.Err()).Op(":=").Qual(genPath, "New").Call(
				jen.Id("st"), jen.Op("&").Id(schemaName(m)), jen.Id("opts").Op("..."),
			),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Return(jen.Op("&").Id(rn).Values(jen.Id("Repo").Op(":").Id("r")), jen.Nil()),
		)
	g.f.Line()
}

// method starts a method declaration on *UserRepo with a doc comment:
//
//	// doc
//	func (r *UserRepo) name
func (g *gen) method(m *Model, name, format string, args ...any) *jen.Statement {
	g.f.Comment(doc(format, args...))
	return g.f.Func().Params(jen.Id("r").Op("*").Id(repoName(m))).Id(name)
}

// ctxParam is "ctx context.Context".
func ctxParam() *jen.Statement { return jen.Id("ctx").Qual("context", "Context") }

// keyMethods emits the key methods, typed for the key, over the generic
// ones they shadow:
//
//	// Get returns the User stored under key. ...
//	func (r *UserRepo) Get(ctx context.Context, key string) (User, error) {
//		return r.Repo.Get(ctx, key)
//	}
//
//	// GetRecord returns the User stored under key with its version and times.
//	func (r *UserRepo) GetRecord(ctx context.Context, key string) (repo.Record[User], error) {
//		return r.Repo.GetRecord(ctx, key)
//	}
//
//	// Update ...
//	func (r *UserRepo) Update(ctx context.Context, key string, fn func(*User) error) (User, error) {
//		return r.Repo.Update(ctx, key, fn)
//	}
//
//	// Delete ...
//	func (r *UserRepo) Delete(ctx context.Context, key string) error {
//		return r.Repo.Delete(ctx, key)
//	}
//
//	// DeleteVersion ...
//	func (r *UserRepo) DeleteVersion(ctx context.Context, key string, version string) error {
//		return r.Repo.DeleteVersion(ctx, key, version)
//	}
func (g *gen) keyMethods(m *Model) {
	key := func() *jen.Statement { return jen.Id("key").Add(g.typ(m.Key.Type)) }
	model := g.modelType(m)
	call := func(name string, args ...jen.Code) *jen.Statement {
		return jen.Return(jen.Id("r").Dot("Repo").Dot(name).Call(append([]jen.Code{jen.Id("ctx"), jen.Id("key")}, args...)...))
	}

	g.method(m, "Get", "Get returns the %s stored under key. A missing key is an error for\nwhich errors.Is(err, repo.ErrNotFound) holds. It makes one GET request.", m.Name).
		Params(ctxParam(), key()).Params(model.Clone(), jen.Error()).
		Block(call("Get"))
	g.f.Line()

	g.method(m, "GetRecord", "GetRecord returns the %s stored under key with its version and times.", m.Name).
		Params(ctxParam(), key()).Params(jen.Qual(repoPath, "Record").Types(model.Clone()), jen.Error()).
		Block(call("GetRecord"))
	g.f.Line()

	g.method(m, "Update", "Update reads the %s stored under key, calls fn on a copy and writes the\nresult back unless the record changed meanwhile, in which case it reads\nit again and calls fn again. fn must not change the key; if it returns an\nerror, Update writes nothing and returns it. Update returns the value it\nstored.", m.Name).
		Params(ctxParam(), key(), jen.Id("fn").Func().Params(jen.Op("*").Add(model.Clone())).Error()).
		Params(model.Clone(), jen.Error()).
		Block(call("Update", jen.Id("fn")))
	g.f.Line()

	g.method(m, "Delete", "Delete removes the %s stored under key and its index entries. A missing\nkey is an error for which errors.Is(err, repo.ErrNotFound) holds.", m.Name).
		Params(ctxParam(), key()).Error().
		Block(call("Delete"))
	g.f.Line()

	g.method(m, "DeleteVersion", "DeleteVersion removes the %s stored under key only if its current version\nis version (from GetRecord): errors.Is(err, repo.ErrConflict) when it\nchanged since, repo.ErrNotFound when it is missing. See repo.Repo.DeleteVersion.", m.Name).
		Params(ctxParam(), key(), jen.Id("version").String()).Error().
		Block(call("DeleteVersion", jen.Id("version")))
	g.f.Line()
}

// indexMethods emits the typed query methods of index f:
//
//	// GetByEmail returns the User whose Email is value (a unique field). ...
//	func (r *UserRepo) GetByEmail(ctx context.Context, value string) (User, error) {
//		return r.Repo.GetBy(ctx, UserFieldEmail, value)
//	}
//
//	// FindByCity returns the User values whose City is value, in key order. ...
//	func (r *UserRepo) FindByCity(ctx context.Context, value string) iter.Seq2[User, error] {
//		return r.Repo.Find(ctx, UserFieldCity, value)
//	}
//
//	// FindByCityPage returns up to limit results of FindByCity ...
//	func (r *UserRepo) FindByCityPage(ctx context.Context, value string, cursor string, limit int) (repo.Page[User], error) {
//		return r.Repo.FindPage(ctx, UserFieldCity, value, cursor, limit)
//	}
//
//	// CountByCity returns the number of index entries for City == value ...
//	func (r *UserRepo) CountByCity(ctx context.Context, value string) (int, error) {
//		return r.Repo.CountBy(ctx, UserFieldCity, value)
//	}
//
// and, for ordered kinds (all but bool),
//
//	// RangeByAge returns the User values whose Age lies between lo and hi ...
//	func (r *UserRepo) RangeByAge(ctx context.Context, lo, hi int) iter.Seq2[User, error] {
//		return r.Repo.Range(ctx, UserFieldAge, lo, hi)
//	}
//
//	// RangeByAgePage returns up to limit results of RangeByAge ...
//	func (r *UserRepo) RangeByAgePage(ctx context.Context, lo, hi int, cursor string, limit int) (repo.Page[User], error) {
//		return r.Repo.RangePage(ctx, UserFieldAge, lo, hi, cursor, limit)
//	}
func (g *gen) indexMethods(m *Model, f *Field) {
	model := g.modelType(m)
	value := func() *jen.Statement { return jen.Id("value").Add(g.typ(queryType(f))) }
	bounds := func() *jen.Statement { return jen.List(jen.Id("lo"), jen.Id("hi")).Add(g.typ(queryType(f))) }
	paging := []jen.Code{jen.Id("cursor").String(), jen.Id("limit").Int()}
	seq := func() *jen.Statement { return jen.Qual("iter", "Seq2").Types(model.Clone(), jen.Error()) }
	page := func() *jen.Statement { return jen.Qual(repoPath, "Page").Types(model.Clone()) }
	call := func(name string, args ...string) *jen.Statement {
		params := []jen.Code{jen.Id("ctx"), jen.Id(constName(m, f))}
		for _, a := range args {
			params = append(params, jen.Id(a))
		}
		return jen.Return(jen.Id("r").Dot("Repo").Dot(name).Call(params...))
	}
	sparse := ""
	if f.OmitEmpty {
		sparse = "\n" + f.Name + " is omitempty: querying its zero value is an error."
	}
	is, lies := "is value", "lies between lo and hi\ninclusive, in the order of "+f.Name+", then of keys."
	if f.Elem != nil {
		is = "holds value"
		lies = "hold an element between lo\nand hi inclusive, each once, in the order of that element, then of keys."
	}

	if f.Unique {
		g.method(m, "GetBy"+f.Name, "GetBy%s returns the %s whose %s is value (a unique field). No record\nholding value is an error for which errors.Is(err, repo.ErrNotFound)\nholds.%s", f.Name, m.Name, f.Name, sparse).
			Params(ctxParam(), value()).Params(model.Clone(), jen.Error()).
			Block(call("GetBy", "value"))
		g.f.Line()
	}

	g.method(m, "FindBy"+f.Name, "FindBy%s returns the %s values whose %s %s, in key order.%s", f.Name, m.Name, f.Name, is, sparse).
		Params(ctxParam(), value()).Add(seq()).
		Block(call("Find", "value"))
	g.f.Line()

	g.method(m, "FindBy"+f.Name+"Page", "FindBy%sPage returns up to limit results of FindBy%s, starting after\ncursor (\"\" for the first page), and the cursor of the next page.", f.Name, f.Name).
		Params(append([]jen.Code{ctxParam(), value()}, paging...)...).Params(page(), jen.Error()).
		Block(call("FindPage", "value", "cursor", "limit"))
	g.f.Line()

	count := fmt.Sprintf("CountBy%s returns the number of index entries for %s == value, from\nLIST requests alone (see repo.Repo.CountBy).", f.Name, f.Name)
	if f.Elem != nil {
		count = fmt.Sprintf("CountBy%s returns the number of records whose %s holds value, from\nLIST requests alone (see repo.Repo.CountBy).", f.Name, f.Name)
	}
	g.method(m, "CountBy"+f.Name, "%s", count).
		Params(ctxParam(), value()).Params(jen.Int(), jen.Error()).
		Block(call("CountBy", "value"))
	g.f.Line()

	if !f.Kind.Ordered() {
		return
	}
	g.method(m, "RangeBy"+f.Name, "RangeBy%s returns the %s values whose %s %s", f.Name, m.Name, f.Name, lies).
		Params(ctxParam(), bounds()).Add(seq()).
		Block(call("Range", "lo", "hi"))
	g.f.Line()

	g.method(m, "RangeBy"+f.Name+"Page", "RangeBy%sPage returns up to limit results of RangeBy%s, starting after\ncursor (\"\" for the first page), and the cursor of the next page.", f.Name, f.Name).
		Params(append([]jen.Code{ctxParam(), bounds()}, paging...)...).Params(page(), jen.Error()).
		Block(call("RangePage", "lo", "hi", "cursor", "limit"))
	g.f.Line()
}

// queryType emits the typed query builder, a wrapper of repo.Query whose
// condition methods take the fields' own types, so that a retyped field
// fails to build:
//
//	// UserQuery is a query over User values ...
//	type UserQuery struct {
//		*repo.Query[User]
//	}
//
//	// Query returns an empty UserQuery over r ...
//	func (r *UserRepo) Query() *UserQuery {
//		return &UserQuery{Query: r.Repo.Query()}
//	}
//
//	// WhereCity adds the condition City == value (see repo.Query.Where).
//	func (q *UserQuery) WhereCity(value string) *UserQuery {
//		return &UserQuery{Query: q.Query.Where(UserFieldCity, value)}
//	}
//
// and AgeBetween(lo, hi int) and OrderByAge() for ordered kinds (no OrderBy
// for an omitempty index, which the runtime refuses without a condition on
// it), CityPrefix(prefix string) for string and TextMarshaler fields (and
// IDPrefix for such a key), for unique fields as for the others, and Desc,
// Limit and Filter returning *UserQuery:
//
//	// OrderByAge orders the results by Age (see repo.Query.OrderBy).
//	func (q *UserQuery) OrderByAge() *UserQuery {
//		return &UserQuery{Query: q.Query.OrderBy(UserFieldAge)}
//	}
func (g *gen) queryType(m *Model) {
	qn, model := m.Name+"Query", g.modelType(m)
	g.f.Comment(doc("%s is a query over %s values with conditions typed for %s's\nindexed fields: a *repo.Query[%s] (see there for the plan and its cost).\nStart one with %s.Query.", qn, m.Name, m.Name, m.Name, repoName(m)))
	g.f.Type().Id(qn).Struct(jen.Op("*").Qual(repoPath, "Query").Types(model.Clone()))
	g.f.Line()
	wrap := func(call *jen.Statement) *jen.Statement {
		return jen.Return(jen.Op("&").Id(qn).Values(jen.Id("Query").Op(":").Add(call)))
	}
	g.method(m, "Query", "Query returns an empty %s over r: every %s, in key order.", qn, m.Name).
		Params().Op("*").Id(qn).
		Block(wrap(jen.Id("r").Dot("Repo").Dot("Query").Call()))
	g.f.Line()
	qmethod := func(name, format string, args ...any) *jen.Statement {
		g.f.Comment(doc(format, args...))
		return g.f.Func().Params(jen.Id("q").Op("*").Id(qn)).Id(name)
	}
	inner := func(name string, args ...jen.Code) *jen.Statement {
		return jen.Id("q").Dot("Query").Dot(name).Call(args...)
	}
	prefix := func(f *Field) {
		if f.Kind != KindString && f.Kind != KindText {
			return
		}
		qmethod(f.Name+"Prefix", "%sPrefix adds the condition that %s starts with prefix (see\nrepo.Query.Prefix).", f.Name, f.Name).
			Params(jen.Id("prefix").String()).Op("*").Id(qn).
			Block(wrap(inner("Prefix", jen.Id(constName(m, f)), jen.Id("prefix"))))
		g.f.Line()
	}
	if m.Key != nil {
		prefix(m.Key)
	}
	for _, f := range m.Indexes {
		cond := f.Name + " == value"
		if f.Elem != nil {
			cond = f.Name + " holds value"
		}
		qmethod("Where"+f.Name, "Where%s adds the condition %s (see repo.Query.Where).", f.Name, cond).
			Params(jen.Id("value").Add(g.typ(queryType(f)))).Op("*").Id(qn).
			Block(wrap(inner("Where", jen.Id(constName(m, f)), jen.Id("value"))))
		g.f.Line()
		if f.Kind.Ordered() {
			qmethod(f.Name+"Between", "%sBetween adds the condition lo <= %s <= hi (see repo.Query.Between).", f.Name, f.Name).
				Params(jen.List(jen.Id("lo"), jen.Id("hi")).Add(g.typ(queryType(f)))).Op("*").Id(qn).
				Block(wrap(inner("Between", jen.Id(constName(m, f)), jen.Id("lo"), jen.Id("hi"))))
			g.f.Line()
		}
		prefix(f)
		if f.Kind.Ordered() && !f.OmitEmpty && f.Elem == nil {
			qmethod("OrderBy"+f.Name, "OrderBy%s orders the results by %s (see repo.Query.OrderBy).", f.Name, f.Name).
				Params().Op("*").Id(qn).
				Block(wrap(inner("OrderBy", jen.Id(constName(m, f)))))
			g.f.Line()
		}
	}
	qmethod("Desc", "Desc returns the results in descending order (see repo.Query.Desc).").
		Params().Op("*").Id(qn).Block(wrap(inner("Desc")))
	g.f.Line()
	qmethod("Limit", "Limit stops the query after n results (see repo.Query.Limit).").
		Params(jen.Id("n").Int()).Op("*").Id(qn).Block(wrap(inner("Limit", jen.Id("n"))))
	g.f.Line()
	qmethod("Filter", "Filter adds a Go predicate on fetched records (see repo.Query.Filter).").
		Params(jen.Id("keep").Func().Params(model.Clone()).Bool()).Op("*").Id(qn).Block(wrap(inner("Filter", jen.Id("keep"))))
	g.f.Line()
}

// schema emits the schema that replaces reflection:
//
//	// userSchema describes User to the runtime without reflection.
//	var userSchema = gen.Schema[User]{
//		Key: UserFieldID,
//		Indexes: []gen.Index{
//			{Field: UserFieldAge},
//			{Field: UserFieldEmail, Unique: true},
//		},
//		KeyOf: func(v *User) (string, string, error) {
//			return gen.KeyString(v.ID)
//		},
//		IndexOf: func(v *User, dst []string) ([]string, error) {
//			dst = slices.Grow(dst, 2)
//			dst = append(dst, gen.IndexInt(int64(v.Age)))
//			dst = append(dst, gen.IndexString(v.Email))
//			return dst, nil
//		},
//	}
func (g *gen) schema(m *Model) {
	model := g.modelType(m)
	var indexes []jen.Code
	for _, f := range m.Indexes {
		vals := []jen.Code{jen.Id("Field").Op(":").Id(constName(m, f))}
		if f.Unique {
			vals = append(vals, jen.Id("Unique").Op(":").True())
		}
		if f.OmitEmpty {
			vals = append(vals, jen.Id("OmitEmpty").Op(":").True())
		}
		indexes = append(indexes, jen.Values(vals...))
	}
	indexesValue := jen.Nil()
	if len(indexes) > 0 {
		indexesValue = jen.Index().Qual(genPath, "Index").ValuesFunc(func(gr *jen.Group) {
			for _, ix := range indexes {
				gr.Line().Add(ix)
			}
			gr.Line()
		})
	}
	g.f.Comment(doc("%s describes %s to the runtime without reflection.", schemaName(m), m.Name))
	g.f.Var().Id(schemaName(m)).Op("=").Qual(genPath, "Schema").Types(model.Clone()).Values(
		jen.Line().Id("Key").Op(":").Id(constName(m, m.Key)),
		jen.Line().Id("Indexes").Op(":").Add(indexesValue),
		jen.Line().Id("KeyOf").Op(":").Func().
			Params(jen.Id("v").Op("*").Add(model.Clone())).
			Params(jen.String(), jen.String(), jen.Error()).
			Block(jen.Return(g.keyExpr(m.Key))),
		jen.Line().Id("IndexOf").Op(":").Func().
			Params(jen.Id("v").Op("*").Add(model.Clone()), jen.Id("dst").Index().String()).
			Params(jen.Index().String(), jen.Error()).
			Block(g.indexOfBody(m)...),
		jen.Line(),
	)
	g.f.Line()
}

// keyExpr returns the call that encodes the key of v:
//
//	gen.KeyString(v.ID)          // string kinds
//	gen.KeyInt(int64(v.ID))      // signed integers
//	gen.KeyUint(uint64(v.ID))    // unsigned integers
//	gen.KeyText(v.ID)            // encoding.TextMarshaler
func (g *gen) keyExpr(f *Field) *jen.Statement {
	x := jen.Id("v").Dot(f.Name)
	switch f.Kind {
	case KindString:
		return jen.Qual(genPath, "KeyString").Call(convert(f.Type, types.String, x))
	case KindInt:
		return jen.Qual(genPath, "KeyInt").Call(convert(f.Type, types.Int64, x))
	case KindUint:
		return jen.Qual(genPath, "KeyUint").Call(convert(f.Type, types.Uint64, x))
	case KindText:
		return jen.Qual(genPath, "KeyText").Call(x)
	}
	panic(fmt.Sprintf("codegen: key kind %s", f.Kind)) // Load rejects it
}

// convert returns x converted to the basic type kind, or x itself when its
// type t already is that type.
func convert(t types.Type, kind types.BasicKind, x *jen.Statement) *jen.Statement {
	b := types.Typ[kind]
	if types.Identical(t, b) {
		return x
	}
	return jen.Id(b.Name()).Call(x)
}

// indexOfBody returns the statements of IndexOf: the slice grown once,
// then per index, in Indexes order, either
//
//	dst = append(dst, gen.IndexString(v.City))
//
// or, for encodings that can fail (floats, TextMarshalers),
//
//	if seg, err = gen.IndexFloat(v.Total); err != nil {
//		return nil, fmt.Errorf("field Total: %w", err)
//	}
//	dst = append(dst, seg)
//
// or, for a list field (an indexed slice), its set of element segments,
//
//	if seg, err = gen.IndexList(v.Tags, func(e string) (string, error) {
//		return gen.IndexString(e), nil
//	}); err != nil {
//		return nil, fmt.Errorf("field Tags: %w", err)
//	}
//	dst = append(dst, seg)
//
// (with omitempty, the function returns "" for a zero element), and
// otherwise wrapped, for omitempty indexes, in
//
//	if v.City == "" {
//		dst = append(dst, "")
//	} else {
//		...
//	}
func (g *gen) indexOfBody(m *Model) []jen.Code {
	if len(m.Indexes) == 0 {
		return []jen.Code{jen.Return(jen.Id("dst"), jen.Nil())}
	}
	body := []jen.Code{
		jen.Id("dst").Op("=").Qual("slices", "Grow").Call(jen.Id("dst"), jen.Lit(len(m.Indexes))),
	}
	fallible := false
	for _, f := range m.Indexes {
		if f.Kind == KindFloat || f.Kind == KindText || f.Elem != nil {
			fallible = true
		}
	}
	if fallible {
		body = append(body, jen.Var().Defs(jen.Id("seg").String(), jen.Err().Error()))
	}
	appendSeg := func(x jen.Code) *jen.Statement {
		return jen.Id("dst").Op("=").Append(jen.Id("dst"), x)
	}
	for _, f := range m.Indexes {
		x := jen.Id("v").Dot(f.Name)
		var enc []jen.Code
		var call *jen.Statement
		var fails bool
		if f.Elem == nil {
			call, fails = encodeValue(f.Kind, f.Type, x)
		} else {
			// A list: the set of its elements' segments. (jen's
			// statements grow in place: each use gets its own.)
			ecall, efails := encodeValue(f.Kind, f.Elem, jen.Id("e"))
			if !efails {
				ecall = jen.List(ecall, jen.Nil())
			}
			var fn []jen.Code
			if f.OmitEmpty {
				fn = append(fn, jen.If(g.isZeroOf(f.Elem, f.Kind, jen.Id("e"))).Block(jen.Return(jen.Lit(""), jen.Nil())))
			}
			fn = append(fn, jen.Return(ecall))
			call = jen.Qual(genPath, "IndexList").Call(x, jen.Func().Params(jen.Id("e").Add(g.typ(f.Elem))).Params(jen.String(), jen.Error()).Block(fn...))
			fails = true
		}
		if fails {
			enc = []jen.Code{
				jen.If(jen.List(jen.Id("seg"), jen.Err()).Op("=").Add(call), jen.Err().Op("!=").Nil()).Block(
					jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("field "+f.Name+": %w"), jen.Err())),
				),
				appendSeg(jen.Id("seg")),
			}
		} else {
			enc = []jen.Code{appendSeg(call)}
		}
		if !f.OmitEmpty || f.Elem != nil { // a list skips zero elements, not itself
			body = append(body, enc...)
			continue
		}
		body = append(body, jen.If(g.isZero(f)).Block(appendSeg(jen.Lit(""))).Else().Block(enc...))
	}
	return append(body, jen.Return(jen.Id("dst"), jen.Nil()))
}

// encodeValue returns the call that encodes x, of type t and kind k, as an
// index segment, and whether it can fail (then it returns an error too):
//
//	gen.IndexString(v.City)          // gen.IndexBool, IndexInt, IndexUint, IndexTime alike
//	gen.IndexFloat(float64(v.Total)) // can fail, as gen.IndexText
func encodeValue(k Kind, t types.Type, x *jen.Statement) (*jen.Statement, bool) {
	switch k {
	case KindString:
		return jen.Qual(genPath, "IndexString").Call(convert(t, types.String, x)), false
	case KindBool:
		return jen.Qual(genPath, "IndexBool").Call(convert(t, types.Bool, x)), false
	case KindInt:
		return jen.Qual(genPath, "IndexInt").Call(convert(t, types.Int64, x)), false
	case KindUint:
		return jen.Qual(genPath, "IndexUint").Call(convert(t, types.Uint64, x)), false
	case KindTime:
		return jen.Qual(genPath, "IndexTime").Call(x), false
	case KindFloat:
		return jen.Qual(genPath, "IndexFloat").Call(convert(t, types.Float64, x)), true
	case KindText:
		return jen.Qual(genPath, "IndexText").Call(x), true
	}
	panic(fmt.Sprintf("codegen: index kind %s", k)) // Load rejects it
}

// queryType returns the type queries on f take: the element type of a
// list, else f's own.
func queryType(f *Field) types.Type {
	if f.Elem != nil {
		return f.Elem
	}
	return f.Type
}

// isZero returns the test for the zero value of f, the runtime's
// reflect.Value.IsZero without reflection where the type allows:
//
//	v.Seen.IsZero()       // time.Time
//	v.City == ""          // string kinds
//	!v.Active             // bool kinds
//	v.Age == 0            // numbers
//	v.IP == nil           // slices, maps, interfaces
//	v.ID == (uuid.UUID{}) // comparable structs and arrays
//	reflect.ValueOf(&v.X).Elem().IsZero() // anything else
func (g *gen) isZero(f *Field) *jen.Statement {
	return g.isZeroOf(f.Type, f.Kind, jen.Id("v").Dot(f.Name))
}

// isZeroOf is isZero for x, of type t and kind k (a list's element).
func (g *gen) isZeroOf(t types.Type, k Kind, x *jen.Statement) *jen.Statement {
	if k == KindTime {
		return x.Dot("IsZero").Call()
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsString != 0:
			return x.Op("==").Lit("")
		case u.Info()&types.IsBoolean != 0:
			return jen.Op("!").Add(x)
		case u.Info()&types.IsNumeric != 0:
			return x.Op("==").Lit(0)
		}
	case *types.Slice, *types.Map, *types.Interface, *types.Pointer, *types.Chan, *types.Signature:
		return x.Op("==").Nil()
	case *types.Struct, *types.Array:
		if types.Comparable(t) {
			return x.Op("==").Parens(g.typ(t).Values())
		}
	}
	return jen.Qual("reflect", "ValueOf").Call(jen.Op("&").Add(x)).Dot("Elem").Call().Dot("IsZero").Call()
}

// guard emits a function that compiles only while the key and indexed
// fields have the names and exact types this file was generated for:
//
//	// Regenerate when User's key or indexed fields change: this does not
//	// compile if one was renamed or retyped.
//	func _() {
//		var v User
//		var _ *string = &v.ID
//		var _ *int = &v.Age
//	}
//
// A pointer is assignable only to its exact type, so retyping string to a
// named string type fails too.
func (g *gen) guard(m *Model) {
	body := []jen.Code{jen.Var().Id("v").Add(g.modelType(m))}
	for _, f := range append([]*Field{m.Key}, m.Indexes...) {
		body = append(body, jen.Var().Id("_").Op("*").Add(g.typ(f.Type)).Op("=").Op("&").Id("v").Dot(f.Name))
	}
	g.f.Comment(doc("Regenerate when %s's key or indexed fields change: this does not\ncompile if one was renamed or retyped.", m.Name))
	g.f.Func().Id("_").Params().Block(body...)
	g.f.Line()
}

// modelType returns the model's type name.
func (g *gen) modelType(m *Model) *jen.Statement { return jen.Id(m.Name) }

// typ returns the Go spelling of t, qualified for the generated file.
func (g *gen) typ(t types.Type) *jen.Statement {
	switch t := t.(type) {
	case *types.Basic:
		return jen.Id(t.Name())
	case *types.Pointer:
		return jen.Op("*").Add(g.typ(t.Elem()))
	case *types.Slice:
		return jen.Index().Add(g.typ(t.Elem()))
	case *types.Array:
		return jen.Index(jen.Lit(int(t.Len()))).Add(g.typ(t.Elem()))
	case *types.Map:
		return jen.Map(g.typ(t.Key())).Add(g.typ(t.Elem()))
	case interface {
		Obj() *types.TypeName
		TypeArgs() *types.TypeList
	}: // *types.Named, *types.Alias
		obj := t.Obj()
		var s *jen.Statement
		if obj.Pkg() == nil || obj.Pkg().Path() == g.p.Path {
			s = jen.Id(obj.Name())
		} else {
			g.importName(obj.Pkg().Path(), obj.Pkg().Name())
			s = jen.Qual(obj.Pkg().Path(), obj.Name())
		}
		if args := t.TypeArgs(); args.Len() > 0 {
			var codes []jen.Code
			for a := range args.Types() {
				codes = append(codes, g.typ(a))
			}
			s = s.Types(codes...)
		}
		return s
	}
	panic(fmt.Sprintf("codegen: type %s cannot be spelled", t)) // Load rejects it
}
