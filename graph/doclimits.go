package graph

import (
	"context"
	"math"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Error codes of documents refused before validation.
const (
	codeQueryTooLarge     = "QUERY_TOO_LARGE"
	codeTooManyDirectives = "TOO_MANY_DIRECTIVES"
	codeDepthLimit        = "DEPTH_LIMIT_EXCEEDED"
)

// documentLimits bounds what a query document can cost before gqlgen
// validates it. Validation is not linear in the document: the rule that
// fields of one selection set can be merged compares them pairwise (40,000
// copies of __typename took 90 s), and every rule that follows fragment
// spreads expands them (31 fragments, each spreading the next twice, took
// minutes). So the document is parsed here with a token limit, and
// measured in one pass whose cost is linear in its text: the fields of
// each operation as if its fragments were expanded (counted, never
// expanded: a fragment's count is computed once), the depth the same way,
// the directives at each location and the introspection fields. Only a
// document within every limit goes on to gqlgen, which parses it again
// (once: it caches what it validated, and a document found in that cache
// is not measured again).
type documentLimits struct {
	maxTokens, maxFields, maxDepth, maxDirectives int
	// cache is gqlgen's cache of validated documents.
	cache graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = documentLimits{}

// introspectionBudget is what one operation may spend on introspection:
// __schema costs all of it, __type one tenth. A schema is tens of
// kilobytes; two hundred aliases of __schema made a 2.8 MB answer.
const (
	introspectionBudget = 10
	schemaCost          = 10
	typeCost            = 1
)

// ExtensionName implements graphql.HandlerExtension.
func (documentLimits) ExtensionName() string { return "DocumentLimits" }

// Validate implements graphql.HandlerExtension: the limits suit any schema.
func (documentLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters implements graphql.OperationParameterMutator:
// it runs before gqlgen parses the query (after a persisted query's text
// is found), and refuses a document over a limit with one error.
func (l documentLimits) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" {
		return nil // gqlgen says what is missing
	}
	if _, ok := l.cache.Get(ctx, p.Query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, l.maxTokens)
	if err != nil {
		gerr, ok := err.(*gqlerror.Error)
		if !ok {
			gerr = gqlerror.Wrap(err)
		}
		if strings.Contains(gerr.Message, "token limit") {
			gerr.Message = "the query is over the limit of " + strconv.Itoa(l.maxTokens) + " tokens"
		}
		errcode.Set(gerr, errcode.ParseFailed)
		return gerr
	}
	m := measure{doc: doc, memo: map[string]*shape{}, maxDirectives: l.maxDirectives}
	var total shape
	for _, op := range doc.Operations {
		m.directives(op.Directives, "operation "+op.Name)
		s := m.selections(op.SelectionSet)
		total.fields = add(total.fields, s.fields)
		total.introspection = add(total.introspection, s.introspection)
		if s.depth > l.maxDepth {
			return requestError(codeDepthLimit, "the query is %d fields deep, over the limit of %d", s.depth, l.maxDepth)
		}
		if s.introspection > introspectionBudget {
			return requestError(codeQueryTooLarge, "the query asks for the schema more than once (__schema once, or __type up to %d times, per operation)", introspectionBudget/typeCost)
		}
	}
	// Fragments no operation uses are validated too (and measured, for
	// their cycles).
	for _, f := range doc.Fragments {
		m.fragment(f.Name)
		total.fields = add(total.fields, int64(countFields(f.SelectionSet)))
	}
	if m.cycle != "" {
		e := gqlerror.Errorf("fragment %s spreads itself, through its own fields or other fragments", m.cycle)
		errcode.Set(e, errcode.ValidationFailed)
		return e
	}
	if m.tooMany != "" {
		return requestError(codeTooManyDirectives, "%s has more than %d directives", m.tooMany, l.maxDirectives)
	}
	if total.fields > int64(l.maxFields) {
		return requestError(codeQueryTooLarge, "the query has %s fields once its fragments are expanded, over the limit of %d", countText(total.fields), l.maxFields)
	}
	return nil
}

// shape is what a selection set amounts to once expanded.
type shape struct {
	fields        int64 // saturating: a fragment bomb's count stays finite
	depth         int
	introspection int64
}

// measure walks a document once, remembering each fragment's shape.
type measure struct {
	doc           *ast.QueryDocument
	memo          map[string]*shape
	maxDirectives int
	tooMany       string // the first location with too many directives
	cycle         string // the first fragment found spreading itself
}

// inProgress marks a fragment being measured: a spread of it met again is
// a cycle, refused here, before any rule of validation follows it.
var inProgress = &shape{}

func (m *measure) selections(set ast.SelectionSet) shape {
	var s shape
	for _, sel := range set {
		var sub shape
		switch sel := sel.(type) {
		case *ast.Field:
			m.directives(sel.Directives, "field "+sel.Alias)
			sub = m.selections(sel.SelectionSet)
			sub.fields = add(sub.fields, 1)
			switch {
			case sel.Name == "__schema":
				sub.introspection = add(sub.introspection, schemaCost)
			case sel.Name == "__type":
				sub.introspection = add(sub.introspection, typeCost)
			}
			// Introspection is deep by nature (GraphiQL's own schema
			// query): it has its own budget, not the depth limit.
			if !strings.HasPrefix(sel.Name, "__") {
				sub.depth++
			} else {
				sub.depth = 0
			}
		case *ast.InlineFragment:
			m.directives(sel.Directives, "an inline fragment")
			sub = m.selections(sel.SelectionSet)
		case *ast.FragmentSpread:
			m.directives(sel.Directives, "the spread of "+sel.Name)
			sub = m.fragment(sel.Name)
		}
		s.fields = add(s.fields, sub.fields)
		s.introspection = add(s.introspection, sub.introspection)
		s.depth = max(s.depth, sub.depth)
	}
	return s
}

func (m *measure) fragment(name string) shape {
	if s, ok := m.memo[name]; ok {
		if s == inProgress && m.cycle == "" {
			m.cycle = name
		}
		return *s
	}
	f := m.doc.Fragments.ForName(name)
	if f == nil {
		return shape{} // validation reports it
	}
	m.memo[name] = inProgress
	m.directives(f.Directives, "fragment "+name)
	s := m.selections(f.SelectionSet)
	m.memo[name] = &s
	return s
}

func (m *measure) directives(list ast.DirectiveList, where string) {
	if len(list) > m.maxDirectives && m.tooMany == "" {
		m.tooMany = where
	}
}

// countFields counts the fields written in a selection set, spreads not
// followed.
func countFields(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			n += 1 + countFields(sel.SelectionSet)
		case *ast.InlineFragment:
			n += countFields(sel.SelectionSet)
		}
	}
	return n
}

// add adds without overflowing: counts over a billion are all "too many".
func add(a, b int64) int64 {
	const ceiling = math.MaxInt64 / 4
	if a > ceiling-b {
		return ceiling
	}
	return a + b
}

func countText(n int64) string {
	if n >= math.MaxInt64/4 {
		return "more than a billion"
	}
	return strconv.FormatInt(n, 10)
}
