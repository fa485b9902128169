package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/jackc/pgx/v5"
)

// BenchmarkMethod is a published version of the benchmark's method.
type BenchmarkMethod struct {
	Method      benchmark.Method
	Reason      string
	PublishedAt time.Time
}

// BenchmarkMethods returns the method's versions, oldest first.
func (q *Reads) BenchmarkMethods(ctx context.Context) ([]BenchmarkMethod, error) {
	rows, err := q.DB.Query(ctx, `SELECT method, reason, published_at FROM rm.benchmark_methods ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("benchmark methods: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (BenchmarkMethod, error) {
		var m BenchmarkMethod
		err := r.Scan(&m.Method, &m.Reason, &m.PublishedAt)
		return m, err
	})
}

// BenchmarkMethodVersion returns version v of the method, nil when there
// is none. A version never changes once published, so each is read and
// decoded once per process.
func (q *Reads) BenchmarkMethodVersion(ctx context.Context, v int) (*BenchmarkMethod, error) {
	if m, ok := methodCache.Load(q.DB); ok {
		if mv, ok := m.(*sync.Map).Load(v); ok {
			return mv.(*BenchmarkMethod), nil
		}
	}
	var m BenchmarkMethod
	err := q.DB.QueryRow(ctx, `SELECT method, reason, published_at FROM rm.benchmark_methods WHERE version = $1`, v).
		Scan(&m.Method, &m.Reason, &m.PublishedAt)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("benchmark method %d: %w", v, err)
	}
	c, _ := methodCache.LoadOrStore(q.DB, &sync.Map{})
	c.(*sync.Map).Store(v, &m)
	return &m, nil
}

// methodCache holds the method's versions read, by the pool they were
// read from (a test's database is not another's).
var methodCache sync.Map // *pgxpool.Pool → *sync.Map of int → *BenchmarkMethod

// BenchmarkRound is a round as the read model holds it.
type BenchmarkRound struct {
	ID             string
	Title          domain.LocalizedText
	Year           int
	MethodVersion  int
	Municipalities []string
	AssessmentEnd  string
	CommentsUntil  string
	// SharedOn and PublishedOn are "" until the preliminary results are
	// shared and the round is published.
	SharedOn    string
	PublishedOn string
	Position    int64
}

// Published reports whether the round's results are published.
func (r BenchmarkRound) Published() bool { return r.PublishedOn != "" }

const benchmarkRoundFrom = `SELECT id, title_ka, title_en, year, method_version, municipalities, assessment_end::text, comments_until::text,
		coalesce(shared_on::text, ''), coalesce(published_on::text, ''), position FROM rm.benchmark_rounds`

func scanBenchmarkRound(r pgx.CollectableRow) (BenchmarkRound, error) {
	var b BenchmarkRound
	err := r.Scan(&b.ID, &b.Title.Ka, &b.Title.En, &b.Year, &b.MethodVersion, &b.Municipalities, &b.AssessmentEnd, &b.CommentsUntil,
		&b.SharedOn, &b.PublishedOn, &b.Position)
	return b, err
}

// BenchmarkRounds returns the rounds, by year and ID.
func (q *Reads) BenchmarkRounds(ctx context.Context) ([]BenchmarkRound, error) {
	rows, err := q.DB.Query(ctx, benchmarkRoundFrom+` ORDER BY year, id`)
	if err != nil {
		return nil, fmt.Errorf("benchmark rounds: %w", err)
	}
	return pgx.CollectRows(rows, scanBenchmarkRound)
}

// BenchmarkRound returns round id, nil when there is none.
func (q *Reads) BenchmarkRound(ctx context.Context, id string) (*BenchmarkRound, error) {
	rows, err := q.DB.Query(ctx, benchmarkRoundFrom+` WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("benchmark round: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBenchmarkRound)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// roundAndMethod returns a round and its method version, a typed error
// naming field when the round does not exist.
func (q *Reads) roundAndMethod(ctx context.Context, field, id string) (*BenchmarkRound, benchmark.Method, error) {
	r, err := q.BenchmarkRound(ctx, id)
	if err != nil {
		return nil, benchmark.Method{}, err
	}
	if r == nil {
		return nil, benchmark.Method{}, domain.InvalidField(field, "%q is not a benchmark round", id)
	}
	m, err := q.BenchmarkMethodVersion(ctx, r.MethodVersion)
	if err != nil {
		return nil, benchmark.Method{}, err
	}
	if m == nil {
		return nil, benchmark.Method{}, fmt.Errorf("benchmark round %s: method version %d is not in the read model", id, r.MethodVersion)
	}
	return r, m.Method, nil
}

// previousRound is the latest published round judging a year before r's,
// nil when there is none.
func (q *Reads) previousRound(ctx context.Context, r *BenchmarkRound) (*BenchmarkRound, error) {
	rows, err := q.DB.Query(ctx, benchmarkRoundFrom+` WHERE published_on IS NOT NULL AND year < $1 ORDER BY year DESC, id DESC LIMIT 1`, r.Year)
	if err != nil {
		return nil, fmt.Errorf("previous benchmark round: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBenchmarkRound)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// nextRound is the earliest published round judging a year after r's,
// nil when there is none.
func (q *Reads) nextRound(ctx context.Context, r *BenchmarkRound) (*BenchmarkRound, error) {
	rows, err := q.DB.Query(ctx, benchmarkRoundFrom+` WHERE published_on IS NOT NULL AND year > $1 ORDER BY year, id LIMIT 1`, r.Year)
	if err != nil {
		return nil, fmt.Errorf("next benchmark round: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBenchmarkRound)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// BenchmarkResult is a municipality's published result in a round: as
// the publication recorded it, or the last correction.
type BenchmarkResult struct {
	Municipality string
	Region       string
	Total        *float64
	Blocks       map[string]*float64
	Bodies       map[benchmark.Body]*float64
	Coverage     float64
	InputsDigest string
	Corrected    bool
}

// ResultFilter narrows the results of a round ("", nil and empty match
// anything).
type ResultFilter struct {
	Region         string
	Municipalities []string
	// Certified keeps the municipalities that held (true) or did not hold
	// (false) a certificate valid at some time in the round's year.
	Certified *bool
	// EverCertified keeps those certified (true) or not (false) at any
	// time up to the end of the round's year: a certificate lasts a year,
	// and whether a municipality went through certification at all is
	// the question of its lasting effect.
	EverCertified *bool
}

// certifiedBy is true for a municipality $2 certified at any time up to
// the end of year $1 (a certificate issued, even if since expired or
// revoked).
const certifiedBy = `EXISTS (SELECT FROM rm.cert_applications a WHERE a.municipality = %s AND a.certified
	AND a.valid_from <= make_date(%s, 12, 31))`

// certifiedIn is true for a municipality $2 holding a certificate valid
// at some time in year $1, not revoked before it began: the rule of the
// ranking's filter and of the certified figure alike.
const certifiedIn = `EXISTS (SELECT FROM rm.cert_applications a WHERE a.municipality = %s AND a.certified
	AND a.valid_from <= make_date(%s, 12, 31) AND a.valid_until >= make_date(%s, 1, 1)
	AND (a.revoked_on IS NULL OR a.revoked_on > make_date(%s, 1, 1)))`

// results returns the published results of rounds that f keeps, by
// round, each round's by municipality; Certified is judged in each
// round's own year.
func (q *Reads) results(ctx context.Context, rounds []string, f ResultFilter) (map[string][]BenchmarkResult, error) {
	args := []any{rounds}
	where := ""
	if f.Region != "" {
		args = append(args, f.Region)
		where += fmt.Sprintf(" AND m.region = $%d", len(args))
	}
	if f.Municipalities != nil {
		args = append(args, f.Municipalities)
		where += fmt.Sprintf(" AND b.municipality = ANY($%d)", len(args))
	}
	for _, c := range []struct {
		want *bool
		cond string
	}{{f.Certified, fmt.Sprintf(certifiedIn, "b.municipality", "d.year::int", "d.year::int", "d.year::int")},
		{f.EverCertified, fmt.Sprintf(certifiedBy, "b.municipality", "d.year::int")}} {
		switch {
		case c.want == nil:
		case *c.want:
			where += " AND " + c.cond
		default:
			where += " AND NOT " + c.cond
		}
	}
	rows, err := q.DB.Query(ctx, `SELECT b.round, b.municipality, coalesce(m.region, ''), b.total, b.blocks, b.bodies, b.coverage, b.inputs_digest, b.corrected
		FROM rm.benchmark_results b JOIN rm.benchmark_rounds d ON d.id = b.round LEFT JOIN rm.municipalities m ON m.code = b.municipality
		WHERE b.round = ANY($1)`+where+` ORDER BY b.round, b.municipality`, args...)
	if err != nil {
		return nil, fmt.Errorf("benchmark results: %w", err)
	}
	out := map[string][]BenchmarkResult{}
	var round string
	var b BenchmarkResult
	if _, err := pgx.ForEachRow(rows, []any{&round, &b.Municipality, &b.Region, &b.Total, &b.Blocks, &b.Bodies, &b.Coverage, &b.InputsDigest, &b.Corrected},
		func() error {
			out[round] = append(out[round], b)
			b = BenchmarkResult{}
			return nil
		}); err != nil {
		return nil, fmt.Errorf("benchmark results: %w", err)
	}
	return out, nil
}

// RankingQuery asks for a round's ranking: overall, or by a block's score
// or a body's (one at most), of the municipalities Filter keeps.
type RankingQuery struct {
	Round  string
	Block  string
	Body   benchmark.Body
	Filter ResultFilter
}

// RankingRow is a municipality's place in a ranking, with its change
// against the previous round ranked the same way over the same filter.
type RankingRow struct {
	Result benchmark.Ranked
	BenchmarkResult
	// PreviousScore is nil, PreviousRank 0, where the previous round
	// gave no score (or there was none).
	PreviousScore *float64
	PreviousRank  int
}

// Change is the score's change in points against the previous round,
// nil without both scores.
func (r RankingRow) Change() *float64 {
	if r.Result.Score == nil || r.PreviousScore == nil {
		return nil
	}
	d := math.Round((*r.Result.Score-*r.PreviousScore)*100) / 100
	return &d
}

// Ranking is a round's ranking.
type Ranking struct {
	Round    BenchmarkRound
	Method   benchmark.Method
	Previous *BenchmarkRound
	Rows     []RankingRow
}

// score picks the ranked score of a result.
func (q RankingQuery) score(r BenchmarkResult) *float64 {
	switch {
	case q.Block != "":
		return r.Blocks[q.Block]
	case q.Body != "":
		return r.Bodies[q.Body]
	}
	return r.Total
}

// Ranking ranks a published round's municipalities by the method's rule
// (benchmark.Method.Rank: equal scores share a rank, bands by the
// method's thresholds), with each one's change against the previous
// published round. A round not yet published has no ranking: its
// numbers are preliminary, the municipalities' and assessors' alone.
func (q *Reads) Ranking(ctx context.Context, rq RankingQuery) (*Ranking, error) {
	r, m, err := q.roundAndMethod(ctx, "round", rq.Round)
	if err != nil {
		return nil, err
	}
	if !r.Published() {
		return nil, domain.InvalidField("round", "round %s is not published yet: it is ranked when it is", r.ID)
	}
	if rq.Block != "" && rq.Body != "" {
		return nil, domain.InvalidField("body", "rank by a block or by a body, not both")
	}
	if rq.Block != "" && !slices.ContainsFunc(m.Blocks, func(b benchmark.Block) bool { return b.Code == rq.Block }) {
		return nil, domain.InvalidField("block", "%q is not a block of method version %d", rq.Block, m.Version)
	}
	if rq.Body != "" && rq.Body != benchmark.CityHall && rq.Body != benchmark.Sakrebulo {
		return nil, domain.InvalidField("body", "%q is not city_hall or sakrebulo", rq.Body)
	}
	out := &Ranking{Round: *r, Method: m}
	if out.Previous, err = q.previousRound(ctx, r); err != nil {
		return nil, err
	}
	ids := []string{r.ID}
	if out.Previous != nil {
		ids = append(ids, out.Previous.ID)
	}
	res, err := q.results(ctx, ids, rq.Filter)
	if err != nil {
		return nil, err
	}
	out.Rows = rank(m, rq, res[r.ID])
	if out.Previous == nil {
		return out, nil
	}
	pm, err := q.BenchmarkMethodVersion(ctx, out.Previous.MethodVersion)
	if err != nil || pm == nil {
		return nil, fmt.Errorf("benchmark round %s: method %d: %v", out.Previous.ID, out.Previous.MethodVersion, err)
	}
	prq := rq
	if rq.Block != "" && !slices.ContainsFunc(pm.Method.Blocks, func(b benchmark.Block) bool { return b.Code == rq.Block }) {
		prq.Block = "\x00" // the block is new: no previous scores
	}
	before := map[string]RankingRow{}
	for _, p := range rank(pm.Method, prq, res[out.Previous.ID]) {
		before[p.Municipality] = p
	}
	for i := range out.Rows {
		if p, ok := before[out.Rows[i].Municipality]; ok {
			out.Rows[i].PreviousScore, out.Rows[i].PreviousRank = p.Result.Score, p.Result.Rank
		}
	}
	return out, nil
}

// rank ranks results by the score rq picks, under m.
func rank(m benchmark.Method, rq RankingQuery, res []BenchmarkResult) []RankingRow {
	by := map[string]BenchmarkResult{}
	entries := make([]benchmark.Entry, len(res))
	for i, x := range res {
		by[x.Municipality] = x
		entries[i] = benchmark.Entry{Municipality: x.Municipality, Score: rq.score(x)}
	}
	ranked := m.Rank(entries)
	out := make([]RankingRow, len(ranked))
	for i, x := range ranked {
		out[i] = RankingRow{Result: x, BenchmarkResult: by[x.Municipality]}
	}
	return out
}

// ScoreLine is one indicator of one body on a municipality's scorecard.
type ScoreLine struct {
	Indicator string
	Body      benchmark.Body
	// Scored is false for an indicator no assessor has scored yet; a
	// scored Value of nil is no data.
	Scored    bool
	Value     *float64
	Evidence  []benchmark.Evidence
	Rationale string
	Computed  *benchmark.Computed
	Contests  []Contest
	// Corrections after publication, oldest first.
	Corrections []Correction
	// PreviousValue is the indicator's value in the previous published
	// round, nil without one.
	PreviousValue *float64
}

// Contest is a municipality's contest of a preliminary score and the
// assessor's answer.
type Contest struct {
	Grounds     string               `json:"grounds"`
	Evidence    []benchmark.Evidence `json:"evidence"`
	ContestedOn string               `json:"contested_on"`
	Answered    bool                 `json:"answered"`
	Kept        bool                 `json:"kept"`
	RevisedTo   *float64             `json:"revised_to"`
	Reason      string               `json:"reason"`
	AnsweredOn  string               `json:"answered_on"`
}

// Correction is a published score's correction.
type Correction struct {
	Value       *float64 `json:"value"`
	Reason      string   `json:"reason"`
	CorrectedOn string   `json:"corrected_on"`
}

// SelfAssessment is the municipality's own assessment of an indicator.
type SelfAssessment struct {
	Indicator string
	Body      benchmark.Body
	Value     *float64
	Note      string
}

// Scorecard is a municipality's scores in a round: every indicator of
// the method for each body it judges, and the result: the published one
// once the round is published, before that the preliminary one,
// aggregated from the scores so far by the round's method.
type Scorecard struct {
	Round        BenchmarkRound
	Municipality string
	Published    bool
	Result       BenchmarkResult
	Lines        []ScoreLine
	Self         []SelfAssessment
	// Review is the scorecard's last review, nil before any.
	Review *ScorecardReview
}

// ScorecardReview is a review of a scorecard before the preliminary
// results.
type ScorecardReview struct {
	Accepted   bool
	Note       string
	ReviewedOn string
}

// Scope is what the visibility policy reads: the municipality, and
// whether the round is published (benchmark.Open).
func (s Scorecard) Scope() domain.Scope {
	return domain.Scope{Municipality: s.Municipality, Public: s.Published}
}

// Scorecard returns a municipality's scorecard in a round, nil when the
// round does not cover it.
func (q *Reads) Scorecard(ctx context.Context, round, municipality string) (*Scorecard, error) {
	r, m, err := q.roundAndMethod(ctx, "round", round)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(r.Municipalities, municipality) {
		return nil, nil
	}
	sc := &Scorecard{Round: *r, Municipality: municipality, Published: r.Published()}
	type row struct {
		line     ScoreLine
		self     bool
		selfVal  *float64
		selfNote string
	}
	got := map[[2]string]row{}
	rows, err := q.DB.Query(ctx, `SELECT indicator, body, scored, value, evidence, rationale, computed, self_assessed, self_value, self_note,
			contests, corrections
		FROM rm.benchmark_scores WHERE round = $1 AND municipality = $2`, round, municipality)
	if err != nil {
		return nil, fmt.Errorf("scorecard: %w", err)
	}
	for rows.Next() {
		var x row
		var body string
		var evidence, contests, corrections []byte
		if err := rows.Scan(&x.line.Indicator, &body, &x.line.Scored, &x.line.Value, &evidence, &x.line.Rationale, &x.line.Computed,
			&x.self, &x.selfVal, &x.selfNote, &contests, &corrections); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scorecard: %w", err)
		}
		x.line.Body = benchmark.Body(body)
		for _, j := range []struct {
			raw []byte
			to  any
		}{{evidence, &x.line.Evidence}, {contests, &x.line.Contests}, {corrections, &x.line.Corrections}} {
			if err := json.Unmarshal(j.raw, j.to); err != nil {
				rows.Close()
				return nil, fmt.Errorf("scorecard: %w", err)
			}
		}
		got[[2]string{x.line.Indicator, body}] = x
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scorecard: %w", err)
	}
	var rv ScorecardReview
	switch err := q.DB.QueryRow(ctx, `SELECT accepted, note, reviewed_on::text FROM rm.benchmark_reviews WHERE round = $1 AND municipality = $2`,
		round, municipality).Scan(&rv.Accepted, &rv.Note, &rv.ReviewedOn); err {
	case nil:
		sc.Review = &rv
	case pgx.ErrNoRows:
	default:
		return nil, fmt.Errorf("scorecard review: %w", err)
	}
	prev := map[[2]string]*float64{}
	if p, err := q.previousRound(ctx, r); err != nil {
		return nil, err
	} else if p != nil {
		if prev, err = q.values(ctx, p.ID, municipality); err != nil {
			return nil, err
		}
	}
	var vals []benchmark.Value
	for _, pr := range pairsOf(m) {
		k := [2]string{pr.indicator, string(pr.body)}
		x, ok := got[k]
		if !ok {
			x.line = ScoreLine{Indicator: pr.indicator, Body: pr.body}
		}
		x.line.PreviousValue = prev[k]
		sc.Lines = append(sc.Lines, x.line)
		if x.line.Scored {
			vals = append(vals, benchmark.Value{Indicator: pr.indicator, Body: pr.body, Value: x.line.Value})
		}
		if x.self {
			sc.Self = append(sc.Self, SelfAssessment{Indicator: pr.indicator, Body: pr.body, Value: x.selfVal, Note: x.selfNote})
		}
	}
	if sc.Published {
		res, err := q.results(ctx, []string{r.ID}, ResultFilter{Municipalities: []string{municipality}})
		if err != nil {
			return nil, err
		}
		if len(res[r.ID]) == 1 {
			sc.Result = res[r.ID][0]
		}
		return sc, nil
	}
	agg, err := m.Aggregate(vals)
	if err != nil {
		return nil, fmt.Errorf("scorecard %s/%s: %w", round, municipality, err)
	}
	sc.Result = BenchmarkResult{Municipality: municipality, Total: agg.Total, Blocks: agg.Blocks, Bodies: agg.Bodies, Coverage: agg.Coverage}
	return sc, nil
}

type indicatorBody struct {
	indicator string
	body      benchmark.Body
}

// pairsOf lists the method's indicators as they apply to each body, in
// the method's order.
func pairsOf(m benchmark.Method) []indicatorBody {
	var out []indicatorBody
	for _, ind := range m.Indicators {
		if ind.Body == benchmark.Both {
			out = append(out, indicatorBody{ind.Code, benchmark.CityHall}, indicatorBody{ind.Code, benchmark.Sakrebulo})
		} else {
			out = append(out, indicatorBody{ind.Code, ind.Body})
		}
	}
	return out
}

// values returns the scored values of a municipality in a round, by
// indicator and body.
func (q *Reads) values(ctx context.Context, round, municipality string) (map[[2]string]*float64, error) {
	rows, err := q.DB.Query(ctx, `SELECT indicator, body, value FROM rm.benchmark_scores WHERE round = $1 AND municipality = $2 AND scored`,
		round, municipality)
	if err != nil {
		return nil, fmt.Errorf("benchmark values: %w", err)
	}
	out := map[[2]string]*float64{}
	var ind, body string
	var v *float64
	_, err = pgx.ForEachRow(rows, []any{&ind, &body, &v}, func() error {
		out[[2]string{ind, body}] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("benchmark values: %w", err)
	}
	return out, nil
}
