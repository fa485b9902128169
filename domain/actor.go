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
	// System is the platform itself (imports, scheduled work): never the
	// role of an API key.
	System Role = "system"
)

// Roles lists the roles an API key may have.
var Roles = []Role{Anonymous, Analyst, Applicant, Hub, Expert, Consortium, Auditor, Admin}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", Errorf(Invalid, "unknown role %q (want one of anonymous, analyst, applicant, hub, expert, consortium, auditor, admin)", s)
	}
	return r, nil
}

// Actor is who issues a command.
type Actor struct {
	// ID names the actor in the log: "key:<name>" for an API key,
	// "system:<process>" for the platform.
	ID   string
	Role Role
	// Municipality is the municipality an applicant acts for.
	Municipality string
	// Region is the region a hub key acts for: the code of a registered
	// region, such as kvemo-kartli.
	Region string
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
