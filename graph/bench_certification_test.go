package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/projections"
)

// benchRules are the rules of the benchmarks' cycles: four criteria on a
// scale of 0 to 10, two experts.
var benchRules = certification.Rules{
	Version: 1,
	Criteria: []certification.Criterion{
		{Code: "motivation", Name: domain.LocalizedText{Ka: "მოტივაცია", En: "Motivation"}, Weight: 2, ScaleMax: 10},
		{Code: "impact", Name: domain.LocalizedText{Ka: "გავლენა", En: "Impact"}, Weight: 3, ScaleMax: 10},
		{Code: "decisions", Name: domain.LocalizedText{Ka: "გადაწყვეტილებები", En: "Decisions"}, Weight: 2, ScaleMax: 10},
		{Code: "development", Name: domain.LocalizedText{Ka: "განვითარება", En: "Development"}, Weight: 3, ScaleMax: 10},
	},
	ExpertsRequired: 2, PassScore: 60, ValidityMonths: 12,
}

// benchCycle writes the cycle of year, and an application of each of
// municipalities through to its announced result (a certificate when the
// scores pass) straight to the store, as the workflow would have written
// them; revisions adds that many score revisions to each application
// before its decision. It returns the position of the last event.
func benchCycle(b *testing.B, e *env, year int, municipalities []string, revisions int, rng *rand.Rand) int64 {
	b.Helper()
	ctx := context.Background()
	repo := e.repo
	meta := domain.Meta{Actor: domain.Actor{ID: "system:bench", Role: domain.System}, Now: time.Now()}
	y := strconv.Itoa(year)
	opened := certification.CycleOpened{Year: year, Title: domain.LocalizedText{Ka: "სერტიფიცირება " + y, En: "Certification " + y},
		Schedule: certification.Schedule{CallOpens: y + "-02-01", ApplicationDeadline: y + "-03-31", QuestionnaireDeadline: y + "-04-15",
			ResultsDate: y + "-06-15", CeremonyDate: y + "-06-30"}, Rules: benchRules}
	res, err := repo.Save(ctx, certification.CycleStream(year), 0, meta, opened)
	if err != nil {
		b.Fatal(err)
	}
	last := res.LastID
	experts := []string{"key:expert-a", "key:expert-b"}
	for _, m := range municipalities {
		id := certification.ApplicationID(year, m)
		events := []domain.Event{
			certification.ApplicationDrafted{ID: id, Year: year, Municipality: m},
			certification.AnswersSaved{ID: id, Answers: map[string]string{"q1": "a civic budget since " + y, "q2": "projects chosen by vote"}},
			certification.ApplicationSubmitted{ID: id, On: y + "-03-20"},
			certification.ProcessStartConfirmed{ID: id},
			certification.CompletenessChecked{ID: id, Complete: true},
		}
		scores := certification.Scores{}
		for _, x := range experts {
			events = append(events, certification.ExpertAssigned{ID: id, Expert: x}, certification.ConflictOfInterestDeclared{ID: id, Expert: x})
			scores[x] = map[string]int{}
			for _, c := range benchRules.Criteria {
				v := 3 + rng.IntN(8)
				scores[x][c.Code] = v
				events = append(events, certification.ScoreRecorded{ID: id, Expert: x, Criterion: c.Code, Score: v, Rationale: "seen in the report", RulesVersion: 1})
			}
		}
		for i := range revisions {
			x, c := experts[i%2], benchRules.Criteria[i%len(benchRules.Criteria)].Code
			v := 3 + rng.IntN(8)
			scores[x][c] = v
			events = append(events, certification.ScoreRevised{ID: id, Expert: x, Criterion: c, Score: v, Rationale: "again", Reason: "new evidence", RulesVersion: 1})
		}
		rec := benchRules.Recommend(scores, experts)
		digest, err := certification.InputsDigest(benchRules, scores, experts)
		if err != nil {
			b.Fatal(err)
		}
		events = append(events,
			certification.DecisionTaken{ID: id, Certified: rec.Certify, RulesVersion: 1, Recommendation: rec, InputsDigest: digest,
				Recommendations: []domain.LocalizedText{{Ka: "გამოაქვეყნეთ შედეგები", En: "Publish the results"}}},
			certification.ResultAnnounced{ID: id, On: y + "-06-15"})
		if rec.Certify {
			events = append(events, certification.CertificateIssued{ID: id, Number: certification.CertificateNumber(year, m),
				ValidFrom: y + "-06-15", ValidUntil: strconv.Itoa(year+1) + "-06-14"},
				certification.CertificateAwarded{ID: id, On: y + "-06-30"})
		}
		res, err := repo.Save(ctx, certification.ApplicationStream(id), 0, meta, events...)
		if err != nil {
			b.Fatal(err)
		}
		last = res.LastID
	}
	pos, err := e.store.AwaitPosition(ctx, last)
	if err != nil {
		b.Fatal(err)
	}
	return pos
}

// BenchmarkCertificateRegistry measures the public certificate registry
// (a year's certificates with their municipalities) under 32 concurrent
// clients, in requests a second, against the same read-model call made
// directly (same SQL, same structs, a pool opened the same way), over
// seven cycles of 64 applications each. The sides take turns in ten
// rounds; b.N is the number of requests per side (use -benchtime 20000x).
// p99-ms is our latency's 99th percentile.
func BenchmarkCertificateRegistry(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(graph.GCPercent))
	e := newEnv(b, graph.WithoutAnswerCache(graph.Config{RatePerSecond: -1}))
	ctx := context.Background()
	var municipalities []string
	rows, err := e.db.Query(ctx, `SELECT code FROM rm.municipalities WHERE kind <> 'occupied' ORDER BY code`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			b.Fatal(err)
		}
		municipalities = append(municipalities, c)
	}
	if rows.Err() != nil || len(municipalities) != 64 {
		b.Fatalf("%d municipalities (%v), want 64", len(municipalities), rows.Err())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var head int64
	for year := 2019; year <= 2025; year++ {
		head = benchCycle(b, e, year, municipalities, 0, rng)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := e.runner.WaitFor(wctx, head, "certification"); err != nil {
		b.Fatal(err)
	}

	reads := &projections.Reads{DB: benchReadPool(b, e.db)}
	today := time.Now().In(domain.Tbilisi).Format("2006-01-02")
	filter := projections.CertificateFilter{Year: 2023}
	want, err := reads.Certificates(ctx, filter, today)
	if err != nil || len(want) < 10 {
		b.Fatalf("the 2023 registry has %d certificates (%v); want some", len(want), err)
	}
	body, err := json.Marshal(map[string]any{"query": `{ certificates(filter: {year: 2023}) {
		number year validFrom validUntil status municipality { code name { ka en } } recommendations { ka en } } }`})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}}
	b.Cleanup(client.CloseIdleConnections)
	ours := func() error { return benchCertificates(ctx, client, e.url, body, len(want)) }
	raw := func() error {
		certs, err := reads.Certificates(ctx, filter, today)
		if err == nil && len(certs) != len(want) {
			err = fmt.Errorf("%d certificates, want %d", len(certs), len(want))
		}
		return err
	}
	if err := ours(); err != nil {
		b.Fatal(err)
	}

	const rounds = 10
	perRound := max(b.N/rounds, 1)
	var oursT, rawT time.Duration
	var lat []time.Duration
	b.ResetTimer()
	for range rounds {
		d, _ := benchRun(b, perRound, raw)
		rawT += d
		d, l := benchRun(b, perRound, ours)
		oursT += d
		lat = append(lat, l...)
	}
	b.StopTimer()
	n := float64(rounds * perRound)
	b.ReportMetric(n/oursT.Seconds(), "req/s")
	b.ReportMetric(n/rawT.Seconds(), "sql-req/s")
	b.ReportMetric(rawT.Seconds()/oursT.Seconds(), "ratio")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(want)), "certificates")
}

// benchCertificates POSTs the registry query and checks the response
// has n certificates and no errors.
func benchCertificates(ctx context.Context, client *http.Client, url string, body []byte, n int) error {
	b, err := benchPost(ctx, client, url, "", body)
	if err != nil {
		return err
	}
	if got := bytes.Count(b, []byte(`"number":"CB-2023-`)); got != n {
		return fmt.Errorf("%d certificates, want %d: %.300s", got, n, b)
	}
	return nil
}

// BenchmarkReplayDecision measures replayDecision over HTTP, one request
// at a time as an auditor makes them, for an application of 200 events
// (its workflow and 180 score revisions), reporting the latency's 99th
// percentile, against the same work (reading the application's and its
// cycle's streams, checking each of their events against the chain, and
// the replay) called directly in the same run. b.N is the number of
// requests per side (use -benchtime 2000x).
func BenchmarkReplayDecision(b *testing.B) {
	// As civic serve runs the API.
	defer debug.SetGCPercent(debug.SetGCPercent(graph.GCPercent))
	e := newEnv(b, graph.WithoutAnswerCache(graph.Config{RatePerSecond: -1}))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	benchCycle(b, e, 2024, []string{"batumi"}, 180, rng)
	const id = "2024-batumi"
	stored, err := e.store.ReadStream(ctx, certification.ApplicationStream(id), eventstore.ReadOptions{})
	if err != nil || len(stored) < 200 {
		b.Fatalf("the application has %d events (%v); want at least 200", len(stored), err)
	}
	body, err := json.Marshal(map[string]any{"query": `{ replayDecision(applicationId: "` + id + `") {
		verdict problems recommendation { certify score } inputsDigest verification { intact events } } }`})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	b.Cleanup(client.CloseIdleConnections)
	key := e.keys[domain.Auditor]
	ours := func() error {
		out, err := benchPost(ctx, client, e.url, key, body)
		if err == nil && (!bytes.Contains(out, []byte(`"verdict":"FOLLOWED"`)) || !bytes.Contains(out, []byte(`"intact":true`))) {
			err = fmt.Errorf("not followed, or the log not intact: %.500s", out)
		}
		return err
	}
	direct := func() error {
		a, err := certification.AuditApplication(ctx, e.store, catalog.Types, id, certification.EventsOnly, 0)
		if err == nil && (a.Replay.Verdict != certification.Followed || a.Verification == nil || !a.Verification.Intact()) {
			err = fmt.Errorf("audit: %+v", a.Replay)
		}
		return err
	}
	if err := ours(); err != nil {
		b.Fatal(err)
	}

	var oursLat, directLat []time.Duration
	b.ResetTimer()
	for i := range 2 * b.N {
		f, lat := ours, &oursLat
		if i%2 == 1 {
			f, lat = direct, &directLat
		}
		t := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		*lat = append(*lat, time.Since(t))
	}
	b.StopTimer()
	p99 := func(l []time.Duration) time.Duration {
		slices.Sort(l)
		return l[min(len(l)*99/100, len(l)-1)]
	}
	po, pd := p99(oursLat), p99(directLat)
	b.ReportMetric(float64(po.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(pd.Microseconds())/1000, "direct-p99-ms")
	b.ReportMetric(float64(pd)/float64(po), "ratio")
	b.ReportMetric(float64(len(stored)), "events")
}
