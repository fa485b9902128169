package graph

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// FuzzDecodeParams: any body is decoded or refused with a message in the
// request's terms, never Go's, and never a panic.
func FuzzDecodeParams(f *testing.F) {
	for _, s := range []string{
		`{"query":"{ viewer { role } }"}`,
		`{"query":"query($n: Int) { organisations(first: $n) { totalCount } }","variables":{"n":12345678901234567890}}`,
		`{"query":"{ a }","variables":"oops"}`,
		`{"query":42}`, `[]`, `null`, ``, `{"extensions":{"persistedQuery":{"version":1}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeParams(body)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "json:") || strings.Contains(msg, "RawParams") {
				t.Fatalf("%q: the error speaks Go: %v", body, err)
			}
			return
		}
		if p == nil {
			t.Fatalf("%q: no params and no error", body)
		}
	})
}

// FuzzDocumentLimits: the measure of a document never panics, and a
// document it lets through really is within the field limit once its
// fragments are expanded (counted here the slow way, stopping at the
// limit).
func FuzzDocumentLimits(f *testing.F) {
	for _, s := range []string{
		`{ regions { code } }`,
		`query { ...A } fragment A on Query { ...B ...B } fragment B on Query { regions { code } }`,
		`query { ...A } fragment A on Query { ...A }`,
		`{ a: __schema { types { name } } b: __type(name: "Region") { name } }`,
		`{ regions @include(if: true) @skip(if: false) { code } }`,
		`query Q($x: Int) { organisations(first: $x) { edges { node { id } } } } mutation { x }`,
	} {
		f.Add(s)
	}
	const maxFields = 50
	l := documentLimits{maxTokens: 2000, maxFields: maxFields, maxDepth: 12, maxDirectives: 5, cache: graphql.NoCache[*ast.QueryDocument]{}}
	f.Fuzz(func(t *testing.T, query string) {
		if err := l.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: query}); err != nil {
			return
		}
		doc, err := parser.ParseQuery(&ast.Source{Input: query})
		if err != nil {
			return // the limits passed it on for gqlgen to refuse
		}
		total := 0
		for _, op := range doc.Operations {
			total += slowCount(doc, op.SelectionSet, maxFields+1-total, 0)
		}
		if total > maxFields {
			t.Fatalf("%q: passed with more than %d fields expanded", query, maxFields)
		}
	})
}

// slowCount expands fragments for real, up to budget fields.
func slowCount(doc *ast.QueryDocument, set ast.SelectionSet, budget, depth int) int {
	if depth > 64 || budget <= 0 {
		return 0 // a cycle, which validation refuses; or enough
	}
	n := 0
	for _, sel := range set {
		if n >= budget {
			return n
		}
		switch sel := sel.(type) {
		case *ast.Field:
			n += 1 + slowCount(doc, sel.SelectionSet, budget-n-1, depth+1)
		case *ast.InlineFragment:
			n += slowCount(doc, sel.SelectionSet, budget-n, depth+1)
		case *ast.FragmentSpread:
			if fr := doc.Fragments.ForName(sel.Name); fr != nil {
				n += slowCount(doc, fr.SelectionSet, budget-n, depth+1)
			}
		}
	}
	return n
}
