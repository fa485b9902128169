package network

import "github.com/civicledger/civicledger/domain"

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
