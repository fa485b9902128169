package registry

import (
	"context"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// Service handles the registry's commands. Every command method checks, in
// this order and before it loads or writes anything: the actor's role
// (Unauthenticated for an anonymous caller, Forbidden for another role),
// then the input (Invalid, naming the field). It then loads the streams it
// decides on and appends what it decides, returning NotFound for an unknown
// organisation and Conflict when the state forbids the command or the
// stream moved on meanwhile. A command that would change nothing writes
// nothing and returns the current version.
type Service struct {
	Repo *domain.Repository
}

// The roles that may register regions and municipalities, and those that
// may manage organisations: the same today, kept apart because reference
// data and the organisations kept by programme staff may not stay so.
var (
	referenceRoles    = []domain.Role{domain.Admin, domain.System}
	organisationRoles = []domain.Role{domain.Admin, domain.System}
)

// RegisterRegion records a new region. Roles: admin, system. A region whose
// code is registered already is a Conflict.
func (s *Service) RegisterRegion(ctx context.Context, meta domain.Meta, cmd RegisterRegion) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("register a region", referenceRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	e, err := cmd.event()
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: RegionStream(e.Code), What: "region " + e.Code, Creates: true},
		func(r *Region) ([]domain.Event, error) { return r.register(e) })
}

// RegisterMunicipality records a new municipality of a registered region.
// Roles: admin, system. An unknown region is Invalid; a municipality whose
// code is registered already is a Conflict.
func (s *Service) RegisterMunicipality(ctx context.Context, meta domain.Meta, cmd RegisterMunicipality) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("register a municipality", referenceRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	e, err := cmd.event()
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.checkRegion(ctx, "region", e.Region); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: MunicipalityStream(e.Code), What: "municipality " + e.Code, Creates: true},
		func(m *Municipality) ([]domain.Event, error) { return m.register(e) })
}

// RegisterOrganisation records a new organisation and returns its ID: the
// command's, or a new one. Roles: admin, system. A region or municipality
// that is not registered, or a municipality outside the given region, is
// Invalid; an ID that is registered already is a Conflict.
func (s *Service) RegisterOrganisation(ctx context.Context, meta domain.Meta, cmd RegisterOrganisation) (id string, res eventstore.AppendResult, err error) {
	if err := meta.Actor.Require("register an organisation", organisationRoles...); err != nil {
		return "", eventstore.AppendResult{}, err
	}
	e, err := cmd.event(meta.Now)
	if err != nil {
		return "", eventstore.AppendResult{}, err
	}
	if e.ID == "" {
		e.ID = eventstore.NewID().String()
	}
	if e.Region, err = s.place(ctx, e.Region, e.Municipality); err != nil {
		return "", eventstore.AppendResult{}, err
	}
	res, err = domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: OrganisationStream(e.ID), What: "organisation " + e.ID, Creates: true},
		func(o *Organisation) ([]domain.Event, error) { return o.register(e) })
	if err != nil {
		return "", res, err
	}
	return e.ID, res, nil
}

// RenameOrganisation gives an organisation a new name. Roles: admin,
// system. A closed organisation is a Conflict.
func (s *Service) RenameOrganisation(ctx context.Context, meta domain.Meta, cmd RenameOrganisation) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("rename an organisation", organisationRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	name, err := checkName(cmd.Name)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.update(ctx, meta, cmd.ID, cmd.ExpectedVersion, func(o *Organisation) ([]domain.Event, error) {
		return o.rename(name)
	})
}

// ChangeOrganisationContact replaces an organisation's contact details.
// Roles: admin, system. A closed organisation is a Conflict.
func (s *Service) ChangeOrganisationContact(ctx context.Context, meta domain.Meta, cmd ChangeOrganisationContact) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("change an organisation's contact", organisationRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	contact := checkContact(cmd.Contact, &p)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.update(ctx, meta, cmd.ID, cmd.ExpectedVersion, func(o *Organisation) ([]domain.Event, error) {
		return o.changeContact(contact)
	})
}

// MoveOrganisation bases an organisation elsewhere. Roles: admin, system.
// The place follows RegisterOrganisation's rules (Invalid otherwise); a
// closed organisation is a Conflict.
func (s *Service) MoveOrganisation(ctx context.Context, meta domain.Meta, cmd MoveOrganisation) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("move an organisation", organisationRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := checkOptionalCode("region", cmd.Region); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := checkOptionalCode("municipality", cmd.Municipality); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.update(ctx, meta, cmd.ID, cmd.ExpectedVersion, func(o *Organisation) ([]domain.Event, error) {
		if err := o.mustBeOpen(); err != nil {
			return nil, err // before resolving: the place does not matter
		}
		region, err := s.place(ctx, cmd.Region, cmd.Municipality)
		if err != nil {
			return nil, err
		}
		return o.move(region, cmd.Municipality)
	})
}

// CloseOrganisation records that an organisation stopped working. Roles:
// admin, system. A reason and a date are required, the date not before the
// organisation was founded or last reopened (Invalid); closing a closed
// organisation is a Conflict.
func (s *Service) CloseOrganisation(ctx context.Context, meta domain.Meta, cmd CloseOrganisation) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("close an organisation", organisationRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	reason, err := checkText("reason", cmd.Reason, maxReason)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if reason == "" {
		return eventstore.AppendResult{}, invalid("reason", "say why the organisation closed")
	}
	on, err := checkDate("on", cmd.On, meta.Now, true)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.update(ctx, meta, cmd.ID, cmd.ExpectedVersion, func(o *Organisation) ([]domain.Event, error) {
		return o.close(reason, on)
	})
}

// ReopenOrganisation records that a closed organisation works again. Roles:
// admin, system. The date is required, not before the closing (Invalid);
// reopening an open organisation is a Conflict.
func (s *Service) ReopenOrganisation(ctx context.Context, meta domain.Meta, cmd ReopenOrganisation) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("reopen an organisation", organisationRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	on, err := checkDate("on", cmd.On, meta.Now, true)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.update(ctx, meta, cmd.ID, cmd.ExpectedVersion, func(o *Organisation) ([]domain.Event, error) {
		return o.reopen(on)
	})
}

// Organisation returns the organisation with the given ID and its version.
// An ID that is not a UUID is Invalid; an unknown organisation is NotFound.
// Anyone may read the registry, so it checks no role.
func (s *Service) Organisation(ctx context.Context, id string) (*Organisation, int64, error) {
	id, err := checkID(id)
	if err != nil {
		return nil, 0, err
	}
	var o Organisation
	version, err := s.Repo.Load(ctx, OrganisationStream(id), &o)
	if err != nil {
		return nil, 0, err
	}
	if version == 0 {
		return nil, 0, domain.Errorf(domain.NotFound, "no organisation with ID %s is registered", id)
	}
	return &o, version, nil
}

// Region returns the region with the given code and its version. A
// malformed code is Invalid; an unknown region is NotFound.
func (s *Service) Region(ctx context.Context, code string) (*Region, int64, error) {
	if err := checkCode("code", code); err != nil {
		return nil, 0, err
	}
	var r Region
	version, err := s.Repo.Load(ctx, RegionStream(code), &r)
	if err != nil {
		return nil, 0, err
	}
	if version == 0 {
		return nil, 0, domain.Errorf(domain.NotFound, "no region %q is registered", code)
	}
	return &r, version, nil
}

// Municipality returns the municipality with the given code and its
// version. A malformed code is Invalid; an unknown municipality is NotFound.
func (s *Service) Municipality(ctx context.Context, code string) (*Municipality, int64, error) {
	if err := checkCode("code", code); err != nil {
		return nil, 0, err
	}
	var m Municipality
	version, err := s.Repo.Load(ctx, MunicipalityStream(code), &m)
	if err != nil {
		return nil, 0, err
	}
	if version == 0 {
		return nil, 0, domain.Errorf(domain.NotFound, "no municipality %q is registered", code)
	}
	return &m, version, nil
}

// update loads an organisation, holds it to the caller's expected version,
// and saves what decide makes of it.
func (s *Service) update(ctx context.Context, meta domain.Meta, id string, expected int64, decide func(*Organisation) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	id, err := checkID(id)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if expected < 0 {
		return eventstore.AppendResult{}, invalid("expected_version", "%d is negative; give the version you last read, or 0 for the current one", expected)
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: OrganisationStream(id), What: "organisation with ID " + id, Expected: expected}, decide)
}

// place checks an organisation's region and municipality references and
// returns its region: the municipality's when only a municipality is given.
// References name input, not the thing the command acts on, so an unknown
// one is Invalid rather than NotFound.
func (s *Service) place(ctx context.Context, region, municipality string) (string, error) {
	if municipality == "" {
		if region == "" {
			return "", nil // a national or foreign body
		}
		if err := s.checkRegion(ctx, "region", region); err != nil {
			return "", err
		}
		return region, nil
	}
	m, _, err := s.Municipality(ctx, municipality)
	if domain.KindOf(err) == domain.NotFound {
		return "", invalid("municipality", "no municipality %q is registered", municipality)
	} else if err != nil {
		return "", err
	}
	if region != "" && region != m.Region() {
		return "", invalid("region", "municipality %s lies in region %s, not %s; give %s or leave the region empty", municipality, m.Region(), region, m.Region())
	}
	return m.Region(), nil
}

// checkRegion checks that a referenced region is registered; field names
// the reference in the error.
func (s *Service) checkRegion(ctx context.Context, field, code string) error {
	_, _, err := s.Region(ctx, code)
	if domain.KindOf(err) == domain.NotFound {
		return invalid(field, "no region %q is registered", code)
	}
	return err
}
