package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/projections"
	"github.com/jackc/pgx/v5"
)

// benchMethod is the benchmarks' method: three blocks of 20 indicators,
// 60 in all, each judging one body; ten of the participation block's are
// computed, one from each figure of the ledger.
func benchMethod() benchmark.Method {
	t := func(s string) domain.LocalizedText { return domain.LocalizedText{Ka: s, En: s} }
	m := benchmark.Method{
		Blocks: []benchmark.Block{{Code: "publication", Name: t("publication"), Weight: 35}, {Code: "e-governance", Name: t("e-governance"), Weight: 30},
			{Code: "participation", Name: t("participation"), Weight: 35}},
		Bands: []benchmark.RankBand{{Name: "leading", From: 50}, {Name: "advancing", From: 25}, {Name: "starting", From: 0}},
	}
	scales := []benchmark.Scale{{Kind: benchmark.YesNo}, {Kind: benchmark.Points, Max: 2}, {Kind: benchmark.Points, Max: 4}, {Kind: benchmark.Percent}}
	for bi, b := range m.Blocks {
		for i := range 20 {
			ind := benchmark.Indicator{Code: fmt.Sprintf("%s-%02d", b.Code, i), Block: b.Code, Question: t("q"), Scale: scales[i%4], Weight: 1 + i%3,
				Body: []benchmark.Body{benchmark.CityHall, benchmark.Sakrebulo}[i%2]}
			if bi == 2 && i < len(benchmark.Figures) {
				ind.Scale, ind.Body, ind.Computed = benchmark.Scale{Kind: benchmark.Banded, Bands: []benchmark.Band{{From: 0, Points: 0}, {From: 1, Points: 1}, {From: 50, Points: 2}}},
					benchmark.CityHall, string(benchmark.Figures[i])
			}
			m.Indicators = append(m.Indicators, ind)
		}
	}
	return m
}

// benchValue is a value of an indicator in scale, drawn from r.
func benchValue(r *rand.Rand, s benchmark.Scale) float64 {
	switch s.Kind {
	case benchmark.YesNo:
		return float64(r.IntN(2))
	case benchmark.Points:
		return float64(r.IntN(s.Max + 1))
	}
	return float64(r.IntN(101))
}

// benchScoreRound runs a round through the service over municipalities:
// opened under version 1 of benchMethod, every judged indicator scored by
// eight assessors at once, the computed ones read from the ledger, every
// scorecard reviewed, preliminary results shared, published.
func benchScoreRound(ctx context.Context, svc *benchmark.Service, id string, year int, codes []string) error {
	day := func(d string) domain.Meta {
		t, _ := time.ParseInLocation(domain.DateLayout, d, domain.Tbilisi)
		return domain.Meta{Actor: domain.Actor{ID: "system:bench", Role: domain.System}, Now: t.Add(12 * time.Hour)}
	}
	y := year + 1
	if _, err := svc.OpenRound(ctx, day(fmt.Sprintf("%d-01-10", y)), benchmark.OpenRound{ID: id, Title: domain.LocalizedText{Ka: id}, Year: year, MethodVersion: 1,
		Municipalities: codes, Schedule: benchmark.Schedule{AssessmentEnd: fmt.Sprintf("%d-03-31", y), CommentsUntil: fmt.Sprintf("%d-04-30", y)}}); err != nil {
		return err
	}
	m := benchMethod()
	m.Version = 1
	next := make(chan string)
	errs := make(chan error, len(codes))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for muni := range next {
				r := rand.New(rand.NewPCG(uint64(year), uint64(len(muni))*31+uint64(muni[0])))
				for _, ind := range m.Indicators {
					if ind.Computed != "" {
						continue
					}
					v := benchValue(r, ind.Scale)
					if _, err := svc.Score(ctx, day(fmt.Sprintf("%d-02-15", y)), benchmark.Score{Round: id, Municipality: muni, Indicator: ind.Code, Body: ind.Body,
						Value: &v, Rationale: "bench"}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for _, c := range codes {
		next <- c
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if _, err := svc.ComputeRound(ctx, day(fmt.Sprintf("%d-03-01", y)), id); err != nil {
		return err
	}
	for _, muni := range codes {
		if _, err := svc.ReviewScorecard(ctx, day(fmt.Sprintf("%d-03-20", y)), benchmark.Review{Round: id, Municipality: muni, Accepted: true}); err != nil {
			return err
		}
	}
	if _, err := svc.SharePreliminary(ctx, day(fmt.Sprintf("%d-04-01", y)), id); err != nil {
		return err
	}
	_, err := svc.Publish(ctx, day(fmt.Sprintf("%d-05-01", y)), id)
	return err
}

// benchMunicipalities waits for the registry's 64 municipalities (the
// occupied ones left out) in the read model and returns their codes.
func benchMunicipalities(b *testing.B, e *env) []string {
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
	return codes
}

// benchSettle waits until every event is positioned and the benchmark's
// read model has applied them, and returns the head.
func benchSettle(b *testing.B, e *env) int64 {
	ctx := context.Background()
	var head int64
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
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
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := e.runner.WaitFor(wctx, head); err != nil {
		b.Fatal(err)
	}
	return head
}

func benchBenchmarkEnv(b *testing.B) (*env, *benchmark.Service, []string) {
	e := newEnv(b, graph.WithoutAnswerCache(graph.Config{RatePerSecond: -1}))
	codes := benchMunicipalities(b, e)
	svc := &benchmark.Service{Repo: e.repo, Ledger: &projections.Reads{DB: e.db}}
	sys := domain.Meta{Actor: domain.Actor{ID: "system:bench", Role: domain.System}, Now: time.Date(2020, 1, 1, 12, 0, 0, 0, domain.Tbilisi)}
	if _, err := svc.PublishMethod(context.Background(), sys, benchmark.PublishMethod{Method: benchMethod(), Reason: "bench"}); err != nil {
		b.Fatal(err)
	}
	return e, svc, codes
}

// BenchmarkScoreRound scores a round of the 64 municipalities under a
// method of 60 indicators (ten computed from the ledger), end to end: each
// judged score through the service (the round and method loaded, the
// value checked against its scale, the scorecard stream appended), each
// computed one read from the read models with its position, the
// preliminary results shared, the round published (every scorecard
// aggregated and digested), and the read model caught up. Against it, in
// the same run: the same number of scores appended raw, as Score's
// events, through the repository (no check, no load), with the round's
// opening and publication, and the read model caught up. ratio = ours /
// raw time; s/round is ours.
func BenchmarkScoreRound(b *testing.B) {
	e, svc, codes := benchBenchmarkEnv(b)
	ctx := context.Background()
	m := benchMethod()
	sys := domain.Meta{Actor: domain.Actor{ID: "system:bench", Role: domain.System}, Now: time.Date(2030, 1, 1, 12, 0, 0, 0, domain.Tbilisi)}
	var ours, raw time.Duration
	scores := 0
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		if err := benchScoreRound(ctx, svc, fmt.Sprintf("r%d", i), 2000+i, codes); err != nil {
			b.Fatal(err)
		}
		benchSettle(b, e)
		ours += time.Since(start)

		start = time.Now()
		id := fmt.Sprintf("raw%d", i)
		if _, err := e.repo.Save(ctx, benchmark.RoundStream(id), 0, sys, benchmark.RoundOpened{ID: id, Title: domain.LocalizedText{Ka: id}, Year: 2000 + i,
			MethodVersion: 1, Municipalities: codes, Schedule: benchmark.Schedule{AssessmentEnd: "2030-03-31", CommentsUntil: "2030-04-30"}}); err != nil {
			b.Fatal(err)
		}
		next := make(chan string)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for muni := range next {
					for k, ind := range m.Indicators {
						v := float64(k % 2)
						if _, err := e.repo.Save(ctx, benchmark.ScorecardStream(id, muni), int64(k), sys, benchmark.Scored{Round: id, Municipality: muni,
							Indicator: ind.Code, Body: ind.Body, Value: &v, Rationale: "bench"}); err != nil {
							b.Error(err)
							return
						}
					}
				}
			}()
		}
		for _, c := range codes {
			next <- c
		}
		close(next)
		wg.Wait()
		var pub benchmark.Round
		if _, err := e.repo.Load(ctx, benchmark.RoundStream(fmt.Sprintf("r%d", i)), &pub); err != nil || pub.Published() == nil {
			b.Fatal("round not published", err)
		}
		results := pub.Published().Results
		for _, muni := range codes {
			if _, err := e.repo.Save(ctx, benchmark.ScorecardStream(id, muni), int64(len(m.Indicators)), sys,
				benchmark.ScorecardReviewed{Round: id, Municipality: muni, Accepted: true}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := e.repo.Save(ctx, benchmark.RoundStream(id), 1, sys, benchmark.PreliminaryShared{Round: id, On: "2030-04-01"},
			benchmark.RoundPublished{Round: id, On: "2030-05-01", Results: results}); err != nil {
			b.Fatal(err)
		}
		benchSettle(b, e)
		raw += time.Since(start)
		scores += len(codes) * len(m.Indicators)
	}
	b.ReportMetric(ours.Seconds()/float64(i), "s/round")
	b.ReportMetric(ours.Seconds()/raw.Seconds(), "ratio")
	b.ReportMetric(float64(scores)/float64(i), "scores/round")
}

// BenchmarkRanking measures ranking(round: "2025") with each entry's
// change against 2023, over rounds 2021, 2023 and 2025 of the 64
// municipalities scored through the service, under 32 clients: ours, the
// GraphQL query over HTTP; sql, the ranking and the change as a person
// writes them over the read model (rank() over the results, joined with
// the previous round's); api-sql, the API's own reads (Reads.Ranking).
// ratio = ours / sql. Use -benchtime 320x.
func BenchmarkRanking(b *testing.B) {
	benchRounds(b, `{ ranking(round: "2025") { municipality { code } rank score band change rankChange } }`, "ranking",
		`WITH now AS (SELECT municipality, total, rank() OVER (ORDER BY total DESC NULLS LAST) AS rank FROM rm.benchmark_results WHERE round = '2025'),
			before AS (SELECT municipality, total, rank() OVER (ORDER BY total DESC NULLS LAST) AS rank FROM rm.benchmark_results WHERE round = '2023')
		SELECT n.municipality, n.rank, n.total, n.total - b.total, b.rank - n.rank FROM now n LEFT JOIN before b USING (municipality)
		ORDER BY n.rank, n.municipality`, 64,
		func(q *projections.Reads) (int, error) {
			rk, err := q.Ranking(context.Background(), projections.RankingQuery{Round: "2025"})
			if err != nil {
				return 0, err
			}
			return len(rk.Rows), nil
		})
}

// BenchmarkBenchmarkTrend measures benchmarkTrend over every published
// round and municipality (3 × 64 rows, each with its overall rank in its
// round), as BenchmarkRanking does.
func BenchmarkBenchmarkTrend(b *testing.B) {
	benchRounds(b, `{ benchmarkTrend { round year municipality { code } score rank blocks { block score } } }`, "benchmarkTrend",
		`SELECT r.round, r.municipality, r.total, r.blocks, rank() OVER (PARTITION BY r.round ORDER BY r.total DESC NULLS LAST)
		FROM rm.benchmark_results r JOIN rm.benchmark_rounds d ON d.id = r.round WHERE d.published_on IS NOT NULL
		ORDER BY d.year, r.round, r.municipality`, 3*64,
		func(q *projections.Reads) (int, error) {
			rows, err := q.BenchmarkTrend(context.Background(), projections.BenchmarkTrendQuery{})
			return len(rows), err
		})
}

// benchRounds loads rounds 2021, 2023 and 2025 and measures query against
// bare and api, each answering rows rows.
func benchRounds(b *testing.B, query, field, bare string, rows int, api func(*projections.Reads) (int, error)) {
	defer debug.SetGCPercent(debug.SetGCPercent(graph.GCPercent))
	e, svc, codes := benchBenchmarkEnv(b)
	ctx := context.Background()
	start := time.Now()
	for _, y := range []int{2021, 2023, 2025} {
		if err := benchScoreRound(ctx, svc, fmt.Sprint(y), y, codes); err != nil {
			b.Fatal(err)
		}
	}
	benchSettle(b, e)
	load := time.Since(start)
	if _, err := e.db.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	reads := benchReadPool(b, e.db)
	q := &projections.Reads{DB: reads}
	body, _ := json.Marshal(map[string]any{"query": query})
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}}
	b.Cleanup(client.CloseIdleConnections)
	count := func(n int, err error) error {
		if err == nil && n != rows {
			err = fmt.Errorf("%d rows, want %d", n, rows)
		}
		return err
	}
	ours := func() error {
		raw, err := benchPost(ctx, client, e.url, "", body)
		if err != nil {
			return err
		}
		var r struct{ Data map[string][]json.RawMessage }
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		return count(len(r.Data[field]), nil)
	}
	sql := func() error {
		rs, err := reads.Query(ctx, bare)
		if err != nil {
			return err
		}
		n := 0
		for rs.Next() {
			if _, err := rs.Values(); err != nil {
				rs.Close()
				return err
			}
			n++
		}
		return count(n, rs.Err())
	}
	viaAPI := func() error { return count(api(q)) }
	for _, side := range []func() error{ours, sql, viaAPI} {
		if err := side(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	benchAgainst(b, sql, viaAPI, ours)
	b.ReportMetric(load.Seconds(), "load-s")
}
