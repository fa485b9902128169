package graph

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// maxIDBytes bounds an ID argument: the longest of ours is a few dozen.
const maxIDBytes = 200

// inputHygiene checks every string an operation's arguments carry, in
// literals and variables alike, before any resolver runs: text that no
// field of ours accepts is refused at the edge as BAD_USER_INPUT naming
// the argument, rather than reaching PostgreSQL (which refuses a NUL
// byte with an error the caller would see as INTERNAL) or a stream ID.
// Strings must be valid UTF-8 without control characters other than tab
// and line breaks; IDs also without white space, quotes or backslashes,
// and at most maxIDBytes long.
type inputHygiene struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = inputHygiene{}

// ExtensionName implements graphql.HandlerExtension.
func (inputHygiene) ExtensionName() string { return "InputHygiene" }

// Validate implements graphql.HandlerExtension.
func (inputHygiene) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator. The
// walk visits each fragment once; documentLimits has bounded the rest.
func (inputHygiene) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	w := hygieneWalk{vars: rc.Variables, frags: rc.Doc.Fragments, seen: map[string]bool{}}
	return w.selections(rc.Operation.SelectionSet)
}

type hygieneWalk struct {
	vars  map[string]any
	frags ast.FragmentDefinitionList
	seen  map[string]bool
}

func (w *hygieneWalk) selections(set ast.SelectionSet) *gqlerror.Error {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Definition != nil {
				args := sel.ArgumentMap(w.vars)
				for _, def := range sel.Definition.Arguments {
					if v, ok := args[def.Name]; ok {
						if err := checkValue(sel.Name, def.Name, def.Type, v); err != nil {
							return err
						}
					}
				}
			}
			if err := w.selections(sel.SelectionSet); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := w.selections(sel.SelectionSet); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if w.seen[sel.Name] {
				continue
			}
			w.seen[sel.Name] = true
			if f := w.frags.ForName(sel.Name); f != nil {
				if err := w.selections(f.SelectionSet); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkValue checks the strings in v, argument path of field, whose type
// is t (nil inside input objects, where the type is not followed: their
// strings get the general check).
func checkValue(field, path string, t *ast.Type, v any) *gqlerror.Error {
	switch v := v.(type) {
	case string:
		if problem := badString(v, t != nil && t.Name() == "ID"); problem != "" {
			e := gqlerror.Errorf("argument %s of %s: %s", path, field, problem)
			e.Extensions = map[string]any{"code": "BAD_USER_INPUT", "field": path}
			return e
		}
	case []any:
		for i, x := range v {
			var elem *ast.Type
			if t != nil {
				elem = t.Elem
			}
			if err := checkValue(field, path+"["+strconv.Itoa(i)+"]", elem, x); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, x := range v {
			if err := checkValue(field, path+"."+k, nil, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// badString says what is wrong with s, "" when nothing is.
func badString(s string, id bool) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if id && len(s) > maxIDBytes {
		return fmt.Sprintf("an ID of %d bytes, over the limit of %d", len(s), maxIDBytes)
	}
	for _, r := range s {
		switch {
		case r == 0:
			return "contains a NUL character"
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7f:
			return fmt.Sprintf("contains the control character %U", r)
		case id && (r <= ' ' || strings.ContainsRune("\"'`\\", r)):
			return fmt.Sprintf("%q is not an ID: no white space, quotes or backslashes", s)
		}
	}
	return ""
}
