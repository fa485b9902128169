package domain

import (
	"slices"
	"strings"
	"time"

	"github.com/civicledger/civicledger/eventstore"
)

// Role is what an API key may do. Every command checks the caller's role,
// and the role is recorded in every event the command causes.
type Role string

// The roles.
const (
	// Anonymous callers see public data only.
	Anonymous Role = "anonymous"
	// Analyst reads everything public and the aggregates; writes nothing.
	Analyst Role = "analyst"
	// Applicant acts for one municipality in certification.
	Applicant Role = "applicant"
	// Hub is a regional hub's staff: records activities in its own region
	// (Actor.Region) and reads like an analyst.
	Hub Role = "hub"
	// Expert scores the applications assigned to them.
	Expert Role = "expert"
	// Consortium decides certification.
	Consortium Role = "consortium"
	// Auditor reads everything, including history and scores; writes nothing.
	Auditor Role = "auditor"
	// Admin manages the registry, networks, keys and cycles.
	Admin Role = "admin"
	// Officer is a municipality's staff who enter its paper ballots in
	// participatory budgeting: bound to one municipality
	// (Actor.Municipality) as an applicant is, since paper ballots are
	// entered by the municipality that ran the vote and by no one else.
	Officer Role = "officer"
	// BallotBox is the integration a municipality runs so that its
	// residents vote online: bound to one budgeting cycle (Actor.Cycle),
	// the only one it is meant to cast ballots in, so that a leaked or
	// misconfigured integration can be confined to it; its
	// Actor.Municipality is the cycle's.
	BallotBox Role = "ballot-box"
	// Assessor scores municipalities' indicators, with evidence, in a
	// round of the civic-engagement benchmark (domain/benchmark). It is a
	// role of its own so that scoring the benchmark takes a key issued
	// for it and grants nothing else: an assessor is not a certification
	// expert and changes nothing outside the benchmark. It is bound to
	// nothing (no municipality, region or cycle), since a round assesses
	// many municipalities, to be ranked against one another, and an
	// assessor acts for none of them.
	Assessor Role = "assessor"
	// System is the platform itself (imports, scheduled work): never the
	// role of an API key.
	System Role = "system"
)

// Roles lists the roles an API key may have.
var Roles = []Role{Anonymous, Analyst, Applicant, Hub, Expert, Consortium, Auditor, Admin, Officer, BallotBox, Assessor}

// ParseRole reads a role name, in any case and with surrounding spaces,
// as people type them at the command line.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		names := make([]string, len(Roles))
		for i, role := range Roles {
			names[i] = string(role)
		}
		return "", Errorf(Invalid, "unknown role %q (want one of %s)", s, strings.Join(names, ", "))
	}
	return r, nil
}

// Actor is who issues a command.
type Actor struct {
	// ID names the actor in the log: "key:<name>" for an API key,
	// "system:<process>" for the platform.
	ID   string
	Role Role
	// Municipality is the municipality an applicant or an officer acts
	// for, and a ballot-box key's cycle's municipality.
	Municipality string
	// Region is the region a hub key acts for: the code of a registered
	// region, such as kvemo-kartli.
	Region string
	// Cycle is the participatory-budgeting cycle a ballot-box key is bound
	// to ("<municipality code>-<year>", such as keda-2023), "" for every
	// other role: the one cycle its ballots may go to.
	Cycle string
	// KeyID is the ID of the API key the actor signed in with, "" for
	// anonymous callers and the platform: what a revocation names, so an
	// open connection can be closed when its key is revoked.
	KeyID string
}

// SignedIn reports whether the actor identified themselves.
func (a Actor) SignedIn() bool { return a.Role != "" && a.Role != Anonymous }

// Require returns a Forbidden error unless the actor has one of roles.
func (a Actor) Require(action string, roles ...Role) error {
	if slices.Contains(roles, a.Role) {
		return nil
	}
	if !a.SignedIn() {
		return Errorf(Unauthenticated, "%s needs an API key", action)
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return Errorf(Forbidden, "%s is not allowed for role %s (allowed: %s)", action, a.Role, strings.Join(names, ", "))
}

// Tbilisi is Georgia's time zone, UTC+4 all year (no daylight saving since
// 2005). Commands take "today" in it, so a date the programme's staff enter
// as today is never refused as being in the future.
var Tbilisi = time.FixedZone("Asia/Tbilisi", 4*60*60)

// Meta is what a command carries besides its own fields: who, why and when.
type Meta struct {
	Actor Actor
	// CorrelationID ties everything one request caused together.
	CorrelationID string
	// CommandID identifies the command (for idempotent retries by clients).
	CommandID string
	// Now is the time of the command, in Tbilisi time; services never read
	// the clock themselves, so tests and replays are deterministic.
	Now time.Time
	// OccurredAt is when the fact happened, if earlier than Now (an event
	// recorded after the fact); zero means Now.
	OccurredAt time.Time
}

func (m Meta) metadata() eventstore.Metadata {
	return eventstore.Metadata{
		Actor: m.Actor.ID, Role: string(m.Actor.Role),
		CorrelationID: m.CorrelationID, CommandID: m.CommandID,
	}
}

func (m Meta) occurredAt() time.Time {
	if !m.OccurredAt.IsZero() {
		return m.OccurredAt
	}
	return m.Now
}
