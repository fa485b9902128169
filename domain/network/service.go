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
// (admins and the system manage networks), then the input (Invalid, naming
// the field), then decides on the network's own events: NotFound for an
// unknown network or member, Conflict when its state forbids the command.
// "Today" is meta.Now's day in Tbilisi; a change may be dated in the past
// (recorded after the fact) but not in the future.
type Service struct {
	Repo *domain.Repository
}

var managers = []domain.Role{domain.Admin, domain.System}

// FormNetwork is the command that sets up a network.
type FormNetwork struct {
	// ID is the network's code: "cssige", "cssige-hubs".
	ID   string
	Kind Kind
	Name domain.LocalizedText
	On   string
}

// FormNetwork records a new network.
func (s *Service) FormNetwork(ctx context.Context, meta domain.Meta, cmd FormNetwork) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("form a network", managers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	// Every field is checked, and every problem reported at once.
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
	return s.on(ctx, meta, cmd.ID, true, func(n *Network) ([]domain.Event, error) {
		return n.form(Formed{ID: cmd.ID, Kind: cmd.Kind, Name: cmd.Name, On: cmd.On})
	})
}

// MembershipChange is the command for a change of one membership: which network,
// which organisation, from which day; Role and Region for joining and role
// changes, Reason for suspensions and departures.
type MembershipChange struct {
	Network      string
	Organisation string
	Role         Role
	Region       string
	On           string
	Reason       string
}

// Join records that an organisation of the registry joined a network.
func (s *Service) Join(ctx context.Context, meta domain.Meta, cmd MembershipChange) (eventstore.AppendResult, error) {
	if err := s.check(ctx, meta, "add a member", &cmd, true); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) {
		return n.join(MemberJoined{Network: cmd.Network, Organisation: cmd.Organisation, Role: cmd.Role, Region: cmd.Region, On: cmd.On}, meta.Today())
	})
}

// ChangeRole records a member's new role (or hub region).
func (s *Service) ChangeRole(ctx context.Context, meta domain.Meta, cmd MembershipChange) (eventstore.AppendResult, error) {
	if err := s.check(ctx, meta, "change a member's role", &cmd, true); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) {
		return n.changeRole(MemberRoleChanged{Network: cmd.Network, Organisation: cmd.Organisation, Role: cmd.Role, Region: cmd.Region, On: cmd.On}, meta.Today())
	})
}

// Suspend records a suspension, with its reason.
func (s *Service) Suspend(ctx context.Context, meta domain.Meta, cmd MembershipChange) (eventstore.AppendResult, error) {
	if err := s.check(ctx, meta, "suspend a member", &cmd, false); err != nil {
		return eventstore.AppendResult{}, err
	}
	if cmd.Reason == "" {
		return eventstore.AppendResult{}, invalid("reason", "required")
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) {
		return n.suspend(MemberSuspended{Network: cmd.Network, Organisation: cmd.Organisation, On: cmd.On, Reason: cmd.Reason}, meta.Today())
	})
}

// Reinstate records the end of a suspension.
func (s *Service) Reinstate(ctx context.Context, meta domain.Meta, cmd MembershipChange) (eventstore.AppendResult, error) {
	if err := s.check(ctx, meta, "reinstate a member", &cmd, false); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) {
		return n.reinstate(MemberReinstated{Network: cmd.Network, Organisation: cmd.Organisation, On: cmd.On}, meta.Today())
	})
}

// Leave records that a member left.
func (s *Service) Leave(ctx context.Context, meta domain.Meta, cmd MembershipChange) (eventstore.AppendResult, error) {
	if err := s.check(ctx, meta, "record a member leaving", &cmd, false); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Network, false, func(n *Network) ([]domain.Event, error) {
		return n.leave(MemberLeft{Network: cmd.Network, Organisation: cmd.Organisation, On: cmd.On, Reason: cmd.Reason}, meta.Today())
	})
}

// check checks a membership command's actor and input; withRole for the
// commands that set a role (whose region, for a hub, must be registered).
func (s *Service) check(ctx context.Context, meta domain.Meta, action string, cmd *MembershipChange, withRole bool) error {
	if err := meta.Actor.Require(action, managers...); err != nil {
		return err
	}
	if err := domain.CheckCode("network", cmd.Network, "cssige"); err != nil {
		return err
	}
	cmd.Organisation = strings.ToLower(strings.TrimSpace(cmd.Organisation))
	if cmd.Organisation == "" {
		return invalid("organisation", "required: the organisation's ID in the registry")
	}
	if err := domain.CheckDate("on", cmd.On); err != nil {
		return err
	}
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	if len([]rune(cmd.Reason)) > 500 {
		return invalid("reason", "over 500 characters")
	}
	var o registry.Organisation
	if _, err := s.Repo.Load(ctx, registry.OrganisationStream(cmd.Organisation), &o); err != nil {
		return err
	}
	if o.ID() == "" {
		return invalid("organisation", "%q is not an organisation in the registry", cmd.Organisation)
	}
	if !withRole || cmd.Region == "" {
		return nil
	}
	if err := domain.CheckCode("region", cmd.Region, "kvemo-kartli"); err != nil {
		return err
	}
	var r registry.Region
	version, err := s.Repo.Load(ctx, registry.RegionStream(cmd.Region), &r)
	if err != nil {
		return err
	}
	if version == 0 {
		return invalid("region", "%q is not a region in the registry", cmd.Region)
	}
	return nil
}

// on loads the network id, has decide decide and saves what it decided.
// Unless forming, the network must exist.
func (s *Service) on(ctx context.Context, meta domain.Meta, id string, forming bool, decide func(*Network) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: Stream(id), What: "network " + id, Creates: forming}, decide)
}
