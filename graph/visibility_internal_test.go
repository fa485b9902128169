package graph

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// schemaOnly is an ExecutableSchema that only has a schema: what
// policy.Validate reads.
type schemaOnly struct{ s *ast.Schema }

func (s schemaOnly) Schema() *ast.Schema { return s.s }
func (schemaOnly) Complexity(context.Context, string, string, int, map[string]any) (int, bool) {
	return 0, false
}
func (schemaOnly) Exec(context.Context) graphql.ResponseHandler { return nil }

// TestPolicyValidate: the server refuses a schema the views do not cover:
// an undeclared type or field, a limited field that cannot be null, a
// limited field not marked @see, a field marked @see that nothing limits.
func TestPolicyValidate(t *testing.T) {
	views := &domain.Views{}
	views.View("Query", domain.Everyone, "open").Only(domain.SignedIn, "secret")
	views.View("Thing", domain.Enclosing, "id").Only(domain.Judges, "score")
	tests := []struct {
		name, schema, problem string
	}{
		{"covered", `type Query { open: Thing, secret: Thing @see } type Thing { id: ID!, score: Int @see }`, ""},
		{"an undeclared field", `type Query { open: Thing, secret: Thing @see, more: Int } type Thing { id: ID!, score: Int @see }`,
			"field Query.more has no visibility"},
		{"an undeclared type", `type Query { open: Other, secret: Thing @see } type Thing { id: ID!, score: Int @see } type Other { id: ID! }`,
			"type Other has no view"},
		{"a limited field that cannot be null", `type Query { open: Thing, secret: Thing @see } type Thing { id: ID!, score: Int! @see }`,
			"field Thing.score is for consortium, auditor, admin only, so it must be nullable"},
		{"a limited field not marked", `type Query { open: Thing, secret: Thing @see } type Thing { id: ID!, score: Int }`,
			"field Thing.score is limited by the views: mark it @see"},
		{"a marked field nothing limits", `type Query { open: Thing @see, secret: Thing @see } type Thing { id: ID!, score: Int @see }`,
			"field Query.open is marked @see but the views limit neither it nor its objects"},
	}
	for _, tt := range tests {
		s, err := gqlparser.LoadSchema(&ast.Source{Input: "directive @see on FIELD_DEFINITION\n" + tt.schema})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		err = (&policy{views: views}).Validate(schemaOnly{s})
		switch {
		case tt.problem == "" && err != nil:
			t.Errorf("%s: Validate = %v, want nil", tt.name, err)
		case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.problem)
		}
	}
}
