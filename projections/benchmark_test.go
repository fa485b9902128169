package projections_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// benchmarkHistory is a 2023 round over Keda, which held the budget of
// makeBudgetHistory, and Gori, which held none, written through
// benchmark.Service, its computed indicators read from the read models.
type benchmarkHistory struct {
	svc         *benchmark.Service
	head, after int64
}

func text(s string) domain.LocalizedText { return domain.LocalizedText{Ka: s, En: s} }

func val(x float64) *float64 { return &x }

var testMethod = benchmark.Method{
	Blocks: []benchmark.Block{{Code: "publication", Name: text("publication"), Weight: 40}, {Code: "participation", Name: text("participation"), Weight: 60}},
	Indicators: []benchmark.Indicator{
		{Code: "budget-published", Block: "publication", Question: text("budget published"), Scale: benchmark.Scale{Kind: benchmark.YesNo},
			Weight: 1, Body: benchmark.CityHall, Evidence: true},
		{Code: "minutes", Block: "publication", Question: text("minutes"), Scale: benchmark.Scale{Kind: benchmark.Points, Max: 4}, Weight: 1, Body: benchmark.Both},
		{Code: "pb-held", Block: "participation", Question: text("budget held"), Scale: benchmark.Scale{Kind: benchmark.YesNo}, Weight: 1,
			Body: benchmark.CityHall, Computed: string(benchmark.BudgetHeld)},
		{Code: "pb-turnout", Block: "participation", Question: text("turnout"), Weight: 2, Body: benchmark.CityHall, Computed: string(benchmark.BudgetTurnout),
			Scale: benchmark.Scale{Kind: benchmark.Banded, Bands: []benchmark.Band{{From: 0, Points: 0}, {From: 1, Points: 1}, {From: 10, Points: 2}}}},
		{Code: "women", Block: "participation", Question: text("women's share"), Scale: benchmark.Scale{Kind: benchmark.Percent}, Weight: 1,
			Body: benchmark.CityHall, Computed: string(benchmark.WomenShare)},
	},
	Bands: []benchmark.RankBand{{Name: "leading", From: 50}, {Name: "starting", From: 0}},
}

func makeBenchmarkHistory(t *testing.T, e *domainEnv) benchmarkHistory {
	t.Helper()
	ctx := context.Background()
	budget := makeBudgetHistory(t, e)
	// The read models computed indicators read; the benchmark's own is
	// left to each test.
	var others []projections.Projection
	for _, p := range projections.All() {
		if p.Name() != "benchmark" {
			others = append(others, p)
		}
	}
	e.startRunner(t, budget.head, others...)
	h := benchmarkHistory{svc: &benchmark.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}, Ledger: e.reads}}
	admin := domain.Actor{ID: "key:admin", Role: domain.Admin}
	assessor := domain.Actor{ID: "key:assessor", Role: domain.Assessor}
	keda := domain.Actor{ID: "key:keda", Role: domain.Applicant, Municipality: "keda"}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	svc := h.svc
	must(svc.PublishMethod(ctx, onDay("2024-01-10", admin), benchmark.PublishMethod{Method: testMethod, Reason: "a test method"}))
	must(svc.OpenRound(ctx, onDay("2024-02-01", admin), benchmark.OpenRound{ID: "2023", Title: text("2023"), Year: 2023, Municipalities: []string{"gori", "keda"},
		Schedule: benchmark.Schedule{AssessmentEnd: "2024-05-31", CommentsUntil: "2024-06-30"}}))
	h.after = e.settle(t)
	must(svc.SelfAssess(ctx, onDay("2024-02-10", keda), benchmark.Score{Round: "2023", Municipality: "keda", Indicator: "minutes", Body: benchmark.Sakrebulo,
		Value: val(4), Rationale: "all of them"}))
	url := []benchmark.Evidence{{Kind: "url", Ref: "https://keda.gov.ge"}}
	for _, s := range []benchmark.Score{
		{Round: "2023", Municipality: "keda", Indicator: "budget-published", Body: benchmark.CityHall, Value: val(1), Evidence: url, Rationale: "r"},
		{Round: "2023", Municipality: "keda", Indicator: "minutes", Body: benchmark.CityHall, Value: val(3), Rationale: "r"},
		{Round: "2023", Municipality: "keda", Indicator: "minutes", Body: benchmark.Sakrebulo, Value: val(2), Rationale: "r"},
		{Round: "2023", Municipality: "gori", Indicator: "budget-published", Body: benchmark.CityHall, Value: val(0), Evidence: url, Rationale: "r"},
		{Round: "2023", Municipality: "gori", Indicator: "minutes", Body: benchmark.CityHall, Value: nil, Rationale: "no data"},
	} {
		must(svc.Score(ctx, onDay("2024-04-01", assessor), s))
	}
	must(svc.ComputeRound(ctx, onDay("2024-04-02", assessor), "2023"))
	for _, m := range []string{"gori", "keda"} {
		must(svc.ReviewScorecard(ctx, onDay("2024-05-20", admin), benchmark.Review{Round: "2023", Municipality: m, Accepted: true}))
	}
	must(svc.SharePreliminary(ctx, onDay("2024-06-01", admin), "2023"))
	must(svc.Contest(ctx, onDay("2024-06-05", keda), benchmark.Contest{Round: "2023", Municipality: "keda", Indicator: "minutes", Body: benchmark.Sakrebulo,
		Grounds: "all four sessions", Evidence: url}))
	must(svc.AnswerContest(ctx, onDay("2024-06-10", assessor), benchmark.Answer{Round: "2023", Municipality: "keda", Indicator: "minutes",
		Body: benchmark.Sakrebulo, Value: val(4), Reason: "the archive shows four"}))
	must(svc.Publish(ctx, onDay("2024-07-01", admin), "2023"))
	must(svc.AdoptPlan(ctx, onDay("2024-07-10", keda), benchmark.AdoptPlan{Round: "2023", Municipality: "keda", Title: text("plan"),
		Commitments: []benchmark.Commitment{{Code: "publish", Text: text("publish"), Indicators: []string{"minutes"}, Responsible: benchmark.Both,
			Due: "2025-06-30", Milestones: []benchmark.Milestone{{Code: "site", Text: text("site"), Due: "2024-12-31"}}}}}))
	must(svc.ReportProgress(ctx, onDay("2024-09-01", keda), benchmark.ReportProgress{Plan: "keda-2023", Commitment: "publish", Milestone: "site",
		Status: benchmark.OnTrack, Progress: 40, Note: "the site is up"}))
	must(svc.Correct(ctx, onDay("2024-09-10", assessor), benchmark.Correct{Round: "2023", Municipality: "gori", Indicator: "minutes",
		Body: benchmark.CityHall, Value: val(1), Reason: "found in the archive"}))
	h.head = e.settle(t)
	return h
}

func TestBenchmarkIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeBenchmarkHistory(t, e)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Benchmark{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Benchmark{}, events)
}

func TestBenchmarkCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeBenchmarkHistory(t, e)
	checkCrashRecovery(t, e, projections.Benchmark{}, h.head, h.after)
}

// TestBenchmarkQueries reads the round back: the computed indicators
// equal to plain queries over the events themselves, the ranking as
// worked by hand, the scorecard with its contest and correction, the
// plan; then a superuser's edit of a score in the log makes the replay a
// MISMATCH.
func TestBenchmarkQueries(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeBenchmarkHistory(t, e)
	e.startRunner(t, h.head, projections.Benchmark{})
	ctx := context.Background()
	q := e.reads

	// Keda's figures of 2023 from the events alone: its budget held, its
	// voters (each online voter once, every paper ballot) per 1,000 of
	// its 2014 census population, and the women's share of the activities'
	// attendance (it held none: no data).
	var held, turnout float64
	err := e.pool.QueryRow(ctx, `
		WITH cycles AS (SELECT data->>'id' AS id FROM eventstore.events
				WHERE type = 'budgeting.cycle_opened' AND data->>'municipality' = 'keda' AND (data->>'year')::int = 2023),
			voters AS (
				SELECT count(DISTINCT stream_id) AS n FROM eventstore.events WHERE type = 'budgeting.ballot_cast' AND data->>'cycle' IN (SELECT id FROM cycles)
				UNION ALL
				SELECT coalesce(sum(json_array_length(data->'ballots')), 0) FROM eventstore.events
				WHERE type = 'budgeting.paper_batch_entered' AND data->>'cycle' IN (SELECT id FROM cycles)),
			population AS (SELECT (data->>'population_2014')::numeric AS p FROM eventstore.events
				WHERE type = 'registry.municipality_registered' AND data->>'code' = 'keda')
		SELECT (SELECT count(*) FROM cycles)::float8, round(1000 * (SELECT sum(n) FROM voters) / (SELECT p FROM population), 2)::float8`).Scan(&held, &turnout)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := q.Scorecard(ctx, "2023", "keda")
	if err != nil || sc == nil {
		t.Fatal(sc, err)
	}
	line := func(sc *projections.Scorecard, ind string) projections.ScoreLine {
		i := slices.IndexFunc(sc.Lines, func(l projections.ScoreLine) bool { return l.Indicator == ind })
		return sc.Lines[i]
	}
	show := func(v *float64) string {
		if v == nil {
			return "no data"
		}
		return fmt.Sprint(*v)
	}
	if held != 1 || show(line(sc, "pb-held").Value) != "1" || show(line(sc, "pb-turnout").Value) != fmt.Sprint(turnout) || line(sc, "women").Value != nil {
		t.Errorf("Keda's figures: held %s, turnout %s, women %s; from the events: held %v, turnout %v, women no data",
			show(line(sc, "pb-held").Value), show(line(sc, "pb-turnout").Value), show(line(sc, "women").Value), held, turnout)
	}
	if c := line(sc, "pb-turnout").Computed; c == nil || c.Position < 81 || c.Query == "" {
		t.Errorf("the turnout's reading: %+v", c)
	}
	// Keda, by hand: publication (1·1 + 0.5·3/4 + 0.5·4/4) / 2 = 93.75;
	// participation (1·1 + 2·share(turnout) + women no data) / 3.
	wantTurnoutShare := 0.0
	switch {
	case turnout >= 10:
		wantTurnoutShare = 1
	case turnout >= 1:
		wantTurnoutShare = 0.5
	}
	part := (1 + 2*wantTurnoutShare) / 3 * 100
	if got := sc.Result.Blocks["publication"]; got == nil || *got != 93.75 || !sc.Published || sc.Result.InputsDigest == "" {
		t.Errorf("Keda's result: %+v", sc.Result)
	}
	if got := sc.Result.Blocks["participation"]; got == nil || fmt.Sprintf("%.2f", *got) != fmt.Sprintf("%.2f", part) {
		t.Errorf("Keda's participation: %s, want %.2f", show(got), part)
	}
	if l := line(sc, "minutes"); len(sc.Self) != 1 || sc.Self[0].Note != "all of them" {
		t.Errorf("Keda's self-assessment: %+v (%+v)", sc.Self, l)
	}
	var sak projections.ScoreLine
	for _, l := range sc.Lines {
		if l.Indicator == "minutes" && l.Body == benchmark.Sakrebulo {
			sak = l
		}
	}
	if show(sak.Value) != "4" || len(sak.Contests) != 1 || !sak.Contests[0].Answered || show(sak.Contests[0].RevisedTo) != "4" {
		t.Errorf("the contested line: %+v", sak)
	}

	// Gori: publication (0 + 0.5·1/4 after the correction) / 1.5 of the
	// weight with data; participation: no budget held (0), no turnout, no
	// women's share: 0.
	rk, err := q.Ranking(ctx, projections.RankingQuery{Round: "2023"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rk.Rows) != 2 || rk.Rows[0].Municipality != "keda" || rk.Rows[0].Result.Rank != 1 || rk.Rows[1].Result.Rank != 2 ||
		show(rk.Rows[1].Blocks["publication"]) != "8.33" || show(rk.Rows[1].Blocks["participation"]) != "0" || !rk.Rows[1].Corrected {
		t.Errorf("ranking: %+v", rk.Rows)
	}
	// Keda is in Adjara, not Imereti.
	if plans, err := q.ActionPlans(ctx, projections.PlanFilter{Region: "imereti"}); len(plans) != 0 || err != nil {
		t.Errorf("Imereti's plans: %+v, %v", plans, err)
	}
	plans, err := q.ActionPlans(ctx, projections.PlanFilter{Region: "adjara"})
	if err != nil || len(plans) != 1 || plans[0].ID != "keda-2023" || len(plans[0].Reports) != 1 || plans[0].Reports[0].Progress != 40 {
		t.Errorf("Adjara's plans: %+v, %v", plans, err)
	}

	// Certification: Gori was certified in 2019, its certificate valid
	// until June 2020; Keda never was. In 2023 neither held one; Gori
	// had been certified by then.
	if _, err := seed.Certification2019(ctx, &certification.Service{Repo: h.svc.Repo}); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	eventually(t, 30*time.Second, "the 2019 cycle in the read model", func() error {
		var n int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM rm.cert_applications WHERE certified`).Scan(&n); err != nil || n != 8 {
			return fmt.Errorf("%d certified, %v", n, err)
		}
		return nil
	})
	yes, no := true, false
	for _, c := range []struct {
		f    projections.ResultFilter
		want string
	}{
		{projections.ResultFilter{Certified: &yes}, "[]"},
		{projections.ResultFilter{Certified: &no}, "[keda gori]"},
		{projections.ResultFilter{EverCertified: &yes}, "[gori]"},
		{projections.ResultFilter{EverCertified: &no}, "[keda]"},
	} {
		rk, err := q.Ranking(ctx, projections.RankingQuery{Round: "2023", Filter: c.f})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rk.Rows {
			got = append(got, r.Municipality)
		}
		if fmt.Sprint(got) != c.want && !(c.want == "[]" && got == nil) {
			t.Errorf("ranking over %+v: %v, want %s", c.f, got, c.want)
		}
	}

	// Every figure has its query, and reads.
	for _, f := range benchmark.Figures {
		if _, err := q.Figure(ctx, f, "keda", 2023); err != nil {
			t.Errorf("figure %s: %v", f, err)
		}
	}

	// A superuser edits Keda's City Hall minutes in the log: the replay
	// recomputes from the edited events and finds them at odds with what
	// was published.
	if rp, err := h.svc.ReplayScore(ctx, "2023", "keda"); err != nil || rp.Verdict != benchmark.Followed {
		t.Fatalf("replay before the edit: %s %q, %v", rp.Verdict, rp.Problems, err)
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, stmt := range []string{`SET session_replication_role = replica`,
		`UPDATE eventstore.events SET data = jsonb_set(data::jsonb, '{value}', '4')::json
			WHERE type = 'benchmark.scored' AND data->>'municipality' = 'keda' AND data->>'indicator' = 'minutes' AND data->>'body' = 'city_hall'`,
		`SET session_replication_role = DEFAULT`} {
		tag, err := conn.Exec(ctx, stmt)
		if err != nil {
			t.Fatal(err)
		}
		if stmt[0] == 'U' && tag.RowsAffected() != 1 {
			t.Fatalf("the edit changed %d rows, want one", tag.RowsAffected())
		}
	}
	rp, err := h.svc.ReplayScore(ctx, "2023", "keda")
	if err != nil {
		t.Fatal(err)
	}
	if rp.Verdict != benchmark.Mismatch || len(rp.Problems) < 2 {
		t.Fatalf("replay after the edit: %s %q; want a mismatch of the digest and the publication block", rp.Verdict, rp.Problems)
	}
}
