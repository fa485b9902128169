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
package domain
