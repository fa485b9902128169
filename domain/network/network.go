// Package network records networks of organisations (a programme's
// consortium, a network of regional hubs, a coalition of CSOs) and who
// belongs to them when, in what role. Membership changes are events with
// the day they take effect, so "who were the members on 1 March 2021" is
// answered from the events, not only who the members are now.
package network

import (
	"fmt"
	"slices"

	"github.com/civicledger/civicledger/domain"
)

// Stream is the stream of the network with ID id.
func Stream(id string) string { return "network-" + id }

// Kind is what a network is.
type Kind string

// The kinds of network.
const (
	// Consortium: the organisations carrying out a programme together,
	// one of them its lead (CSSIGE: KAS with CSI, CTC, CSRDG, EDEC, IEP).
	Consortium Kind = "consortium"
	// HubNetwork: a programme's regional hubs, one or more a region.
	HubNetwork Kind = "hub_network"
	// Coalition: organisations joined around a cause.
	Coalition Kind = "coalition"
)

// Role is what a member is in a network.
type Role string

// The roles.
const (
	Lead    Role = "lead"
	Member  Role = "member"
	Partner Role = "partner"
	Donor   Role = "donor"
	// RegionalHub is a member acting for the network in one region, which
	// its membership names.
	RegionalHub Role = "regional_hub"
)

var roles = []Role{Lead, Member, Partner, Donor, RegionalHub}

// DateLayout is the form of every date in network events: a calendar day
// in Tbilisi.
const DateLayout = domain.DateLayout

// Status is where a membership stands on a day.
type Status string

// The membership statuses.
const (
	Active    Status = "active"
	Suspended Status = "suspended"
)

// Membership is an organisation's standing in a network on a day.
type Membership struct {
	Organisation string
	Role         Role
	Region       string
	Status       Status
	// Since is the day the organisation (last) joined.
	Since string
}

// change is one dated change of one member, as the events give it.
type change struct {
	on     string
	event  domain.Event
	member string
}

// Network is a network with every membership change. Its zero value is a
// network not formed yet.
//
// Its verb methods (Form, Join, ChangeRole, Suspend, Reinstate, Leave)
// decide on the network's own state alone: Service checks the actor and
// the input first, and saves what they decide.
type Network struct {
	id      string
	kind    Kind
	name    domain.LocalizedText
	formed  string
	changes []change          // in the order recorded, which is date order per member
	last    map[string]string // member -> the day of its last change
	now     map[string]*Membership
}

// ID returns the network's ID, "" before it is formed.
func (n *Network) ID() string { return n.id }

// Kind returns the network's kind.
func (n *Network) Kind() Kind { return n.kind }

// Name returns the network's name.
func (n *Network) Name() domain.LocalizedText { return n.name }

// Apply implements domain.Aggregate.
func (n *Network) Apply(e domain.Event) error {
	if _, ok := e.(Formed); !ok && n.id == "" {
		return fmt.Errorf("network: %s before it was formed", e.EventType())
	}
	var member, on string
	switch e := e.(type) {
	case Formed:
		if n.id != "" {
			return fmt.Errorf("network %s: formed twice", n.id)
		}
		*n = Network{id: e.ID, kind: e.Kind, name: e.Name, formed: e.On, last: map[string]string{}, now: map[string]*Membership{}}
		return nil
	case MemberJoined:
		member, on = e.Organisation, e.On
	case MemberRoleChanged:
		member, on = e.Organisation, e.On
	case MemberSuspended:
		member, on = e.Organisation, e.On
	case MemberReinstated:
		member, on = e.Organisation, e.On
	case MemberLeft:
		member, on = e.Organisation, e.On
	default:
		return fmt.Errorf("network %s: unknown event %s", n.id, e.EventType())
	}
	n.changes = append(n.changes, change{on: on, event: e, member: member})
	n.last[member] = on
	n.now = n.membersAfter(func(string) bool { return true })
	return nil
}

// MembersOn returns the memberships in force on day (YYYY-MM-DD), by
// organisation: a change counts from its day on.
func (n *Network) MembersOn(day string) map[string]Membership {
	out := map[string]Membership{}
	for id, m := range n.membersAfter(func(on string) bool { return on <= day }) {
		out[id] = *m
	}
	return out
}

// Members returns the memberships in force after every change recorded.
func (n *Network) Members() map[string]Membership { return n.MembersOn("9999-12-31") }

// membersAfter replays the changes that count (by their day) in the order
// recorded.
func (n *Network) membersAfter(counts func(on string) bool) map[string]*Membership {
	out := map[string]*Membership{}
	for _, c := range n.changes {
		if !counts(c.on) {
			continue
		}
		switch e := c.event.(type) {
		case MemberJoined:
			out[c.member] = &Membership{Organisation: c.member, Role: e.Role, Region: e.Region, Status: Active, Since: e.On}
		case MemberRoleChanged:
			if m := out[c.member]; m != nil {
				m.Role, m.Region = e.Role, e.Region
			}
		case MemberSuspended:
			if m := out[c.member]; m != nil {
				m.Status = Suspended
			}
		case MemberReinstated:
			if m := out[c.member]; m != nil {
				m.Status = Active
			}
		case MemberLeft:
			delete(out, c.member)
		}
	}
	return out
}

// Form decides the forming of a network whose input is checked already.
// An ID taken already is a Conflict, so that a retried command does not
// set up a second network.
func (n *Network) Form(cmd Form) ([]domain.Event, error) {
	if n.id != "" {
		return nil, domain.Errorf(domain.Conflict, "network %s exists already", n.id)
	}
	return []domain.Event{Formed{ID: cmd.ID, Kind: cmd.Kind, Name: cmd.Name, On: cmd.On}}, nil
}

// checkDay checks that a change of member on day may be recorded: not
// before the network was formed, nor before the member's last change, nor
// after today.
func (n *Network) checkDay(member, day, today string) error {
	switch {
	case day < n.formed:
		return invalid("on", "%s is before the network was formed (%s)", day, n.formed)
	case day < n.last[member]:
		return invalid("on", "%s is before %s's last change, on %s", day, member, n.last[member])
	case day > today:
		return invalid("on", "%s is in the future", day)
	}
	return nil
}

// Join decides an organisation's joining on a day up to today
// (YYYY-MM-DD, in Tbilisi). A member joins once: a second membership at
// the same time would make "who was a member on a day" ambiguous.
func (n *Network) Join(cmd Join, today string) ([]domain.Event, error) {
	if _, ok := n.now[cmd.Organisation]; ok {
		return nil, domain.Errorf(domain.Conflict, "%s is a member of %s already", cmd.Organisation, n.id)
	}
	if err := n.checkDay(cmd.Organisation, cmd.On, today); err != nil {
		return nil, err
	}
	if err := n.checkRole(cmd.Organisation, cmd.Role, cmd.Region); err != nil {
		return nil, err
	}
	return []domain.Event{MemberJoined{Network: cmd.Network, Organisation: cmd.Organisation, Role: cmd.Role, Region: cmd.Region, On: cmd.On}}, nil
}

// ChangeRole decides a change of a member's role or hub region on a day
// up to today. The same role and region again are no change, whatever
// the day.
func (n *Network) ChangeRole(cmd ChangeRole, today string) ([]domain.Event, error) {
	m, ok := n.now[cmd.Organisation]
	if !ok {
		return nil, domain.Errorf(domain.NotFound, "%s is not a member of %s", cmd.Organisation, n.id)
	}
	if m.Role == cmd.Role && m.Region == cmd.Region {
		return nil, nil
	}
	if err := n.checkDay(cmd.Organisation, cmd.On, today); err != nil {
		return nil, err
	}
	if err := n.checkRole(cmd.Organisation, cmd.Role, cmd.Region); err != nil {
		return nil, err
	}
	return []domain.Event{MemberRoleChanged{Network: cmd.Network, Organisation: cmd.Organisation, Role: cmd.Role, Region: cmd.Region, On: cmd.On}}, nil
}

// checkRole checks a role for member: a regional hub names its region;
// a consortium has one lead at a time.
func (n *Network) checkRole(member string, role Role, region string) error {
	switch {
	case !slices.Contains(roles, role):
		return invalid("role", "%q is not a role (lead, member, partner, donor or regional_hub)", role)
	case role == RegionalHub && region == "":
		return invalid("region", "a regional hub acts for a region: give its code")
	case role != RegionalHub && region != "":
		return invalid("region", "only a regional hub has a region")
	}
	if role == Lead && n.kind == Consortium {
		for id, m := range n.now {
			if id != member && m.Role == Lead {
				return domain.Errorf(domain.Conflict, "%s leads %s already: change its role first", id, n.id)
			}
		}
	}
	return nil
}

// Suspend decides the suspension of an active member on a day up to
// today; one suspended already is a Conflict, so that the suspension in
// force keeps the day it began.
func (n *Network) Suspend(cmd Suspend, today string) ([]domain.Event, error) {
	m, ok := n.now[cmd.Organisation]
	switch {
	case !ok:
		return nil, domain.Errorf(domain.NotFound, "%s is not a member of %s", cmd.Organisation, n.id)
	case m.Status == Suspended:
		return nil, domain.Errorf(domain.Conflict, "%s is suspended already", cmd.Organisation)
	}
	if err := n.checkDay(cmd.Organisation, cmd.On, today); err != nil {
		return nil, err
	}
	return []domain.Event{MemberSuspended{Network: cmd.Network, Organisation: cmd.Organisation, On: cmd.On, Reason: cmd.Reason}}, nil
}

// Reinstate decides the end of a member's suspension on a day up to
// today; only a suspended member can be reinstated.
func (n *Network) Reinstate(cmd Reinstate, today string) ([]domain.Event, error) {
	m, ok := n.now[cmd.Organisation]
	switch {
	case !ok:
		return nil, domain.Errorf(domain.NotFound, "%s is not a member of %s", cmd.Organisation, n.id)
	case m.Status != Suspended:
		return nil, domain.Errorf(domain.Conflict, "%s is not suspended", cmd.Organisation)
	}
	if err := n.checkDay(cmd.Organisation, cmd.On, today); err != nil {
		return nil, err
	}
	return []domain.Event{MemberReinstated{Network: cmd.Network, Organisation: cmd.Organisation, On: cmd.On}}, nil
}

// Leave decides a member's leaving on a day up to today. A membership
// lasts a day at least, so that every membership shows in the history of
// some day.
func (n *Network) Leave(cmd Leave, today string) ([]domain.Event, error) {
	if _, ok := n.now[cmd.Organisation]; !ok {
		return nil, domain.Errorf(domain.NotFound, "%s is not a member of %s", cmd.Organisation, n.id)
	}
	if cmd.On <= n.now[cmd.Organisation].Since {
		return nil, invalid("on", "a membership that began on %s cannot end on %s: it must last a day at least", n.now[cmd.Organisation].Since, cmd.On)
	}
	if err := n.checkDay(cmd.Organisation, cmd.On, today); err != nil {
		return nil, err
	}
	return []domain.Event{MemberLeft{Network: cmd.Network, Organisation: cmd.Organisation, On: cmd.On, Reason: cmd.Reason}}, nil
}

var invalid = domain.InvalidField
