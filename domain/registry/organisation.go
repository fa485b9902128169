package registry

import (
	"fmt"

	"github.com/civicledger/civicledger/domain"
)

// Organisation is an organisation taking part in the programmes. Its zero
// value is an organisation not registered yet.
//
// Its behaviour methods are unexported: commands reach them only through
// Service, which checks the actor and the input first.
type Organisation struct {
	id           string
	kind         OrganisationKind
	name         domain.LocalizedText
	legalForm    string
	region       string
	municipality string
	contact      Contact
	website      string
	founded      string

	closed        bool
	closedOn      string
	closingReason string
	reopenedOn    string // the last reopening, "" if never
}

// ID returns the organisation's ID, "" when it is not registered.
func (o *Organisation) ID() string { return o.id }

// Kind returns the organisation's kind.
func (o *Organisation) Kind() OrganisationKind { return o.kind }

// Name returns the organisation's current name.
func (o *Organisation) Name() domain.LocalizedText { return o.name }

// LegalForm returns the organisation's legal form as registered ("" if not given).
func (o *Organisation) LegalForm() string { return o.legalForm }

// Region returns the code of the organisation's region, or "".
func (o *Organisation) Region() string { return o.region }

// Municipality returns the code of the organisation's municipality, or "".
func (o *Organisation) Municipality() string { return o.municipality }

// Contact returns the organisation's contact details.
func (o *Organisation) Contact() Contact { return o.contact }

// Website returns the organisation's website, or "".
func (o *Organisation) Website() string { return o.website }

// Founded returns the founding date (YYYY-MM-DD), or "".
func (o *Organisation) Founded() string { return o.founded }

// Closed reports whether the organisation is closed.
func (o *Organisation) Closed() bool { return o.closed }

// ClosedOn returns the date the organisation closed (YYYY-MM-DD), "" while it is open.
func (o *Organisation) ClosedOn() string { return o.closedOn }

// ClosingReason returns why the organisation closed, "" while it is open.
func (o *Organisation) ClosingReason() string { return o.closingReason }

// Apply implements domain.Aggregate.
func (o *Organisation) Apply(e domain.Event) error {
	if _, ok := e.(OrganisationRegistered); !ok && o.id == "" {
		return fmt.Errorf("organisation: %s before registration", e.EventType())
	}
	switch e := e.(type) {
	case OrganisationRegistered:
		if o.id != "" {
			return fmt.Errorf("organisation %s: registered twice", o.id)
		}
		*o = Organisation{
			id: e.ID, kind: e.Kind, name: e.Name, legalForm: e.LegalForm,
			region: e.Region, municipality: e.Municipality, contact: e.Contact,
			website: e.Website, founded: e.Founded,
		}
	case OrganisationRenamed:
		o.name = e.Name
	case OrganisationContactChanged:
		o.contact = e.Contact
	case OrganisationMoved:
		o.region, o.municipality = e.Region, e.Municipality
	case OrganisationClosed:
		o.closed, o.closedOn, o.closingReason = true, e.On, e.Reason
	case OrganisationReopened:
		o.closed, o.closedOn, o.closingReason, o.reopenedOn = false, "", "", e.On
	default:
		return fmt.Errorf("organisation %s: unknown event %s (%T)", o.id, e.EventType(), e)
	}
	return nil
}

// register decides a registration whose input is checked already.
func (o *Organisation) register(e OrganisationRegistered) ([]domain.Event, error) {
	if o.id != "" {
		return nil, domain.Errorf(domain.Conflict, "organisation %s is already registered", o.id)
	}
	return []domain.Event{e}, nil
}

// mustBeOpen refuses changes to a closed organisation: its record is kept
// as it was when it closed, until someone reopens it.
func (o *Organisation) mustBeOpen() error {
	if o.closed {
		return domain.Errorf(domain.Conflict, "organisation %s is closed; reopen it first", o.id)
	}
	return nil
}

// rename decides a new name; the same name again is no change.
func (o *Organisation) rename(name domain.LocalizedText) ([]domain.Event, error) {
	if err := o.mustBeOpen(); err != nil {
		return nil, err
	}
	if name == o.name {
		return nil, nil
	}
	return []domain.Event{OrganisationRenamed{ID: o.id, Name: name}}, nil
}

// changeContact decides new contact details; the same ones again are no change.
func (o *Organisation) changeContact(c Contact) ([]domain.Event, error) {
	if err := o.mustBeOpen(); err != nil {
		return nil, err
	}
	if c == o.contact {
		return nil, nil
	}
	return []domain.Event{OrganisationContactChanged{ID: o.id, Contact: c}}, nil
}

// move decides a new place, resolved and checked already; the same place
// again is no change.
func (o *Organisation) move(region, municipality string) ([]domain.Event, error) {
	if err := o.mustBeOpen(); err != nil {
		return nil, err
	}
	if region == o.region && municipality == o.municipality {
		return nil, nil
	}
	return []domain.Event{OrganisationMoved{ID: o.id, Region: region, Municipality: municipality}}, nil
}

// close decides a closing on a checked date. The date may not come before
// the organisation began (or began again): a record that closes before it
// opens is a typing error.
func (o *Organisation) close(reason, on string) ([]domain.Event, error) {
	if o.closed {
		return nil, domain.Errorf(domain.Conflict, "organisation %s is closed already (since %s)", o.id, o.closedOn)
	}
	if o.reopenedOn != "" && on < o.reopenedOn {
		return nil, invalid("on", "%s is before the organisation reopened (%s)", on, o.reopenedOn)
	}
	if o.founded != "" && on < o.founded {
		return nil, invalid("on", "%s is before the organisation was founded (%s)", on, o.founded)
	}
	return []domain.Event{OrganisationClosed{ID: o.id, Reason: reason, On: on}}, nil
}

// reopen decides a reopening on a checked date, which may not come before
// the closing.
func (o *Organisation) reopen(on string) ([]domain.Event, error) {
	if !o.closed {
		return nil, domain.Errorf(domain.Conflict, "organisation %s is open; only a closed organisation can be reopened", o.id)
	}
	if on < o.closedOn {
		return nil, invalid("on", "%s is before the organisation closed (%s)", on, o.closedOn)
	}
	return []domain.Event{OrganisationReopened{ID: o.id, On: on}}, nil
}
