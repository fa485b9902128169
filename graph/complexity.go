package graph

import (
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/graph/generated"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/projections"
)

// setComplexity weights list fields by how many rows they can return, so
// the complexity limit bounds rows fetched, not just fields named: fifty
// organisations with their regions cost fifty times one organisation.
func setComplexity(c *generated.ComplexityRoot) {
	c.Query.Organisations = func(child int, first *int, _ *string, _ *model.OrganisationFilter) int {
		// A page over the cap is refused by the resolver with a clearer
		// message than the complexity limit's, so count at most a full page.
		n := 20
		if first != nil && *first > 0 {
			n = min(*first, projections.MaxPage)
		}
		return 1 + n*child
	}
	// Georgia has 12 first-level units and 69 municipalities; a region has
	// at most 12 of them.
	c.Query.Regions = func(child int) int { return 1 + 12*child }
	c.Query.Municipalities = func(child int, _ *string, _ *registry.MunicipalityKind) int { return 1 + 69*child }
	c.Region.Municipalities = func(child int) int { return 1 + 12*child }
}
