package projections

import (
	"context"
	"fmt"
	"slices"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/jackc/pgx/v5"
)

// BenchmarkTrendQuery asks for municipalities' paths over published
// rounds: those Filter keeps (all of a round's when it keeps all), over
// Rounds (every published round when empty).
type BenchmarkTrendQuery struct {
	Rounds []string
	Filter ResultFilter
}

// BenchmarkTrendRow is a municipality's published result in one round,
// with its overall rank among all the round's municipalities.
type BenchmarkTrendRow struct {
	Round         string
	Year          int
	MethodVersion int
	Rank          int
	BenchmarkResult
}

// BenchmarkTrend returns municipalities' published totals, blocks and
// ranks round by round, by year then municipality. A rank is always among
// the whole round, whatever the filter keeps, so a region's path reads
// against the country.
func (q *Reads) BenchmarkTrend(ctx context.Context, tq BenchmarkTrendQuery) ([]BenchmarkTrendRow, error) {
	rounds, err := q.BenchmarkRounds(ctx)
	if err != nil {
		return nil, err
	}
	for i, id := range tq.Rounds {
		if !slices.ContainsFunc(rounds, func(r BenchmarkRound) bool { return r.ID == id }) {
			return nil, domain.InvalidField(fmt.Sprintf("rounds[%d]", i), "%q is not a benchmark round", id)
		}
	}
	var ids []string
	byID := map[string]BenchmarkRound{}
	for _, r := range rounds {
		if r.Published() && (len(tq.Rounds) == 0 || slices.Contains(tq.Rounds, r.ID)) {
			ids = append(ids, r.ID)
			byID[r.ID] = r
		}
	}
	var out []BenchmarkTrendRow
	if len(ids) == 0 {
		return out, nil
	}
	all, err := q.results(ctx, ids, ResultFilter{})
	if err != nil {
		return nil, err
	}
	kept := all
	if tq.Filter.Region != "" || tq.Filter.Municipalities != nil || tq.Filter.Certified != nil || tq.Filter.EverCertified != nil {
		if kept, err = q.results(ctx, ids, tq.Filter); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		r := byID[id]
		m, err := q.BenchmarkMethodVersion(ctx, r.MethodVersion)
		if err != nil || m == nil {
			return nil, fmt.Errorf("benchmark round %s: method %d: %v", r.ID, r.MethodVersion, err)
		}
		keep := map[string]bool{}
		for _, k := range kept[id] {
			keep[k.Municipality] = true
		}
		for _, row := range rank(m.Method, RankingQuery{}, all[id]) {
			if keep[row.Municipality] {
				out = append(out, BenchmarkTrendRow{Round: r.ID, Year: r.Year, MethodVersion: r.MethodVersion, Rank: row.Result.Rank, BenchmarkResult: row.BenchmarkResult})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b BenchmarkTrendRow) int {
		if a.Year != b.Year {
			return a.Year - b.Year
		}
		if a.Round != b.Round {
			if a.Round < b.Round {
				return -1
			}
			return 1
		}
		if a.Municipality < b.Municipality {
			return -1
		}
		if a.Municipality > b.Municipality {
			return 1
		}
		return 0
	})
	return out, nil
}

// Comparison is municipalities side by side in a published round: their
// places in the overall ranking and every indicator's value.
type Comparison struct {
	Round  BenchmarkRound
	Method benchmark.Method
	Rows   []RankingRow
	// Values are by indicator and body, then municipality; a missing
	// municipality was not scored on it.
	Values map[[2]string]map[string]*float64
}

// Compare sets municipalities of a published round side by side.
func (q *Reads) Compare(ctx context.Context, round string, municipalities []string) (*Comparison, error) {
	rk, err := q.Ranking(ctx, RankingQuery{Round: round})
	if err != nil {
		return nil, err
	}
	for i, m := range municipalities {
		if !slices.Contains(rk.Round.Municipalities, m) {
			return nil, domain.InvalidField(fmt.Sprintf("municipalities[%d]", i), "%q is not in round %s", m, round)
		}
	}
	c := &Comparison{Round: rk.Round, Method: rk.Method, Values: map[[2]string]map[string]*float64{}}
	for _, r := range rk.Rows {
		if slices.Contains(municipalities, r.Municipality) {
			c.Rows = append(c.Rows, r)
		}
	}
	rows, err := q.DB.Query(ctx, `SELECT indicator, body, municipality, value FROM rm.benchmark_scores
		WHERE round = $1 AND municipality = ANY($2) AND scored`, round, municipalities)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	var ind, body, muni string
	var v *float64
	if _, err := pgx.ForEachRow(rows, []any{&ind, &body, &muni, &v}, func() error {
		k := [2]string{ind, body}
		if c.Values[k] == nil {
			c.Values[k] = map[string]*float64{}
		}
		c.Values[k][muni] = v
		return nil
	}); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	return c, nil
}

// Pairs lists the method's indicators as they apply to each body, in the
// method's order: the rows of a comparison.
func (c *Comparison) Pairs() [][2]string {
	var out [][2]string
	for _, p := range pairsOf(c.Method) {
		out = append(out, [2]string{p.indicator, string(p.body)})
	}
	return out
}

// ActionPlan is a municipality's action plan with its progress reports.
type ActionPlan struct {
	ID           string
	Round        string
	Municipality string
	Title        domain.LocalizedText
	AdoptedOn    string
	Commitments  []benchmark.Commitment
	// Reports are oldest first.
	Reports []PlanReport
}

// PlanReport is a progress report on a commitment.
type PlanReport struct {
	Commitment string
	Milestone  string
	Status     benchmark.ProgressStatus
	Progress   int
	Note       string
	ReportedOn string
}

// PlanFilter narrows the action plans ("" matches anything).
type PlanFilter struct {
	Municipality, Round, Region string
}

// ActionPlans returns the action plans f keeps, by municipality and
// round, with their reports.
func (q *Reads) ActionPlans(ctx context.Context, f PlanFilter) ([]ActionPlan, error) {
	rows, err := q.DB.Query(ctx, `SELECT p.id, p.round, p.municipality, p.title_ka, p.title_en, p.adopted_on::text, p.commitments
		FROM rm.benchmark_plans p LEFT JOIN rm.municipalities m ON m.code = p.municipality
		WHERE ($1 = '' OR p.municipality = $1) AND ($2 = '' OR p.round = $2) AND ($3 = '' OR m.region = $3)
		ORDER BY p.municipality, p.round`, f.Municipality, f.Round, f.Region)
	if err != nil {
		return nil, fmt.Errorf("action plans: %w", err)
	}
	plans, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ActionPlan, error) {
		var p ActionPlan
		err := r.Scan(&p.ID, &p.Round, &p.Municipality, &p.Title.Ka, &p.Title.En, &p.AdoptedOn, &p.Commitments)
		return p, err
	})
	if err != nil || len(plans) == 0 {
		return plans, err
	}
	ids := make([]string, len(plans))
	at := map[string]int{}
	for i, p := range plans {
		ids[i], at[p.ID] = p.ID, i
	}
	rows, err = q.DB.Query(ctx, `SELECT plan, commitment, milestone, status, progress, note, reported_on::text
		FROM rm.benchmark_plan_reports WHERE plan = ANY($1) ORDER BY position`, ids)
	if err != nil {
		return nil, fmt.Errorf("plan reports: %w", err)
	}
	var plan string
	var rep PlanReport
	if _, err := pgx.ForEachRow(rows, []any{&plan, &rep.Commitment, &rep.Milestone, &rep.Status, &rep.Progress, &rep.Note, &rep.ReportedOn}, func() error {
		plans[at[plan]].Reports = append(plans[at[plan]].Reports, rep)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("plan reports: %w", err)
	}
	return plans, nil
}

// ActionPlan returns plan id, nil when there is none.
func (q *Reads) ActionPlan(ctx context.Context, id string) (*ActionPlan, error) {
	var muni, round string
	err := q.DB.QueryRow(ctx, `SELECT municipality, round FROM rm.benchmark_plans WHERE id = $1`, id).Scan(&muni, &round)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("action plan: %w", err)
	}
	plans, err := q.ActionPlans(ctx, PlanFilter{Municipality: muni, Round: round})
	if err != nil || len(plans) == 0 {
		return nil, err
	}
	return &plans[0], nil
}

// PlanIndicators are a plan's indicators' values in its round (Before)
// and in the next published round (After), by indicator and body: the
// progress a commitment shows beside its indicators' change.
type PlanIndicators struct {
	NextRound     string
	Before, After map[[2]string]*float64
}

// PlanIndicatorValues returns the values a plan's commitments are judged
// by.
func (q *Reads) PlanIndicatorValues(ctx context.Context, p *ActionPlan) (*PlanIndicators, error) {
	r, err := q.BenchmarkRound(ctx, p.Round)
	if err != nil || r == nil {
		return nil, err
	}
	out := &PlanIndicators{After: map[[2]string]*float64{}}
	if out.Before, err = q.values(ctx, p.Round, p.Municipality); err != nil {
		return nil, err
	}
	next, err := q.nextRound(ctx, r)
	if err != nil {
		return nil, err
	}
	if next != nil {
		out.NextRound = next.ID
		if out.After, err = q.values(ctx, next.ID, p.Municipality); err != nil {
			return nil, err
		}
	}
	return out, nil
}
