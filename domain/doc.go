// Package domain is the centre of Civic Ledger: pure Go, over the eventstore
// contract only (no database driver, no GraphQL). Each area of the programme
// lives in a package of its own below it (domain/<area>) with its events,
// commands, invariants and tests; this package holds what they share.
//
// # Glossary
//
// The programmes this system records are Georgian; their terms are kept in
// both languages, Georgian first, as everywhere a name is shown.
//
//	მუნიციპალიტეტი                municipality: one of 64 local self-government units,
//	                              5 of them self-governing cities
//	რეგიონი / მხარე                region: 9 regions, 2 autonomous republics and Tbilisi
//	სამოქალაქო ბიუჯეტი             civic budget: participatory budgeting (PB)
//	სერტიფიცირება / სერტიფიკატი     certification / certificate: the yearly recognition of a
//	                              municipality's civic budget, valid one year
//	განაცხადი / ანკეტა              application / questionnaire: the C1 form a municipality files
//	ექსპერტთა გუნდი                expert team: scores applications against the cycle's criteria
//	კონსორციუმი                    consortium: the inter-agency body that decides certification
//	სამოქალაქო საზოგადოების         civil-society organisation (CSO)
//	ორგანიზაცია (სსო)
//	სათემო ორგანიზაცია              community-based organisation (CBO)
//	ჰაბი                           hub: a regional CSO acting for a programme in its region
//	ტრენინგი, კონსულტაცია, შეხვედრა  training, consultation, meeting
//	სტაჟირება                      internship
//	დონორი                         donor
//	ბენჩმარკინგი                   benchmarking: comparing municipalities' civic engagement
//
// Terms of the event store: a stream is one aggregate's history
// ("<category>-<id>"); its version counts its events from 1; the global log
// orders every event of every stream by position, densely from 1.
//
// # The shape of an area
//
// An area (domain/<area>) is written the same way whichever it is, so that
// a new one can be started by copying any:
//
//   - events.go: the facts, in the past tense (KeyRevoked), each with the
//     type string it is stored under, which never changes once written
//     (it is history), and registered in the area's RegisterEvents;
//   - visibility.go: who sees each event and each field (Declare[T]); a
//     type or field without a rule fails CheckDeclarations' test; an event
//     that tells a municipality says so there too (Notifies), and the
//     outbox's test holds its composers to it;
//   - commands.go: the commands, in the imperative (Schedule, AddNote),
//     never the event structs themselves;
//   - the aggregate: a state with Apply for every event of its stream and
//     the rules as methods deciding which events a command emits;
//   - service.go: each command checks its input, reporting every invalid
//     field at once (Problems), then runs through Handle, the one
//     load-decide-save with expected versions (Target);
//   - tests: given events, when a command, then the events it emits
//     (internal/domaintest's Step.Then, required for every success) or the
//     kind of error and its text, with nothing written.
//
// What graph computes from the domain (a certificate's status, the day in
// Tbilisi, an application as of a Moment) is a function here
// (certification.CertificateStatusOn, DayOf, certification.ApplicationAt);
// SQL that computes the same is tested against it.
//
// Beyond the area, a new event type reaches the read models
// (projections.All; a test runs every type through each, so one an area's
// read model forgets fails) and the API (graph/schema, the views declared
// in visibility.go). Adding activity.note_added that way took nine files,
// none in eventstore/ or cmd/.
package domain
