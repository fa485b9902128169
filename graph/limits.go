package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

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
