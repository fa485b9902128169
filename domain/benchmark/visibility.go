package benchmark

import "github.com/civicledger/civicledger/domain"

// Who sees the benchmark. The method and the rounds are public, and so are
// the published results. A municipality's scores, its self-assessment,
// its contests and their answers are for the municipality itself, the
// assessors, admins and auditors: preliminary scores are not news, and a
// municipality contests them before anyone else reads them.
var scorers = Scorers

// Scorers see a municipality's scores before the round is published: the
// municipality itself, the assessors, admins and auditors.
var Scorers = domain.Either(domain.AnyRole(domain.Admin, domain.Auditor, domain.Assessor), domain.OwnMunicipality)

func scope(m string) domain.Scope { return domain.Scope{Municipality: m} }

func declareEvents(t *domain.Types) {
	domain.Declare[MethodPublished](t, domain.Everyone, nil).Show("method", "reason")
	domain.Declare[RoundOpened](t, domain.Everyone, nil).Show("id", "title", "year", "method_version", "municipalities", "schedule")
	domain.Declare(t, scorers, func(_ string, e SelfAssessed) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "value", "note")
	domain.Declare(t, scorers, func(_ string, e Scored) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "value", "evidence", "rationale", "computed")
	domain.Declare(t, scorers, func(_ string, e ScorecardReviewed) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "accepted", "note")
	domain.Declare[PreliminaryShared](t, domain.Everyone, nil).Show("round", "on")
	domain.Declare(t, scorers, func(_ string, e ScoreContested) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "grounds", "evidence")
	domain.Declare(t, scorers, func(_ string, e ContestAnswered) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "kept", "value", "reason")
	domain.Declare[RoundPublished](t, domain.Everyone, nil).Show("round", "on", "results")
	domain.Declare(t, scorers, func(_ string, e ScoreCorrected) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "value", "reason", "result")
	// Action plans are public commitments, as OGP Local's are.
	domain.Declare[PlanAdopted](t, domain.Everyone, nil).Show("id", "round", "municipality", "title", "on", "commitments")
	domain.Declare[PlanProgressReported](t, domain.Everyone, nil).Show("plan", "commitment", "milestone", "status", "progress", "note", "on")
}

// Open is who sees a municipality's scorecard, its lines, contests and
// corrections, and a replay of its score: everyone once the round is
// published (the scope's Public), the Scorers before. A self-assessment
// stays the Scorers' for good: it informs the assessor, it is not a
// finding.
var Open = domain.Either(domain.Published, Scorers)

// DeclareViews declares who sees the benchmark in the API. The method,
// the rounds, the published rankings, trends and comparisons, and the
// action plans are public; a scorecard and a replay are Open; the
// mutations are open at the view, as every area's are: the service checks
// each actor's role and municipality.
func DeclareViews(v *domain.Views) {
	v.View("Query", domain.Everyone, "benchmarkMethods benchmarkMethod benchmarkRounds benchmarkRound ranking scorecard benchmarkTrend "+
		"compareMunicipalities actionPlans actionPlan replayScore benchmarkFigures")
	v.View("Mutation", domain.Everyone, "publishBenchmarkMethod openBenchmarkRound selfAssess scoreIndicator scoreComputedIndicators "+
		"reviewScorecard sharePreliminaryResults contestScore answerContest publishBenchmarkRound correctScore adoptActionPlan reportPlanProgress")
	v.View("BenchmarkMethod", domain.Everyone, "version reason blocks indicators bands ties")
	v.View("BenchmarkBlock", domain.Enclosing, "code name weight")
	v.View("BenchmarkIndicator", domain.Enclosing, "code block question scale weight body evidenceRequired computed")
	v.View("BenchmarkScale", domain.Enclosing, "kind max bands")
	v.View("ScaleBand", domain.Enclosing, "from points")
	v.View("RankBand", domain.Enclosing, "name from")
	v.View("BenchmarkFigure", domain.Everyone, "name description")
	v.View("BenchmarkRound", domain.Everyone, "id title year methodVersion method municipalities assessmentEnd commentsUntil "+
		"preliminarySharedOn publishedOn average")
	v.View("RankingEntry", domain.Everyone, "municipality rank score band coverage previousScore previousRank change rankChange blocks bodies")
	v.View("BlockScore", domain.Enclosing, "block score")
	v.View("BodyScore", domain.Enclosing, "body score")
	v.View("Scorecard", Open, "round municipality published result lines plan review").
		Only(Scorers, "selfAssessments")
	v.View("ScorecardReview", domain.Enclosing, "accepted note reviewedOn")
	v.View("ScoreResult", domain.Enclosing, "total blocks bodies coverage inputsDigest")
	v.View("ScoreLine", domain.Enclosing, "indicator body value evidence rationale computed previousValue contests corrections")
	v.View("ScoreEvidence", domain.Enclosing, "kind ref answeredOn")
	v.View("ComputedFigure", domain.Enclosing, "figure query position")
	v.View("ScoreContest", domain.Enclosing, "grounds evidence contestedOn answered kept revisedTo reason answeredOn")
	v.View("ScoreCorrection", domain.Enclosing, "value reason correctedOn")
	v.View("SelfAssessment", domain.Enclosing, "indicator body value note")
	v.View("BenchmarkTrendRow", domain.Everyone, "round year municipality score rank blocks")
	v.View("MunicipalityComparison", domain.Everyone, "round entries indicators")
	v.View("IndicatorComparison", domain.Enclosing, "indicator body values")
	v.View("MunicipalityValue", domain.Enclosing, "municipality value")
	v.View("ActionPlan", domain.Everyone, "id round municipality title adoptedOn commitments")
	v.View("Commitment", domain.Enclosing, "code text indicators responsible due milestones status progress reports")
	v.View("CommitmentIndicator", domain.Enclosing, "indicator body before after nextRound")
	v.View("PlanMilestone", domain.Enclosing, "code text due reachedOn")
	v.View("ProgressReport", domain.Enclosing, "milestone status progress note reportedOn")
	v.View("ScoreReplay", Open, "round municipality verdict methodVersion published recomputed current problems verification")
	v.View("BenchmarkMethodPayload", domain.Enclosing, "position method")
	v.View("BenchmarkRoundPayload", domain.Enclosing, "position round")
	v.View("ScorecardPayload", domain.Enclosing, "position scorecard")
	v.View("ComputedScoresPayload", domain.Enclosing, "position scored")
	v.View("ActionPlanPayload", domain.Enclosing, "position plan")
}
