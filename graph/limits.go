package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// depthLimit refuses operations nested deeper than max fields, so a
// dashboard cannot ask for organisations' regions' municipalities'
// organisations' ... to the bottom of the database. Introspection fields
// are not counted: GraphiQL's own schema query is deep by nature.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

// ExtensionName implements graphql.HandlerExtension: the name gqlgen
// reports the extension by.
func (depthLimit) ExtensionName() string { return "DepthLimit" }

// Validate implements graphql.HandlerExtension: the limit suits any schema,
// so there is nothing to check.
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator: it runs
// after validation and before any resolver, so a query over the limit costs
// no database work; it fails with DEPTH_LIMIT_EXCEEDED.
func (d depthLimit) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if depth := selectionDepth(rc.Operation.SelectionSet, rc.Doc.Fragments, 0); depth > d.max {
		e := gqlerror.Errorf("the query is %d fields deep, over the limit of %d", depth, d.max)
		e.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return e
	}
	return nil
}

// selectionDepth returns the deepest chain of fields in set. seen guards
// against fragment cycles, which validation reports on its own.
func selectionDepth(set ast.SelectionSet, fragments ast.FragmentDefinitionList, guard int) int {
	if guard > 64 {
		return guard
	}
	deepest := 0
	for _, sel := range set {
		var d int
		switch sel := sel.(type) {
		case *ast.Field:
			if len(sel.Name) > 1 && sel.Name[:2] == "__" {
				continue
			}
			d = 1 + selectionDepth(sel.SelectionSet, fragments, guard+1)
		case *ast.InlineFragment:
			d = selectionDepth(sel.SelectionSet, fragments, guard+1)
		case *ast.FragmentSpread:
			if f := fragments.ForName(sel.Name); f != nil {
				d = selectionDepth(f.SelectionSet, fragments, guard+1)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// introspection lets signed-in callers (or everyone, when configured) ask
// for the schema. Anonymous third parties get the data, not a map of it.
type introspection struct{ public bool }

// ExtensionName implements graphql.HandlerExtension: the name gqlgen
// reports the extension by.
func (introspection) ExtensionName() string { return "Introspection" }

// Validate implements graphql.HandlerExtension: the setting suits any
// schema, so there is nothing to check.
func (introspection) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator: it
// turns introspection off for anonymous callers unless it is public. It
// decides per operation because only the request's key says who is calling.
func (i introspection) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	rc.DisableIntrospection = !i.public && !ActorFrom(ctx).SignedIn()
	return nil
}
