package catalog_test

import (
	"flag"
	"os"
	"testing"

	"github.com/civicledger/civicledger/domain/catalog"
)

// TestEveryEventFieldHasAVisibility fails for an event type registered
// without a declared visibility, and for a field of an event's data that
// no rule names: a new event or field that could name an expert or a
// person never reaches a reader by omission.
func TestEveryEventFieldHasAVisibility(t *testing.T) {
	for _, p := range catalog.Types.CheckDeclarations() {
		t.Error(p)
	}
}

var update = flag.Bool("update", false, "rewrite docs/VISIBILITY.md from the declarations")

// TestVisibilityDocument keeps docs/VISIBILITY.md the rendering of the
// declarations: a change of a rule without the document fails here.
func TestVisibilityDocument(t *testing.T) {
	const path = "../../docs/VISIBILITY.md"
	want := catalog.Document()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s differs from the declarations: run go test ./domain/catalog -run TestVisibilityDocument -update and review the diff", path)
	}
}
