package projections_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/internal/pabulib"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// budgetHistory is a Keda-like cycle of 2023 (village amounts, ideas and
// ballots illustrative) written through budgeting.Service.
type budgetHistory struct{ head, after int64 }

func onDay(day string, a domain.Actor) domain.Meta {
	t, err := time.ParseInLocation(domain.DateLayout, day, domain.Tbilisi)
	if err != nil {
		panic(err)
	}
	return domain.Meta{Actor: a, Now: t.Add(12 * time.Hour)}
}

func makeBudgetHistory(t *testing.T, e *domainEnv) budgetHistory {
	t.Helper()
	ctx := context.Background()
	svc := &budgeting.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}}
	keda := domain.Actor{ID: "key:keda", Role: domain.Applicant, Municipality: "keda"}
	box := domain.Actor{ID: "key:keda-box", Role: domain.BallotBox, Municipality: "keda", Cycle: "keda-2023"}
	officer := domain.Actor{ID: "key:keda-officer", Role: domain.Officer, Municipality: "keda"}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const gel = 100
	must(svc.OpenCycle(ctx, onDay("2023-08-01", keda), budgeting.OpenCycle{
		Municipality: "keda", Year: 2023, Title: domain.LocalizedText{Ka: "სამოქალაქო ბიუჯეტი 2023", En: "Civic budget 2023"}, Currency: "GEL",
		Pots: []budgeting.Pot{
			{Code: "dzirula", Name: domain.LocalizedText{Ka: "ძირულა", En: "Dzirula"}, Amount: 20000 * gel},
			{Code: "zvare", Name: domain.LocalizedText{Ka: "ზვარე", En: "Zvare"}, Amount: 15000 * gel},
		},
		Phases: []budgeting.Phase{
			{Kind: budgeting.Proposing, Start: "2023-09-11", End: "2023-10-10"},
			{Kind: budgeting.Reviewing, Start: "2023-10-11", End: "2023-11-30"},
			{Kind: budgeting.Voting, Start: "2023-12-08", End: "2023-12-10"},
			{Kind: budgeting.Tallying, Start: "2023-12-11", End: "2023-12-14"},
			{Kind: budgeting.Delivering, Start: "2023-12-15", End: "2024-12-31"},
		},
		Categories: []budgeting.Category{{Code: "roads", Name: domain.LocalizedText{Ka: "გზები", En: "Roads"}}},
		Rules:      budgeting.Rules{Ballot: budgeting.Approval, MaxProjects: 2, SecondBallot: budgeting.Refuse, Counting: budgeting.Counting{Method: budgeting.Greedy}},
	}))
	for _, i := range []struct {
		id, pot string
		cost    int64
	}{{"keda-2023-001", "dzirula", 8000}, {"keda-2023-002", "dzirula", 9000}, {"keda-2023-003", "dzirula", 6000}, {"keda-2023-004", "zvare", 12000}, {"keda-2023-005", "zvare", 3000}} {
		must(svc.SubmitIdea(ctx, onDay("2023-09-15", box), budgeting.SubmitIdea{ID: i.id, Cycle: "keda-2023", Pot: i.pot, Category: "roads",
			Title: domain.LocalizedText{Ka: "იდეა " + i.id}, Cost: i.cost * gel, Currency: "GEL", ProposerKind: budgeting.Resident,
			Proposer: "ნინო ბერიძე", Channel: budgeting.Online}))
	}
	h := budgetHistory{after: e.settle(t)}
	for _, id := range []string{"keda-2023-001", "keda-2023-002", "keda-2023-003", "keda-2023-004"} {
		must(svc.ReviewIdea(ctx, onDay("2023-10-20", keda), budgeting.ReviewIdea{ID: id, Feasible: true, Cost: 7000 * gel, Currency: "GEL"}))
	}
	must(svc.ReviewIdea(ctx, onDay("2023-10-20", keda), budgeting.ReviewIdea{ID: "keda-2023-005", Reason: "not the municipality's land", Currency: "GEL"}))
	must(svc.PublishBallot(ctx, onDay("2023-11-25", keda), budgeting.PublishBallot{Cycle: "keda-2023",
		Ideas: []string{"keda-2023-001", "keda-2023-002", "keda-2023-003", "keda-2023-004"}}))
	for _, v := range []struct {
		voter, pot, sex, band string
		projects              []string
	}{
		{"A", "dzirula", "female", "30_44", []string{"keda-2023-001"}},
		{"B", "dzirula", "female", "65_plus", []string{"keda-2023-001", "keda-2023-002"}},
		{"C", "dzirula", "male", "", []string{"keda-2023-003"}},
		{"D", "zvare", "male", "18_29", []string{"keda-2023-004"}},
	} {
		must(svc.CastBallot(ctx, onDay("2023-12-09", box), budgeting.CastBallot{Cycle: "keda-2023", Voter: v.voter, Pot: v.pot,
			Projects: v.projects, Sex: v.sex, AgeBand: v.band}))
	}
	must(svc.EnterPaperBatch(ctx, onDay("2023-12-11", officer), budgeting.EnterPaperBatch{Cycle: "keda-2023", Pot: "dzirula",
		Batch: "dzirula-school", Place: "Dzirula school", On: "2023-12-09",
		Ballots: []budgeting.PaperBallot{{Projects: []string{"keda-2023-002"}, Sex: "female"}, {Projects: []string{"keda-2023-002"}}},
		Tally:   budgeting.Tally{Ballots: 2, Votes: map[string]int64{"keda-2023-002": 2}}}))
	must(svc.DeclareResults(ctx, onDay("2023-12-15", keda), budgeting.DeclareResults{Cycle: "keda-2023"}))
	must(svc.ReportDelivery(ctx, onDay("2024-03-01", keda), budgeting.ReportDelivery{ID: "keda-2023-002", Status: budgeting.InProgress,
		Progress: 40, Spent: 3000 * gel, Currency: "GEL", Milestone: "works began", Documents: []string{"contract 12/2024"}, On: "2024-03-01"}))
	h.head = e.settle(t)
	return h
}

func TestBudgetingIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeBudgetHistory(t, e)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Budgeting{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Budgeting{}, events)
}

func TestBudgetingCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeBudgetHistory(t, e)
	checkCrashRecovery(t, e, projections.Budgeting{}, h.head, h.after)
}

// TestBudgetingQueries reads the cycle, its ideas and its figures back.
func TestBudgetingQueries(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeBudgetHistory(t, e)
	e.startRunner(t, h.head, projections.Places{}, projections.Budgeting{})
	ctx := context.Background()
	c, err := e.reads.BudgetCycle(ctx, "keda-2023")
	if err != nil || c == nil {
		t.Fatalf("BudgetCycle = %v, %v", c, err)
	}
	if c.Total != 3500000 || len(c.Ballot) != 4 || c.Results == nil || c.PhaseOn("2023-12-09") != budgeting.Voting {
		t.Fatalf("cycle: total %d, ballot %d, results %v", c.Total, len(c.Ballot), c.Results)
	}
	// Dzirula, 20,000 GEL: 002 has B's and two paper votes (3), 001 A's
	// and B's (2), 003 C's (1); at 7,000 each, 003 no longer fits.
	dz := c.Results.Pots[0]
	if !slices.Equal(dz.Winners, []string{"keda-2023-002", "keda-2023-001"}) || dz.Ballots != 5 || dz.Spent != 1400000 {
		t.Errorf("Dzirula's results %+v", dz)
	}
	if n, err := e.reads.BudgetCycle(ctx, "keda-1999"); n != nil || err != nil {
		t.Errorf("BudgetCycle(keda-1999) = %v, %v; want nil", n, err)
	}
	page, err := e.reads.BudgetCycles(ctx, projections.BudgetCycleFilter{Region: "adjara", Year: 2023}, projections.Page{First: 10})
	if err != nil || len(page.Nodes) != 1 || page.HasNext {
		t.Errorf("BudgetCycles(adjara, 2023) = %d, %v", len(page.Nodes), err)
	}
	if page, _ := e.reads.BudgetCycles(ctx, projections.BudgetCycleFilter{Region: "guria"}, projections.Page{First: 10}); len(page.Nodes) != 0 {
		t.Errorf("BudgetCycles(guria) = %d cycles", len(page.Nodes))
	}

	ideas, err := e.reads.BudgetIdeas(ctx, projections.BudgetIdeaFilter{Cycle: "keda-2023", Pot: "dzirula"}, projections.Page{First: 2})
	if err != nil || len(ideas.Nodes) != 2 || !ideas.HasNext || ideas.Nodes[0].ID != "keda-2023-001" {
		t.Fatalf("BudgetIdeas page 1 = %+v, %v", ideas, err)
	}
	rest, err := e.reads.BudgetIdeas(ctx, projections.BudgetIdeaFilter{Cycle: "keda-2023", Pot: "dzirula"}, projections.Page{First: 2, After: ideas.Cursors[1]})
	if err != nil || len(rest.Nodes) != 1 || rest.HasNext || rest.Nodes[0].ID != "keda-2023-003" {
		t.Fatalf("BudgetIdeas page 2 = %+v, %v", rest, err)
	}
	infeasible, err := e.reads.BudgetIdeas(ctx, projections.BudgetIdeaFilter{Cycle: "keda-2023", Status: budgeting.Infeasible}, projections.Page{First: 10})
	if err != nil || len(infeasible.Nodes) != 1 || infeasible.Nodes[0].ReviewReason != "not the municipality's land" {
		t.Errorf("infeasible ideas = %+v, %v", infeasible.Nodes, err)
	}
	i, err := e.reads.BudgetIdea(ctx, "keda-2023-002")
	if err != nil || i == nil || i.Estimate != 900000 || i.Cost != 700000 || i.Delivery != budgeting.InProgress || i.Progress != 40 ||
		i.Spent != 300000 || !slices.Equal(i.Documents, []string{"contract 12/2024"}) {
		t.Errorf("idea 002 = %+v, %v", i, err)
	}

	s, err := e.reads.BudgetStats(ctx, "keda-2023")
	if err != nil || s == nil {
		t.Fatalf("BudgetStats = %v, %v", s, err)
	}
	if s.Submitted != 5 || s.Ideas[budgeting.Feasible] != 4 || s.Ideas[budgeting.Infeasible] != 1 || s.OnBallot != 4 ||
		s.Voters != 6 || s.Online != 4 || s.Paper != 2 || s.BySex["female"] != 3 || s.BySex["unrecorded"] != 1 ||
		s.ByAgeBand["unrecorded"] != 3 || s.Eligible != 16760 || s.EligibleSource != "census_2014" {
		t.Errorf("stats %+v", s)
	}
	if len(s.Pots) != 2 || s.Pots[0].Voters != 5 || s.Pots[1].Voters != 1 || s.Pots[1].Ideas != 2 {
		t.Errorf("pot stats %+v", s.Pots)
	}
	// Three winners at 7,000 GEL each, 002 reported 40% done: a third of
	// that weighs on the cycle.
	if d := s.Delivery; d == nil || d.Winners != 3 || d.ByStatus["in_progress"] != 1 || d.ByStatus[""] != 2 || d.Cost != 2100000 ||
		d.Spent != 300000 || d.Progress < 13.33 || d.Progress > 13.34 {
		t.Errorf("delivery %+v", s.Delivery)
	}
}

// TestBudgetRecountFindsAlteredBallot: the recount of the history follows
// its results; after a superuser edits one ballot in the events table
// (A's vote moved from 001 to 003), it is a mismatch naming the digest and
// the votes.
func TestBudgetRecountFindsAlteredBallot(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeBudgetHistory(t, e)
	ctx := context.Background()
	svc := &budgeting.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}}
	r, err := svc.Recount(ctx, "keda-2023")
	if err != nil || r.Verdict != budgeting.Followed || r.Ballots != 6 {
		t.Fatalf("recount = %s %q (%d ballots), %v; want followed over 6", r.Verdict, r.Problems, r.Ballots, err)
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The append-only triggers stop an honest user, not a superuser.
	for _, q := range []string{`SET session_replication_role = replica`,
		`UPDATE eventstore.events SET data = replace(data::text, '["keda-2023-001"]', '["keda-2023-003"]')::json
			WHERE type = 'budgeting.ballot_cast' AND data::text LIKE '%["keda-2023-001"]%'`,
		`SET session_replication_role = DEFAULT`} {
		tag, err := conn.Exec(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if q[0] == 'U' && tag.RowsAffected() != 1 {
			t.Fatalf("the edit changed %d rows, want A's ballot alone", tag.RowsAffected())
		}
	}
	r, err = svc.Recount(ctx, "keda-2023")
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != budgeting.Mismatch || len(r.Problems) != 2 || r.InputsDigest == r.Declared.InputsDigest {
		t.Fatalf("recount after the edit = %s %q; want a mismatch of the digest and of Dzirula's votes", r.Verdict, r.Problems)
	}
}

// TestBudgetingTrend groups the history's cycle by its own dimensions and
// by its voters', leaving out a cycle imported from Warsaw's published
// data.
func TestBudgetingTrend(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeBudgetHistory(t, e)
	f, err := os.Open("../domain/budgeting/testdata/pabulib/poland_warszawa_2018_pole-mokotowskie.pb")
	if err != nil {
		t.Fatal(err)
	}
	in, err := pabulib.Read(f, pabulib.Limits{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	svc := &budgeting.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}}
	if _, err := pabulib.Import(context.Background(), svc, in, "pole-mokotowskie"); err != nil {
		t.Fatal(err)
	}
	head := e.settle(t)
	e.startRunner(t, head, projections.Places{}, projections.Budgeting{})
	ctx := context.Background()
	trend := func(groupBy []projections.BudgetDimension, f projections.BudgetTrendFilter) []projections.BudgetTrendRow {
		t.Helper()
		rows, err := e.reads.BudgetingTrend(ctx, groupBy, f)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	byYear := trend([]projections.BudgetDimension{projections.BudgetYear, projections.BudgetRegion}, projections.BudgetTrendFilter{})
	if len(byYear) != 1 || !slices.Equal(byYear[0].Values, []string{"2023", "adjara"}) || byYear[0].Cycles != 1 || byYear[0].Voters != 6 ||
		*byYear[0].Ideas != 5 || *byYear[0].Amount != 3500000 || *byYear[0].Population != 16760 {
		t.Errorf("by year and region: %+v", byYear)
	}
	bySex := trend([]projections.BudgetDimension{projections.BudgetSex}, projections.BudgetTrendFilter{})
	got := map[string]int64{}
	for _, r := range bySex {
		got[r.Values[0]] = r.Voters
		if r.Ideas != nil {
			t.Errorf("a voter's dimension gave the cycles' ideas: %+v", r)
		}
	}
	if len(bySex) != 3 || got["female"] != 3 || got["male"] != 2 || got[""] != 1 {
		t.Errorf("by sex: %+v", bySex)
	}
	online := trend([]projections.BudgetDimension{projections.BudgetChannel}, projections.BudgetTrendFilter{Channels: []string{"online"}, FromYear: 2023})
	if len(online) != 1 || online[0].Voters != 4 || online[0].Values[0] != "online" {
		t.Errorf("online: %+v", online)
	}
	// No grouping: one row, the totals, here of nothing.
	if rows := trend(nil, projections.BudgetTrendFilter{Regions: []string{"guria"}}); len(rows) != 1 || rows[0].Cycles != 0 || rows[0].Voters != 0 || *rows[0].Ideas != 0 {
		t.Errorf("Guria: %+v", rows)
	}
	if _, err := e.reads.BudgetingTrend(ctx, []projections.BudgetDimension{"colour"}, projections.BudgetTrendFilter{}); domain.KindOf(err) != domain.Invalid {
		t.Errorf("an unknown dimension: %v", err)
	}
	if _, err := e.reads.BudgetingTrend(ctx, nil, projections.BudgetTrendFilter{FromYear: 2024, ToYear: 2023}); domain.KindOf(err) != domain.Invalid {
		t.Errorf("years reversed: %v", err)
	}
}
