package model

import (
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/projections"
)

// Scorecard is a municipality's scores in a round as the API shows them.
// Who sees it is the domain's rule (benchmark.Open), which the API
// applies judging by About: the municipality, and whether the round is
// published.
type Scorecard struct {
	Round           *projections.BenchmarkRound
	Municipality    *projections.Municipality
	Published       bool
	Result          *ScoreResult
	Lines           []ScoreLine
	SelfAssessments []SelfAssessment
	Review          *ScorecardReview
	// PlanID is the plan the municipality drew from the round, "" for
	// none (resolved on demand).
	PlanID string
	About  domain.Scope
}

// Scope is what the scorecard is about.
func (s Scorecard) Scope() domain.Scope { return s.About }

// ScoreReplay is a replay of a municipality's result, seen as its
// scorecard is (About).
type ScoreReplay struct {
	Round         string
	Municipality  string
	Verdict       benchmark.Verdict
	MethodVersion int
	Published     *ScoreResult
	Recomputed    *ScoreResult
	Current       *ScoreResult
	Problems      []string
	Verification  *LogVerification
	About         domain.Scope
}

// Scope is what the replay is about.
func (s ScoreReplay) Scope() domain.Scope { return s.About }
