package projections

import (
	"context"
	"fmt"
	"math"

	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/jackc/pgx/v5"
)

// figureSQL is each figure's query over the read models, $1 the
// municipality and $2 the year, answering one number or NULL for no data,
// with the read models it reads. The query is recorded with the score, so
// it says exactly what the figure is; projections' tests hold each to a
// plain query over the events.
var figureSQL = map[benchmark.Figure]struct {
	sql   string
	reads []string
}{
	benchmark.BudgetHeld: {`SELECT CASE WHEN EXISTS (SELECT FROM rm.budget_cycles WHERE municipality = $1 AND year = $2 AND unit = '')
		THEN 1 ELSE 0 END::float8`, []string{"budgeting"}},
	benchmark.BudgetTurnout: {`SELECT CASE WHEN count(DISTINCT c.id) = 0 THEN NULL
		ELSE round(1000 * coalesce(sum(t.voters), 0)::numeric / nullif((SELECT population_2014 FROM rm.municipalities WHERE code = $1), 0), 2)::float8 END
		FROM rm.budget_cycles c LEFT JOIN rm.budget_turnout t ON t.cycle = c.id
		WHERE c.municipality = $1 AND c.year = $2 AND c.unit = ''`, []string{"budgeting", "places"}},
	benchmark.BudgetPerCapita: {`SELECT CASE WHEN count(*) = 0 THEN NULL
		ELSE round(sum(total_minor)::numeric / 100 / nullif((SELECT population_2014 FROM rm.municipalities WHERE code = $1), 0), 2)::float8 END
		FROM rm.budget_cycles WHERE municipality = $1 AND year = $2 AND unit = '' AND currency = 'GEL'`, []string{"budgeting", "places"}},
	benchmark.Certified: {`SELECT CASE WHEN ` + fmt.Sprintf(certifiedIn, "$1", "$2::int", "$2::int", "$2::int") + ` THEN 1 ELSE 0 END::float8`,
		[]string{"certification"}},
	benchmark.CertificationScore: {`SELECT round(max(recommendation_score)::numeric, 2)::float8 FROM rm.cert_applications
		WHERE municipality = $1 AND year = $2 AND certified IS NOT NULL AND recommendation_score IS NOT NULL`, []string{"certification"}},
	benchmark.ActivitiesHeld: {`SELECT count(*)::float8 FROM rm.activities WHERE municipality = $1 AND year = $2 AND status = 'held'`,
		[]string{"activities"}},
	benchmark.Attendance: {`SELECT CASE WHEN count(*) = 0 THEN NULL
		ELSE round(1000 * sum(total)::numeric / nullif((SELECT population_2014 FROM rm.municipalities WHERE code = $1), 0), 2)::float8 END
		FROM rm.participation WHERE municipality = $1 AND year = $2`, []string{"activities", "places"}},
	benchmark.WomenShare: {`SELECT round(100 * sum(count) FILTER (WHERE sex = 'female')::numeric / nullif(sum(count) FILTER (WHERE sex IS NOT NULL), 0), 2)::float8
		FROM rm.attendance_sex WHERE municipality = $1 AND year = $2`, []string{"activities"}},
	benchmark.MinorityShare: {`SELECT round(100 * sum(count) FILTER (WHERE ethnic_minority)::numeric
			/ nullif(sum(count) FILTER (WHERE ethnic_minority IS NOT NULL), 0), 2)::float8
		FROM rm.attendance_ethnic_minority WHERE municipality = $1 AND year = $2`, []string{"activities"}},
	benchmark.Memberships: {`SELECT count(*)::float8 FROM rm.network_periods p JOIN rm.organisations o ON o.id = p.organisation
		WHERE o.municipality = $1 AND p.status = 'active' AND p.valid_from <= make_date($2, 12, 31)
			AND (p.valid_to IS NULL OR p.valid_to > make_date($2, 1, 1))`, []string{"networks", "organisations"}},
}

// FigureQuery returns the SQL a figure is read with.
func FigureQuery(f benchmark.Figure) (string, bool) {
	q, ok := figureSQL[f]
	return q.sql, ok
}

// Figure implements benchmark.Ledger: it reads a figure and the log
// position of the read models it read in one snapshot (a read-only
// repeatable-read transaction), the position being the least of their
// checkpoints: every event up to it is in the figure, whatever the
// read models applied since.
func (q *Reads) Figure(ctx context.Context, f benchmark.Figure, municipality string, year int) (benchmark.Reading, error) {
	fq, ok := figureSQL[f]
	if !ok {
		return benchmark.Reading{}, fmt.Errorf("no figure %q", f)
	}
	out := benchmark.Reading{Query: fq.sql}
	err := pgx.BeginTxFunc(ctx, q.DB, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var pos *int64
		if err := tx.QueryRow(ctx, `SELECT min(position) FROM projections.generations WHERE state = 'active' AND name = ANY($1)`,
			fq.reads).Scan(&pos); err != nil {
			return err
		}
		if pos == nil {
			return fmt.Errorf("the read models %v have no active generation", fq.reads)
		}
		out.Position = *pos
		return tx.QueryRow(ctx, fq.sql, municipality, year).Scan(&out.Value)
	})
	if err != nil {
		return benchmark.Reading{}, fmt.Errorf("figure %s: %w", f, err)
	}
	if out.Value != nil && (math.IsNaN(*out.Value) || math.IsInf(*out.Value, 0)) {
		out.Value = nil
	}
	return out, nil
}
