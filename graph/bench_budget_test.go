package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/projections"
	"github.com/jackc/pgx/v5"
)

// benchBudgetVoters is each generated cycle's voters: with a cycle for
// every municipality (64) and year 2019-2025, 1,792,000 voters.
const benchBudgetVoters = 4000

// BenchmarkBudgetingTrend measures budgetingTrend(groupBy: [YEAR,
// REGION]) over a cycle for each of Georgia's 64 municipalities in each
// year 2019-2025, each with four ideas on its ballot and 4,000 paper
// ballots, written through budgeting.Service and built into the read model
// by the real runner (load-s). Three sides take turns in ten rounds of 32
// clients and b.N requests (use -benchtime 160x): ours, the GraphQL query
// over HTTP; sql, the aggregate as a person writes it over the read
// model's tables; api-sql, the API's own statements (Reads.BudgetingTrend)
// through pgx. ratio = ours / sql; api-ratio = ours / api-sql.
func BenchmarkBudgetingTrend(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(graph.GCPercent))
	e := newEnv(b, graph.WithoutAnswerCache(graph.Config{RatePerSecond: -1}))
	ctx := context.Background()
	var codes []string
	for deadline := time.Now().Add(time.Minute); len(codes) < 64; time.Sleep(100 * time.Millisecond) {
		rows, err := e.db.Query(ctx, `SELECT code FROM rm.municipalities WHERE kind <> 'occupied' ORDER BY code`)
		if err == nil {
			codes, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d municipalities in the read model, %v", len(codes), err)
		}
	}
	svc := &budgeting.Service{Repo: e.repo}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(codes))
	next := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range next {
				for year := 2019; year <= 2025; year++ {
					if err := benchBudgetCycle(ctx, svc, m, year); err != nil {
						errs <- fmt.Errorf("%s %d: %w", m, year, err)
						return
					}
				}
			}
		}()
	}
	for _, m := range codes {
		next <- m
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	var head int64
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		st, err := e.store.Status(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if st.Pending == 0 {
			head = st.Head
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d events still wait for a position", st.Pending)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	if err := e.runner.WaitFor(wctx, head, "budgeting"); err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	voters := int64(len(codes) * 7 * benchBudgetVoters)
	var stored int64
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM rm.budget_voters`).Scan(&stored); err != nil || stored != voters {
		b.Fatalf("%d voters in the read model, %v; want %d", stored, err, voters)
	}
	if _, err := e.db.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	reads := benchReadPool(b, e.db)
	q := &projections.Reads{DB: reads}
	want := trendAnswer{attendees: voters}
	var regions int
	if err := e.db.QueryRow(ctx, `SELECT count(DISTINCT region) FROM rm.municipalities WHERE kind <> 'occupied'`).Scan(&regions); err != nil {
		b.Fatal(err)
	}
	want.rows = 7 * regions
	body, _ := json.Marshal(map[string]any{"query": `{ budgetingTrend(groupBy: [YEAR, REGION]) { year region { code } cycles voters ideas turnout } }`})
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}}
	b.Cleanup(client.CloseIdleConnections)
	ours := func() error {
		raw, err := benchPost(ctx, client, e.url, "", body)
		if err != nil {
			return err
		}
		var r struct {
			Data struct{ BudgetingTrend []struct{ Voters int64 } }
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		rows := r.Data.BudgetingTrend
		return want.check(len(rows), func(i int) int64 { return rows[i].Voters })
	}
	bare := func() error {
		return benchTrendFacts(ctx, reads, `SELECT c.year, m.region, count(*) FROM rm.budget_voters v JOIN rm.budget_cycles c ON c.id = v.cycle
			JOIN rm.municipalities m ON m.code = c.municipality GROUP BY c.year, m.region ORDER BY c.year, m.region`, want)
	}
	api := func() error {
		rows, err := q.BudgetingTrend(ctx, []projections.BudgetDimension{projections.BudgetYear, projections.BudgetRegion}, projections.BudgetTrendFilter{})
		if err != nil {
			return err
		}
		return want.check(len(rows), func(i int) int64 { return rows[i].Voters })
	}
	for _, side := range []func() error{ours, bare, api} {
		if err := side(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	benchAgainst(b, bare, api, ours)
	b.ReportMetric(float64(voters), "voters")
	b.ReportMetric(load.Seconds(), "load-s")
}

// benchBudgetCycle runs one generated cycle through the service: four ideas
// on the ballot, benchBudgetVoters paper ballots in batches of 1,000, the
// results declared.
func benchBudgetCycle(ctx context.Context, svc *budgeting.Service, m string, year int) error {
	sys := func(day string) domain.Meta {
		t, _ := time.ParseInLocation(domain.DateLayout, fmt.Sprintf("%d-%s", year, day), domain.Tbilisi)
		return domain.Meta{Actor: domain.Actor{ID: "system:bench", Role: domain.System}, Now: t.Add(12 * time.Hour)}
	}
	y := func(day string) string { return fmt.Sprintf("%d-%s", year, day) }
	id := budgeting.CycleID(m, year)
	if _, err := svc.OpenCycle(ctx, sys("01-10"), budgeting.OpenCycle{Municipality: m, Year: year, Currency: "GEL",
		Title: domain.LocalizedText{Ka: "ბიუჯეტი"},
		Pots:  []budgeting.Pot{{Code: "all", Name: domain.LocalizedText{Ka: "ყველა"}, Amount: 100_000_00}},
		Phases: []budgeting.Phase{{Kind: budgeting.Proposing, Start: y("02-01"), End: y("02-28")}, {Kind: budgeting.Reviewing, Start: y("03-01"), End: y("03-31")},
			{Kind: budgeting.Voting, Start: y("04-01"), End: y("04-10")}, {Kind: budgeting.Delivering, Start: y("04-11"), End: y("12-31")}},
		Rules: budgeting.Rules{Ballot: budgeting.Approval, MaxProjects: 2, SecondBallot: budgeting.Refuse, Counting: budgeting.Counting{Method: budgeting.Greedy}},
	}); err != nil {
		return err
	}
	var ideas []string
	for i := range 4 {
		iid := fmt.Sprintf("%s-%d", id, i)
		if _, err := svc.SubmitIdea(ctx, sys("02-10"), budgeting.SubmitIdea{ID: iid, Cycle: id, Pot: "all", Title: domain.LocalizedText{Ka: "იდეა"},
			Cost: 30_000_00, Currency: "GEL", ProposerKind: budgeting.Resident, Channel: budgeting.Online}); err != nil {
			return err
		}
		if _, err := svc.ReviewIdea(ctx, sys("03-10"), budgeting.ReviewIdea{ID: iid, Feasible: true, Cost: 30_000_00, Currency: "GEL"}); err != nil {
			return err
		}
		ideas = append(ideas, iid)
	}
	if _, err := svc.PublishBallot(ctx, sys("03-20"), budgeting.PublishBallot{Cycle: id, Ideas: ideas}); err != nil {
		return err
	}
	sexes := []string{"female", "male", ""}
	for b := range benchBudgetVoters / 1000 {
		cmd := budgeting.EnterPaperBatch{Cycle: id, Pot: "all", Batch: fmt.Sprintf("b%d", b), Place: "school", On: y("04-05"),
			Tally: budgeting.Tally{Ballots: 1000, Votes: map[string]int64{}}}
		for v := range 1000 {
			p := ideas[v%4]
			cmd.Ballots = append(cmd.Ballots, budgeting.PaperBallot{Projects: []string{p}, Sex: sexes[v%3]})
			cmd.Tally.Votes[p]++
		}
		if _, err := svc.EnterPaperBatch(ctx, sys("04-06"), cmd); err != nil {
			return err
		}
	}
	_, err := svc.DeclareResults(ctx, sys("04-11"), budgeting.DeclareResults{Cycle: id})
	return err
}
