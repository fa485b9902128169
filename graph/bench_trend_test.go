package graph_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/jackc/pgx/v5/pgxpool"
)

// benchTrendActivities is the size of the generated history: enough
// activities for more than two million attendance records (groups of
// attendees, the rows of rm.attendance).
const benchTrendActivities = 170_000

// benchTrends are the trend shapes measured: the documented ones (the
// issue's YEAR × REGION and YEAR × REGION × SEX, and what the dashboard
// asks: attendance per 1,000 inhabitants by municipality, the top ten),
// and one of each other cube (two attendee dimensions, quarters, types).
// Each takes $from, a filter that leaves the answer as it is (every
// activity is after it) but makes each request a new question to the
// answer cache. bareSQL is the same aggregate in bare SQL, as one writes
// it over the attendance records: held activities counted once per
// group, attendees summed.
var benchTrends = []struct {
	name    string
	query   string
	bareSQL string
}{
	{
		name:    "YEAR,REGION",
		query:   `query($from: Date) { participationTrend(groupBy: [YEAR, REGION], filter: {from: $from}) { year region { code } activities attendance } }`,
		bareSQL: `SELECT year, region, count(DISTINCT activity), sum(count) FROM rm.attendance GROUP BY year, region ORDER BY year, region`,
	},
	{
		name:    "YEAR,REGION,SEX",
		query:   `query($from: Date) { participationTrend(groupBy: [YEAR, REGION, SEX], filter: {from: $from}) { year region { code } sex activities attendance } }`,
		bareSQL: `SELECT year, region, sex, count(DISTINCT activity), sum(count) FROM rm.attendance GROUP BY year, region, sex ORDER BY year, region, sex`,
	},
	{
		name: "MUNICIPALITY,perCapita,top10",
		query: `query($from: Date) { participationTrend(groupBy: [MUNICIPALITY], filter: {from: $from}, perCapita: true,
			orderBy: [{by: ATTENDANCE_PER_1000, desc: true}], limit: 10) { municipality { code } activities attendance attendancePer1000 } }`,
		bareSQL: `SELECT f.municipality, count(DISTINCT f.activity), sum(f.count) FROM rm.attendance f JOIN rm.municipalities m ON m.code = f.municipality
			GROUP BY f.municipality, m.population_2014 ORDER BY sum(f.count) * 1000.0 / m.population_2014 DESC LIMIT 10`,
	},
	{
		name:    "YEAR,SEX,AGE_BAND",
		query:   `query($from: Date) { participationTrend(groupBy: [YEAR, SEX, AGE_BAND], filter: {from: $from}) { year sex ageBand activities attendance } }`,
		bareSQL: `SELECT year, sex, age_band, count(DISTINCT activity), sum(count) FROM rm.attendance GROUP BY year, sex, age_band ORDER BY 1, 2, 3`,
	},
	{
		name:    "YEAR,QUARTER,SEX",
		query:   `query($from: Date) { participationTrend(groupBy: [YEAR, QUARTER, SEX], filter: {from: $from}) { year quarter sex activities attendance } }`,
		bareSQL: `SELECT year, (month + 2) / 3, sex, count(DISTINCT activity), sum(count) FROM rm.attendance GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
	},
	{
		name:    "ACTIVITY_TYPE,SEX",
		query:   `query($from: Date) { participationTrend(groupBy: [ACTIVITY_TYPE, SEX], filter: {from: $from}) { activityType sex activities attendance } }`,
		bareSQL: `SELECT type, sex, count(DISTINCT activity), sum(count) FROM rm.attendance GROUP BY 1, 2 ORDER BY 1, 2`,
	},
}

// BenchmarkParticipationTrend measures participationTrend over a
// generated 2019-2025 history of more than two million attendance records,
// under 32 concurrent clients, for each shape of benchTrends (a
// sub-benchmark each), uncached and cached, against bare SQL in the same
// run.
//
// The history is seed.History's, appended as events and built into the
// read models by the real runner (its catch-up time, the cubes included,
// is reported as load-s). Then for each shape three sides take turns in
// ten rounds, each with 32 clients and b.N requests (use -benchtime
// 160x):
//
//   - uncached: the GraphQL query over HTTP, anonymously, each request
//     with another $from, so the answer cache never has it: the API's
//     statement runs every time; each response decoded and checked to
//     have the bare aggregate's rows and attendees (as every side is);
//
//   - cached: the same query with the same $from each time, as a polling
//     dashboard asks it: answered from the cache until the data moves;
//
//   - sql: the shape's bare SQL through pgx, the aggregate over the
//     attendance records as a person would write it, its rows read, on a
//     pool opened like the API's (read-only sessions, the default size)
//     but without the API's statement timeout, which it exceeds under 32
//     clients.
//
//   - 304: the same query as a persisted GET with the ETag of its answer
//     in If-None-Match, as a browser or a CDN in front of a dashboard
//     revalidates it: 304 Not Modified while the data has not moved.
//
// ratio = uncached / sql; cache-ratio = cached / uncached; 304-ratio =
// 304 / uncached; p99-ms is the uncached requests' 99th percentile,
// cached-p99-ms the cached ones'.
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
	// Every other read model too: a persisted GET's ETag names them all,
	// so one still reading the history would change it under the 304s.
	if err := e.runner.WaitFor(wctx, head); err != nil {
		b.Fatal(err)
	}
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
	bareCfg := benchReadPool(b, e.db).Config()
	bareCfg.ConnConfig.RuntimeParams["statement_timeout"] = "0"
	bare, err := pgxpool.NewWithConfig(ctx, bareCfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bare.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}}
	b.Cleanup(client.CloseIdleConnections)

	var n atomic.Int64
	for _, trend := range benchTrends {
		want, err := benchTrendWant(ctx, bare, trend.bareSQL)
		if err != nil {
			b.Fatalf("%s: %v", trend.name, err)
		}
		ask := func(from string) error {
			body, err := json.Marshal(map[string]any{"query": trend.query, "variables": map[string]any{"from": from}})
			if err != nil {
				return err
			}
			return benchTrendGraphQL(ctx, client, e.url, body, want)
		}
		// Years 1000-2018: every activity is after each of them.
		uncached := func() error { return ask(fmt.Sprintf("%04d-01-01", 1000+n.Add(1)%1019)) }
		cached := func() error { return ask("2000-01-01") }
		facts := func() error { return benchTrendFacts(ctx, bare, trend.bareSQL, want) }
		revalidate, err := benchTrendRevalidation(ctx, client, e.url, trend.query, "2000-01-01")
		if err != nil {
			b.Fatalf("%s: %v", trend.name, err)
		}
		for _, side := range []func() error{uncached, cached, facts, revalidate} { // each works, and warm
			if err := side(); err != nil {
				b.Fatalf("%s: %v", trend.name, err)
			}
		}
		b.Run(trend.name, func(b *testing.B) {
			const rounds = 10
			per := max(b.N/rounds, 1)
			var sqlTime, uncachedTime, cachedTime, revalidateTime time.Duration
			var lat, cachedLat []time.Duration
			for range rounds {
				d, _ := benchRun(b, per, facts)
				sqlTime += d
				d, l := benchRun(b, per, uncached)
				uncachedTime += d
				lat = append(lat, l...)
				d, l = benchRun(b, per, cached)
				cachedTime += d
				cachedLat = append(cachedLat, l...)
				d, _ = benchRun(b, per, revalidate)
				revalidateTime += d
			}
			b.StopTimer()
			total := float64(rounds * per)
			b.ReportMetric(total/uncachedTime.Seconds(), "req/s")
			b.ReportMetric(total/cachedTime.Seconds(), "cached-req/s")
			b.ReportMetric(total/sqlTime.Seconds(), "sql-req/s")
			b.ReportMetric(sqlTime.Seconds()/uncachedTime.Seconds(), "ratio")
			b.ReportMetric(uncachedTime.Seconds()/cachedTime.Seconds(), "cache-ratio")
			b.ReportMetric(total/revalidateTime.Seconds(), "304-req/s")
			b.ReportMetric(uncachedTime.Seconds()/revalidateTime.Seconds(), "304-ratio")
			b.ReportMetric(benchP99(lat), "p99-ms")
			b.ReportMetric(benchP99(cachedLat), "cached-p99-ms")
			b.ReportMetric(float64(records), "records")
			b.ReportMetric(load.Seconds(), "load-s")
		})
	}
}

// benchTrendRevalidation returns a side that polls query as a dashboard
// behind a browser's or a CDN's cache does: a persisted GET (registered
// here, with its $from) sent with the ETag of its first answer in
// If-None-Match, each answered 304 Not Modified while the data has not
// moved.
func benchTrendRevalidation(ctx context.Context, client *http.Client, url, query, from string) (func() error, error) {
	sum := sha256.Sum256([]byte(query))
	ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`
	vars, err := json.Marshal(map[string]any{"from": from})
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"query": query, "variables": json.RawMessage(vars), "extensions": json.RawMessage(ext)})
	if err != nil {
		return nil, err
	}
	if _, err := benchPost(ctx, client, url, "", body); err != nil {
		return nil, err
	}
	get := url + "/graphql?extensions=" + neturl.QueryEscape(ext) + "&variables=" + neturl.QueryEscape(string(vars))
	do := func(tag string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, get, nil)
		if err != nil {
			return nil, err
		}
		if tag != "" {
			req.Header.Set("If-None-Match", tag)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, nil
	}
	first, err := do("")
	if err != nil {
		return nil, err
	}
	tag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || tag == "" {
		return nil, fmt.Errorf("a persisted GET: %d with ETag %q", first.StatusCode, tag)
	}
	return func() error {
		resp, err := do(tag)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusNotModified {
			return fmt.Errorf("If-None-Match with the answer's ETag: %d, want 304", resp.StatusCode)
		}
		return nil
	}, nil
}

// benchP99 is the 99th percentile of latencies, in milliseconds.
func benchP99(lat []time.Duration) float64 {
	slices.Sort(lat)
	return float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds()) / 1000
}

// benchTrendWant is what every side must answer: the bare aggregate's
// row count and attendees.
func benchTrendWant(ctx context.Context, pool *pgxpool.Pool, sql string) (trendAnswer, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return trendAnswer{}, err
	}
	defer rows.Close()
	var w trendAnswer
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return w, err
		}
		w.rows++
		w.attendees += vals[len(vals)-1].(int64)
	}
	return w, rows.Err()
}

func benchTrendGraphQL(ctx context.Context, client *http.Client, url string, body []byte, want trendAnswer) error {
	raw, err := benchPost(ctx, client, url, "", body)
	if err != nil {
		return err
	}
	var r struct {
		Data struct {
			ParticipationTrend []struct {
				Attendance int64
			}
		}
		Errors []json.RawMessage
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("%s", r.Errors[0])
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

// trendAnswer is what a right answer has: the bare aggregate's rows,
// adding up to its attendees (every attendee of the history, but for the
// top ten).
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
