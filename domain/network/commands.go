package network

import "github.com/civicledger/civicledger/domain"

// Form asks to set up a network. Service.FormNetwork handles it.
type Form struct {
	// ID is the network's code: "cssige", "cssige-hubs". The caller
	// chooses it, so a retry is a Conflict, not a second network.
	ID   string
	Kind Kind
	Name domain.LocalizedText
	// On is the day the network began, YYYY-MM-DD, not in the future.
	On string
}

// Join asks to record that an organisation of the registry joined a
// network. Service.Join handles it.
type Join struct {
	Network string
	// Organisation is the organisation's ID in the registry.
	Organisation string
	Role         Role
	// Region is the code of the region a regional hub acts for; only a
	// regional hub has one.
	Region string
	// On is the first day of the membership, YYYY-MM-DD: it may be past
	// (recorded after the fact), never future.
	On string
}

// ChangeRole asks to record a member's new role (or a hub's new region)
// from a day. Service.ChangeRole handles it. Its fields are those of Join.
type ChangeRole struct {
	Network      string
	Organisation string
	Role         Role
	Region       string
	On           string
}

// Suspend asks to record that a member's membership is suspended from a
// day. Service.Suspend handles it.
type Suspend struct {
	Network      string
	Organisation string
	On           string
	// Reason is required (500 characters at most): a suspension is read
	// later in the network's history, where it must say why.
	Reason string
}

// Reinstate asks to record the end of a member's suspension from a day.
// Service.Reinstate handles it.
type Reinstate struct {
	Network      string
	Organisation string
	On           string
}

// Leave asks to record that a member left; On is the first day it is no
// longer a member. Service.Leave handles it.
type Leave struct {
	Network      string
	Organisation string
	On           string
	// Reason is optional (500 characters at most): an organisation may
	// leave without saying why.
	Reason string
}
