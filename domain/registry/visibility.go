package registry

import "github.com/civicledger/civicledger/domain"

// Who sees the registry. Places are public. Organisations are public, but
// for their contact details: the address (an organisation's, not a
// person's) to signed-in callers, and the contact person's name, e-mail
// and phone, which are personal data, only to those who need them: the
// admins who keep the registry, the auditors, and the hub of the
// organisation's own region, which runs the regional directory. Analysts
// and dashboards get the aggregates, never people's details.

// PersonalData is who sees the personal data of an organisation's
// contact.
var PersonalData = domain.Either(domain.AnyRole(domain.Admin, domain.Auditor), domain.OwnRegion)

// ContactSubject is the data subject of an organisation's contact person:
// what `civic erase subject` takes to erase their name, e-mail and phone.
func ContactSubject(organisation string) string { return "organisation:" + organisation + ":contact" }

// organisationScope is an organisation event's scope: its region, for
// the hub's rule. Events that move the organisation carry the region;
// the others leave it to the state (see OrganisationScope).
func organisationScope(region string) domain.Scope { return domain.Scope{Region: region} }

func declareEvents(t *domain.Types) {
	domain.Declare[RegionRegistered](t, domain.Everyone, nil).Show("code", "name", "kind", "capital")
	domain.Declare[MunicipalityRegistered](t, domain.Everyone, nil).Show("code", "name", "region", "kind", "population_2014")
	domain.Declare(t, domain.Everyone, func(_ string, e OrganisationRegistered) domain.Scope { return organisationScope(e.Region) }).
		Show("id", "kind", "name", "legal_form", "region", "municipality", "website", "founded").
		Only(domain.SignedIn, "contact.address").
		Personal(PersonalData, func(e OrganisationRegistered) string { return ContactSubject(e.ID) }, "contact.person", "contact.email", "contact.phone")
	domain.Declare[OrganisationRenamed](t, domain.Everyone, nil).Show("id", "name")
	// A contact change does not say where the organisation is, so its
	// personal fields go to admins and auditors only: a hub sees its
	// organisations' contacts in the directory, from the read model.
	domain.Declare[OrganisationContactChanged](t, domain.Everyone, nil).
		Show("id").
		Only(domain.SignedIn, "contact.address").
		Personal(PersonalData, func(e OrganisationContactChanged) string { return ContactSubject(e.ID) }, "contact.person", "contact.email", "contact.phone")
	domain.Declare[OrganisationMoved](t, domain.Everyone, nil).Show("id", "region", "municipality")
	domain.Declare[OrganisationClosed](t, domain.Everyone, nil).Show("id", "reason", "on")
	domain.Declare[OrganisationReopened](t, domain.Everyone, nil).Show("id", "on")
}

// DeclareViews declares who sees the registry's state in the API.
func DeclareViews(v *domain.Views) {
	v.View("Query", domain.Everyone, "regions region municipalities municipality organisations organisation")
	v.View("Mutation", domain.Everyone, "registerOrganisation renameOrganisation changeOrganisationContact moveOrganisation closeOrganisation reopenOrganisation")
	v.View("Region", domain.Everyone, "code name kind capital municipalities population2014")
	v.View("Municipality", domain.Everyone, "code name kind region population2014")
	v.View("Organisation", domain.Everyone, "id kind name legalForm region municipality website founded status closedOn closedReason version registeredAt updatedAt").
		Only(domain.SignedIn, "contact")
	v.View("Contact", domain.Enclosing, "address erased").
		Personal(PersonalData, "email phone person")
	v.View("OrganisationConnection", domain.Enclosing, "edges pageInfo totalCount")
	v.View("OrganisationEdge", domain.Enclosing, "cursor node")
	v.View("OrganisationPayload", domain.Enclosing, "organisation position version")
}
