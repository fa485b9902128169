package registry

import "github.com/civicledger/civicledger/domain"

// RegisterEvents adds the registry's event types to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[RegionRegistered](types)
	domain.Register[MunicipalityRegistered](types)
	domain.Register[OrganisationRegistered](types)
	domain.Register[OrganisationRenamed](types)
	domain.Register[OrganisationContactChanged](types)
	domain.Register[OrganisationMoved](types)
	domain.Register[OrganisationClosed](types)
	domain.Register[OrganisationReopened](types)
	declareEvents(types)
}

// RegionRegistered: a first-level unit of Georgia was added to the registry.
type RegionRegistered struct {
	Code string               `json:"code"`
	Name domain.LocalizedText `json:"name"`
	Kind RegionKind           `json:"kind"`
	// Capital is the English name of the region's centre; empty when the
	// source gives none.
	Capital string `json:"capital"`
}

// EventType implements domain.Event.
func (RegionRegistered) EventType() string { return "registry.region_registered" }

// MunicipalityRegistered: a municipality was added to the registry.
type MunicipalityRegistered struct {
	Code   string               `json:"code"`
	Name   domain.LocalizedText `json:"name"`
	Region string               `json:"region"`
	Kind   MunicipalityKind     `json:"kind"`
	// Population2014 is the 2014 census total; nil (JSON null) for an
	// occupied municipality, which the census did not cover.
	Population2014 *int `json:"population_2014"`
}

// EventType implements domain.Event.
func (MunicipalityRegistered) EventType() string { return "registry.municipality_registered" }

// Contact is how to reach an organisation. Every field may be empty.
type Contact struct {
	Email   string `json:"email"`
	Phone   string `json:"phone"`
	Address string `json:"address"`
	// Person is the contact person's name.
	Person string `json:"person"`
}

// OrganisationRegistered: an organisation was added to the registry.
type OrganisationRegistered struct {
	ID        string               `json:"id"`
	Kind      OrganisationKind     `json:"kind"`
	Name      domain.LocalizedText `json:"name"`
	LegalForm string               `json:"legal_form"`
	// Region is the code of the organisation's region, the municipality's
	// region when a municipality is given, or "" for a national or foreign
	// body.
	Region string `json:"region"`
	// Municipality is the code of the organisation's municipality, or "".
	Municipality string  `json:"municipality"`
	Contact      Contact `json:"contact"`
	Website      string  `json:"website"`
	// Founded is the founding date, YYYY-MM-DD, or "" when unknown.
	Founded string `json:"founded"`
}

// EventType implements domain.Event.
func (OrganisationRegistered) EventType() string { return "registry.organisation_registered" }

// OrganisationRenamed: an organisation took a new name.
type OrganisationRenamed struct {
	ID   string               `json:"id"`
	Name domain.LocalizedText `json:"name"`
}

// EventType implements domain.Event.
func (OrganisationRenamed) EventType() string { return "registry.organisation_renamed" }

// OrganisationContactChanged: an organisation's contact details were
// replaced as a whole (fields left empty were cleared).
type OrganisationContactChanged struct {
	ID      string  `json:"id"`
	Contact Contact `json:"contact"`
}

// EventType implements domain.Event.
func (OrganisationContactChanged) EventType() string {
	return "registry.organisation_contact_changed"
}

// OrganisationMoved: an organisation is now based elsewhere. Region and
// Municipality follow the rules of OrganisationRegistered.
type OrganisationMoved struct {
	ID           string `json:"id"`
	Region       string `json:"region"`
	Municipality string `json:"municipality"`
}

// EventType implements domain.Event.
func (OrganisationMoved) EventType() string { return "registry.organisation_moved" }

// OrganisationClosed: an organisation stopped working, on a date
// (YYYY-MM-DD), for a reason. Its history stays: programmes it took part in
// still name it.
type OrganisationClosed struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
	On     string `json:"on"`
}

// EventType implements domain.Event.
func (OrganisationClosed) EventType() string { return "registry.organisation_closed" }

// OrganisationReopened: a closed organisation resumed work on a date
// (YYYY-MM-DD).
type OrganisationReopened struct {
	ID string `json:"id"`
	On string `json:"on"`
}

// EventType implements domain.Event.
func (OrganisationReopened) EventType() string { return "registry.organisation_reopened" }
