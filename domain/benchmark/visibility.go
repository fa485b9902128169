package benchmark

import "github.com/civicledger/civicledger/domain"

// Who sees the benchmark. The method and the rounds are public, and so are
// the published results. A municipality's scores, its self-assessment,
// its contests and their answers are for the municipality itself, the
// assessors, admins and auditors: preliminary scores are not news, and a
// municipality contests them before anyone else reads them.
var scorers = domain.Either(domain.AnyRole(domain.Admin, domain.Auditor, domain.Assessor), domain.OwnMunicipality)

func scope(m string) domain.Scope { return domain.Scope{Municipality: m} }

func declareEvents(t *domain.Types) {
	domain.Declare[MethodPublished](t, domain.Everyone, nil).Show("method", "reason")
	domain.Declare[RoundOpened](t, domain.Everyone, nil).Show("id", "title", "method_version", "municipalities", "schedule")
	domain.Declare(t, scorers, func(_ string, e SelfAssessed) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "value", "note")
	domain.Declare(t, scorers, func(_ string, e Scored) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "value", "evidence", "rationale", "computed")
	domain.Declare[PreliminaryShared](t, domain.Everyone, nil).Show("round", "on")
	domain.Declare(t, scorers, func(_ string, e ScoreContested) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "grounds", "evidence")
	domain.Declare(t, scorers, func(_ string, e ContestAnswered) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "kept", "value", "reason")
	domain.Declare[RoundPublished](t, domain.Everyone, nil).Show("round", "on", "results")
	domain.Declare(t, scorers, func(_ string, e ScoreCorrected) domain.Scope { return scope(e.Municipality) }).
		Show("round", "municipality", "indicator", "body", "value", "reason")
}
