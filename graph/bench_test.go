package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/projections"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The benchmarks measure the API against the same database work done
// straight through pgx in the same run, and report both rates and their
// ratio: the machines are noisy, ratios much less so. testdb runs them on a
// cluster with durable (production) settings. See docs/PERFORMANCE.md.

// benchListQuery is the list a dashboard shows: a page of organisations
// with their region and municipality, as an anonymous caller asks for it.
const benchListQuery = `{ organisations(first: 50) { edges { node { id name { ka en } kind region { code name { ka en } } municipality { code name { ka en } } } } } }`

// benchMeta is the platform writing the benchmarks' data.
var benchMeta = domain.Meta{Actor: domain.Actor{ID: "system:bench", Role: domain.System}, Now: time.Now()}

// benchClients is the number of concurrent clients on each side.
const benchClients = 32

// BenchmarkListQuery measures benchListQuery under 32 concurrent clients,
// in requests a second, against the same database work run directly.
//
//   - Ours: 32 goroutines POSTing the query over HTTP to newEnv's server
//     (rate limiting off), anonymously, on keep-alive connections; each
//     response is checked (HTTP 200, no errors, 50 edges, each with its
//     region and municipality).
//
//   - Baseline (sql): 32 goroutines running what the query's resolvers run
//     against the read models, without GraphQL or HTTP: the page query of
//     projections.Reads.Organisations, which joins each organisation's
//     region and municipality, through the same method, so the same SQL
//     scanned into the same structs. It uses a read
//     pool opened like newEnv's (same URL, read-only sessions with the same
//     statement timeout, pgxpool's default size), so both sides have the
//     same number of database connections.
//
//   - Without the policy: the same as ours, against a second server over
//     the same database and services built without the visibility policy
//     (graph.WithoutPolicy), which nothing but this benchmark builds.
//
//   - Cached: the same as ours, against a server as civic serve builds
//     it, with its anonymous answer cache, which answers every request
//     after the first from memory (cached-req/s). Ours and the policy's
//     side are built without it (graph.WithoutAnswerCache): they measure
//     the GraphQL layer running the query.
//
// The sides take turns in ten rounds so that drift in the machine hits them
// alike. b.N is the number of requests per side (use -benchtime 20000x).
// ratio = our requests a second / the baseline's: the share of the bare
// database work's throughput the GraphQL layer keeps; policy-ratio = ours /
// without the policy: what asking the domain's rules for every field
// costs. p99-ms is the 99th percentile of our request latency as the
// clients see it.
func BenchmarkListQuery(b *testing.B) {
	// As civic serve runs the API.
	defer debug.SetGCPercent(debug.SetGCPercent(graph.GCPercent))
	e := newEnv(b, graph.WithoutAnswerCache(graph.Config{RatePerSecond: -1}))
	ctx := context.Background()
	const orgs = 2000
	benchRegister(b, e, orgs)

	reads := benchReadPool(b, e.db)
	q := &projections.Reads{DB: reads}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}}
	b.Cleanup(client.CloseIdleConnections)
	body, err := json.Marshal(map[string]any{"query": benchListQuery})
	if err != nil {
		b.Fatal(err)
	}

	open := e.serve(graph.WithoutAnswerCache(graph.WithoutPolicy(graph.Config{RatePerSecond: -1})))
	cached := e.serve(graph.Config{RatePerSecond: -1})
	// One request of each side before the clock starts, to check both work
	// and warm the connections and the server's query cache.
	if err := benchGraphQL(ctx, client, e.url, body); err != nil {
		b.Fatal(err)
	}
	if err := benchGraphQL(ctx, client, open, body); err != nil {
		b.Fatal(err)
	}
	if err := benchSQL(ctx, q); err != nil {
		b.Fatal(err)
	}
	if err := benchGraphQL(ctx, client, cached, body); err != nil {
		b.Fatal(err)
	}

	const rounds = 10
	perRound := max(b.N/rounds, 1)
	var ours, raw, unpoliced, answered time.Duration
	var lat []time.Duration
	b.ResetTimer()
	for range rounds {
		d, _ := benchRun(b, perRound, func() error { return benchSQL(ctx, q) })
		raw += d
		d, l := benchRun(b, perRound, func() error { return benchGraphQL(ctx, client, e.url, body) })
		ours += d
		lat = append(lat, l...)
		d, _ = benchRun(b, perRound, func() error { return benchGraphQL(ctx, client, open, body) })
		unpoliced += d
		d, _ = benchRun(b, perRound, func() error { return benchGraphQL(ctx, client, cached, body) })
		answered += d
	}
	b.StopTimer()
	n := float64(rounds * perRound)
	ourRate, rawRate, openRate := n/ours.Seconds(), n/raw.Seconds(), n/unpoliced.Seconds()
	b.ReportMetric(ourRate, "req/s")
	b.ReportMetric(rawRate, "sql-req/s")
	b.ReportMetric(ourRate/rawRate, "ratio")
	b.ReportMetric(openRate, "nopolicy-req/s")
	b.ReportMetric(ourRate/openRate, "policy-ratio")
	b.ReportMetric(n/answered.Seconds(), "cached-req/s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds())/1000, "p99-ms")
}

// benchRegister appends n organisation registrations through the domain's
// repository, spread over the municipalities, each contact person's
// details sealed as the domain stores them, and waits until the
// organisations read model holds them all.
func benchRegister(b *testing.B, e *env, n int) {
	b.Helper()
	ctx := context.Background()
	rows, err := e.db.Query(ctx, `SELECT code, region FROM rm.municipalities ORDER BY code`)
	if err != nil {
		b.Fatal(err)
	}
	type place struct{ municipality, region string }
	places, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (place, error) {
		var p place
		err := r.Scan(&p.municipality, &p.region)
		return p, err
	})
	if err != nil || len(places) != 69 {
		b.Fatalf("%d municipalities (%v), want 69", len(places), err)
	}
	var next atomic.Int64
	var mu sync.Mutex
	var last []eventstore.ID
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var id eventstore.ID
			defer func() {
				mu.Lock()
				last = append(last, id)
				mu.Unlock()
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() != nil {
					return
				}
				p := places[i%len(places)]
				ev := registry.OrganisationRegistered{
					ID:   eventstore.NewID().String(),
					Kind: registry.OrganisationKinds[i%len(registry.OrganisationKinds)],
					Name: domain.LocalizedText{
						Ka: fmt.Sprintf("სამოქალაქო ინტეგრაციის ფონდი %d", i),
						En: fmt.Sprintf("Civic Integration Foundation %d", i),
					},
					LegalForm: "non-commercial legal entity", Region: p.region, Municipality: p.municipality,
					Contact: registry.Contact{Email: fmt.Sprintf("info@org%d.example.ge", i), Phone: "+995 32 200 00 00", Person: "ნინო ბერიძე"},
					Website: fmt.Sprintf("https://org%d.example.ge", i), Founded: "2005-03-01",
				}
				res, err := e.repo.Save(ctx, registry.OrganisationStream(ev.ID), 0, benchMeta, ev)
				if err != nil {
					failed.Store(&err)
					return
				}
				id = res.LastID
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("append: %v", *err)
	}
	var head int64
	for _, id := range last {
		if id.IsZero() {
			continue
		}
		pos, err := e.store.AwaitPosition(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		head = max(head, pos)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := e.runner.WaitFor(wctx, head, "organisations"); err != nil {
		b.Fatalf("organisations did not catch up: %v", err)
	}
	var count int
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM rm.organisations`).Scan(&count); err != nil || count != n {
		b.Fatalf("rm.organisations holds %d organisations (%v), want %d", count, err, n)
	}
}

// benchReadPool opens a pool like newEnv's read pool: the same database,
// read-only sessions, the same statement timeout, the default size.
func benchReadPool(b *testing.B, db *pgxpool.Pool) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(db.Config().ConnString())
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "5000"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// benchResponse is as much of the list's response as the check needs.
type benchResponse struct {
	Data struct {
		Organisations struct {
			Edges []struct {
				Node struct {
					ID           string `json:"id"`
					Region       *struct{ Code string }
					Municipality *struct{ Code string }
				}
			}
		}
	}
	Errors []json.RawMessage
}

// benchGraphQL POSTs the list query and checks the response.
//
// A load generator's job is to make load, so it checks most responses as
// cheaply as wrk would (status, no errors, 50 nodes each with a region and
// a municipality, by counting), and decodes every fiftieth in full.
func benchGraphQL(ctx context.Context, client *http.Client, url string, body []byte) error {
	b, err := benchPost(ctx, client, url, "", body)
	if err != nil {
		return err
	}
	if benchChecked.Add(1)%50 != 0 {
		if n, r, m := bytes.Count(b, []byte(`"node":{"id":"`)), bytes.Count(b, []byte(`"region":{"code":"`)), bytes.Count(b, []byte(`"municipality":{"code":"`)); n != 50 || r != 50 || m != 50 {
			return fmt.Errorf("%d nodes, %d regions, %d municipalities, want 50 each: %.500s", n, r, m, b)
		}
		return nil
	}
	var r benchResponse
	if err := json.Unmarshal(b, &r); err != nil || len(r.Errors) > 0 {
		return fmt.Errorf("%v: %.500s", err, b)
	}
	edges := r.Data.Organisations.Edges
	if len(edges) != 50 {
		return fmt.Errorf("%d edges, want 50: %.500s", len(edges), b)
	}
	for _, e := range edges {
		if n := e.Node; n.ID == "" || n.Region == nil || n.Region.Code == "" || n.Municipality == nil || n.Municipality.Code == "" {
			return fmt.Errorf("an edge without its id, region or municipality: %.500s", b)
		}
	}
	return nil
}

// benchPost POSTs a GraphQL request (with key, unless "") and returns the
// response, or an error unless it is a 200 without errors.
func benchPost(ctx context.Context, client *http.Client, url, key string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"errors"`)) {
		return nil, fmt.Errorf("status %d: %.500s", resp.StatusCode, b)
	}
	return b, nil
}

// benchChecked counts responses, so that every fiftieth is decoded.
var benchChecked atomic.Int64

// benchSQL does the list's database work, as the API does it: the page of
// organisations joined with their regions and municipalities.
func benchSQL(ctx context.Context, q *projections.Reads) error {
	page, err := q.Organisations(ctx, projections.OrganisationFilter{}, projections.Page{First: 50})
	if err != nil {
		return err
	}
	if len(page.Nodes) != 50 {
		return fmt.Errorf("%d organisations, want 50", len(page.Nodes))
	}
	for _, o := range page.Nodes {
		if o.Region == nil || o.Municipality == nil {
			return fmt.Errorf("organisation %s without its region or municipality", o.ID)
		}
	}
	return nil
}

// benchRun runs do n times on benchClients goroutines, and returns the
// elapsed time and each call's latency. It fails the benchmark on the first
// error, after counting how many calls failed.
func benchRun(b *testing.B, n int, do func() error) (time.Duration, []time.Duration) {
	b.Helper()
	var next, failures atomic.Int64
	var first atomic.Pointer[error]
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t := time.Now()
				if err := do(); err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, &err)
					continue
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := first.Load(); err != nil {
		b.Fatalf("%d of %d requests failed, the first: %v", failures.Load(), n, *err)
	}
	return elapsed, lat
}

// benchAgainst runs ours against two baselines, the bare SQL and the
// API's own statements, in ten alternating rounds of b.N/10 requests from
// benchClients clients each, and reports the rates, ratio = ours / sql,
// api-ratio = ours / api-sql, and our p99.
func benchAgainst(b *testing.B, bare, api, ours func() error) {
	const rounds = 10
	perRound := max(b.N/rounds, 1)
	var ourTime, sqlTime, apiTime time.Duration
	var lat []time.Duration
	for range rounds {
		d, _ := benchRun(b, perRound, bare)
		sqlTime += d
		d, _ = benchRun(b, perRound, api)
		apiTime += d
		d, l := benchRun(b, perRound, ours)
		ourTime += d
		lat = append(lat, l...)
	}
	b.StopTimer()
	n := float64(rounds * perRound)
	ourRate, sqlRate, apiRate := n/ourTime.Seconds(), n/sqlTime.Seconds(), n/apiTime.Seconds()
	b.ReportMetric(ourRate, "req/s")
	b.ReportMetric(sqlRate, "sql-req/s")
	b.ReportMetric(apiRate, "api-sql-req/s")
	b.ReportMetric(ourRate/sqlRate, "ratio")
	b.ReportMetric(ourRate/apiRate, "api-ratio")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds())/1000, "p99-ms")
}
