package domain

import (
	"slices"
	"strings"
)

// Visibility: who may see what is decided here, once, and every read path
// asks. Each area declares, next to its events (in its visibility.go), who
// may see each event type and each of its fields (Declare), and who may see
// each field of its state as the API shows it (Views.View). A read path
// never decides on its own: it asks Types.See for an event, Views.Sees for
// a field of the state. What nobody declared nobody sees (fail closed), and
// a test over the catalog fails for an event type, an event field or a
// field of the API that has no declaration.

// Scope is what a thing (an event, an application, a score) is about, as
// far as who may see it goes: the facts an Audience judges by.
type Scope struct {
	// Municipality is the code of the municipality the thing belongs to:
	// its applicant sees it (OwnMunicipality).
	Municipality string
	// Region is the code of the region the thing belongs to (OwnRegion).
	Region string
	// Assigned are the actors assigned to the thing: an application's
	// experts (AssignedExpert).
	Assigned []string
	// Subject is the actor the thing is by or about: the expert of a score
	// or of an information request (Self).
	Subject string
	// Public reports that the thing has been published (a benchmark
	// round's scores once the round is): Published admits everyone to it.
	Public bool
}

// Within returns s with its empty facts filled from outer, the scope of
// what encloses the thing (a score's application), so a score is at once
// its expert's (Subject) and its application's municipality's.
func (s Scope) Within(outer Scope) Scope {
	if s.Municipality == "" {
		s.Municipality = outer.Municipality
	}
	if s.Region == "" {
		s.Region = outer.Region
	}
	if s.Assigned == nil {
		s.Assigned = outer.Assigned
	}
	if s.Subject == "" {
		s.Subject = outer.Subject
	}
	s.Public = s.Public || outer.Public
	return s
}

// Audience is a rule of who may see something: by role, and by the
// thing's scope (own municipality, own region, own assignment, oneself).
// The zero Audience admits nobody, so a rule left out fails closed.
type Audience struct {
	name string
	sees func(Actor, Scope) bool
	// may reports whether some scope would admit the actor (nil: sees
	// with no scope, for an audience that reads none).
	may func(Actor) bool
	// scoped: whether the rule reads the scope at all; one that does not
	// is decided by the role alone, which lets a read path skip working
	// the scope out.
	scoped bool
}

// Sees reports whether actor is in the audience of a thing with scope s.
// The platform itself (System, never the role of an API key) sees what
// any audience but Nobody sees: it reads to act, not to show.
func (a Audience) Sees(actor Actor, s Scope) bool {
	if a.sees == nil {
		return false
	}
	if actor.Role == System {
		return a.name != Nobody.name
	}
	return a.sees(actor, s)
}

// MaySee reports whether the audience admits actor for anything at all,
// whatever it is about: an applicant may see some municipality's
// applications (its own), an analyst no access event ever. A reader that
// asks for what the actor may never see is told so, rather than given
// nothing without a word.
func (a Audience) MaySee(actor Actor) bool {
	if a.sees == nil {
		return false
	}
	if actor.Role == System {
		return a.name != Nobody.name
	}
	if a.may != nil {
		return a.may(actor)
	}
	return a.sees(actor, Scope{})
}

// Scoped reports whether the audience depends on the thing's scope, not
// on the actor's role alone.
func (a Audience) Scoped() bool { return a.scoped }

// String names the audience, for documentation and test failures.
func (a Audience) String() string {
	if a.name == "" {
		return "nobody (undeclared)"
	}
	return a.name
}

// The audiences every area builds its rules from.
var (
	// Everyone, anonymous callers included: public data.
	Everyone = Audience{name: "everyone", sees: func(Actor, Scope) bool { return true }}
	// SignedIn is every caller with an API key.
	SignedIn = Audience{name: "signed-in callers", sees: func(a Actor, _ Scope) bool { return a.SignedIn() }}
	// Nobody outside the server: what never leaves it (API keys' hashes,
	// the access events).
	Nobody = Audience{name: "nobody outside the server", sees: func(Actor, Scope) bool { return false }}
	// OwnMunicipality is the applicant acting for the thing's municipality.
	OwnMunicipality = Audience{name: "the applicant of its municipality", scoped: true, sees: func(a Actor, s Scope) bool {
		return a.Role == Applicant && a.Municipality != "" && a.Municipality == s.Municipality
	}, may: func(a Actor) bool { return a.Role == Applicant && a.Municipality != "" }}
	// OwnStaff is the thing's municipality's own keys: its applicant's
	// and its officers', who run its participatory budget together.
	OwnStaff = Audience{name: "its municipality's own keys (applicant, officers)", scoped: true, sees: func(a Actor, s Scope) bool {
		return (a.Role == Applicant || a.Role == Officer) && a.Municipality != "" && a.Municipality == s.Municipality
	}, may: func(a Actor) bool { return (a.Role == Applicant || a.Role == Officer) && a.Municipality != "" }}
	// OwnRegion is the hub acting for the thing's region.
	OwnRegion = Audience{name: "the hub of its region", scoped: true, sees: func(a Actor, s Scope) bool {
		return a.Role == Hub && a.Region != "" && a.Region == s.Region
	}, may: func(a Actor) bool { return a.Role == Hub && a.Region != "" }}
	// AssignedExpert is an expert assigned to the thing.
	AssignedExpert = Audience{name: "an expert assigned to it", scoped: true, sees: func(a Actor, s Scope) bool {
		return a.Role == Expert && slices.Contains(s.Assigned, a.ID)
	}, may: func(a Actor) bool { return a.Role == Expert }}
	// Published admits everyone to a thing once it is published, and
	// nobody before: joined with the audience of its drafts (Either), it
	// is a rule such as "a municipality's scores are its own and the
	// assessors' until the round is published, then everyone's".
	Published = Audience{name: "everyone once published", scoped: true, sees: func(_ Actor, s Scope) bool { return s.Public },
		may: func(Actor) bool { return true }}
	// Self is the signed-in actor the thing is by or about.
	Self = Audience{name: "the actor it is by or about", scoped: true, sees: func(a Actor, s Scope) bool {
		return a.SignedIn() && s.Subject != "" && a.ID == s.Subject
	}, may: func(a Actor) bool { return a.SignedIn() }}
)

// AnyRole is the audience of the given roles, whatever the scope.
func AnyRole(roles ...Role) Audience {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	roles = slices.Clone(roles)
	return Audience{name: strings.Join(names, ", "), sees: func(a Actor, _ Scope) bool { return slices.Contains(roles, a.Role) }}
}

// Either is the audience of any of audiences.
func Either(audiences ...Audience) Audience {
	names := make([]string, len(audiences))
	scoped := false
	for i, a := range audiences {
		names[i] = a.String()
		scoped = scoped || a.scoped
	}
	audiences = slices.Clone(audiences)
	return Audience{name: strings.Join(names, "; "), scoped: scoped, sees: func(actor Actor, s Scope) bool {
		for _, a := range audiences {
			if a.Sees(actor, s) {
				return true
			}
		}
		return false
	}, may: func(actor Actor) bool {
		for _, a := range audiences {
			if a.MaySee(actor) {
				return true
			}
		}
		return false
	}}
}

// Judges are the roles that see a certification whole: the consortium,
// which decides, and the auditors and admins who oversee it. They are the
// domain's, not one area's, because who may know which expert acted is a
// rule of the log's envelope (ActorAudience) as much as of certification.
var Judges = AnyRole(Consortium, Auditor, Admin)

// ActorAudience is who may know the actor recorded with an event caused
// under role: an expert's identity is confidential to the judges and to
// the expert themself (Self, with the actor as the scope's Subject), so an
// applicant cannot learn who scored it; anyone else's key name is known
// to signed-in callers, never to anonymous ones.
func ActorAudience(role string) Audience {
	if Role(role) == Expert {
		return expertActor
	}
	return SignedIn
}

var expertActor = Either(Judges, Self)

// Sight is how much of a thing an actor may see.
type Sight uint8

// The sights.
const (
	// Hidden: nothing, not even that it exists.
	Hidden Sight = iota
	// Redacted: the thing, without some of its fields.
	Redacted
	// Whole: all of it.
	Whole
)

// String names the sight.
func (s Sight) String() string {
	switch s {
	case Whole:
		return "whole"
	case Redacted:
		return "redacted"
	}
	return "hidden"
}
