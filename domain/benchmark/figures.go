package benchmark

import "context"

// Figure names a figure of the ledger's own records that a computed
// indicator reads instead of an assessor's judgement.
type Figure string

// The figures a computed indicator may read, each of a municipality in
// the round's year. A figure with nothing to compute from is no data
// (a nil Reading.Value), never zero: turnout of a budget never held is not
// 0% of anything.
const (
	// BudgetHeld: 1 when the municipality ran a participatory budget
	// cycle that year, 0 when not.
	BudgetHeld Figure = "budget_held"
	// BudgetTurnout: voters in that year's cycles per 1,000 inhabitants
	// (census 2014); no data without a cycle.
	BudgetTurnout Figure = "budget_turnout_per_1000"
	// BudgetPerCapita: the amount of that year's cycles per inhabitant,
	// in GEL; no data without a cycle.
	BudgetPerCapita Figure = "budget_gel_per_capita"
	// Certified: 1 when the municipality was certified in that year's
	// certification cycle (and not revoked), 0 when not.
	Certified Figure = "certified"
	// CertificationScore: the recommendation's score of that year's
	// application, no data without a decided application.
	CertificationScore Figure = "certification_score"
	// ActivitiesHeld: activities held in the municipality that year.
	ActivitiesHeld Figure = "activities_held"
	// Attendance: attendance of those activities per 1,000 inhabitants;
	// no data without an activity held.
	Attendance Figure = "attendance_per_1000"
	// WomenShare: women's share of the attendance whose sex was recorded,
	// in percent; no data when none was.
	WomenShare Figure = "women_share"
	// MinorityShare: ethnic minorities' share of the attendance where it
	// was recorded, in percent; no data when it never was.
	MinorityShare Figure = "minority_share"
	// Memberships: network memberships, open at any time that year, of
	// the organisations registered in the municipality.
	Memberships Figure = "cso_memberships"
)

// Figures are the figures a method may compute from, in the order the
// API lists them.
var Figures = []Figure{BudgetHeld, BudgetTurnout, BudgetPerCapita, Certified, CertificationScore, ActivitiesHeld,
	Attendance, WomenShare, MinorityShare, Memberships}

// Reading is a figure as the ledger gave it: the value (nil: no data),
// the SQL that produced it, and the log position the read models it read
// stood at, so anyone can read it again, or recompute it from the events
// up to that position.
type Reading struct {
	Value    *float64
	Query    string
	Position int64
}

// Ledger reads a figure of a municipality for a year from the ledger's
// records (the read models implement it: projections.Reads).
type Ledger interface {
	Figure(ctx context.Context, figure Figure, municipality string, year int) (Reading, error)
}
