package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Benchmark is the read model of the civic-engagement benchmark: the
// method's versions, the rounds with their calendar, every indicator's
// score of every municipality with its evidence, self-assessment,
// contests and corrections, the last review of each scorecard, the
// published results (total, blocks,
// bodies, coverage and inputs digest, as the publication or the last
// correction recorded them), and the action plans with their progress
// reports.
//
// It holds scores before publication too: the API shows them to the
// municipality concerned, the assessors, admins and auditors alone
// (benchmark.Open). Rankings, trends and comparisons read the results,
// which exist only from publication, so no preliminary number reaches
// them.
type Benchmark struct{}

var _ Projection = Benchmark{}

// Name implements Projection.
func (Benchmark) Name() string { return "benchmark" }

// Version implements Projection.
func (Benchmark) Version() int { return 2 }

// Tables implements Projection.
func (Benchmark) Tables() []string {
	return []string{"benchmark_methods", "benchmark_rounds", "benchmark_scores", "benchmark_reviews", "benchmark_results", "benchmark_plans",
		"benchmark_plan_reports"}
}

// Setup implements Projection.
func (Benchmark) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		CREATE TABLE benchmark_methods (
			version      integer PRIMARY KEY,
			method       jsonb NOT NULL,
			reason       text NOT NULL,
			published_at timestamptz NOT NULL,
			position     bigint NOT NULL
		);
		CREATE TABLE benchmark_rounds (
			id             text PRIMARY KEY,
			title_ka       text NOT NULL,
			title_en       text NOT NULL,
			year           smallint NOT NULL,
			method_version integer NOT NULL,
			municipalities text[] NOT NULL,
			assessment_end date NOT NULL,
			comments_until date NOT NULL,
			shared_on      date,
			published_on   date,
			position       bigint NOT NULL
		);
		CREATE TABLE benchmark_scores (
			round         text NOT NULL,
			municipality  text NOT NULL,
			indicator     text NOT NULL,
			body          text NOT NULL,
			scored        boolean NOT NULL DEFAULT false,
			value         double precision,
			evidence      jsonb NOT NULL DEFAULT '[]',
			rationale     text NOT NULL DEFAULT '',
			computed      jsonb,
			self_assessed boolean NOT NULL DEFAULT false,
			self_value    double precision,
			self_note     text NOT NULL DEFAULT '',
			contests      jsonb NOT NULL DEFAULT '[]',
			corrections   jsonb NOT NULL DEFAULT '[]',
			position      bigint NOT NULL,
			PRIMARY KEY (round, municipality, indicator, body)
		);
		CREATE TABLE benchmark_reviews (
			round        text NOT NULL,
			municipality text NOT NULL,
			accepted     boolean NOT NULL,
			note         text NOT NULL,
			reviewed_on  date NOT NULL,
			position     bigint NOT NULL,
			PRIMARY KEY (round, municipality)
		);
		CREATE TABLE benchmark_results (
			round         text NOT NULL,
			municipality  text NOT NULL,
			total         double precision,
			blocks        jsonb NOT NULL,
			bodies        jsonb NOT NULL,
			coverage      double precision NOT NULL,
			inputs_digest text NOT NULL,
			corrected     boolean NOT NULL DEFAULT false,
			position      bigint NOT NULL,
			PRIMARY KEY (round, municipality)
		);
		CREATE INDEX benchmark_results_municipality ON benchmark_results (municipality, round);
		CREATE TABLE benchmark_plans (
			id           text PRIMARY KEY,
			round        text NOT NULL,
			municipality text NOT NULL,
			title_ka     text NOT NULL,
			title_en     text NOT NULL,
			adopted_on   date NOT NULL,
			commitments  jsonb NOT NULL,
			position     bigint NOT NULL
		);
		CREATE INDEX benchmark_plans_municipality ON benchmark_plans (municipality, round);
		CREATE TABLE benchmark_plan_reports (
			position    bigint PRIMARY KEY,
			plan        text NOT NULL,
			commitment  text NOT NULL,
			milestone   text NOT NULL,
			status      text NOT NULL,
			progress    smallint NOT NULL,
			note        text NOT NULL,
			reported_on date NOT NULL
		);
		CREATE INDEX benchmark_plan_reports_plan ON benchmark_plan_reports (plan, position);`)
	return err
}

// upsertScore writes columns of a score's row, making the row if it is
// the first event about the score; an event the row is newer than changes
// nothing, so a batch applied again is harmless. $1-$5 are the round,
// municipality, indicator, body and position; set assigns from $6 on.
func upsertScore(cols []string, set string) string {
	return `INSERT INTO benchmark_scores (round, municipality, indicator, body, position, ` + strings.Join(cols, ", ") + `)
		VALUES ($1, $2, $3, $4, $5` + func() string {
		var b strings.Builder
		for i := range cols {
			fmt.Fprintf(&b, ", $%d", i+6)
		}
		return b.String()
	}() + `)
		ON CONFLICT (round, municipality, indicator, body) DO UPDATE SET ` + set + `, position = excluded.position
		WHERE benchmark_scores.position < excluded.position`
}

var (
	scoreSQL = upsertScore([]string{"scored", "value", "evidence", "rationale", "computed"},
		`scored = true, value = excluded.value, evidence = excluded.evidence, rationale = excluded.rationale, computed = excluded.computed`)
	selfSQL = upsertScore([]string{"self_assessed", "self_value", "self_note"},
		`self_assessed = true, self_value = excluded.self_value, self_note = excluded.self_note`)
	contestSQL = `UPDATE benchmark_scores SET contests = contests || $5::jsonb, position = $6
		WHERE (round, municipality, indicator, body) = ($1, $2, $3, $4) AND position < $6`
	// answerSQL completes the last contest with its answer; a revision is
	// the score's new value.
	answerSQL = `UPDATE benchmark_scores SET
			contests = jsonb_set(contests, ARRAY[(jsonb_array_length(contests) - 1)::text], (contests -> -1) || $5::jsonb),
			value = CASE WHEN $7::boolean THEN value ELSE $8::double precision END, position = $6
		WHERE (round, municipality, indicator, body) = ($1, $2, $3, $4) AND position < $6 AND jsonb_array_length(contests) > 0`
	correctSQL = `UPDATE benchmark_scores SET corrections = corrections || $5::jsonb, value = $7::double precision, position = $6
		WHERE (round, municipality, indicator, body) = ($1, $2, $3, $4) AND position < $6`
	resultSQL = `INSERT INTO benchmark_results (round, municipality, total, blocks, bodies, coverage, inputs_digest, corrected, position)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (round, municipality) DO UPDATE SET total = excluded.total, blocks = excluded.blocks, bodies = excluded.bodies,
			coverage = excluded.coverage, inputs_digest = excluded.inputs_digest, corrected = excluded.corrected, position = excluded.position
		WHERE benchmark_results.position < excluded.position`
)

// Apply implements Projection.
func (Benchmark) Apply(b *Batch, events []eventstore.Event) error {
	return b.Each(events, func(se eventstore.Event) error {
		if !strings.HasPrefix(se.Type, "benchmark.") {
			return nil
		}
		e, err := catalog.Types.Decode(se)
		if err != nil {
			return fmt.Errorf("benchmark: %w", err)
		}
		p := se.Position
		day := domain.DayOf(se.OccurredAt)
		js := func(v any) string {
			b, _ := json.Marshal(v)
			return string(b)
		}
		switch e := e.(type) {
		case benchmark.MethodPublished:
			b.Queue(`INSERT INTO benchmark_methods (version, method, reason, published_at, position) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (version) DO NOTHING`, e.Method.Version, js(e.Method), e.Reason, se.OccurredAt, p)
		case benchmark.RoundOpened:
			b.Queue(`INSERT INTO benchmark_rounds (id, title_ka, title_en, year, method_version, municipalities, assessment_end, comments_until, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
				e.ID, e.Title.Ka, e.Title.En, e.Year, e.MethodVersion, e.Municipalities, e.Schedule.AssessmentEnd, e.Schedule.CommentsUntil, p)
		case benchmark.ScorecardReviewed:
			b.Queue(`INSERT INTO benchmark_reviews (round, municipality, accepted, note, reviewed_on, position) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (round, municipality) DO UPDATE SET accepted = excluded.accepted, note = excluded.note, reviewed_on = excluded.reviewed_on,
					position = excluded.position WHERE benchmark_reviews.position < excluded.position`,
				e.Round, e.Municipality, e.Accepted, e.Note, day, p)
		case benchmark.PreliminaryShared:
			b.Queue(`UPDATE benchmark_rounds SET shared_on = $2, position = $3 WHERE id = $1 AND position < $3`, e.Round, e.On, p)
		case benchmark.RoundPublished:
			b.Queue(`UPDATE benchmark_rounds SET published_on = $2, position = $3 WHERE id = $1 AND position < $3`, e.Round, e.On, p)
			for _, r := range e.Results {
				b.Queue(resultSQL, e.Round, r.Municipality, r.Total, js(r.Blocks), js(r.Bodies), r.Coverage, r.InputsDigest, false, p)
			}
		case benchmark.SelfAssessed:
			b.Queue(selfSQL, e.Round, e.Municipality, e.Indicator, string(e.Body), p, true, e.Value, e.Note)
		case benchmark.Scored:
			var computed *string
			if e.Computed != nil {
				c := js(e.Computed)
				computed = &c
			}
			b.Queue(scoreSQL, e.Round, e.Municipality, e.Indicator, string(e.Body), p, true, e.Value, js(nonNilList(e.Evidence)), e.Rationale, computed)
		case benchmark.ScoreContested:
			b.Queue(contestSQL, e.Round, e.Municipality, e.Indicator, string(e.Body),
				js([]contestDoc{{Grounds: e.Grounds, Evidence: nonNilList(e.Evidence), ContestedOn: day}}), p)
		case benchmark.ContestAnswered:
			b.Queue(answerSQL, e.Round, e.Municipality, e.Indicator, string(e.Body),
				js(map[string]any{"answered": true, "kept": e.Kept, "revised_to": e.Value, "reason": e.Reason, "answered_on": day}), p, e.Kept, e.Value)
		case benchmark.ScoreCorrected:
			b.Queue(correctSQL, e.Round, e.Municipality, e.Indicator, string(e.Body),
				js([]correctionDoc{{Value: e.Value, Reason: e.Reason, CorrectedOn: day}}), p, e.Value)
			r := e.Result
			b.Queue(resultSQL, e.Round, r.Municipality, r.Total, js(r.Blocks), js(r.Bodies), r.Coverage, r.InputsDigest, true, p)
		case benchmark.PlanAdopted:
			b.Queue(`INSERT INTO benchmark_plans (id, round, municipality, title_ka, title_en, adopted_on, commitments, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
				e.ID, e.Round, e.Municipality, e.Title.Ka, e.Title.En, e.On, js(e.Commitments), p)
		case benchmark.PlanProgressReported:
			b.Queue(`INSERT INTO benchmark_plan_reports (position, plan, commitment, milestone, status, progress, note, reported_on)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (position) DO NOTHING`,
				p, e.Plan, e.Commitment, e.Milestone, string(e.Status), e.Progress, e.Note, e.On)
		default:
			return fmt.Errorf("benchmark: no handling for event type %s", se.Type)
		}
		return nil
	})
}

// contestDoc is a contest as a score's row holds it, its answer merged in
// when given.
type contestDoc struct {
	Grounds     string               `json:"grounds"`
	Evidence    []benchmark.Evidence `json:"evidence"`
	ContestedOn string               `json:"contested_on"`
	Answered    bool                 `json:"answered"`
	Kept        bool                 `json:"kept"`
	RevisedTo   *float64             `json:"revised_to"`
	Reason      string               `json:"reason"`
	AnsweredOn  string               `json:"answered_on"`
}

// correctionDoc is a correction as a score's row holds it.
type correctionDoc struct {
	Value       *float64 `json:"value"`
	Reason      string   `json:"reason"`
	CorrectedOn string   `json:"corrected_on"`
}
