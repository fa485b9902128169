package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/civicledger/civicledger/projections"
	"github.com/jackc/pgx/v5/pgxpool"
)

// benchTrendActivities is the size of the generated history: enough
// activities for more than two million attendance records (groups of
// attendees, the rows of rm.attendance).
const benchTrendActivities = 170_000

// benchTrends are the groupings measured: the one the issue names, by
// the activity's dimensions (YEAR and REGION, read from the participation
// table), and one adding an attendee's (SEX, read from the attendance
// records). Each has the same aggregate in bare SQL, as one writes it over
// the attendance records: held activities counted once per group,
// attendees summed.
var benchTrends = []struct {
	name    string
	query   string
	dims    []projections.Dimension
	bareSQL string
	// distinct counts the groups a right answer has.
	distinct string
}{
	{
		name:     "YEAR,REGION",
		query:    `{ participationTrend(groupBy: [YEAR, REGION]) { year region { code } activities attendance } }`,
		dims:     []projections.Dimension{projections.DimYear, projections.DimRegion},
		bareSQL:  `SELECT year, region, count(DISTINCT activity), sum(count) FROM rm.attendance GROUP BY year, region ORDER BY year, region`,
		distinct: `SELECT count(DISTINCT (year, region)) FROM rm.attendance`,
	},
	{
		name:     "YEAR,REGION,SEX",
		query:    `{ participationTrend(groupBy: [YEAR, REGION, SEX]) { year region { code } sex activities attendance } }`,
		dims:     []projections.Dimension{projections.DimYear, projections.DimRegion, projections.DimSex},
		bareSQL:  `SELECT year, region, sex, count(DISTINCT activity), sum(count) FROM rm.attendance GROUP BY year, region, sex ORDER BY year, region, sex`,
		distinct: `SELECT count(DISTINCT (year, region, coalesce(sex, ''))) FROM rm.attendance`,
	},
}

// BenchmarkParticipationTrend measures participationTrend over a
// generated 2019-2025 history of more than two million attendance records,
// under 32 concurrent clients, against bare SQL in the same run, for each
// grouping of benchTrends (a sub-benchmark each).
//
// The history is seed.History's, appended as events and built into the
// read models by the real runner (its catch-up time is reported as
// load-s). Then for each grouping three sides take turns
// in ten rounds, each with 32 clients and b.N requests (use -benchtime
// 160x):
//
//   - ours: the GraphQL query over HTTP, anonymously, each response
//     decoded and checked to have a row per group with attendees, adding
//     up to the history's attendees (as every side is checked);
//   - sql: the grouping's bare SQL through pgx, the aggregate over the
//     attendance records as a person would write it, its rows read;
//   - api-sql: the statement the API runs (projections.Reads
//     .ParticipationTrend), through pgx, without GraphQL or HTTP.
//
// Both pgx sides use a pool opened like the API's (read-only sessions,
// the default size), and the API's statement timeout (5 s) too, except
// the bare aggregate's: under 32 clients it takes longer. ratio = ours /
// sql, the measure; api-ratio = ours / api-sql, what GraphQL and
// HTTP cost on top of the API's own statement. p99-ms is our latency's
// 99th percentile.
func BenchmarkParticipationTrend(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(graph.GCPercent))
	e := newEnv(b, graph.Config{RatePerSecond: -1})
	ctx := context.Background()
	org := fmt.Sprint(e.do(domain.Admin, registerOrg, orgInput(1)).ok(b).get("registerOrganisation.organisation.id"))

	start := time.Now()
	rep, err := seed.History(ctx, e.repo, seed.HistoryOptions{
		From: 2019, To: 2025, Activities: benchTrendActivities, Seed: 2019, Concurrency: 8, Organisers: map[string][]string{"": {org}}})
	if err != nil {
		b.Fatal(err)
	}
	// Every appended event positioned first: the head moves on as the
	// sequencer catches up with the appends.
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
	if err := e.runner.WaitFor(wctx, head, "activities"); err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	var records int
	var attendees int64
	if err := e.db.QueryRow(ctx, `SELECT count(*), sum(count) FROM rm.attendance`).Scan(&records, &attendees); err != nil {
		b.Fatal(err)
	}
	if records < 2_000_000 || attendees != rep.Attendees {
		b.Fatalf("%d attendance records of %d attendees; want at least 2,000,000, of the history's %d", records, attendees, rep.Attendees)
	}
	if _, err := e.db.Exec(ctx, `ANALYZE`); err != nil { // as autovacuum would have by now
		b.Fatal(err)
	}
	reads := benchReadPool(b, e.db)
	q := &projections.Reads{DB: reads}
	// The bare aggregate over the records takes seconds, more than the
	// API's statement timeout under 32 clients: its pool has none, as a
	// person running it in psql would not.
	bareCfg := reads.Config()
	bareCfg.ConnConfig.RuntimeParams["statement_timeout"] = "0"
	bare, err := pgxpool.NewWithConfig(ctx, bareCfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bare.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}}
	b.Cleanup(client.CloseIdleConnections)

	for _, trend := range benchTrends {
		want := trendAnswer{attendees: rep.Attendees}
		if err := e.db.QueryRow(ctx, trend.distinct).Scan(&want.rows); err != nil {
			b.Fatal(err)
		}
		body, err := json.Marshal(map[string]any{"query": trend.query})
		if err != nil {
			b.Fatal(err)
		}
		ours := func() error { return benchTrendGraphQL(ctx, client, e.url, body, want) }
		facts := func() error { return benchTrendFacts(ctx, bare, trend.bareSQL, want) }
		api := func() error {
			rows, err := q.ParticipationTrend(ctx, trend.dims, projections.TrendFilter{})
			if err != nil {
				return err
			}
			return want.check(len(rows), func(i int) int64 { return rows[i].Attendance })
		}
		for _, side := range []func() error{ours, facts, api} { // each works, and warm
			if err := side(); err != nil {
				b.Fatalf("%s: %v", trend.name, err)
			}
		}
		b.Run(trend.name, func(b *testing.B) {
			benchAgainst(b, facts, api, ours)
			// The parent's own metrics are not printed: each grouping
			// repeats them.
			b.ReportMetric(float64(records), "records")
			b.ReportMetric(load.Seconds(), "load-s")
		})
	}
}

// benchTrendGraphQL posts the trend query and checks its rows.
func benchTrendGraphQL(ctx context.Context, client *http.Client, url string, body []byte, want trendAnswer) error {
	raw, err := benchPost(ctx, client, url, "", body)
	if err != nil {
		return err
	}
	var r struct {
		Data struct {
			ParticipationTrend []struct {
				Year       int
				Region     struct{ Code string }
				Activities int
				Attendance int64
			}
		}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	return want.check(len(r.Data.ParticipationTrend), func(i int) int64 { return r.Data.ParticipationTrend[i].Attendance })
}

// benchTrendFacts runs a bare aggregate and checks its rows, whose last
// column is the attendance.
func benchTrendFacts(ctx context.Context, pool *pgxpool.Pool, sql string, want trendAnswer) error {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	var sums []int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		sum, ok := vals[len(vals)-1].(int64)
		if !ok {
			return fmt.Errorf("the attendance is a %T", vals[len(vals)-1])
		}
		sums = append(sums, sum)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return want.check(len(sums), func(i int) int64 { return sums[i] })
}

// trendAnswer is what a right answer has: a row for each group with
// attendees, adding up to every attendee of the history.
type trendAnswer struct {
	rows      int
	attendees int64
}

// check checks an answer of n rows.
func (w trendAnswer) check(n int, attendance func(int) int64) error {
	var sum int64
	for i := range n {
		sum += attendance(i)
	}
	if n != w.rows || sum != w.attendees {
		return fmt.Errorf("%d rows of %d attendees; want %d rows of %d", n, sum, w.rows, w.attendees)
	}
	return nil
}
