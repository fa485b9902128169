package network

import (
	"context"
	"slices"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// Service handles the network commands. Each checks the actor's role
// (admins and the system manage networks), then the input (Invalid,
// naming every invalid field at once), then lets the network decide on
// its own events (Network's verb methods) through domain.Handle: NotFound
// for an unknown network or member, Conflict when its state forbids the
// command or the stream moved on meanwhile. A command that would change
// nothing writes nothing. "Today" is meta.Now's day in Tbilisi; a change
// may be dated in the past (recorded after the fact) but not in the
// future.
type Service struct {
	Repo *domain.Repository
}

var managers = []domain.Role{domain.Admin, domain.System}

// maxReason bounds a suspension's or a departure's reason, in characters:
// a sentence or two for the history, not a report.
const maxReason = 500

// FormNetwork records a new network. Roles: admin, system. An ID taken
// already is a Conflict.
func (s *Service) FormNetwork(ctx context.Context, meta domain.Meta, cmd Form) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("form a network", managers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(domain.CheckCode("id", cmd.ID, "cssige"))
	if !slices.Contains([]Kind{Consortium, HubNetwork, Coalition}, cmd.Kind) {
		p.Add(invalid("kind", "%q is not a kind of network (consortium, hub_network or coalition)", cmd.Kind))
	}
	cmd.Name = cmd.Name.Normalize()
	p.Add(cmd.Name.Validate("name"))
	if p.Add(domain.CheckDate("on", cmd.On)) && cmd.On > meta.Today() {
		p.Add(invalid("on", "%s is in the future", cmd.On))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.ID, true, func(n *Network) ([]domain.Event, error) { return n.Form(cmd) })
}

// Join records that an organisation of the registry joined a network, in
// a role. Roles: admin, system. A regional hub's region must be in the
// registry (Invalid); a member joining again, or a second lead of a
// consortium, is a Conflict.
func (s *Service) Join(ctx context.Context, meta domain.Meta, cmd Join) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("add a member", managers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Organisation = organisationID(cmd.Organisation)
	checkMember(&p, cmd.Network, cmd.Organisation, cmd.On)
	if cmd.Region != "" {
		p.Add(domain.CheckCode("region", cmd.Region, "kvemo-kartli"))
	}
	if err := s.lookUp(ctx, &p, cmd.Organisation, cmd.Region); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) { return n.Join(cmd, meta.Today()) })
}

// ChangeRole records a member's new role (or hub region). Roles: admin,
// system. The same role and region again change nothing.
func (s *Service) ChangeRole(ctx context.Context, meta domain.Meta, cmd ChangeRole) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("change a member's role", managers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Organisation = organisationID(cmd.Organisation)
	checkMember(&p, cmd.Network, cmd.Organisation, cmd.On)
	if cmd.Region != "" {
		p.Add(domain.CheckCode("region", cmd.Region, "kvemo-kartli"))
	}
	if err := s.lookUp(ctx, &p, cmd.Organisation, cmd.Region); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) { return n.ChangeRole(cmd, meta.Today()) })
}

// Suspend records a suspension, with its reason. Roles: admin, system. A
// member suspended already is a Conflict.
func (s *Service) Suspend(ctx context.Context, meta domain.Meta, cmd Suspend) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("suspend a member", managers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Organisation = organisationID(cmd.Organisation)
	checkMember(&p, cmd.Network, cmd.Organisation, cmd.On)
	cmd.Reason = checkReason(&p, cmd.Reason, true)
	if err := s.lookUp(ctx, &p, cmd.Organisation, ""); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) { return n.Suspend(cmd, meta.Today()) })
}

// Reinstate records the end of a suspension. Roles: admin, system. A
// member not suspended is a Conflict.
func (s *Service) Reinstate(ctx context.Context, meta domain.Meta, cmd Reinstate) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("reinstate a member", managers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Organisation = organisationID(cmd.Organisation)
	checkMember(&p, cmd.Network, cmd.Organisation, cmd.On)
	if err := s.lookUp(ctx, &p, cmd.Organisation, ""); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) { return n.Reinstate(cmd, meta.Today()) })
}

// Leave records that a member left. Roles: admin, system. A membership
// must last a day at least (Invalid).
func (s *Service) Leave(ctx context.Context, meta domain.Meta, cmd Leave) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("record a member leaving", managers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Organisation = organisationID(cmd.Organisation)
	checkMember(&p, cmd.Network, cmd.Organisation, cmd.On)
	cmd.Reason = checkReason(&p, cmd.Reason, false)
	if err := s.lookUp(ctx, &p, cmd.Organisation, ""); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) { return n.Leave(cmd, meta.Today()) })
}

// organisationID normalises an organisation's ID as the registry writes
// it, so that the same organisation typed in upper case is the same member.
func organisationID(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// checkMember adds to p what is wrong with the form of a membership
// command's network, organisation (normalised already) and day.
func checkMember(p *domain.Problems, network, organisation, on string) {
	p.Add(domain.CheckCode("network", network, "cssige"))
	if organisation == "" {
		p.Add(invalid("organisation", "required: the organisation's ID in the registry"))
	}
	p.Add(domain.CheckDate("on", on))
}

// lookUp adds to p an organisation, and a region unless "", that the
// registry does not hold; it returns only what keeps it from looking. It
// looks only once the input is well-formed (p holds nothing): lookups cost
// reads, and an ID the store cannot name fails as an internal error, which
// must not hide the caller's typing errors.
func (s *Service) lookUp(ctx context.Context, p *domain.Problems, organisation, region string) error {
	if p.Err() != nil {
		return nil
	}
	var o registry.Organisation
	if _, err := s.Repo.Load(ctx, registry.OrganisationStream(organisation), &o); err != nil {
		return err
	}
	if o.ID() == "" {
		p.Add(invalid("organisation", "%q is not an organisation in the registry", organisation))
	}
	if region == "" {
		return nil
	}
	var r registry.Region
	version, err := s.Repo.Load(ctx, registry.RegionStream(region), &r)
	if err != nil {
		return err
	}
	if version == 0 {
		p.Add(invalid("region", "%q is not a region in the registry", region))
	}
	return nil
}

// checkReason trims a reason and adds to p what is wrong with it.
func checkReason(p *domain.Problems, reason string, required bool) string {
	reason = strings.TrimSpace(reason)
	switch {
	case required && reason == "":
		p.Add(invalid("reason", "required"))
	case len([]rune(reason)) > maxReason:
		p.Add(invalid("reason", "over %d characters", maxReason))
	}
	return reason
}

// on loads the network id, has decide decide and saves what it decided.
// Unless forming, the network must exist.
func (s *Service) on(ctx context.Context, meta domain.Meta, id string, forming bool, decide func(*Network) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: Stream(id), What: "network " + id, Creates: forming}, decide)
}
