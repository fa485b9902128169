package benchmark_test

import (
	"context"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/internal/domaintest"
)

func on(day string, a domain.Actor) domain.Meta {
	t, _ := time.ParseInLocation(domain.DateLayout, day, domain.Tbilisi)
	return domain.Meta{Actor: a, Now: t.Add(12 * time.Hour)}
}

var (
	admin    = domain.Actor{ID: "key:admin", Role: domain.Admin}
	assessor = domain.Actor{ID: "key:assessor", Role: domain.Assessor}
	poti     = domain.Actor{ID: "key:poti", Role: domain.Applicant, Municipality: "poti"}
	adigeni  = domain.Actor{ID: "key:adigeni", Role: domain.Applicant, Municipality: "adigeni"}
	analyst  = domain.Actor{ID: "key:analyst", Role: domain.Analyst}
)

type step = domaintest.Step[*benchmark.Service]

func score(day string, a domain.Actor, cmd benchmark.Score) func(context.Context, *benchmark.Service) error {
	return func(ctx context.Context, s *benchmark.Service) error {
		_, err := s.Score(ctx, on(day, a), cmd)
		return err
	}
}

func val(x float64) *float64 { return &x }

var url = []benchmark.Evidence{{Kind: "url", Ref: "https://poti.gov.ge/budget"}}

// TestRound walks a round of the test's method over Poti and Adigeni:
// scores with their evidence, a self-assessment, the preliminary results,
// a contest answered by revising the score, publication, a correction,
// and a replay of each municipality's published score.
func TestRound(t *testing.T) {
	types := &domain.Types{}
	registry.RegisterEvents(types)
	benchmark.RegisterEvents(types)
	svc := &benchmark.Service{Repo: &domain.Repository{Store: inmem.New(), Types: types, Keys: &domain.MemoryKeyring{}}}
	ctx := context.Background()
	sys := on("2025-01-01", domain.Actor{ID: "system:test", Role: domain.System})
	for _, m := range []registry.MunicipalityRegistered{
		{Code: "poti", Name: text("Poti"), Region: "samegrelo-zemo-svaneti", Kind: registry.SelfGoverningCity},
		{Code: "adigeni", Name: text("Adigeni"), Region: "samtskhe-javakheti", Kind: registry.OrdinaryMunicipality},
	} {
		if _, err := svc.Repo.Save(ctx, registry.MunicipalityStream(m.Code), 0, sys, m); err != nil {
			t.Fatal(err)
		}
	}
	turnout := &benchmark.Computed{Figure: "budget_turnout_per_1000", Query: "SELECT ... FROM rm.budget_turnout", Position: 1200}
	domaintest.Run(t, svc, svc.Repo.Store, []step{
		{Name: "a method whose weights do not add up", Do: func(ctx context.Context, s *benchmark.Service) error {
			bad := method
			bad.Blocks = []benchmark.Block{{Code: "publication", Name: text("p"), Weight: 40}, {Code: "participation", Name: text("q"), Weight: 50}}
			_, err := s.PublishMethod(ctx, on("2025-01-10", admin), benchmark.PublishMethod{Method: bad, Reason: "r"})
			return err
		}, Kind: domain.Invalid, Text: "the weights add up to 90, not 100"},
		{Name: "an analyst may not publish a method", Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.PublishMethod(ctx, on("2025-01-10", analyst), benchmark.PublishMethod{Method: method, Reason: "r"})
			return err
		}, Kind: domain.Forbidden, Text: "publish a benchmark method"},
		{Name: "the method", Then: []string{"benchmark.method_published"}, Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.PublishMethod(ctx, on("2025-01-10", admin), benchmark.PublishMethod{Method: method, Reason: "modelled on the LSGI"})
			return err
		}},
		{Name: "a round of an unknown municipality", Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.OpenRound(ctx, on("2025-02-01", admin), benchmark.OpenRound{ID: "2025", Title: text("2025"), Year: 2025, Municipalities: []string{"poti", "atlantis"},
				Schedule: benchmark.Schedule{AssessmentEnd: "2025-05-31", CommentsUntil: "2025-06-30"}})
			return err
		}, Kind: domain.Invalid, Text: `municipalities[1]: "atlantis" is not a municipality in the registry`},
		{Name: "the round", Then: []string{"benchmark.round_opened"}, Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.OpenRound(ctx, on("2025-02-01", admin), benchmark.OpenRound{ID: "2025", Title: text("2025"), Year: 2025, Municipalities: []string{"poti", "adigeni"},
				Schedule: benchmark.Schedule{AssessmentEnd: "2025-05-31", CommentsUntil: "2025-06-30"}})
			return err
		}},
		{Name: "a self-assessment", Then: []string{"benchmark.self_assessed"}, Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.SelfAssess(ctx, on("2025-03-01", poti), benchmark.Score{Round: "2025", Municipality: "poti", Indicator: "hearings", Body: benchmark.Sakrebulo, Value: val(80)})
			return err
		}},
		{Name: "a self-assessment with evidence, which it does not record", Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.SelfAssess(ctx, on("2025-03-01", poti), benchmark.Score{Round: "2025", Municipality: "poti", Indicator: "hearings", Body: benchmark.Sakrebulo, Value: val(80),
				Evidence: []benchmark.Evidence{{Kind: "document", Ref: "https://poti.gov.ge/hearings"}}})
			return err
		}, Kind: domain.Invalid, Text: "evidence: a self-assessment records no evidence"},
		{Name: "Adigeni assessing Poti", Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.SelfAssess(ctx, on("2025-03-01", adigeni), benchmark.Score{Round: "2025", Municipality: "poti", Indicator: "hearings", Body: benchmark.Sakrebulo, Value: val(80)})
			return err
		}, Kind: domain.Forbidden, Text: "municipality's own key"},
		{Name: "a score outside its scale", Do: score("2025-04-01", assessor, benchmark.Score{Round: "2025", Municipality: "poti", Indicator: "minutes-published",
			Body: benchmark.CityHall, Value: val(3), Rationale: "r"}), Kind: domain.Invalid, Text: "value: indicator minutes-published: 3 is not a whole number of points from 0 to 2"},
		{Name: "a score without its evidence", Do: score("2025-04-01", assessor, benchmark.Score{Round: "2025", Municipality: "poti", Indicator: "budget-published",
			Body: benchmark.CityHall, Value: val(1), Rationale: "on the website"}), Kind: domain.Invalid, Text: "evidence: indicator budget-published is scored on evidence"},
		{Name: "a computed indicator without its source", Do: score("2025-04-01", assessor, benchmark.Score{Round: "2025", Municipality: "poti", Indicator: "pb-turnout",
			Body: benchmark.CityHall, Value: val(2.5), Rationale: "r"}), Kind: domain.Invalid, Text: "computed: indicator pb-turnout is computed from budget_turnout_per_1000"},
		{Name: "an analyst may not score", Do: score("2025-04-01", analyst, benchmark.Score{Round: "2025", Municipality: "poti", Indicator: "hearings",
			Body: benchmark.Sakrebulo, Value: val(40), Rationale: "r"}), Kind: domain.Forbidden, Text: "score an indicator"},
		// Poti: as municipality A of the hand-worked example, hearings at 20.
		{Name: "Poti's budget", Then: []string{"benchmark.scored"}, Do: score("2025-04-01", assessor, benchmark.Score{Round: "2025", Municipality: "poti",
			Indicator: "budget-published", Body: benchmark.CityHall, Value: val(1), Evidence: url, Rationale: "published in full"})},
		{Name: "Poti's minutes, City Hall", Then: []string{"benchmark.scored"}, Do: score("2025-04-01", assessor, benchmark.Score{Round: "2025", Municipality: "poti",
			Indicator: "minutes-published", Body: benchmark.CityHall, Value: val(2), Rationale: "all of them"})},
		{Name: "Poti's minutes, Sakrebulo", Then: []string{"benchmark.scored"}, Do: score("2025-04-01", assessor, benchmark.Score{Round: "2025", Municipality: "poti",
			Indicator: "minutes-published", Body: benchmark.Sakrebulo, Value: val(1), Rationale: "some"})},
		{Name: "Poti's turnout", Then: []string{"benchmark.scored"}, Do: score("2025-04-01", assessor, benchmark.Score{Round: "2025", Municipality: "poti",
			Indicator: "pb-turnout", Body: benchmark.CityHall, Value: val(2.5), Rationale: "from the ledger", Computed: turnout})},
		{Name: "Poti's hearings", Then: []string{"benchmark.scored"}, Do: score("2025-04-01", assessor, benchmark.Score{Round: "2025", Municipality: "poti",
			Indicator: "hearings", Body: benchmark.Sakrebulo, Value: val(20), Rationale: "two of ten"})},
		// Adigeni: no data on its turnout (never zero), nothing else.
		{Name: "Adigeni's turnout: no data", Then: []string{"benchmark.scored"}, Do: score("2025-04-02", assessor, benchmark.Score{Round: "2025", Municipality: "adigeni",
			Indicator: "pb-turnout", Body: benchmark.CityHall, Rationale: "no participatory budget recorded", Computed: &benchmark.Computed{Figure: "budget_turnout_per_1000", Query: "q"}})},
		{Name: "a contest before the preliminary results", Do: contest("2025-05-01", benchmark.Contest{Round: "2025", Municipality: "poti", Indicator: "hearings",
			Body: benchmark.Sakrebulo, Grounds: "we held four", Evidence: url}), Kind: domain.Conflict, Text: "not shared yet"},
		{Name: "an analyst may not review", Do: review(analyst, "poti", true, ""), Kind: domain.Forbidden, Text: "review a scorecard"},
		{Name: "returned without a note", Do: review(admin, "poti", false, ""), Kind: domain.Invalid, Text: "note: required"},
		{Name: "Poti's returned", Then: []string{"benchmark.scorecard_reviewed"}, Do: review(admin, "poti", false, "check the hearings' minutes")},
		{Name: "sharing with Poti's returned", Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.SharePreliminary(ctx, on("2025-05-20", admin), "2025")
			return err
		}, Kind: domain.Conflict, Text: "the scorecards of poti, adigeni are not reviewed"},
		{Name: "Poti's accepted", Then: []string{"benchmark.scorecard_reviewed"}, Do: review(admin, "poti", true, "")},
		{Name: "Adigeni's accepted", Then: []string{"benchmark.scorecard_reviewed"}, Do: review(admin, "adigeni", true, "")},
		{Name: "Adigeni rescored", Then: []string{"benchmark.scored"}, Do: score("2025-05-20", assessor, benchmark.Score{Round: "2025", Municipality: "adigeni",
			Indicator: "pb-turnout", Body: benchmark.CityHall, Rationale: "still no participatory budget", Computed: &benchmark.Computed{Figure: "budget_turnout_per_1000", Query: "q"}})},
		{Name: "sharing with Adigeni rescored since", Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.SharePreliminary(ctx, on("2025-05-21", admin), "2025")
			return err
		}, Kind: domain.Conflict, Text: "the scorecards of adigeni are not reviewed and accepted since their last score"},
		{Name: "Adigeni's accepted again", Then: []string{"benchmark.scorecard_reviewed"}, Do: review(admin, "adigeni", true, "")},
		{Name: "a score after the assessment ended", Do: score("2025-06-01", assessor, benchmark.Score{Round: "2025", Municipality: "adigeni",
			Indicator: "hearings", Body: benchmark.Sakrebulo, Value: val(30), Rationale: "late"}), Kind: domain.Conflict, Text: "assessment ended on 2025-05-31"},
		{Name: "the preliminary results", Then: []string{"benchmark.preliminary_shared"}, Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.SharePreliminary(ctx, on("2025-06-01", admin), "2025")
			return err
		}},
		{Name: "a score after them", Do: score("2025-06-02", assessor, benchmark.Score{Round: "2025", Municipality: "poti", Indicator: "hearings",
			Body: benchmark.Sakrebulo, Value: val(30), Rationale: "r"}), Kind: domain.Conflict, Text: "a score changes now through a contest's answer"},
		{Name: "a contest without evidence", Do: contest("2025-06-10", benchmark.Contest{Round: "2025", Municipality: "poti", Indicator: "hearings",
			Body: benchmark.Sakrebulo, Grounds: "we held four"}), Kind: domain.Invalid, Text: "evidence: a contest gives its evidence"},
		{Name: "Poti contests its hearings", Then: []string{"benchmark.score_contested"}, Do: contest("2025-06-10", benchmark.Contest{Round: "2025", Municipality: "poti",
			Indicator: "hearings", Body: benchmark.Sakrebulo, Grounds: "we held four of ten", Evidence: url})},
		{Name: "publication with a contest open", Do: publish("2025-07-01"), Kind: domain.Conflict, Text: "poti has a contest not answered yet"},
		{Name: "a contest after the window", Do: contest("2025-07-01", benchmark.Contest{Round: "2025", Municipality: "poti", Indicator: "minutes-published",
			Body: benchmark.Sakrebulo, Grounds: "g", Evidence: url}), Kind: domain.Conflict, Text: "comment window closed on 2025-06-30"},
		{Name: "the answer: revised to 40%", Then: []string{"benchmark.contest_answered"}, Do: func(ctx context.Context, s *benchmark.Service) error {
			_, err := s.AnswerContest(ctx, on("2025-06-20", assessor), benchmark.Answer{Round: "2025", Municipality: "poti", Indicator: "hearings",
				Body: benchmark.Sakrebulo, Value: val(40), Reason: "the minutes show four"})
			return err
		}},
		{Name: "publication inside the window", Do: publish("2025-06-30"), Kind: domain.Conflict, Text: "comment window is open until 2025-06-30"},
		{Name: "publication", Then: []string{"benchmark.round_published"}, Do: publish("2025-07-01")},
		{Name: "a correction without a reason", Do: correct("", 60), Kind: domain.Invalid, Text: "reason: required"},
		{Name: "a correction", Then: []string{"benchmark.score_corrected"}, Do: correct("a fifth hearing was found in the archive", 50)},
		{Name: "a plan of an unknown indicator", Do: adopt(poti, "nope", "2025-12-31"), Kind: domain.Invalid,
			Text: `commitments[0].indicators[0]: "nope" is not an indicator of method version 1`},
		{Name: "a milestone already past", Do: adopt(poti, "hearings", "2025-08-01"), Kind: domain.Invalid, Text: "milestones[0].due: 2025-08-01 is past"},
		{Name: "Adigeni adopting Poti's plan", Do: adopt(adigeni, "hearings", "2025-12-31"), Kind: domain.Forbidden, Text: "municipality's own key"},
		{Name: "Poti's plan", Then: []string{"benchmark.plan_adopted"}, Do: adopt(poti, "hearings", "2025-12-31")},
		{Name: "the same plan again", Do: adopt(poti, "hearings", "2025-12-31"), Kind: domain.Conflict, Text: "adopted its plan from round 2025 already"},
		{Name: "completed at 80%", Do: report(benchmark.Completed, 80), Kind: domain.Invalid, Text: "progress: 80: a completed commitment is at 100"},
		{Name: "completed", Then: []string{"benchmark.plan_progress_reported"}, Do: report(benchmark.Completed, 100)},
		{Name: "a report after completion", Do: report(benchmark.OnTrack, 100), Kind: domain.Conflict, Text: "commitment hear is completed"},
	})

	// Poti is the hand-worked A: total 63.00. Adigeni has no data at all.
	var r benchmark.Round
	if _, err := svc.Repo.Load(ctx, benchmark.RoundStream("2025"), &r); err != nil {
		t.Fatal(err)
	}
	res := r.Published().Results
	if len(res) != 2 || show(res[0].Total) != "63.00" || res[0].Coverage != 1 || res[1].Total != nil {
		t.Fatalf("published %+v", res)
	}
	rp, err := svc.ReplayScore(ctx, "2025", "poti")
	if err != nil || rp.Verdict != benchmark.Followed || show(rp.Current.Total) != "65.00" {
		t.Errorf("replay of Poti: %s %q, current %s, %v; want followed, and 65.00 with the correction (participation 1.5 / 3)", rp.Verdict, rp.Problems, show(rp.Current.Total), err)
	}
	if rp, err := svc.ReplayScore(ctx, "2025", "adigeni"); err != nil || rp.Verdict != benchmark.Followed {
		t.Errorf("replay of Adigeni: %s %q, %v", rp.Verdict, rp.Problems, err)
	}
}

func contest(day string, cmd benchmark.Contest) func(context.Context, *benchmark.Service) error {
	return func(ctx context.Context, s *benchmark.Service) error {
		_, err := s.Contest(ctx, on(day, poti), cmd)
		return err
	}
}

func publish(day string) func(context.Context, *benchmark.Service) error {
	return func(ctx context.Context, s *benchmark.Service) error {
		_, err := s.Publish(ctx, on(day, admin), "2025")
		return err
	}
}

func correct(reason string, x float64) func(context.Context, *benchmark.Service) error {
	return func(ctx context.Context, s *benchmark.Service) error {
		_, err := s.Correct(ctx, on("2025-08-01", assessor), benchmark.Correct{Round: "2025", Municipality: "poti", Indicator: "hearings",
			Body: benchmark.Sakrebulo, Value: &x, Reason: reason})
		return err
	}
}

func adopt(a domain.Actor, indicator, milestone string) func(context.Context, *benchmark.Service) error {
	return func(ctx context.Context, s *benchmark.Service) error {
		_, err := s.AdoptPlan(ctx, on("2025-09-01", a), benchmark.AdoptPlan{Round: "2025", Municipality: "poti", Title: text("plan"),
			Commitments: []benchmark.Commitment{{Code: "hear", Text: text("hear the public"), Indicators: []string{indicator}, Responsible: benchmark.Sakrebulo,
				Due: "2026-06-30", Milestones: []benchmark.Milestone{{Code: "rules", Text: text("rules"), Due: milestone}}}}})
		return err
	}
}

func report(st benchmark.ProgressStatus, progress int) func(context.Context, *benchmark.Service) error {
	return func(ctx context.Context, s *benchmark.Service) error {
		_, err := s.ReportProgress(ctx, on("2025-12-01", poti), benchmark.ReportProgress{Plan: "poti-2025", Commitment: "hear", Milestone: "rules",
			Status: st, Progress: progress, Note: "the council adopted its rules"})
		return err
	}
}

func review(a domain.Actor, muni string, accepted bool, note string) func(context.Context, *benchmark.Service) error {
	return func(ctx context.Context, s *benchmark.Service) error {
		_, err := s.ReviewScorecard(ctx, on("2025-05-15", a), benchmark.Review{Round: "2025", Municipality: muni, Accepted: accepted, Note: note})
		return err
	}
}
