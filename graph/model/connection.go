// Package model holds the GraphQL types that are not read-model structs:
// gqlgen generates most of them (models_gen.go); the rest are here.
package model

import "github.com/civicledger/civicledger/projections"

// OrganisationConnection is a page of organisations. Its total is counted
// only when a client asks for totalCount, so the common list pays nothing
// for it.
type OrganisationConnection struct {
	Page   projections.OrganisationPage
	Filter projections.OrganisationFilter
}
