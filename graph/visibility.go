package graph

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
	"github.com/vektah/gqlparser/v2/ast"
)

// Scoped is implemented by the objects of the API whose visibility depends
// on what they are about (an application: its municipality and experts; a
// score: its expert). A field's scope is that of the nearest objects
// holding it, each filling in what the nearer ones leave empty.
type Scoped interface {
	Scope() domain.Scope
}

// policy applies the domain's views (catalog.Views) to the API: a field
// the caller may not see is null (a root field an error that says who may),
// and of the objects a field returns, those the caller may not see are
// dropped from a list, or the field is null.
//
// It is the @see directive of the schema, on every field the views limit
// (or whose objects they limit), so it costs nothing on the others: as a
// field interceptor on every field, it took 12-19% of a list query's
// throughput (BenchmarkListQuery), mostly in the goroutine stacks the
// extra frames made grow. No field can escape it: the server does not
// start while a field the views limit lacks @see (Validate), and a test
// walks every field of the schema against the views as each kind of
// caller gets it. Resolvers still ask the same views (Resolver.sees)
// before loading what would be dropped.
type policy struct {
	views *domain.Views
}

// Validate checks the schema against the views: the server does not start
// with a type or field of the schema that no view declares, with a field
// that only some may see but that cannot be null for the others, or with
// a field the views limit that the schema does not mark @see (nor one it
// marks that they do not limit).
func (p *policy) Validate(es graphql.ExecutableSchema) error {
	schema := es.Schema()
	problems := p.undeclared(schema)
	for name, def := range schema.Types {
		if def.Kind != ast.Object || strings.HasPrefix(name, "__") {
			continue
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			rule, _ := p.views.Field(name, f.Name)
			a, declared := p.views.Audience(f.Type.Name())
			limited := !rule.Open() || declared && !openAudience(a)
			switch marked := f.Directives.ForName("see") != nil; {
			case limited && !marked:
				problems = append(problems, fmt.Sprintf("field %s.%s is limited by the views: mark it @see in the schema", name, f.Name))
			case marked && !limited:
				problems = append(problems, fmt.Sprintf("field %s.%s is marked @see but the views limit neither it nor its objects", name, f.Name))
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("visibility: %s", strings.Join(problems, "; "))
	}
	return nil
}

// openAudience reports whether a admits every caller of whatever it is
// shown with: Everyone and Enclosing.
func openAudience(a domain.Audience) bool {
	return a.String() == domain.Everyone.String() || a.String() == domain.Enclosing.String()
}

// undeclared lists what of schema no view declares.
func (p *policy) undeclared(schema *ast.Schema) []string {
	var out []string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range schema.Types {
			if !yield(n) {
				return
			}
		}
	}) {
		def := schema.Types[name]
		if def.Kind != ast.Object || def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		if _, ok := p.views.Audience(name); !ok {
			out = append(out, fmt.Sprintf("type %s has no view", name))
			continue
		}
		root := name == "Query" || name == "Mutation" || name == "Subscription"
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			rule, ok := p.views.Field(name, f.Name)
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("field %s.%s has no visibility", name, f.Name))
			case !rule.Open() && !root && f.Type.NonNull:
				out = append(out, fmt.Sprintf("field %s.%s is for %s only, so it must be nullable", name, f.Name, rule.Audience))
			}
		}
	}
	return out
}

// see is the @see directive: it applies the views to one field as it is
// resolved.
func (p *policy) see(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	actor := ActorFrom(ctx)
	rule, ok := p.views.Field(fc.Object, fc.Field.Name)
	if !ok {
		return nil, domain.Wrap(fmt.Errorf("no visibility declared for %s.%s", fc.Object, fc.Field.Name), "visibility")
	}
	root := fc.Object == "Query" || fc.Object == "Mutation" || fc.Object == "Subscription"
	if !rule.Open() {
		var s domain.Scope
		if rule.Audience.Scoped() {
			s = scopeOf(fc.Parent)
		}
		if !rule.Audience.Sees(actor, s) {
			if root {
				return nil, refusal(actor, fc.Field.Name, rule.Audience)
			}
			return nil, nil
		}
	}
	res, err := next(ctx)
	if err != nil || res == nil || fc.Field.Definition == nil {
		return res, err
	}
	typ := fc.Field.Definition.Type.Name()
	audience, ok := p.views.Audience(typ)
	if !ok || openAudience(audience) {
		return res, nil
	}
	return keepVisible(ctx, actor, typ, audience, res, root, scopeOf(fc.Parent))
}

// passThrough is @see where no policy applies (benchmarks' baseline).
func passThrough(ctx context.Context, _ any, next graphql.Resolver) (any, error) { return next(ctx) }

// refusal is the error of a root field the actor may not see.
func refusal(actor domain.Actor, field string, a domain.Audience) error {
	if !actor.SignedIn() {
		return domain.Errorf(domain.Unauthenticated, "%s needs an API key", field)
	}
	return domain.Errorf(domain.Forbidden, "%s is for %s, not for role %s", field, a, actor.Role)
}

// keepVisible returns res, the value of a field whose type is view, with
// the objects actor may not see dropped: from a list, left out; a single
// one, null (an error for a root field).
func keepVisible(ctx context.Context, actor domain.Actor, view string, audience domain.Audience, res any, root bool, outer domain.Scope) (any, error) {
	sees := func(v reflect.Value) bool {
		if !audience.Scoped() {
			return audience.Sees(actor, domain.Scope{})
		}
		s := outer
		if sc, ok := scoped(v); ok {
			s = sc.Scope().Within(outer)
		}
		return audience.Sees(actor, s)
	}
	v := reflect.ValueOf(res)
	if v.Kind() == reflect.Slice {
		kept := reflect.MakeSlice(v.Type(), 0, v.Len())
		for i := range v.Len() {
			if sees(v.Index(i)) {
				kept = reflect.Append(kept, v.Index(i))
			}
		}
		return kept.Interface(), nil
	}
	if sees(v) {
		return res, nil
	}
	if root {
		return nil, refusal(actor, graphql.GetFieldContext(ctx).Field.Name, audience)
	}
	return nil, nil
}

// scoped is v as Scoped, whether the method is on the value or its
// pointer.
func scoped(v reflect.Value) (Scoped, bool) {
	if v.Kind() == reflect.Pointer && v.IsNil() || !v.IsValid() {
		return nil, false
	}
	if s, ok := v.Interface().(Scoped); ok {
		return s, true
	}
	if v.CanAddr() {
		if s, ok := v.Addr().Interface().(Scoped); ok {
			return s, true
		}
	}
	return nil, false
}

// scopeOf is the scope of the object fc resolved, within the objects
// holding it.
func scopeOf(fc *graphql.FieldContext) domain.Scope {
	var s domain.Scope
	for c := fc; c != nil; c = c.Parent {
		if sc, ok := c.Result.(Scoped); ok {
			s = s.Within(sc.Scope())
		}
	}
	return s
}

// sees reports whether the request's caller may see field of an object
// of view with scope s: resolvers ask it before loading what the policy
// would drop.
func (r *Resolver) sees(ctx context.Context, view, field string, s domain.Scope) bool {
	return r.views.Sees(ActorFrom(ctx), view, field, s)
}
