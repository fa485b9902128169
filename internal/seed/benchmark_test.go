package seed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
	"unicode"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// inmemLedger reads the benchmark's figures from an inmem store's events,
// as projections.Reads reads them from the read models, for a test that
// loads the registry and nothing else: a budget held or a certificate is
// 0 when its cycle's stream does not exist, a count is 0 when no event of
// its kind exists, and what would be counted of such events is no data.
// Where events it cannot count exist, it fails rather than guess.
type inmemLedger struct{ store *inmem.Store }

func (l inmemLedger) Figure(ctx context.Context, f benchmark.Figure, municipality string, year int) (benchmark.Reading, error) {
	head, err := l.store.Head(ctx)
	if err != nil {
		return benchmark.Reading{}, err
	}
	exists := func(stream string) (bool, error) {
		es, err := l.store.ReadStream(ctx, stream, eventstore.ReadOptions{Limit: 1})
		return len(es) > 0, err
	}
	some := func(category string) (bool, error) {
		es, err := l.store.ReadCategory(ctx, category, 0, 1)
		return len(es) > 0, err
	}
	var (
		source string
		found  bool
	)
	switch f {
	case benchmark.BudgetHeld, benchmark.BudgetTurnout, benchmark.BudgetPerCapita:
		source = budgeting.CycleStream(budgeting.CycleID(municipality, year))
		found, err = exists(source)
	case benchmark.Certified, benchmark.CertificationScore:
		source = certification.CycleStream(year)
		found, err = exists(source)
	case benchmark.ActivitiesHeld, benchmark.Attendance, benchmark.WomenShare, benchmark.MinorityShare:
		source = "category activity"
		found, err = some("activity")
	case benchmark.Memberships:
		source = "category network"
		found, err = some("network")
	default:
		return benchmark.Reading{}, fmt.Errorf("no figure %q", f)
	}
	if err != nil {
		return benchmark.Reading{}, err
	}
	if found {
		return benchmark.Reading{}, fmt.Errorf("figure %s: the test's ledger does not count the events of %s", f, source)
	}
	r := benchmark.Reading{Query: fmt.Sprintf("inmem: no events in %s, at the log's head", source), Position: head}
	switch f {
	case benchmark.BudgetHeld, benchmark.Certified, benchmark.ActivitiesHeld, benchmark.Memberships:
		zero := 0.0
		r.Value = &zero
	}
	return r, nil
}

func TestBenchmarkMethod(t *testing.T) {
	m := LSGIMethod()
	if err := m.Validate("method"); err != nil {
		t.Fatal(err)
	}
	computed := 0
	for _, ind := range m.Indicators {
		if ind.Computed != "" {
			computed++
		}
		georgian := slices.ContainsFunc([]rune(ind.Question.Ka), func(r rune) bool { return unicode.In(r, unicode.Georgian) })
		if !georgian || ind.Question.En == "" {
			t.Errorf("%s: question %+v; want Georgian and English", ind.Code, ind.Question)
		}
	}
	if n := len(m.Indicators); n < 55 || n > 65 || computed != 7 {
		t.Errorf("%d indicators, %d computed; want about 60, 7 computed", n, computed)
	}
}

// TestBenchmark loads the demo benchmark through the service over the
// registry alone: the ledger has no budgets, activities, certificates or
// memberships, so the computed indicators read 0 or no data, and the
// judged ones carry the published figures on their own.
func TestBenchmark(t *testing.T) {
	ctx := t.Context()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	if _, err := Registry(ctx, &registry.Service{Repo: repo}, meta); err != nil {
		t.Fatal(err)
	}
	svc := &benchmark.Service{Repo: repo, Ledger: inmemLedger{store}}
	start := time.Now()
	rep, err := Benchmark(ctx, svc)
	if err != nil {
		t.Fatalf("Benchmark: %v", err)
	}
	head, _ := store.Head(ctx)
	t.Logf("loaded %+v in %v (log head %d)", rep, time.Since(start).Round(time.Millisecond), head)
	// 61 indicators, 11 of both bodies: 72 scores a municipality.
	if want := (BenchmarkReport{Methods: 1, Rounds: 3, Scores: 3 * 64 * 72, Contests: 18, Plans: 13}); rep.Methods != want.Methods ||
		rep.Rounds != want.Rounds || rep.Scores != want.Scores || rep.Contests != want.Contests || rep.Plans != want.Plans || rep.Reports < 2*2*13 {
		t.Errorf("loaded %+v; want %+v and two reports a commitment at least", rep, want)
	}

	results := map[string][]benchmark.Published{}
	for _, id := range []string{"2021", "2023", "2025"} {
		var r benchmark.Round
		if _, err := repo.Load(ctx, benchmark.RoundStream(id), &r); err != nil {
			t.Fatal(err)
		}
		if r.Published() == nil || len(r.Published().Results) != 64 {
			t.Fatalf("round %s: published %v", id, r.Published())
		}
		results[id] = r.Published().Results
	}
	avg := func(id, block string) float64 {
		sum, n := 0.0, 0
		for _, p := range results[id] {
			x := p.Total
			if block != "" {
				x = p.Blocks[block]
			}
			if x != nil {
				sum += *x
				n++
			}
		}
		return sum / float64(n)
	}
	near := func(what string, got, want, within float64) {
		t.Helper()
		if math.Abs(got-want) > within {
			t.Errorf("%s = %.2f, want %g ± %g", what, got, want, within)
		} else {
			t.Logf("%s = %.2f (want %g ± %g)", what, got, want, within)
		}
	}

	// The published index's 2021: the average, the best and the worst.
	near("2021 average total", avg("2021", ""), 28, 1)
	best, worst := results["2021"][0], results["2021"][0]
	partial := 0
	for _, p := range results["2021"] {
		if *p.Total > *best.Total {
			best = p
		}
		if *p.Total < *worst.Total {
			worst = p
		}
		if p.Coverage < 1 {
			partial++
		}
	}
	if best.Municipality != "poti" || worst.Municipality != "adigeni" {
		t.Errorf("2021: best %s (%.2f), worst %s (%.2f); want poti and adigeni", best.Municipality, *best.Total, worst.Municipality, *worst.Total)
	}
	near("2021 Poti", *best.Total, 70, 1)
	near("2021 Adigeni", *worst.Total, 4, 1)
	// Every municipality lacks the figures the ledger has no events for;
	// some small ones miss judged answers too.
	if partial != 64 {
		t.Errorf("%d municipalities with coverage under 1 in 2021, want all 64 (the budget's turnout and the attendance are no data)", partial)
	}
	missing := 0
	for _, m := range mustMunicipalities(t) {
		if m.Kind == registry.OccupiedMunicipality {
			continue
		}
		for k, v := range values(t, repo, "2021", m.Code) {
			if v == nil && lsgiIndicators[slices.IndexFunc(lsgiIndicators, func(i lsgiIndicator) bool { return i.code == k.indicator })].computed == "" {
				missing++
				if m.Population2014 == nil || *m.Population2014 >= 20000 {
					t.Errorf("%s (population %v): %s of the %s is no data; only small municipalities miss answers", m.Code, m.Population2014, k.indicator, k.body)
				}
			}
		}
	}
	if missing == 0 {
		t.Error("no judged indicator is no data in 2021; want a few in small municipalities")
	}
	// And its block averages, 2021 and 2023.
	for _, f := range []struct {
		block          string
		in2021, in2023 float64
	}{{"publication", 27, 34}, {"e-governance", 32, 38}, {"participation", 23, 20}} {
		near("2021 "+f.block, avg("2021", f.block), f.in2021, 2)
		near("2023 "+f.block, avg("2023", f.block), f.in2023, 2)
	}
	if a, b := avg("2023", ""), avg("2025", ""); b <= a || b > a+8 {
		t.Errorf("average total 2023 %.2f, 2025 %.2f; want modest growth", a, b)
	}

	// Every published score is recomputed from its events as published.
	for id := range results {
		for _, p := range results[id] {
			rp, err := svc.ReplayScore(ctx, id, p.Municipality)
			if err != nil || rp.Verdict != benchmark.Followed {
				t.Errorf("replay of %s in %s: %s %q, %v", p.Municipality, id, rp.Verdict, rp.Problems, err)
			}
		}
	}

	// The computed indicators read the ledger: no budget was held (0),
	// and there is no turnout of one (no data, not 0).
	var poti benchmark.Scorecard
	if _, err := repo.Load(ctx, benchmark.ScorecardStream("2021", "poti"), &poti); err != nil {
		t.Fatal(err)
	}
	for _, v := range poti.AtPublication() {
		switch v.Indicator {
		case "budget-held":
			if v.Value == nil || *v.Value != 0 {
				t.Errorf("Poti's budget-held %v, want 0", v.Value)
			}
		case "budget-turnout":
			if v.Value != nil {
				t.Errorf("Poti's budget-turnout %v, want no data", *v.Value)
			}
		}
	}

	// A plan for each municipality of Adjara, Guria and Shida Kartli,
	// with its reports; the indicators committed to move up by 2025.
	statuses := map[benchmark.ProgressStatus]int{}
	up, same := 0, 0
	for _, row := range mustMunicipalities(t) {
		if !slices.Contains([]string{"adjara", "guria", "shida-kartli"}, row.Region) || row.Kind == registry.OccupiedMunicipality {
			continue
		}
		id := benchmark.PlanID("2023", row.Code)
		events, err := store.ReadStream(ctx, benchmark.PlanStream(id), eventstore.ReadOptions{})
		if err != nil || len(events) == 0 {
			t.Errorf("%s: no plan (%v)", row.Code, err)
			continue
		}
		e, err := repo.Types.Decode(events[0])
		if err != nil {
			t.Fatal(err)
		}
		plan, ok := e.(benchmark.PlanAdopted)
		if !ok || len(plan.Commitments) < 2 || len(plan.Commitments) > 4 {
			t.Errorf("%s: plan %+v; want 2-4 commitments", row.Code, e)
			continue
		}
		reported := map[string]bool{}
		for _, ev := range events[1:] {
			e, err := repo.Types.Decode(ev)
			if err != nil {
				t.Fatal(err)
			}
			p := e.(benchmark.PlanProgressReported)
			reported[p.Commitment] = true
			statuses[p.Status]++
		}
		before, after := values(t, repo, "2023", row.Code), values(t, repo, "2025", row.Code)
		for _, c := range plan.Commitments {
			if !reported[c.Code] {
				t.Errorf("%s: commitment %s has no report", row.Code, c.Code)
			}
			for _, ind := range c.Indicators {
				for k, a := range after {
					if k.indicator != ind {
						continue
					}
					b := before[k]
					switch {
					case a == nil || b != nil && *a < *b:
						t.Errorf("%s: %s of the %s went from %v to %v", row.Code, ind, k.body, show(b), show(a))
					case b == nil || *a > *b:
						up++
					default:
						same++
					}
				}
			}
		}
	}
	if statuses[benchmark.Completed] == 0 || statuses[benchmark.Delayed] == 0 || up < 3*same {
		t.Errorf("reports %v, committed indicators up %d, same %d; want some completed and some delayed, most up", statuses, up, same)
	}

	again, err := Benchmark(ctx, svc)
	if head2, _ := store.Head(ctx); err != nil || again != (BenchmarkReport{}) || head2 != head {
		t.Errorf("a second load = %+v, %v, log head %d → %d; want nothing", again, err, head, head2)
	}
}

func mustMunicipalities(t *testing.T) []registry.RegisterMunicipality {
	t.Helper()
	rows, err := readEmbedded(municipalitiesFile, readMunicipalities)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]registry.RegisterMunicipality, len(rows))
	for i, r := range rows {
		out[i] = r.cmd
	}
	return out
}

// values are a municipality's published values in a round.
func values(t *testing.T, repo *domain.Repository, round, code string) map[benchKey]*float64 {
	t.Helper()
	var sc benchmark.Scorecard
	if _, err := repo.Load(t.Context(), benchmark.ScorecardStream(round, code), &sc); err != nil {
		t.Fatal(err)
	}
	out := map[benchKey]*float64{}
	for _, v := range sc.AtPublication() {
		out[benchKey{v.Indicator, v.Body}] = v.Value
	}
	return out
}

func show(x *float64) string {
	if x == nil {
		return "no data"
	}
	return fmt.Sprintf("%g", *x)
}
