// Package domaintest runs the table tests of the domain's services: each
// step a command, and either success or an error of a kind whose message
// says what is wrong, with nothing written.
package domaintest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// Step is one command of a table test: Do runs it against the service;
// Kind is "" when it must succeed, emitting the events whose types Then
// lists, in order (an empty list: nothing, as a command that changes
// nothing); else the kind of error it must give, whose message must
// contain Text.
type Step[S any] struct {
	Name string
	Do   func(context.Context, S) error
	Kind domain.Kind
	Text string
	Then []string
}

// Run runs steps in order against svc, whose events go to store. It stops
// the test at the first step that does not give what it must, and fails a
// step that errs but wrote events: bad input must change nothing.
func Run[S any](t testing.TB, svc S, store eventstore.Store, steps []Step[S]) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		before, err := store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Do(ctx, svc)
		after, herr := store.Head(ctx)
		if herr != nil {
			t.Fatal(herr)
		}
		switch {
		case s.Kind == "" && err != nil:
			t.Fatalf("%s: %v", s.Name, err)
		case s.Kind == "":
			emitted, err := store.ReadAll(ctx, before, int(after-before)+1)
			if err != nil {
				t.Fatal(err)
			}
			types := make([]string, len(emitted))
			for i, e := range emitted {
				types[i] = e.Type
			}
			if s.Then == nil || !slices.Equal(types, s.Then) {
				t.Fatalf("%s emitted %q; want %q", s.Name, types, s.Then)
			}
		case s.Kind != "" && (domain.KindOf(err) != s.Kind || !strings.Contains(domain.MessageOf(err), s.Text)):
			t.Fatalf("%s: error %v (kind %s); want kind %s containing %q", s.Name, err, domain.KindOf(err), s.Kind, s.Text)
		case s.Kind != "" && after != before:
			t.Fatalf("%s failed but wrote events", s.Name)
		}
	}
}
