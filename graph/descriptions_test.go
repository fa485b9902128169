package graph_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/civicledger/civicledger/graph/generated"
)

// The schema is the dashboard developer's manual: every type, field,
// argument, input field, enum value and directive the project defines
// carries a description, as introspection (GraphiQL, codegen) shows it.
// A `#` comment is not a description; a "..." or """...""" string before
// the definition is.

// builtinScalars are the specification's scalars, described by it.
var builtinScalars = map[string]bool{
	"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true,
}

// undescribedPendingRework are schema elements, in files whose owner is
// reworking them (activity.graphqls, benchmark.graphqls), that still lack
// a description. TEMPORARY: the list may only shrink, and the test fails
// when an entry is described (remove it then) or no longer exists.
var undescribedPendingRework = map[string]bool{}

// schemaElement is one describable thing of the schema.
type schemaElement struct {
	coordinate  string // schema coordinate: Type, Type.field, Type.field(arg:), Enum.VALUE, @dir(arg:)
	kind        string // type, field, argument, input field, enum value, directive
	description *string
	file        string // the .graphqls file defining it, for the failure message
}

// describableElements walks the schema as introspection presents it and
// returns every element the project defines: not the introspection types
// (__*), the built-in scalars, or the directives of GraphQL's prelude.
func describableElements(t *testing.T) []schemaElement {
	t.Helper()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	intro := introspection.WrapSchema(schema)

	fileOf := func(pos *ast.Position) string {
		if pos == nil || pos.Src == nil {
			return "?"
		}
		return filepath.Base(pos.Src.Name)
	}
	var out []schemaElement
	add := func(coordinate, kind string, description *string, pos *ast.Position) {
		out = append(out, schemaElement{coordinate, kind, description, fileOf(pos)})
	}

	for _, typ := range intro.Types() {
		name := *typ.Name()
		if strings.HasPrefix(name, "__") || builtinScalars[name] {
			continue
		}
		def := schema.Types[name]
		if def.BuiltIn {
			t.Errorf("type %s is built in but not a specified scalar or introspection type: decide whether it needs a description", name)
			continue
		}
		add(name, "type", typ.Description(), def.Position)
		for _, f := range typ.Fields(true) {
			fd := def.Fields.ForName(f.Name)
			add(name+"."+f.Name, "field", f.Description(), fd.Position)
			for _, a := range f.Args {
				ad := fd.Arguments.ForName(a.Name)
				add(name+"."+f.Name+"("+a.Name+":)", "argument", a.Description(), ad.Position)
			}
		}
		for _, f := range typ.InputFields() {
			add(name+"."+f.Name, "input field", f.Description(), def.Fields.ForName(f.Name).Position)
		}
		for _, v := range typ.EnumValues(true) {
			add(name+"."+v.Name, "enum value", v.Description(), def.EnumValues.ForName(v.Name).Position)
		}
	}
	for _, d := range intro.Directives() {
		dd := schema.Directives[d.Name]
		if dd.Position != nil && dd.Position.Src != nil && dd.Position.Src.BuiltIn {
			continue
		}
		add("@"+d.Name, "directive", d.Description(), dd.Position)
		for _, a := range d.Args {
			add("@"+d.Name+"("+a.Name+":)", "argument", a.Description(), dd.Arguments.ForName(a.Name).Position)
		}
	}
	return out
}

func TestDescriptions(t *testing.T) {
	elements := describableElements(t)

	missing := map[string][]string{} // file -> coordinates
	counts := map[string][2]int{}    // kind -> described, total
	seen := map[string]bool{}
	for _, e := range elements {
		seen[e.coordinate] = true
		c := counts[e.kind]
		c[1]++
		described := e.description != nil && strings.TrimSpace(*e.description) != ""
		if described {
			c[0]++
		}
		counts[e.kind] = c
		switch {
		case described && undescribedPendingRework[e.coordinate]:
			t.Errorf("%s (%s) is described now: remove it from undescribedPendingRework", e.coordinate, e.file)
		case !described && !undescribedPendingRework[e.coordinate]:
			missing[e.file] = append(missing[e.file], fmt.Sprintf("%s %s", e.kind, e.coordinate))
		}
	}
	for coordinate := range undescribedPendingRework {
		if !seen[coordinate] {
			t.Errorf("undescribedPendingRework lists %s, which the schema no longer has: remove it", coordinate)
		}
	}

	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("%-12s %4d of %4d described", k, counts[k][0], counts[k][1])
	}

	files := make([]string, 0, len(missing))
	for f := range missing {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		sort.Strings(missing[f])
		t.Errorf("%s: %d without a description (write one as a \"...\" string before the definition):\n\t%s",
			f, len(missing[f]), strings.Join(missing[f], "\n\t"))
	}
}
