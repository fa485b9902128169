package benchmark

import "github.com/civicledger/civicledger/domain"

// The benchmark's commands, each handled by the Service method of its
// name (Score also by SelfAssess, Answer by AnswerContest, Correct by
// Correct, Review by ReviewScorecard, AdoptPlan and ReportProgress by
// theirs, ComputeScore by ScoreComputed).

// PublishMethod asks to publish a new version of the method.
type PublishMethod struct {
	Method Method
	Reason string
}

// OpenRound asks to open a round under a method version (0: the latest).
type OpenRound struct {
	ID    string
	Title domain.LocalizedText
	// Year is the year judged, which computed indicators read.
	Year           int
	MethodVersion  int
	Municipalities []string
	Schedule       Schedule
}

// Score asks to record an assessor's score of an indicator; SelfAssess
// takes it too, for the municipality's own assessment, its Rationale the
// note.
type Score struct {
	Round, Municipality, Indicator string
	Body                           Body
	// Value nil is no data.
	Value     *float64
	Evidence  []Evidence
	Rationale string
	Computed  *Computed
}

// Contest asks to record a municipality contesting a preliminary score.
type Contest struct {
	Round, Municipality, Indicator string
	Body                           Body
	Grounds                        string
	Evidence                       []Evidence
}

// Answer asks to record the answer to a contest: kept, or revised to
// Value.
type Answer struct {
	Round, Municipality, Indicator string
	Body                           Body
	Kept                           bool
	Value                          *float64
	Reason                         string
}

// Correct asks to correct a published score, with the reason.
type Correct struct {
	Round, Municipality, Indicator string
	Body                           Body
	Value                          *float64
	Reason                         string
}

// Review asks to record a review of a municipality's scorecard.
type Review struct {
	Round, Municipality string
	Accepted            bool
	Note                string
}

// AdoptPlan asks to record a municipality's action plan drawn from a
// published round.
type AdoptPlan struct {
	Round, Municipality string
	Title               domain.LocalizedText
	Commitments         []Commitment
}

// ReportProgress asks to record progress on a commitment.
type ReportProgress struct {
	Plan, Commitment, Milestone string
	Status                      ProgressStatus
	Progress                    int
	Note                        string
}

// ComputeScore asks to score a computed indicator of a municipality from
// the ledger's figure.
type ComputeScore struct {
	Round, Municipality, Indicator string
}
