// Package registry records who and where: the regions and municipalities of
// Georgia, and the organisations that take part in the programmes (civil-
// society and community-based organisations, regional hubs, donors,
// government bodies, businesses, media, academia).
//
// Regions and municipalities are reference data, registered once (from the
// embedded Geostat tables, see internal/seed) and referred to by code from
// every other area, so a code is as permanent as a stored event type: there
// is no event that renames or removes one. Organisations change over time:
// they are renamed, move, change contact, close and reopen.
//
// Streams: region-<code>, municipality-<code>, organisation-<id>.
package registry

import (
	"slices"
	"strings"

	"github.com/civicledger/civicledger/domain"
)

// RegionKind says what sort of first-level unit a region is.
type RegionKind string

// The region kinds.
const (
	// OrdinaryRegion is one of the nine regions (მხარე).
	OrdinaryRegion RegionKind = "region"
	// AutonomousRepublic is Adjara or Abkhazia.
	AutonomousRepublic RegionKind = "autonomous-republic"
	// CapitalCity is Tbilisi, a first-level unit of its own.
	CapitalCity RegionKind = "capital"
)

// RegionKinds lists the region kinds.
var RegionKinds = []RegionKind{OrdinaryRegion, AutonomousRepublic, CapitalCity}

// ParseRegionKind reads a region kind; the error is Invalid and names the
// field "kind".
func ParseRegionKind(s string) (RegionKind, error) {
	return parseKind("region kind", s, RegionKinds)
}

// MunicipalityKind says what sort of local self-government unit a
// municipality is.
type MunicipalityKind string

// The municipality kinds.
const (
	// OrdinaryMunicipality is a municipality of towns and villages.
	OrdinaryMunicipality MunicipalityKind = "municipality"
	// SelfGoverningCity is one of the five cities that are municipalities of
	// their own (Tbilisi, Batumi, Kutaisi, Poti, Rustavi).
	SelfGoverningCity MunicipalityKind = "self-governing-city"
	// OccupiedMunicipality is kept by Georgia as a legal entity, its
	// administration working from controlled territory; the 2014 census did
	// not cover it, so it has no population figure.
	OccupiedMunicipality MunicipalityKind = "occupied"
)

// MunicipalityKinds lists the municipality kinds.
var MunicipalityKinds = []MunicipalityKind{OrdinaryMunicipality, SelfGoverningCity, OccupiedMunicipality}

// ParseMunicipalityKind reads a municipality kind; the error is Invalid and
// names the field "kind".
func ParseMunicipalityKind(s string) (MunicipalityKind, error) {
	return parseKind("municipality kind", s, MunicipalityKinds)
}

// OrganisationKind says what sort of organisation one is. Programmes count
// and filter by it (hubs of a network, donors of a project), so it is a
// closed list rather than free text.
type OrganisationKind string

// The organisation kinds.
const (
	// CSO is a civil-society organisation (სამოქალაქო საზოგადოების ორგანიზაცია).
	CSO OrganisationKind = "cso"
	// CBO is a community-based organisation (სათემო ორგანიზაცია).
	CBO OrganisationKind = "cbo"
	// RegionalHub is a regional CSO acting for a programme in its region (ჰაბი).
	RegionalHub OrganisationKind = "regional_hub"
	// Donor funds projects (დონორი).
	Donor OrganisationKind = "donor"
	// GovernmentBody is a ministry, agency or local government body.
	GovernmentBody OrganisationKind = "government_body"
	// Business is a company or business association.
	Business OrganisationKind = "business"
	// Media is a newspaper, broadcaster or online outlet.
	Media OrganisationKind = "media"
	// Academic is a university or research institute.
	Academic OrganisationKind = "academic"
)

// OrganisationKinds lists the organisation kinds.
var OrganisationKinds = []OrganisationKind{CSO, CBO, RegionalHub, Donor, GovernmentBody, Business, Media, Academic}

// ParseOrganisationKind reads an organisation kind; the error is Invalid and
// names the field "kind".
func ParseOrganisationKind(s string) (OrganisationKind, error) {
	return parseKind("organisation kind", s, OrganisationKinds)
}

// parseKind accepts any case and surrounding spaces, as ParseRole does, so
// that the GraphQL layer and the seed files need not normalise first.
func parseKind[K ~string](what, s string, kinds []K) (K, error) {
	k := K(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(kinds, k) {
		return k, nil
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return "", domain.Errorf(domain.Invalid, "kind: unknown %s %q (want one of %s)", what, s, strings.Join(names, ", "))
}

// RegionStream returns the stream of the region with the given code.
func RegionStream(code string) string { return "region-" + code }

// MunicipalityStream returns the stream of the municipality with the given code.
func MunicipalityStream(code string) string { return "municipality-" + code }

// OrganisationStream returns the stream of the organisation with the given ID.
func OrganisationStream(id string) string { return "organisation-" + id }
