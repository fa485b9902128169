// Package model holds the GraphQL types that are not read-model structs:
// gqlgen generates most of them (models_gen.go); the rest are here.
package model

import (
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/projections"
)

// Organisation is an organisation as one caller may see it: the read
// model's, with the contact details only for callers allowed personal
// data. Deciding that once, when the page is built, rather than in a
// resolver per field, keeps every field of a list a plain field, which
// gqlgen marshals without a goroutine per row.
type Organisation struct {
	projections.Organisation
	// Contact shadows the read model's: nil unless the caller may see it.
	Contact *registry.Contact
}

// OrganisationConnection is a page of organisations. Its total is counted
// only when a client asks for totalCount, so the common list pays nothing
// for it.
type OrganisationConnection struct {
	Edges    []OrganisationEdge
	PageInfo PageInfo
	Filter   projections.OrganisationFilter
}
