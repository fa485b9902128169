package budgeting

import "github.com/civicledger/civicledger/domain"

// OpenCycle asks to set up a municipality's participatory budget for a
// year. Service.OpenCycle handles it.
type OpenCycle struct {
	Municipality string
	Year         int
	Title        domain.LocalizedText
	Currency     string
	Pots         []Pot
	Phases       []Phase
	Categories   []Category
	Eligibility  Eligibility
	// Rules are the first version's; their Version is set to 1.
	Rules Rules
	// Source says where an imported or demo cycle's figures come from;
	// only the system sets it (an import, the demo).
	Source string
	// Unit, for an import alone, names a place outside Georgia's
	// registry; Municipality is then a code made from it.
	Unit string
}

// ChangeRules asks for a new version of a cycle's rules, before anyone
// voted. Service.ChangeRules handles it.
type ChangeRules struct {
	Cycle  string
	Rules  Rules
	Reason string
}

// ReschedulePhases asks to move a cycle's calendar.
// Service.ReschedulePhases handles it.
type ReschedulePhases struct {
	Cycle  string
	Phases []Phase
	Reason string
}

// SubmitIdea asks to record a proposal. Service.SubmitIdea handles it.
type SubmitIdea struct {
	// ID is the idea's code, chosen by the caller so a retry is a
	// Conflict, not a second idea ("keda-2023-017").
	ID       string
	Cycle    string
	Pot      string
	Category string
	Title    domain.LocalizedText
	// Cost is the proposer's estimate, in minor units of Currency, which
	// must be the cycle's.
	Cost         int64
	Currency     string
	ProposerKind ProposerKind
	Organisation string
	Proposer     string
	Channel      Channel
	// On is the day it was proposed: today online; at the meeting for
	// one on paper, entered later.
	On string
}

// WithdrawIdea asks to withdraw an idea. Service.WithdrawIdea handles it.
type WithdrawIdea struct {
	ID     string
	Reason string
}

// MergeIdea asks to merge an idea into another. Service.MergeIdea
// handles it.
type MergeIdea struct {
	ID     string
	Into   string
	Reason string
}

// ReviewIdea asks to record a department's review. Service.ReviewIdea
// handles it.
type ReviewIdea struct {
	ID       string
	Feasible bool
	// Reason is required when the idea is not feasible: a proposer must
	// learn why, and may appeal.
	Reason     string
	Cost       int64
	Currency   string
	Department string
}

// AppealIdea asks to record a proposer's appeal. Service.AppealIdea
// handles it.
type AppealIdea struct {
	ID      string
	Grounds string
}

// DecideAppeal asks to record an appeal's outcome. Service.DecideAppeal
// handles it.
type DecideAppeal struct {
	ID       string
	Upheld   bool
	Reason   string
	Cost     int64
	Currency string
}

// PublishBallot asks to put feasible ideas on the ballot.
// Service.PublishBallot handles it.
type PublishBallot struct {
	Cycle string
	Ideas []string
}

// CastBallot asks to record a resident's online ballot.
// Service.CastBallot handles it.
type CastBallot struct {
	Cycle string
	// Voter is what the municipality verified of the voter (a personal
	// number, a registration): the ledger keeps only a pseudonym of it.
	Voter    string
	Pot      string
	Projects []string
	Points   []int64
	Sex      string
	AgeBand  string
}

// EnterPaperBatch asks to record a batch of paper ballots with its tally
// sheet. Service.EnterPaperBatch handles it.
type EnterPaperBatch struct {
	Cycle   string
	Pot     string
	Batch   string
	Place   string
	On      string
	Ballots []PaperBallot
	Tally   Tally
}

// DeclareResults asks to count a cycle's ballots and declare the winners.
// Service.DeclareResults handles it.
type DeclareResults struct {
	Cycle string
}

// ReportDelivery asks to record how a winner's delivery stands.
// Service.ReportDelivery handles it.
type ReportDelivery struct {
	ID        string
	Status    DeliveryStatus
	Progress  int
	Spent     int64
	Currency  string
	Milestone string
	Documents []string
	On        string
}
