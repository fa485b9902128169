package graph

import (
	"context"
	"fmt"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/graph/scalar"
	"github.com/civicledger/civicledger/projections"
)

// maxCompared bounds compareMunicipalities; maxTrendMunicipalities the
// municipalities benchmarkTrend names (there are 64).
const (
	maxCompared            = 10
	maxTrendMunicipalities = 64
)

// figureDescriptions say what each figure of the ledger counts, for
// benchmarkFigures; a test holds every figure to one.
var figureDescriptions = map[benchmark.Figure]string{
	benchmark.BudgetHeld:         "1 when the municipality ran a participatory budget cycle in the year, 0 when not.",
	benchmark.BudgetTurnout:      "Voters in the year's participatory budget cycles per 1,000 inhabitants (census 2014); no data without a cycle.",
	benchmark.BudgetPerCapita:    "The year's participatory budget per inhabitant, in GEL; no data without a cycle.",
	benchmark.Certified:          "1 when the municipality held a civic budgeting certificate valid at some time in the year, 0 when not.",
	benchmark.CertificationScore: "The recommendation's score (0-100) of the year's decided certification application; no data without one.",
	benchmark.ActivitiesHeld:     "Activities held in the municipality in the year.",
	benchmark.Attendance:         "Attendance of the year's activities per 1,000 inhabitants; no data without an activity held.",
	benchmark.WomenShare:         "Women's share of the attendance whose sex was recorded, in percent; no data when none was.",
	benchmark.MinorityShare:      "Ethnic minorities' share of the attendance where it was recorded, in percent; no data when it never was.",
	benchmark.Memberships:        "Network memberships, active at some time in the year, of the organisations registered in the municipality.",
}

func methodOf(m benchmark.Method, reason string) *model.BenchmarkMethod {
	out := &model.BenchmarkMethod{Version: m.Version, Reason: reason, Blocks: []model.BenchmarkBlock{}, Indicators: []model.BenchmarkIndicator{},
		Bands: []model.RankBand{}, Ties: m.Ties}
	if out.Ties == "" {
		out.Ties = benchmark.SharedRanks
	}
	for i, b := range m.Blocks {
		out.Blocks = append(out.Blocks, model.BenchmarkBlock{Code: b.Code, Name: &m.Blocks[i].Name, Weight: b.Weight})
	}
	for i, ind := range m.Indicators {
		sc := &model.BenchmarkScale{Kind: ind.Scale.Kind, Bands: []model.ScaleBand{}}
		if ind.Scale.Kind == benchmark.Points {
			sc.Max = &m.Indicators[i].Scale.Max
		}
		for _, b := range ind.Scale.Bands {
			sc.Bands = append(sc.Bands, model.ScaleBand{From: b.From, Points: b.Points})
		}
		out.Indicators = append(out.Indicators, model.BenchmarkIndicator{Code: ind.Code, Block: ind.Block, Question: &m.Indicators[i].Question,
			Scale: sc, Weight: ind.Weight, Body: ind.Body, EvidenceRequired: ind.Evidence, Computed: nonEmpty(ind.Computed)})
	}
	for _, b := range m.Bands {
		out.Bands = append(out.Bands, model.RankBand{Name: b.Name, From: b.From})
	}
	return out
}

func methodInput(in model.BenchmarkMethodInput) benchmark.Method {
	var m benchmark.Method
	for _, b := range in.Blocks {
		m.Blocks = append(m.Blocks, benchmark.Block{Code: b.Code, Name: localized(b.Name), Weight: b.Weight})
	}
	for _, ind := range in.Indicators {
		sc := benchmark.Scale{Kind: ind.Scale.Kind, Max: deref(ind.Scale.Max)}
		for _, b := range ind.Scale.Bands {
			sc.Bands = append(sc.Bands, benchmark.Band{From: b.From, Points: b.Points})
		}
		m.Indicators = append(m.Indicators, benchmark.Indicator{Code: ind.Code, Block: ind.Block, Question: localized(ind.Question),
			Scale: sc, Weight: ind.Weight, Body: ind.Body, Evidence: deref(ind.EvidenceRequired), Computed: deref(ind.Computed)})
	}
	for _, b := range in.Bands {
		m.Bands = append(m.Bands, benchmark.RankBand{Name: b.Name, From: b.From})
	}
	m.Ties = deref(in.Ties)
	return m
}

func evidenceInput(in []model.EvidenceInput) []benchmark.Evidence {
	out := make([]benchmark.Evidence, 0, len(in))
	for _, e := range in {
		out = append(out, benchmark.Evidence{Kind: e.Kind, Ref: e.Ref, AnsweredOn: deref(e.AnsweredOn)})
	}
	return out
}

func evidenceOf(in []benchmark.Evidence) []model.ScoreEvidence {
	out := make([]model.ScoreEvidence, 0, len(in))
	for _, e := range in {
		out = append(out, model.ScoreEvidence{Kind: e.Kind, Ref: e.Ref, AnsweredOn: nonEmpty(e.AnsweredOn)})
	}
	return out
}

func blockScores(m benchmark.Method, blocks map[string]*float64) []model.BlockScore {
	out := make([]model.BlockScore, 0, len(m.Blocks))
	for _, b := range m.Blocks {
		out = append(out, model.BlockScore{Block: b.Code, Score: blocks[b.Code]})
	}
	return out
}

func bodyScores(bodies map[benchmark.Body]*float64) []model.BodyScore {
	return []model.BodyScore{{Body: benchmark.CityHall, Score: bodies[benchmark.CityHall]}, {Body: benchmark.Sakrebulo, Score: bodies[benchmark.Sakrebulo]}}
}

func resultOf(m benchmark.Method, r projections.BenchmarkResult) *model.ScoreResult {
	return &model.ScoreResult{Total: r.Total, Blocks: blockScores(m, r.Blocks), Bodies: bodyScores(r.Bodies), Coverage: r.Coverage,
		InputsDigest: nonEmpty(r.InputsDigest)}
}

func publishedOf(m benchmark.Method, p benchmark.Published) *model.ScoreResult {
	return resultOf(m, projections.BenchmarkResult{Total: p.Total, Blocks: p.Blocks, Bodies: p.Bodies, Coverage: p.Coverage, InputsDigest: p.InputsDigest})
}

// municipalitiesOf loads municipalities by code, in the order given.
func municipalitiesOf(ctx context.Context, codes []string) ([]projections.Municipality, error) {
	return loadersFrom(ctx).municipalities.LoadAll(ctx, codes)
}

func (r *Resolver) method(ctx context.Context, version int) (benchmark.Method, error) {
	m, err := r.deps.Reads.BenchmarkMethodVersion(ctx, version)
	if err != nil {
		return benchmark.Method{}, err
	}
	if m == nil {
		return benchmark.Method{}, fmt.Errorf("benchmark method %d is not in the read model", version)
	}
	return m.Method, nil
}

// rankingOf turns ranking rows into the API's entries.
func rankingOf(ctx context.Context, m benchmark.Method, rows []projections.RankingRow) ([]model.RankingEntry, error) {
	codes := make([]string, len(rows))
	for i, row := range rows {
		codes[i] = row.Municipality
	}
	munis, err := municipalitiesOf(ctx, codes)
	if err != nil {
		return nil, err
	}
	out := make([]model.RankingEntry, len(rows))
	for i, row := range rows {
		e := model.RankingEntry{Municipality: &munis[i], Score: row.Result.Score, Band: nonEmpty(row.Result.Band), Coverage: row.Coverage,
			PreviousScore: row.PreviousScore, Change: row.Change(), Blocks: blockScores(m, row.Blocks), Bodies: bodyScores(row.Bodies)}
		if row.Result.Rank > 0 {
			e.Rank = &rows[i].Result.Rank
		}
		if row.PreviousRank > 0 {
			e.PreviousRank = &rows[i].PreviousRank
			if row.Result.Rank > 0 {
				d := row.PreviousRank - row.Result.Rank
				e.RankChange = &d
			}
		}
		out[i] = e
	}
	return out, nil
}

func resultFilter(f *model.BenchmarkFilter) projections.ResultFilter {
	if f == nil {
		return projections.ResultFilter{}
	}
	return projections.ResultFilter{Region: deref(f.Region), Certified: f.Certified, EverCertified: f.EverCertified}
}

// scorecardOf turns the read model's scorecard into the API's.
func (r *Resolver) scorecardOf(ctx context.Context, sc *projections.Scorecard) (*model.Scorecard, error) {
	m, err := r.method(ctx, sc.Round.MethodVersion)
	if err != nil {
		return nil, err
	}
	mu, err := loadersFrom(ctx).municipalities.Load(ctx, sc.Municipality)
	if err != nil {
		return nil, err
	}
	out := &model.Scorecard{Round: &sc.Round, Municipality: &mu, Published: sc.Published, Result: resultOf(m, sc.Result),
		Lines: make([]model.ScoreLine, 0, len(sc.Lines)), SelfAssessments: []model.SelfAssessment{}, About: sc.Scope()}
	for _, l := range sc.Lines {
		line := model.ScoreLine{Indicator: l.Indicator, Body: l.Body, Value: l.Value, Evidence: evidenceOf(l.Evidence),
			PreviousValue: l.PreviousValue, Contests: []model.ScoreContest{}, Corrections: []model.ScoreCorrection{}}
		if l.Scored {
			line.Rationale = &l.Rationale
		}
		if c := l.Computed; c != nil {
			line.Computed = &model.ComputedFigure{Figure: c.Figure, Query: c.Query, Position: scalar.Position(c.Position)}
		}
		for _, c := range l.Contests {
			mc := model.ScoreContest{Grounds: c.Grounds, Evidence: evidenceOf(c.Evidence), ContestedOn: c.ContestedOn, Answered: c.Answered}
			if c.Answered {
				kept, reason := c.Kept, c.Reason
				mc.Kept, mc.RevisedTo, mc.Reason, mc.AnsweredOn = &kept, c.RevisedTo, &reason, nonEmpty(c.AnsweredOn)
			}
			line.Contests = append(line.Contests, mc)
		}
		for _, c := range l.Corrections {
			line.Corrections = append(line.Corrections, model.ScoreCorrection{Value: c.Value, Reason: c.Reason, CorrectedOn: c.CorrectedOn})
		}
		out.Lines = append(out.Lines, line)
	}
	for _, s := range sc.Self {
		out.SelfAssessments = append(out.SelfAssessments, model.SelfAssessment{Indicator: s.Indicator, Body: s.Body, Value: s.Value, Note: s.Note})
	}
	if sc.Published {
		out.PlanID = benchmark.PlanID(sc.Round.ID, sc.Municipality)
	}
	if rv := sc.Review; rv != nil {
		out.Review = &model.ScorecardReview{Accepted: rv.Accepted, Note: rv.Note, ReviewedOn: rv.ReviewedOn}
	}
	return out, nil
}

// planOf turns an action plan into the API's: each commitment's status
// and progress from its last report, a milestone reached on the first
// report naming it, and its indicators before and after.
func (r *Resolver) planOf(ctx context.Context, p *projections.ActionPlan) (*model.ActionPlan, error) {
	mu, err := loadersFrom(ctx).municipalities.Load(ctx, p.Municipality)
	if err != nil {
		return nil, err
	}
	vals, err := r.deps.Reads.PlanIndicatorValues(ctx, p)
	if err != nil {
		return nil, err
	}
	round, err := r.deps.Reads.BenchmarkRound(ctx, p.Round)
	if err != nil || round == nil {
		return nil, err
	}
	m, err := r.method(ctx, round.MethodVersion)
	if err != nil {
		return nil, err
	}
	out := &model.ActionPlan{ID: p.ID, Round: p.Round, Municipality: &mu, Title: &p.Title, AdoptedOn: p.AdoptedOn, Commitments: []model.Commitment{}}
	for i, c := range p.Commitments {
		mc := model.Commitment{Code: c.Code, Text: &p.Commitments[i].Text, Responsible: c.Responsible, Due: c.Due, Status: benchmark.NotStarted,
			Indicators: []model.CommitmentIndicator{}, Milestones: []model.PlanMilestone{}, Reports: []model.ProgressReport{}}
		reached := map[string]string{}
		for _, rep := range p.Reports {
			if rep.Commitment != c.Code {
				continue
			}
			mc.Status, mc.Progress = rep.Status, rep.Progress
			mc.Reports = append(mc.Reports, model.ProgressReport{Milestone: nonEmpty(rep.Milestone), Status: rep.Status, Progress: rep.Progress,
				Note: rep.Note, ReportedOn: rep.ReportedOn})
			if rep.Milestone != "" && reached[rep.Milestone] == "" && (rep.Status == benchmark.OnTrack || rep.Status == benchmark.Completed) {
				reached[rep.Milestone] = rep.ReportedOn
			}
		}
		for j, ms := range c.Milestones {
			mc.Milestones = append(mc.Milestones, model.PlanMilestone{Code: ms.Code, Text: &c.Milestones[j].Text, Due: ms.Due, ReachedOn: nonEmpty(reached[ms.Code])})
		}
		for _, code := range c.Indicators {
			bodies := []benchmark.Body{benchmark.CityHall, benchmark.Sakrebulo}
			if i := slices.IndexFunc(m.Indicators, func(x benchmark.Indicator) bool { return x.Code == code }); i >= 0 && m.Indicators[i].Body != benchmark.Both {
				bodies = []benchmark.Body{m.Indicators[i].Body}
			}
			for _, b := range bodies {
				k := [2]string{code, string(b)}
				mc.Indicators = append(mc.Indicators, model.CommitmentIndicator{Indicator: code, Body: b, Before: vals.Before[k], After: vals.After[k],
					NextRound: nonEmpty(vals.NextRound)})
			}
		}
		out.Commitments = append(out.Commitments, mc)
	}
	return out, nil
}

// replayOf turns a replay into the API's.
func replayOf(round string, m benchmark.Method, rp benchmark.Replay, published bool, municipality string) *model.ScoreReplay {
	out := &model.ScoreReplay{Round: round, Municipality: municipality, Verdict: rp.Verdict, MethodVersion: m.Version,
		Recomputed: publishedOf(m, rp.Recomputed), Current: publishedOf(m, rp.Current), Problems: nonNil(rp.Problems),
		About: domain.Scope{Municipality: municipality, Public: published}}
	if rp.Published != nil {
		out.Published = publishedOf(m, *rp.Published)
	}
	return out
}

// benchmarkResult turns a command's outcome into the position, waiting
// for the benchmark read model to show it (a warning, not an error, when
// it does not in time).
func (r *Resolver) benchmarkResult(ctx context.Context, res eventstore.AppendResult, err error) (int64, bool, error) {
	if err != nil {
		return 0, false, err
	}
	pos, err := r.mutationPosition(ctx, res)
	if err != nil {
		return 0, false, err
	}
	if err := r.caughtUp(ctx, int64(pos), "benchmark"); err != nil {
		graphql.AddError(ctx, err)
		return int64(pos), false, nil
	}
	return int64(pos), true, nil
}

// scorecardResult is a scorecard command's payload.
func (r *Resolver) scorecardResult(ctx context.Context, round, municipality string, res eventstore.AppendResult, err error) (*model.ScorecardPayload, error) {
	pos, shown, err := r.benchmarkResult(ctx, res, err)
	if err != nil {
		return nil, err
	}
	p := &model.ScorecardPayload{Position: scalar.Position(pos)}
	if !shown {
		return p, nil
	}
	sc, err := r.deps.Reads.Scorecard(ctx, round, municipality)
	if err != nil || sc == nil {
		return p, err
	}
	p.Scorecard, err = r.scorecardOf(ctx, sc)
	return p, err
}

// roundResult is a round command's payload.
func (r *Resolver) roundResult(ctx context.Context, round string, res eventstore.AppendResult, err error) (*model.BenchmarkRoundPayload, error) {
	pos, shown, err := r.benchmarkResult(ctx, res, err)
	if err != nil {
		return nil, err
	}
	p := &model.BenchmarkRoundPayload{Position: scalar.Position(pos)}
	if shown {
		p.Round, err = r.deps.Reads.BenchmarkRound(ctx, round)
	}
	return p, err
}

// planResult is an action plan command's payload.
func (r *Resolver) planResult(ctx context.Context, id string, res eventstore.AppendResult, err error) (*model.ActionPlanPayload, error) {
	pos, shown, err := r.benchmarkResult(ctx, res, err)
	if err != nil {
		return nil, err
	}
	p := &model.ActionPlanPayload{Position: scalar.Position(pos)}
	if !shown {
		return p, nil
	}
	pl, err := r.deps.Reads.ActionPlan(ctx, id)
	if err != nil || pl == nil {
		return p, err
	}
	p.Plan, err = r.planOf(ctx, pl)
	return p, err
}

// checkCodes checks a list argument of codes: at most max, none twice.
func checkCodes(field string, codes []string, max int) error {
	if len(codes) > max {
		return domain.InvalidField(field, "%d given, over the limit of %d", len(codes), max)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if err := domain.CheckCode(fmt.Sprintf("%s[%d]", field, i), c, "poti"); err != nil {
			return err
		}
		if seen[c] {
			return domain.InvalidField(fmt.Sprintf("%s[%d]", field, i), "%s twice", c)
		}
		seen[c] = true
	}
	return nil
}

func scoreInput(in model.ScoreInput) benchmark.Score {
	return benchmark.Score{Round: in.Round, Municipality: in.Municipality, Indicator: in.Indicator, Body: in.Body, Value: in.Value,
		Evidence: evidenceInput(in.Evidence), Rationale: deref(in.Rationale)}
}

// scoreVerification verifies the log over the events a score's replay
// reads: the method's versions, the round's and the municipality's
// scorecard's (eventstore.Auditor.CheckEvents), as a recount does over a
// cycle's ballots.
func (r *Resolver) scoreVerification(ctx context.Context, round, municipality string) (*model.LogVerification, error) {
	auditor, ok := r.deps.Store.(eventstore.Auditor)
	if !ok {
		return verificationOf(nil), nil
	}
	var events []eventstore.Event
	for _, stream := range []string{benchmark.MethodStream, benchmark.RoundStream(round), benchmark.ScorecardStream(round, municipality)} {
		es, err := r.deps.Store.ReadStream(ctx, stream, eventstore.ReadOptions{})
		if err != nil {
			return nil, domain.Wrap(err, "read "+stream)
		}
		events = append(events, es...)
	}
	if !slices.ContainsFunc(events, func(e eventstore.Event) bool { return e.Position > 0 }) {
		return verificationOf(nil), nil
	}
	_, v, err := auditor.CheckEvents(ctx, events)
	if err != nil {
		return nil, domain.Wrap(err, "verify the log")
	}
	return verificationOf(&v), nil
}
