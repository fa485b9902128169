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
//
// It also checks the region and municipality codes given in input objects
// (the filters): an unknown code is BAD_USER_INPUT naming it, where it
// would otherwise filter everything out and answer with nothing.
type inputHygiene struct {
	// places finds which of the codes name no region, or no
	// municipality; nil: not checked.
	places func(ctx context.Context, regions, municipalities []string) (badRegions, badMunicipalities map[string]bool, err error)
}

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
func (h inputHygiene) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	w := hygieneWalk{vars: rc.Variables, frags: rc.Doc.Fragments, seen: map[string]bool{}}
	if err := w.selections(rc.Operation.SelectionSet); err != nil {
		return err
	}
	if h.places == nil || len(w.codes) == 0 {
		return nil
	}
	var regions, municipalities []string
	for _, c := range w.codes {
		if c.region {
			regions = append(regions, c.code)
		} else {
			municipalities = append(municipalities, c.code)
		}
	}
	badR, badM, err := h.places(ctx, regions, municipalities)
	if err != nil {
		return nil // the resolvers meet the outage and report it
	}
	for _, c := range w.codes {
		if c.region && badR[c.code] || !c.region && badM[c.code] {
			what, example := "municipality", "rustavi"
			if c.region {
				what, example = "region", "kvemo-kartli"
			}
			return badArgument(c.field, c.path, "no %s has the code %q (codes are lower-case, such as %s)", what, c.code, example)
		}
	}
	return nil
}

type hygieneWalk struct {
	vars  map[string]any
	frags ast.FragmentDefinitionList
	seen  map[string]bool
	// codes are the place codes found in input objects.
	codes []placeCode
}

// placeCode is a region's or a municipality's code given in an input
// object, at path of field's arguments.
type placeCode struct {
	region            bool
	code, path, field string
}

// maxPlaceCodes bounds the codes one operation may name: Georgia has 81
// places in all.
const maxPlaceCodes = 200

func (w *hygieneWalk) selections(set ast.SelectionSet) *gqlerror.Error {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Definition != nil {
				args := sel.ArgumentMap(w.vars)
				for _, def := range sel.Definition.Arguments {
					if v, ok := args[def.Name]; ok {
						if err := w.checkValue(sel.Name, def.Name, def.Type, v); err != nil {
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
func (w *hygieneWalk) checkValue(field, path string, t *ast.Type, v any) *gqlerror.Error {
	switch v := v.(type) {
	case string:
		if problem := badString(v, t != nil && t.Name() == "ID"); problem != "" {
			return badArgument(field, path, "%s", problem)
		}
	case []any:
		for i, x := range v {
			var elem *ast.Type
			if t != nil {
				elem = t.Elem
			}
			if err := w.checkValue(field, path+"["+strconv.Itoa(i)+"]", elem, x); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, x := range v {
			if err := w.checkValue(field, path+"."+k, nil, x); err != nil {
				return err
			}
			w.collectPlaces(field, path+"."+k, k, x)
		}
	}
	if len(w.codes) > maxPlaceCodes {
		return badArgument(field, path, "more than %d region and municipality codes", maxPlaceCodes)
	}
	return nil
}

// collectPlaces notes the codes of an input object's field named for
// places (region, regions, municipality, municipalities).
func (w *hygieneWalk) collectPlaces(field, path, key string, v any) {
	region := key == "region" || key == "regions"
	if !region && key != "municipality" && key != "municipalities" {
		return
	}
	switch v := v.(type) {
	case string:
		w.codes = append(w.codes, placeCode{region: region, code: v, path: path, field: field})
	case []any:
		for i, x := range v {
			if code, ok := x.(string); ok {
				w.codes = append(w.codes, placeCode{region: region, code: code, path: path + "[" + strconv.Itoa(i) + "]", field: field})
			}
		}
	}
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

// unknownPlaces returns which of the codes name no region, and no
// municipality, in the places read model.
func (s *Server) unknownPlaces(ctx context.Context, regions, municipalities []string) (map[string]bool, map[string]bool, error) {
	badR, badM := map[string]bool{}, map[string]bool{}
	if len(regions) > 0 {
		found, err := s.reads.RegionsByCode(ctx, regions)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range regions {
			if _, ok := found[c]; !ok {
				badR[c] = true
			}
		}
	}
	if len(municipalities) > 0 {
		found, err := s.reads.MunicipalitiesByCode(ctx, municipalities)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range municipalities {
			if _, ok := found[c]; !ok {
				badM[c] = true
			}
		}
	}
	return badR, badM, nil
}

// badArgument is BAD_USER_INPUT about the argument at path of field,
// which extensions.field names.
func badArgument(field, path, format string, args ...any) *gqlerror.Error {
	e := gqlerror.Errorf("argument %s of %s: %s", path, field, fmt.Sprintf(format, args...))
	e.Extensions = map[string]any{"code": "BAD_USER_INPUT", "field": path}
	return e
}
