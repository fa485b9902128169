package catalog_test

import (
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
