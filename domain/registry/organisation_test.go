package registry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// places are the regions and municipalities the organisation tests refer to.
var places = []domain.Event{kvemoKartli, rustavi, marneuli, guria, ozurgeti}

// withPlaces returns places followed by events.
func withPlaces(events ...domain.Event) []domain.Event {
	return append(append([]domain.Event{}, places...), events...)
}

// unknownID is a well-formed ID that no organisation has.
const unknownID = "0190c3e4-0000-7000-8000-000000000000"

func TestRegisterOrganisation(t *testing.T) {
	cmd := registry.RegisterOrganisation{
		ID: hubID, Kind: registry.RegionalHub, Name: hub.Name, LegalForm: hub.LegalForm,
		Region: "kvemo-kartli", Municipality: "rustavi", Contact: hub.Contact,
		Website: hub.Website, Founded: hub.Founded,
	}
	with := func(f func(*registry.RegisterOrganisation)) registry.RegisterOrganisation {
		c := cmd
		f(&c)
		return c
	}
	// hubWith is the event registering the hub, changed by f.
	hubWith := func(f func(*registry.OrganisationRegistered)) []domain.Event {
		e := hub
		f(&e)
		return []domain.Event{e}
	}
	invalidRow := func(name string, f func(*registry.RegisterOrganisation), text string) spec {
		return spec{name: name, given: places, when: with(f), kind: domain.Invalid, text: text}
	}
	run(t, []spec{
		{name: "municipality in its region", given: places, when: cmd, then: []domain.Event{hub}, version: 1},
		{name: "system registers", role: domain.System, given: places, when: cmd, then: []domain.Event{hub}, version: 1},
		{name: "municipality alone takes its region", given: places,
			when: with(func(c *registry.RegisterOrganisation) { c.Region = "" }), then: []domain.Event{hub}, version: 1},
		{name: "region alone", given: places,
			when: with(func(c *registry.RegisterOrganisation) { c.Municipality = "" }),
			then: hubWith(func(e *registry.OrganisationRegistered) { e.Municipality = "" }), version: 1},
		{name: "neither: a foreign donor",
			when: registry.RegisterOrganisation{ID: hubID, Kind: " Donor", Name: domain.LocalizedText{Ka: "პური მსოფლიოსთვის", En: "Bread for the World"}},
			then: []domain.Event{registry.OrganisationRegistered{ID: hubID, Kind: registry.Donor, Name: domain.LocalizedText{Ka: "პური მსოფლიოსთვის", En: "Bread for the World"}}}, version: 1},
		{name: "upper-case ID stored in canonical form", given: places,
			when: with(func(c *registry.RegisterOrganisation) { c.ID = strings.ToUpper(hubID) }), then: []domain.Event{hub}, version: 1},
		{name: "input trimmed", given: places,
			when: with(func(c *registry.RegisterOrganisation) {
				c.Name = domain.LocalizedText{Ka: " " + hub.Name.Ka, En: hub.Name.En + " "}
				c.LegalForm = " " + hub.LegalForm + " "
				c.Contact = registry.Contact{Email: " info@example.org ", Phone: " +995 341 00 00 00", Address: "Rustavi ", Person: " Nino"}
				c.Website = " https://example.org "
				c.Founded = " 2004-05-12 "
			}),
			then: []domain.Event{hub}, version: 1},
		{name: "phone with parentheses and dashes", given: places,
			when: with(func(c *registry.RegisterOrganisation) { c.Contact.Phone = "(0341) 2-00-000" }),
			then: hubWith(func(e *registry.OrganisationRegistered) { e.Contact.Phone = "(0341) 2-00-000" }), version: 1},
		{name: "founded today", given: places,
			when: with(func(c *registry.RegisterOrganisation) { c.Founded = "2026-03-01" }),
			then: hubWith(func(e *registry.OrganisationRegistered) { e.Founded = "2026-03-01" }), version: 1},
		{name: "founded 1800-01-01", given: places,
			when: with(func(c *registry.RegisterOrganisation) { c.Founded = "1800-01-01" }),
			then: hubWith(func(e *registry.OrganisationRegistered) { e.Founded = "1800-01-01" }), version: 1},

		{name: "anonymous", role: domain.Anonymous, given: places, when: cmd, kind: domain.Unauthenticated, text: "register an organisation needs an API key"},
		{name: "consortium", role: domain.Consortium, given: places, when: cmd, kind: domain.Forbidden, text: "role consortium (allowed: admin, system)"},
		{name: "role checked before loading", role: domain.Analyst, given: withPlaces(hub), when: cmd, kind: domain.Forbidden, text: "role analyst"},

		invalidRow("ID not a UUID", func(c *registry.RegisterOrganisation) { c.ID = "civic-integration" }, `id: "civic-integration" is not an organisation ID`),
		invalidRow("kind missing", func(c *registry.RegisterOrganisation) { c.Kind = "" }, `kind: unknown organisation kind ""`),
		invalidRow("kind unknown", func(c *registry.RegisterOrganisation) { c.Kind = "ngo" }, `kind: unknown organisation kind "ngo"`),
		invalidRow("name without Georgian", func(c *registry.RegisterOrganisation) {
			c.Name = domain.LocalizedText{En: "Civic Integration Foundation"}
		}, "name: the Georgian text (ka) is required"),
		invalidRow("legal form too long", func(c *registry.RegisterOrganisation) { c.LegalForm = strings.Repeat("ა", 201) }, "legal_form: 201 characters, over the limit of 200"),
		invalidRow("region malformed", func(c *registry.RegisterOrganisation) { c.Region = "Kvemo Kartli" }, `region: "Kvemo Kartli" is not a code`),
		invalidRow("municipality malformed", func(c *registry.RegisterOrganisation) { c.Municipality = "rustavi!" }, `municipality: "rustavi!" is not a code`),
		invalidRow("municipality not registered", func(c *registry.RegisterOrganisation) { c.Municipality = "bolnisi" }, `municipality: no municipality "bolnisi" is registered`),
		invalidRow("region alone not registered", func(c *registry.RegisterOrganisation) { c.Region, c.Municipality = "imereti", "" }, `region: no region "imereti" is registered`),
		invalidRow("municipality outside the region", func(c *registry.RegisterOrganisation) { c.Region = "guria" }, "region: municipality rustavi lies in region kvemo-kartli, not guria"),
		invalidRow("email without @", func(c *registry.RegisterOrganisation) { c.Contact.Email = "info.example.org" }, "contact.email: \"info.example.org\" is not an e-mail address"),
		invalidRow("email with two @", func(c *registry.RegisterOrganisation) { c.Contact.Email = "info@cif@example.org" }, "contact.email:"),
		invalidRow("email without name", func(c *registry.RegisterOrganisation) { c.Contact.Email = "@example.org" }, "contact.email:"),
		invalidRow("email without a dot in the domain", func(c *registry.RegisterOrganisation) { c.Contact.Email = "info@localhost" }, "the domain after @ needs a dot"),
		invalidRow("email domain ends in a dot", func(c *registry.RegisterOrganisation) { c.Contact.Email = "info@example." }, "the domain after @ needs a dot"),
		invalidRow("email with a space", func(c *registry.RegisterOrganisation) { c.Contact.Email = "info @example.org" }, "contact.email: \"info @example.org\" contains a space"),
		invalidRow("email too long", func(c *registry.RegisterOrganisation) { c.Contact.Email = strings.Repeat("a", 243) + "@example.org" }, "contact.email: 255 characters, over the limit of 254"),
		invalidRow("phone with letters", func(c *registry.RegisterOrganisation) { c.Contact.Phone = "+995 CALL-NOW" }, "contact.phone: \"+995 CALL-NOW\": only digits"),
		invalidRow("phone with + inside", func(c *registry.RegisterOrganisation) { c.Contact.Phone = "995+341000000" }, "contact.phone:"),
		invalidRow("phone too short", func(c *registry.RegisterOrganisation) { c.Contact.Phone = "12-345" }, "contact.phone: \"12-345\" has 5 digits; want 6 to 20"),
		invalidRow("phone too long", func(c *registry.RegisterOrganisation) { c.Contact.Phone = "+" + strings.Repeat("1", 21) }, "has 21 digits"),
		invalidRow("address too long", func(c *registry.RegisterOrganisation) { c.Contact.Address = strings.Repeat("x", 501) }, "contact.address: 501 characters"),
		invalidRow("person too long", func(c *registry.RegisterOrganisation) { c.Contact.Person = strings.Repeat("x", 201) }, "contact.person: 201 characters"),
		invalidRow("website not http", func(c *registry.RegisterOrganisation) { c.Website = "ftp://example.org" }, `website: "ftp://example.org" is not a web address`),
		invalidRow("website relative", func(c *registry.RegisterOrganisation) { c.Website = "example.org" }, "website:"),
		invalidRow("website without host", func(c *registry.RegisterOrganisation) { c.Website = "https:///path" }, "website:"),
		invalidRow("founded not a date", func(c *registry.RegisterOrganisation) { c.Founded = "12.05.2004" }, `founded: "12.05.2004" is not a date: want YYYY-MM-DD`),
		invalidRow("founded no such day", func(c *registry.RegisterOrganisation) { c.Founded = "2021-02-29" }, "founded:"),
		invalidRow("founded in the future", func(c *registry.RegisterOrganisation) { c.Founded = "2026-03-02" }, "founded: 2026-03-02 is in the future (today is 2026-03-01)"),
		invalidRow("founded before 1800", func(c *registry.RegisterOrganisation) { c.Founded = "1799-12-31" }, "founded: 1799-12-31 is before 1800-01-01"),

		{name: "supplied ID already registered", given: withPlaces(hub), when: cmd, kind: domain.Conflict, text: "organisation " + hubID + " is already registered"},
	})
}

func TestRegisterOrganisationMakesID(t *testing.T) {
	ctx := t.Context()
	svc, _ := newService(t)
	cmd := registry.RegisterOrganisation{Kind: registry.CSO, Name: domain.LocalizedText{Ka: "ოზურგეთის პროგრესის სახლი", En: "Ozurgeti Progress House"}, Municipality: "ozurgeti"}
	given(t, svc.Repo, places...)

	id, res, err := svc.RegisterOrganisation(ctx, metaAs(domain.Admin), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if parsed, err := eventstore.ParseID(id); err != nil || parsed.String() != id {
		t.Errorf("RegisterOrganisation returned ID %q, want a canonical UUID (%v)", id, err)
	}
	if res.Version != 1 {
		t.Errorf("RegisterOrganisation returned version %d, want 1", res.Version)
	}
	o, v, err := svc.Organisation(ctx, id)
	if err != nil || v != 1 {
		t.Fatalf("Organisation(%s) = version %d, %v; want the new organisation at version 1", id, v, err)
	}
	if o.ID() != id || o.Region() != "guria" || o.Municipality() != "ozurgeti" || o.Name() != cmd.Name.Normalize() || o.Kind() != registry.CSO {
		t.Errorf("Organisation(%s) = %q %v %q in %q/%q; want what was registered", id, o.ID(), o.Name(), o.Kind(), o.Region(), o.Municipality())
	}
	other, _, err := svc.RegisterOrganisation(ctx, metaAs(domain.Admin), cmd)
	if err != nil || other == id {
		t.Errorf("second RegisterOrganisation = %q, %v; want another new ID", other, err)
	}
}

func TestRenameOrganisation(t *testing.T) {
	newName := domain.LocalizedText{Ka: "ინტეგრაციის ფონდი", En: "Integration Foundation"}
	renamed := registry.OrganisationRenamed{ID: hubID, Name: newName}
	cmd := registry.RenameOrganisation{ID: hubID, Name: domain.LocalizedText{Ka: " ინტეგრაციის ფონდი", En: "Integration Foundation "}}
	with := func(f func(*registry.RenameOrganisation)) registry.RenameOrganisation {
		c := cmd
		f(&c)
		return c
	}
	run(t, []spec{
		{name: "renamed, name trimmed", given: withPlaces(hub), when: cmd, then: []domain.Event{renamed}, version: 2},
		{name: "system renames", role: domain.System, given: withPlaces(hub), when: cmd, then: []domain.Event{renamed}, version: 2},
		{name: "at the expected version", given: withPlaces(hub), when: with(func(c *registry.RenameOrganisation) { c.ExpectedVersion = 1 }), then: []domain.Event{renamed}, version: 2},
		{name: "upper-case ID", given: withPlaces(hub), when: with(func(c *registry.RenameOrganisation) { c.ID = strings.ToUpper(hubID) }), then: []domain.Event{renamed}, version: 2},
		{name: "same name writes nothing", given: withPlaces(hub, renamed), when: cmd, version: 2},
		{name: "renamed back", given: withPlaces(hub, renamed), when: with(func(c *registry.RenameOrganisation) { c.Name = hub.Name }),
			then: []domain.Event{registry.OrganisationRenamed{ID: hubID, Name: hub.Name}}, version: 3},

		{name: "anonymous", role: domain.Anonymous, given: withPlaces(hub), when: cmd, kind: domain.Unauthenticated, text: "rename an organisation needs an API key"},
		{name: "role checked before loading", role: domain.Auditor, when: with(func(c *registry.RenameOrganisation) { c.ID = unknownID }), kind: domain.Forbidden, text: "role auditor"},

		{name: "name without Georgian", given: withPlaces(hub), when: with(func(c *registry.RenameOrganisation) { c.Name = domain.LocalizedText{En: "x"} }), kind: domain.Invalid, text: "name: the Georgian text"},
		{name: "ID missing", given: withPlaces(hub), when: with(func(c *registry.RenameOrganisation) { c.ID = "" }), kind: domain.Invalid, text: "id: the organisation ID is required"},
		{name: "ID malformed", given: withPlaces(hub), when: with(func(c *registry.RenameOrganisation) { c.ID = "42" }), kind: domain.Invalid, text: `id: "42" is not an organisation ID`},
		{name: "negative expected version", given: withPlaces(hub), when: with(func(c *registry.RenameOrganisation) { c.ExpectedVersion = -1 }), kind: domain.Invalid, text: "expected_version: -1 is negative"},

		{name: "unknown organisation", when: with(func(c *registry.RenameOrganisation) { c.ID = unknownID }), kind: domain.NotFound, text: "no organisation with ID " + unknownID},
		{name: "stale expected version", given: withPlaces(hub, registry.OrganisationRenamed{ID: hubID, Name: domain.LocalizedText{Ka: "სხვა"}}),
			when: with(func(c *registry.RenameOrganisation) { c.ExpectedVersion = 1 }), kind: domain.Conflict, text: "is at version 2, not 1 as expected: reload it"},
		{name: "expected version ahead", given: withPlaces(hub), when: with(func(c *registry.RenameOrganisation) { c.ExpectedVersion = 5 }), kind: domain.Conflict, text: "is at version 1, not 5"},
		{name: "stale version checked before no-op", given: withPlaces(hub, renamed), when: with(func(c *registry.RenameOrganisation) { c.ExpectedVersion = 1 }), kind: domain.Conflict, text: "reload"},
		{name: "closed", given: withPlaces(hub, hubClosed), when: cmd, kind: domain.Conflict, text: "organisation " + hubID + " is closed; reopen it first"},
	})
}

func TestChangeOrganisationContact(t *testing.T) {
	contact := registry.Contact{Email: "office@example.org", Phone: "+995 555 00 00 00", Address: "Marneuli", Person: "Giorgi"}
	changed := registry.OrganisationContactChanged{ID: hubID, Contact: contact}
	cmd := registry.ChangeOrganisationContact{ID: hubID, Contact: contact}
	with := func(f func(*registry.ChangeOrganisationContact)) registry.ChangeOrganisationContact {
		c := cmd
		f(&c)
		return c
	}
	run(t, []spec{
		{name: "changed", given: withPlaces(hub), when: cmd, then: []domain.Event{changed}, version: 2},
		{name: "cleared", given: withPlaces(hub), when: with(func(c *registry.ChangeOrganisationContact) { c.Contact = registry.Contact{} }),
			then: []domain.Event{registry.OrganisationContactChanged{ID: hubID}}, version: 2},
		{name: "same contact, spaces aside, writes nothing", given: withPlaces(hub),
			when: with(func(c *registry.ChangeOrganisationContact) {
				c.Contact = registry.Contact{Email: hub.Contact.Email + " ", Phone: hub.Contact.Phone, Address: " " + hub.Contact.Address, Person: hub.Contact.Person}
			}),
			version: 1},

		{name: "analyst", role: domain.Analyst, given: withPlaces(hub), when: cmd, kind: domain.Forbidden, text: "change an organisation's contact is not allowed for role analyst"},
		{name: "email malformed", given: withPlaces(hub), when: with(func(c *registry.ChangeOrganisationContact) { c.Contact.Email = "office" }), kind: domain.Invalid, text: "contact.email:"},
		{name: "phone malformed", given: withPlaces(hub), when: with(func(c *registry.ChangeOrganisationContact) { c.Contact.Phone = "n/a" }), kind: domain.Invalid, text: "contact.phone:"},
		{name: "unknown organisation", when: with(func(c *registry.ChangeOrganisationContact) { c.ID = unknownID }), kind: domain.NotFound, text: unknownID},
		{name: "stale expected version", given: withPlaces(hub, changed), when: with(func(c *registry.ChangeOrganisationContact) { c.ExpectedVersion = 1 }), kind: domain.Conflict, text: "reload"},
		{name: "closed", given: withPlaces(hub, hubClosed), when: cmd, kind: domain.Conflict, text: "is closed; reopen it first"},
	})
}

func TestMoveOrganisation(t *testing.T) {
	moved := registry.OrganisationMoved{ID: hubID, Region: "guria", Municipality: "ozurgeti"}
	run(t, []spec{
		{name: "municipality alone takes its region", given: withPlaces(hub),
			when: registry.MoveOrganisation{ID: hubID, Municipality: "ozurgeti"}, then: []domain.Event{moved}, version: 2},
		{name: "municipality in its region", given: withPlaces(hub),
			when: registry.MoveOrganisation{ID: hubID, Region: "guria", Municipality: "ozurgeti"}, then: []domain.Event{moved}, version: 2},
		{name: "within the region", given: withPlaces(hub),
			when: registry.MoveOrganisation{ID: hubID, Municipality: "marneuli"},
			then: []domain.Event{registry.OrganisationMoved{ID: hubID, Region: "kvemo-kartli", Municipality: "marneuli"}}, version: 2},
		{name: "region alone", given: withPlaces(hub),
			when: registry.MoveOrganisation{ID: hubID, Region: "guria"},
			then: []domain.Event{registry.OrganisationMoved{ID: hubID, Region: "guria"}}, version: 2},
		{name: "nowhere: national", given: withPlaces(hub),
			when: registry.MoveOrganisation{ID: hubID}, then: []domain.Event{registry.OrganisationMoved{ID: hubID}}, version: 2},
		{name: "same place writes nothing", given: withPlaces(hub),
			when: registry.MoveOrganisation{ID: hubID, Municipality: "rustavi"}, version: 1},
		{name: "same place after a move writes nothing", given: withPlaces(hub, moved),
			when: registry.MoveOrganisation{ID: hubID, ExpectedVersion: 2, Region: "guria", Municipality: "ozurgeti"}, version: 2},

		{name: "anonymous", role: domain.Anonymous, given: withPlaces(hub), when: registry.MoveOrganisation{ID: hubID}, kind: domain.Unauthenticated, text: "move an organisation needs an API key"},
		{name: "region malformed", given: withPlaces(hub), when: registry.MoveOrganisation{ID: hubID, Region: "GURIA"}, kind: domain.Invalid, text: `region: "GURIA" is not a code`},
		{name: "municipality not registered", given: withPlaces(hub), when: registry.MoveOrganisation{ID: hubID, Municipality: "lanchkhuti"}, kind: domain.Invalid, text: `municipality: no municipality "lanchkhuti" is registered`},
		{name: "region not registered", given: withPlaces(hub), when: registry.MoveOrganisation{ID: hubID, Region: "imereti"}, kind: domain.Invalid, text: `region: no region "imereti" is registered`},
		{name: "municipality outside the region", given: withPlaces(hub),
			when: registry.MoveOrganisation{ID: hubID, Region: "kvemo-kartli", Municipality: "ozurgeti"}, kind: domain.Invalid, text: "region: municipality ozurgeti lies in region guria, not kvemo-kartli"},
		{name: "unknown organisation", given: places, when: registry.MoveOrganisation{ID: unknownID, Region: "guria"}, kind: domain.NotFound, text: unknownID},
		{name: "stale expected version", given: withPlaces(hub, moved), when: registry.MoveOrganisation{ID: hubID, ExpectedVersion: 1, Region: "guria"}, kind: domain.Conflict, text: "reload"},
		{name: "closed", given: withPlaces(hub, hubClosed), when: registry.MoveOrganisation{ID: hubID, Region: "guria"}, kind: domain.Conflict, text: "is closed; reopen it first"},
	})
}

func TestCloseOrganisation(t *testing.T) {
	cmd := registry.CloseOrganisation{ID: hubID, Reason: " funding ended ", On: "2025-12-31"}
	with := func(f func(*registry.CloseOrganisation)) registry.CloseOrganisation {
		c := cmd
		f(&c)
		return c
	}
	reopened := registry.OrganisationReopened{ID: hubID, On: "2026-01-15"}
	run(t, []spec{
		{name: "closed, reason trimmed", given: withPlaces(hub), when: cmd, then: []domain.Event{hubClosed}, version: 2},
		{name: "closed today", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.On = "2026-03-01" }),
			then: []domain.Event{registry.OrganisationClosed{ID: hubID, Reason: "funding ended", On: "2026-03-01"}}, version: 2},
		{name: "closed on its founding day", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.On = hub.Founded }),
			then: []domain.Event{registry.OrganisationClosed{ID: hubID, Reason: "funding ended", On: hub.Founded}}, version: 2},
		{name: "closed again after reopening", given: withPlaces(hub, hubClosed, reopened), when: with(func(c *registry.CloseOrganisation) { c.On = "2026-02-01" }),
			then: []domain.Event{registry.OrganisationClosed{ID: hubID, Reason: "funding ended", On: "2026-02-01"}}, version: 4},

		{name: "expert", role: domain.Expert, given: withPlaces(hub), when: cmd, kind: domain.Forbidden, text: "close an organisation is not allowed for role expert"},
		{name: "reason missing", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.Reason = "  " }), kind: domain.Invalid, text: "reason: say why"},
		{name: "reason too long", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.Reason = strings.Repeat("ა", 501) }), kind: domain.Invalid, text: "reason: 501 characters, over the limit of 500"},
		{name: "date missing", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.On = "" }), kind: domain.Invalid, text: "on: a date is required"},
		{name: "date malformed", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.On = "31/12/2025" }), kind: domain.Invalid, text: `on: "31/12/2025" is not a date`},
		{name: "date in the future", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.On = "2026-03-02" }), kind: domain.Invalid, text: "on: 2026-03-02 is in the future"},
		{name: "date before 1800", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.On = "1700-01-01" }), kind: domain.Invalid, text: "on: 1700-01-01 is before 1800-01-01"},
		{name: "date before founding", given: withPlaces(hub), when: with(func(c *registry.CloseOrganisation) { c.On = "2004-05-11" }), kind: domain.Invalid, text: "on: 2004-05-11 is before the organisation was founded (2004-05-12)"},
		{name: "date before reopening", given: withPlaces(hub, hubClosed, reopened), when: with(func(c *registry.CloseOrganisation) { c.On = "2026-01-14" }), kind: domain.Invalid, text: "on: 2026-01-14 is before the organisation reopened (2026-01-15)"},

		{name: "unknown organisation", when: with(func(c *registry.CloseOrganisation) { c.ID = unknownID }), kind: domain.NotFound, text: unknownID},
		{name: "stale expected version", given: withPlaces(hub, hubClosed, reopened), when: with(func(c *registry.CloseOrganisation) { c.ExpectedVersion = 2 }), kind: domain.Conflict, text: "is at version 3, not 2"},
		{name: "closed already", given: withPlaces(hub, hubClosed), when: cmd, kind: domain.Conflict, text: "organisation " + hubID + " is closed already (since 2025-12-31)"},
	})
}

func TestReopenOrganisation(t *testing.T) {
	cmd := registry.ReopenOrganisation{ID: hubID, On: "2026-01-15"}
	with := func(f func(*registry.ReopenOrganisation)) registry.ReopenOrganisation {
		c := cmd
		f(&c)
		return c
	}
	run(t, []spec{
		{name: "reopened", given: withPlaces(hub, hubClosed), when: cmd, then: []domain.Event{registry.OrganisationReopened{ID: hubID, On: "2026-01-15"}}, version: 3},
		{name: "reopened the day it closed", given: withPlaces(hub, hubClosed), when: with(func(c *registry.ReopenOrganisation) { c.On = hubClosed.On }),
			then: []domain.Event{registry.OrganisationReopened{ID: hubID, On: hubClosed.On}}, version: 3},
		{name: "at the expected version", given: withPlaces(hub, hubClosed), when: with(func(c *registry.ReopenOrganisation) { c.ExpectedVersion = 2 }),
			then: []domain.Event{registry.OrganisationReopened{ID: hubID, On: "2026-01-15"}}, version: 3},

		{name: "anonymous", role: domain.Anonymous, given: withPlaces(hub, hubClosed), when: cmd, kind: domain.Unauthenticated, text: "reopen an organisation needs an API key"},
		{name: "applicant", role: domain.Applicant, given: withPlaces(hub, hubClosed), when: cmd, kind: domain.Forbidden, text: "role applicant"},
		{name: "date missing", given: withPlaces(hub, hubClosed), when: with(func(c *registry.ReopenOrganisation) { c.On = "" }), kind: domain.Invalid, text: "on: a date is required"},
		{name: "date in the future", given: withPlaces(hub, hubClosed), when: with(func(c *registry.ReopenOrganisation) { c.On = "2027-01-01" }), kind: domain.Invalid, text: "on: 2027-01-01 is in the future"},
		{name: "date before closing", given: withPlaces(hub, hubClosed), when: with(func(c *registry.ReopenOrganisation) { c.On = "2025-12-30" }), kind: domain.Invalid, text: "on: 2025-12-30 is before the organisation closed (2025-12-31)"},

		{name: "unknown organisation", when: with(func(c *registry.ReopenOrganisation) { c.ID = unknownID }), kind: domain.NotFound, text: unknownID},
		{name: "stale expected version", given: withPlaces(hub, hubClosed), when: with(func(c *registry.ReopenOrganisation) { c.ExpectedVersion = 1 }), kind: domain.Conflict, text: "reload"},
		{name: "open", given: withPlaces(hub), when: cmd, kind: domain.Conflict, text: "organisation " + hubID + " is open; only a closed organisation can be reopened"},
	})
}

// TestOrganisationState checks that the aggregate folds its history into
// what the accessors show.
func TestOrganisationState(t *testing.T) {
	ctx := t.Context()
	svc, _ := newService(t)
	newContact := registry.Contact{Email: "office@example.org"}
	newName := domain.LocalizedText{Ka: "ინტეგრაციის ფონდი"}
	given(t, svc.Repo, withPlaces(hub,
		registry.OrganisationRenamed{ID: hubID, Name: newName},
		registry.OrganisationContactChanged{ID: hubID, Contact: newContact},
		registry.OrganisationMoved{ID: hubID, Region: "guria", Municipality: "ozurgeti"},
		hubClosed,
	)...)

	o, v, err := svc.Organisation(ctx, hubID)
	if err != nil || v != 5 {
		t.Fatalf("Organisation(hub) = version %d, %v; want version 5", v, err)
	}
	got := []any{o.ID(), o.Kind(), o.Name(), o.LegalForm(), o.Region(), o.Municipality(), o.Contact(), o.Website(), o.Founded(), o.Closed(), o.ClosedOn(), o.ClosingReason()}
	want := []any{hubID, registry.RegionalHub, newName, hub.LegalForm, "guria", "ozurgeti", newContact, hub.Website, hub.Founded, true, "2025-12-31", "funding ended"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("accessor %d = %v, want %v", i, got[i], want[i])
		}
	}

	if _, err := svc.ReopenOrganisation(ctx, metaAs(domain.Admin), registry.ReopenOrganisation{ID: hubID, On: "2026-01-15"}); err != nil {
		t.Fatal(err)
	}
	o, _, err = svc.Organisation(ctx, hubID)
	if err != nil || o.Closed() || o.ClosedOn() != "" || o.ClosingReason() != "" {
		t.Errorf("after reopening: closed %v on %q for %q, %v; want open", o.Closed(), o.ClosedOn(), o.ClosingReason(), err)
	}

	if _, _, err := svc.Organisation(ctx, unknownID); domain.KindOf(err) != domain.NotFound {
		t.Errorf("Organisation(unknown) = %v, want NotFound", err)
	}
	if _, _, err := svc.Organisation(ctx, "hub"); domain.KindOf(err) != domain.Invalid {
		t.Errorf("Organisation(hub) = %v, want Invalid", err)
	}
}

// TestZeroTime: a command without a time is the caller's bug, not bad input.
func TestZeroTime(t *testing.T) {
	svc, _ := newService(t)
	given(t, svc.Repo, withPlaces(hub)...)
	meta := metaAs(domain.Admin)
	meta.Now = time.Time{}
	_, err := svc.CloseOrganisation(t.Context(), meta, registry.CloseOrganisation{ID: hubID, Reason: "r", On: "2025-01-01"})
	if domain.KindOf(err) != domain.Internal {
		t.Errorf("CloseOrganisation without meta.Now = %v (kind %s), want Internal", err, domain.KindOf(err))
	}
}
