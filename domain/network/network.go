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

// RegisterEvents adds the network events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[Formed](types)
	domain.Register[MemberJoined](types)
	domain.Register[MemberRoleChanged](types)
	domain.Register[MemberSuspended](types)
	domain.Register[MemberReinstated](types)
	domain.Register[MemberLeft](types)
	declareEvents(types)
}

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

// Formed: a network was set up.
type Formed struct {
	ID   string               `json:"id"`
	Kind Kind                 `json:"kind"`
	Name domain.LocalizedText `json:"name"`
	// On is the day the network began.
	On string `json:"on"`
}

// EventType implements domain.Event.
func (Formed) EventType() string { return "network.formed" }

// MemberJoined: an organisation joined, from On, in a role (and, for a
// regional hub, for a region).
type MemberJoined struct {
	Network      string `json:"network"`
	Organisation string `json:"organisation"`
	Role         Role   `json:"role"`
	Region       string `json:"region,omitempty"`
	On           string `json:"on"`
}

// EventType implements domain.Event.
func (MemberJoined) EventType() string { return "network.member_joined" }

// MemberRoleChanged: a member's role (or hub region) changed from On.
type MemberRoleChanged struct {
	Network      string `json:"network"`
	Organisation string `json:"organisation"`
	Role         Role   `json:"role"`
	Region       string `json:"region,omitempty"`
	On           string `json:"on"`
}

// EventType implements domain.Event.
func (MemberRoleChanged) EventType() string { return "network.member_role_changed" }

// MemberSuspended: a member's membership was suspended from On.
type MemberSuspended struct {
	Network      string `json:"network"`
	Organisation string `json:"organisation"`
	On           string `json:"on"`
	Reason       string `json:"reason"`
}

// EventType implements domain.Event.
func (MemberSuspended) EventType() string { return "network.member_suspended" }

// MemberReinstated: a suspended member is a member again from On.
type MemberReinstated struct {
	Network      string `json:"network"`
	Organisation string `json:"organisation"`
	On           string `json:"on"`
}

// EventType implements domain.Event.
func (MemberReinstated) EventType() string { return "network.member_reinstated" }

// MemberLeft: a member left, its last day being the day before On.
type MemberLeft struct {
	Network      string `json:"network"`
	Organisation string `json:"organisation"`
	On           string `json:"on"`
	Reason       string `json:"reason,omitempty"`
}

// EventType implements domain.Event.
func (MemberLeft) EventType() string { return "network.member_left" }

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

// form decides the forming of a network.
func (n *Network) form(e Formed) ([]domain.Event, error) {
	if n.id != "" {
		return nil, domain.Errorf(domain.Conflict, "network %s exists already", n.id)
	}
	return []domain.Event{e}, nil
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

// join decides an organisation's joining.
func (n *Network) join(e MemberJoined, today string) ([]domain.Event, error) {
	if _, ok := n.now[e.Organisation]; ok {
		return nil, domain.Errorf(domain.Conflict, "%s is a member of %s already", e.Organisation, n.id)
	}
	if err := n.checkDay(e.Organisation, e.On, today); err != nil {
		return nil, err
	}
	if err := n.checkRole(e.Organisation, e.Role, e.Region); err != nil {
		return nil, err
	}
	return []domain.Event{e}, nil
}

// changeRole decides a change of a member's role.
func (n *Network) changeRole(e MemberRoleChanged, today string) ([]domain.Event, error) {
	m, ok := n.now[e.Organisation]
	if !ok {
		return nil, domain.Errorf(domain.NotFound, "%s is not a member of %s", e.Organisation, n.id)
	}
	if m.Role == e.Role && m.Region == e.Region {
		return nil, nil
	}
	if err := n.checkDay(e.Organisation, e.On, today); err != nil {
		return nil, err
	}
	if err := n.checkRole(e.Organisation, e.Role, e.Region); err != nil {
		return nil, err
	}
	return []domain.Event{e}, nil
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

// suspend, reinstate and leave decide the other changes of a membership.
func (n *Network) suspend(e MemberSuspended, today string) ([]domain.Event, error) {
	m, ok := n.now[e.Organisation]
	switch {
	case !ok:
		return nil, domain.Errorf(domain.NotFound, "%s is not a member of %s", e.Organisation, n.id)
	case m.Status == Suspended:
		return nil, domain.Errorf(domain.Conflict, "%s is suspended already", e.Organisation)
	}
	if err := n.checkDay(e.Organisation, e.On, today); err != nil {
		return nil, err
	}
	return []domain.Event{e}, nil
}

func (n *Network) reinstate(e MemberReinstated, today string) ([]domain.Event, error) {
	m, ok := n.now[e.Organisation]
	switch {
	case !ok:
		return nil, domain.Errorf(domain.NotFound, "%s is not a member of %s", e.Organisation, n.id)
	case m.Status != Suspended:
		return nil, domain.Errorf(domain.Conflict, "%s is not suspended", e.Organisation)
	}
	if err := n.checkDay(e.Organisation, e.On, today); err != nil {
		return nil, err
	}
	return []domain.Event{e}, nil
}

func (n *Network) leave(e MemberLeft, today string) ([]domain.Event, error) {
	if _, ok := n.now[e.Organisation]; !ok {
		return nil, domain.Errorf(domain.NotFound, "%s is not a member of %s", e.Organisation, n.id)
	}
	if e.On <= n.now[e.Organisation].Since {
		return nil, invalid("on", "a membership that began on %s cannot end on %s: it must last a day at least", n.now[e.Organisation].Since, e.On)
	}
	if err := n.checkDay(e.Organisation, e.On, today); err != nil {
		return nil, err
	}
	return []domain.Event{e}, nil
}

var invalid = domain.InvalidField
