// Package model holds the GraphQL types that are not read-model structs:
// gqlgen generates most of them (models_gen.go); the rest are here.
package model

import (
	"github.com/civicledger/civicledger/projections"
)

// Organisation is an organisation as the API shows it: the read model's,
// with the contact as a pointer, so the field can be null where there is
// none. Who sees the contact is the domain's rule (registry.DeclareViews),
// applied to the field as it is resolved; every field of a list stays a
// plain field, which gqlgen marshals without a goroutine per row.
type Organisation struct {
	projections.Organisation
	// Contact shadows the read model's.
	Contact *projections.Contact
	// LegalForm, Website and ClosedReason shadow the read model's: null
	// when empty, as the API's optional fields are (Optional).
	LegalForm, Website, ClosedReason *string
}

// Optional is s, or nil when s is empty: an optional field left empty is
// null in the API, not "".
func Optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// OrganisationConnection is a page of organisations. Its total is counted
// only when a client asks for totalCount, so the common list pays nothing
// for it.
type OrganisationConnection struct {
	Edges    []OrganisationEdge
	PageInfo PageInfo
	Filter   projections.OrganisationFilter
}
