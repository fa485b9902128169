package benchmark

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/digest"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// Service handles the benchmark's commands. Admins publish methods, open,
// share and publish rounds; assessors score and answer; a municipality's
// own key assesses itself and contests its preliminary scores.
type Service struct {
	Repo *domain.Repository
	// Ledger reads the figures of computed indicators (ScoreComputed);
	// nil where nothing computes them.
	Ledger Ledger

	// methods caches the method's versions by number: a version never
	// changes once published, and decoding one (sixty indicators) for
	// every score took two thirds of scoring's time (BenchmarkScoreRound).
	methods sync.Map // int → Method
}

// method returns version v of the method, and false when there is none.
func (s *Service) method(ctx context.Context, v int) (Method, bool, error) {
	if m, ok := s.methods.Load(v); ok {
		return m.(Method), true, nil
	}
	var methods Methods
	if _, err := s.Repo.Load(ctx, MethodStream, &methods); err != nil {
		return Method{}, false, err
	}
	for i := 1; i <= methods.Latest(); i++ {
		m, _ := methods.Version(i)
		s.methods.Store(i, m)
	}
	m, ok := methods.Version(v)
	return m, ok, nil
}

var assessors = []domain.Role{domain.Assessor, domain.Admin, domain.System}

// maxMunicipalities bounds a round (Georgia has 69 municipalities and
// self-governing cities), maxEvidence a score's or a contest's evidence.
const (
	maxMunicipalities = 100
	maxEvidence       = 20
)

// checkEvidence checks a list of evidence: at most maxEvidence, each of a
// known kind, with a reference and a valid answer date.
func checkEvidence(p *domain.Problems, list []Evidence) {
	if len(list) > maxEvidence {
		p.Add(domain.InvalidField("evidence", "%d items, over the limit of %d", len(list), maxEvidence))
		return
	}
	for i, e := range list {
		if e.Kind != "url" && e.Kind != "document" && e.Kind != "foi" {
			p.Add(domain.InvalidField(fmt.Sprintf("evidence[%d].kind", i), "%q is not url, document or foi", e.Kind))
		}
		switch n := utf8.RuneCountInString(strings.TrimSpace(e.Ref)); {
		case n == 0:
			p.Add(domain.InvalidField(fmt.Sprintf("evidence[%d].ref", i), "required"))
		case n > 2000:
			p.Add(domain.InvalidField(fmt.Sprintf("evidence[%d].ref", i), "%d characters, over the limit of 2,000", n))
		}
		if e.AnsweredOn != "" {
			p.Add(domain.CheckDate(fmt.Sprintf("evidence[%d].answeredOn", i), e.AnsweredOn))
		}
	}
}

func required(p *domain.Problems, field, s string) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		p.Add(domain.InvalidField(field, "required"))
	case n > 4000:
		p.Add(domain.InvalidField(field, "%d characters, over the limit of 4,000", n))
	}
	return s
}

// PublishMethod publishes the next version of the method.
func (s *Service) PublishMethod(ctx context.Context, meta domain.Meta, cmd PublishMethod) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("publish a benchmark method", domain.Admin, domain.System); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Reason = required(&p, "reason", cmd.Reason)
	cmd.Method.Version = 1
	p.Add(cmd.Method.Validate("method"))
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: MethodStream, What: "benchmark method", Creates: true},
		func(m *Methods) ([]domain.Event, error) {
			cmd.Method.Version = m.Latest() + 1
			return []domain.Event{MethodPublished{Method: cmd.Method, Reason: cmd.Reason}}, nil
		})
}

// OpenRound opens a round over municipalities of the registry.
func (s *Service) OpenRound(ctx context.Context, meta domain.Meta, cmd OpenRound) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("open a benchmark round", domain.Admin, domain.System); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(domain.CheckCode("id", cmd.ID, "2025"))
	cmd.Title = cmd.Title.Normalize()
	p.Add(cmd.Title.Validate("title"))
	if cmd.Year < 2000 || cmd.Year > 2100 {
		p.Add(domain.InvalidField("year", "%d is not a year from 2000 to 2100", cmd.Year))
	}
	if p.Add(domain.CheckPeriod("schedule.assessmentEnd", cmd.Schedule.AssessmentEnd, "schedule.commentsUntil", cmd.Schedule.CommentsUntil)) &&
		cmd.Schedule.CommentsUntil == cmd.Schedule.AssessmentEnd {
		p.Add(domain.InvalidField("schedule.commentsUntil", "the comment window follows the assessment: a day at least"))
	}
	switch n := len(cmd.Municipalities); {
	case n == 0:
		p.Add(domain.InvalidField("municipalities", "a round covers one municipality at least"))
	case n > maxMunicipalities:
		return eventstore.AppendResult{}, domain.InvalidField("municipalities", "%d, over the limit of %d", n, maxMunicipalities)
	}
	seen := map[string]bool{}
	for i, m := range cmd.Municipalities {
		f := fmt.Sprintf("municipalities[%d]", i)
		if !p.Add(domain.CheckCode(f, m, "batumi")) {
			continue
		}
		if seen[m] {
			p.Add(domain.InvalidField(f, "%s twice", m))
			continue
		}
		seen[m] = true
		var mu registry.Municipality
		if _, err := s.Repo.Load(ctx, registry.MunicipalityStream(m), &mu); err != nil {
			return eventstore.AppendResult{}, err
		}
		if mu.Code() == "" {
			p.Add(domain.InvalidField(f, "%q is not a municipality in the registry", m))
		}
	}
	var methods Methods
	if _, err := s.Repo.Load(ctx, MethodStream, &methods); err != nil {
		return eventstore.AppendResult{}, err
	}
	if cmd.MethodVersion == 0 {
		cmd.MethodVersion = methods.Latest()
	}
	if _, ok := methods.Version(cmd.MethodVersion); !ok {
		p.Add(domain.InvalidField("methodVersion", "%d is not a published version of the method (%d are)", cmd.MethodVersion, methods.Latest()))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: RoundStream(cmd.ID), What: "round " + cmd.ID, Creates: true},
		func(r *Round) ([]domain.Event, error) {
			if r.id != "" {
				return nil, domain.Errorf(domain.Conflict, "round %s exists already", cmd.ID)
			}
			return []domain.Event{RoundOpened{ID: cmd.ID, Title: cmd.Title, Year: cmd.Year, MethodVersion: cmd.MethodVersion, Municipalities: cmd.Municipalities,
				Schedule: cmd.Schedule}}, nil
		})
}

// state loads a round and its method; the municipality must be one of
// the round's.
func (s *Service) state(ctx context.Context, round, municipality string) (*Round, Method, error) {
	if err := domain.CheckCode("round", round, "2025"); err != nil {
		return nil, Method{}, err
	}
	var r Round
	if _, err := s.Repo.Load(ctx, RoundStream(round), &r); err != nil {
		return nil, Method{}, err
	}
	if r.id == "" {
		return nil, Method{}, domain.Errorf(domain.NotFound, "no benchmark round %s", round)
	}
	m, _, err := s.method(ctx, r.method)
	if err != nil {
		return nil, Method{}, err
	}
	if municipality != "" && !containsString(r.municipalities, municipality) {
		return nil, Method{}, domain.InvalidField("municipality", "%q is not in round %s", municipality, round)
	}
	return &r, m, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkValue checks an indicator's value of a body under m.
func checkValue(m Method, field, indicator string, body Body, value *float64) (Indicator, error) {
	ind, ok := m.indicator(indicator)
	if !ok {
		return ind, domain.InvalidField("indicator", "%q is not an indicator of method version %d", indicator, m.Version)
	}
	if body != CityHall && body != Sakrebulo || ind.Body != Both && ind.Body != body {
		return ind, domain.InvalidField("body", "indicator %s judges %s, not %s", ind.Code, ind.Body, body)
	}
	if value != nil {
		if _, err := ind.Scale.Share(*value); err != nil {
			return ind, domain.InvalidField(field, "indicator %s: %v", ind.Code, err)
		}
	}
	return ind, nil
}

// onScorecard runs decide on a municipality's scorecard.
func (s *Service) onScorecard(ctx context.Context, meta domain.Meta, round, municipality string, decide func(*Scorecard) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: ScorecardStream(round, municipality), What: "scorecard", Creates: true}, decide)
}

// Score records an assessor's score, before the preliminary results are
// shared: evidence where the indicator requires it, a rationale always,
// and for a computed indicator how its value was read from the ledger.
func (s *Service) Score(ctx context.Context, meta domain.Meta, cmd Score) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("score an indicator", assessors...); err != nil {
		return eventstore.AppendResult{}, err
	}
	r, m, err := s.state(ctx, cmd.Round, cmd.Municipality)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	ind, err := checkValue(m, "value", cmd.Indicator, cmd.Body, cmd.Value)
	if !p.Add(err) {
		return eventstore.AppendResult{}, p.Err()
	}
	cmd.Rationale = required(&p, "rationale", cmd.Rationale)
	if ind.Evidence && cmd.Value != nil && len(cmd.Evidence) == 0 {
		p.Add(domain.InvalidField("evidence", "indicator %s is scored on evidence: give a URL, a document or an FOI request", ind.Code))
	}
	checkEvidence(&p, cmd.Evidence)
	switch {
	case ind.Computed != "" && (cmd.Computed == nil || cmd.Computed.Figure != ind.Computed || cmd.Computed.Query == "" || cmd.Computed.Position < 0):
		p.Add(domain.InvalidField("computed", "indicator %s is computed from %s: give the figure, its query and the log position it was read at", ind.Code, ind.Computed))
	case ind.Computed == "" && cmd.Computed != nil:
		p.Add(domain.InvalidField("computed", "indicator %s is judged, not computed", ind.Code))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := r.assessing(meta, "a score changes now through a contest's answer"); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onScorecard(ctx, meta, cmd.Round, cmd.Municipality, func(*Scorecard) ([]domain.Event, error) {
		return []domain.Event{Scored{Round: cmd.Round, Municipality: cmd.Municipality, Indicator: cmd.Indicator, Body: cmd.Body,
			Value: cmd.Value, Evidence: cmd.Evidence, Rationale: cmd.Rationale, Computed: cmd.Computed}}, nil
	})
}

// SelfAssess records the municipality's own assessment of an indicator,
// before the preliminary results: it informs the assessor, and is never
// the score.
func (s *Service) SelfAssess(ctx context.Context, meta domain.Meta, cmd Score) (eventstore.AppendResult, error) {
	a := meta.Actor
	if a.Role != domain.Applicant || a.Municipality != cmd.Municipality {
		return eventstore.AppendResult{}, domain.Errorf(domain.Forbidden, "a self-assessment is for the municipality's own key")
	}
	r, m, err := s.state(ctx, cmd.Round, cmd.Municipality)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if _, err := checkValue(m, "value", cmd.Indicator, cmd.Body, cmd.Value); err != nil {
		return eventstore.AppendResult{}, err
	}
	if n := utf8.RuneCountInString(cmd.Rationale); n > 4000 {
		return eventstore.AppendResult{}, domain.InvalidField("rationale", "%d characters, over the limit of 4,000", n)
	}
	// A self-assessment records a value and a note; evidence is the
	// assessor's to weigh (scoreIndicator). Refused rather than dropped,
	// so that a municipality does not believe its documents were filed.
	if len(cmd.Evidence) > 0 {
		return eventstore.AppendResult{}, domain.InvalidField("evidence", "a self-assessment records no evidence: send it to the assessor, who cites it when scoring")
	}
	if err := r.assessing(meta, "contest a score instead"); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onScorecard(ctx, meta, cmd.Round, cmd.Municipality, func(*Scorecard) ([]domain.Event, error) {
		return []domain.Event{SelfAssessed{Round: cmd.Round, Municipality: cmd.Municipality, Indicator: cmd.Indicator, Body: cmd.Body,
			Value: cmd.Value, Note: strings.TrimSpace(cmd.Rationale)}}, nil
	})
}

// ReviewScorecard records a reviewer going over a municipality's
// scorecard before the preliminary results: accepted, or returned to the
// assessor with a note saying what to look at again. Quality control as
// the LSGI's reviewers do it: no municipality sees numbers nobody but
// their assessor has looked at.
func (s *Service) ReviewScorecard(ctx context.Context, meta domain.Meta, cmd Review) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("review a scorecard", assessors...); err != nil {
		return eventstore.AppendResult{}, err
	}
	r, _, err := s.state(ctx, cmd.Round, cmd.Municipality)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Note = strings.TrimSpace(cmd.Note)
	if !cmd.Accepted {
		cmd.Note = required(&p, "note", cmd.Note)
	} else if n := utf8.RuneCountInString(cmd.Note); n > 4000 {
		p.Add(domain.InvalidField("note", "%d characters, over the limit of 4,000", n))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if r.shared != "" {
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "round %s's preliminary results were shared on %s", r.id, r.shared)
	}
	return s.onScorecard(ctx, meta, cmd.Round, cmd.Municipality, func(sc *Scorecard) ([]domain.Event, error) {
		if len(sc.scored) == 0 {
			return nil, domain.Errorf(domain.Conflict, "%s has no score in round %s to review", cmd.Municipality, cmd.Round)
		}
		return []domain.Event{ScorecardReviewed{Round: cmd.Round, Municipality: cmd.Municipality, Accepted: cmd.Accepted, Note: cmd.Note}}, nil
	})
}

// SharePreliminary shows the round's preliminary results to its
// municipalities and opens their comment window, once every scorecard
// with a score has been reviewed and accepted since its last score.
func (s *Service) SharePreliminary(ctx context.Context, meta domain.Meta, round string) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("share preliminary results", domain.Admin, domain.System); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: RoundStream(round), What: "round " + round}, func(r *Round) ([]domain.Event, error) {
		switch today := meta.Today(); {
		case r.shared != "":
			return nil, domain.Errorf(domain.Conflict, "round %s's preliminary results were shared on %s", r.id, r.shared)
		case today > r.schedule.CommentsUntil:
			return nil, domain.Errorf(domain.Conflict, "round %s's comment window closed on %s", r.id, r.schedule.CommentsUntil)
		}
		var unreviewed []string
		for _, muni := range r.municipalities {
			var sc Scorecard
			if _, err := s.Repo.Load(ctx, ScorecardStream(r.id, muni), &sc); err != nil {
				return nil, err
			}
			if len(sc.scored) > 0 && !sc.reviewed {
				unreviewed = append(unreviewed, muni)
			}
		}
		if len(unreviewed) > 0 {
			return nil, domain.Errorf(domain.Conflict, "round %s: the scorecards of %s are not reviewed and accepted since their last score",
				r.id, strings.Join(unreviewed, ", "))
		}
		return []domain.Event{PreliminaryShared{Round: r.id, On: meta.Today()}}, nil
	})
}

// Contest records the municipality contesting a preliminary score, in
// its comment window, with evidence.
func (s *Service) Contest(ctx context.Context, meta domain.Meta, cmd Contest) (eventstore.AppendResult, error) {
	a := meta.Actor
	if a.Role != domain.Applicant || a.Municipality != cmd.Municipality {
		return eventstore.AppendResult{}, domain.Errorf(domain.Forbidden, "contest a score is for the municipality's own key")
	}
	r, m, err := s.state(ctx, cmd.Round, cmd.Municipality)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	_, err = checkValue(m, "value", cmd.Indicator, cmd.Body, nil)
	p.Add(err)
	cmd.Grounds = required(&p, "grounds", cmd.Grounds)
	if len(cmd.Evidence) == 0 {
		p.Add(domain.InvalidField("evidence", "a contest gives its evidence"))
	}
	checkEvidence(&p, cmd.Evidence)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	switch today := meta.Today(); {
	case r.shared == "":
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "round %s's preliminary results are not shared yet", r.id)
	case today > r.schedule.CommentsUntil:
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "round %s's comment window closed on %s", r.id, r.schedule.CommentsUntil)
	}
	return s.onScorecard(ctx, meta, cmd.Round, cmd.Municipality, func(sc *Scorecard) ([]domain.Event, error) {
		k := key{cmd.Indicator, cmd.Body}
		switch {
		case !sc.scored[k]:
			return nil, domain.Errorf(domain.Conflict, "indicator %s of the %s was not scored: nothing to contest", cmd.Indicator, cmd.Body)
		case sc.contested[k]:
			return nil, domain.Errorf(domain.Conflict, "indicator %s of the %s is contested already", cmd.Indicator, cmd.Body)
		}
		return []domain.Event{ScoreContested{Round: cmd.Round, Municipality: cmd.Municipality, Indicator: cmd.Indicator, Body: cmd.Body,
			Grounds: cmd.Grounds, Evidence: cmd.Evidence}}, nil
	})
}

// AnswerContest records the assessor's answer to an open contest.
func (s *Service) AnswerContest(ctx context.Context, meta domain.Meta, cmd Answer) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("answer a contest", assessors...); err != nil {
		return eventstore.AppendResult{}, err
	}
	r, m, err := s.state(ctx, cmd.Round, cmd.Municipality)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	if cmd.Kept {
		cmd.Value = nil
	}
	_, err = checkValue(m, "value", cmd.Indicator, cmd.Body, cmd.Value)
	p.Add(err)
	cmd.Reason = required(&p, "reason", cmd.Reason)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if r.published != nil {
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "round %s is published", r.id)
	}
	return s.onScorecard(ctx, meta, cmd.Round, cmd.Municipality, func(sc *Scorecard) ([]domain.Event, error) {
		if !sc.contested[key{cmd.Indicator, cmd.Body}] {
			return nil, domain.Errorf(domain.Conflict, "indicator %s of the %s has no open contest", cmd.Indicator, cmd.Body)
		}
		return []domain.Event{ContestAnswered{Round: cmd.Round, Municipality: cmd.Municipality, Indicator: cmd.Indicator, Body: cmd.Body,
			Kept: cmd.Kept, Value: cmd.Value, Reason: cmd.Reason}}, nil
	})
}

// DigestVersion is the layout of a published score's inputs (scoreDoc).
const DigestVersion = "v2"

type scoreDoc struct {
	Round         string     `json:"round"`
	MethodVersion int        `json:"method_version"`
	Municipality  string     `json:"municipality"`
	Values        []valueDoc `json:"values"`
}

type valueDoc struct {
	Indicator string   `json:"indicator"`
	Body      Body     `json:"body"`
	Value     *float64 `json:"value"`
}

// result aggregates a municipality's values and digests them.
func result(r *Round, m Method, municipality string, vals []Value) (Published, error) {
	res, err := m.Aggregate(vals)
	if err != nil {
		return Published{}, err
	}
	doc := scoreDoc{Round: r.id, MethodVersion: m.Version, Municipality: municipality, Values: []valueDoc{}}
	for _, v := range vals {
		doc.Values = append(doc.Values, valueDoc{v.Indicator, v.Body, v.Value})
	}
	d, err := digest.Sum(DigestVersion, doc)
	if err != nil {
		return Published{}, err
	}
	return Published{Municipality: municipality, Total: res.Total, Blocks: res.Blocks, Bodies: res.Bodies, Coverage: res.Coverage, InputsDigest: d}, nil
}

// Publish publishes a round once its comment window has closed and every
// contest is answered: each municipality's total and blocks, by the
// round's method version, with the digest of its values.
func (s *Service) Publish(ctx context.Context, meta domain.Meta, round string) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("publish a round", domain.Admin, domain.System); err != nil {
		return eventstore.AppendResult{}, err
	}
	_, m, err := s.state(ctx, round, "")
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: RoundStream(round), What: "round " + round}, func(r *Round) ([]domain.Event, error) {
		switch {
		case r.published != nil:
			return nil, domain.Errorf(domain.Conflict, "round %s was published on %s", r.id, r.published.On)
		case r.shared == "":
			return nil, domain.Errorf(domain.Conflict, "round %s's preliminary results are not shared yet", r.id)
		case meta.Today() <= r.schedule.CommentsUntil:
			return nil, domain.Errorf(domain.Conflict, "round %s's comment window is open until %s", r.id, r.schedule.CommentsUntil)
		}
		pub := RoundPublished{Round: r.id, On: meta.Today()}
		for _, muni := range r.municipalities {
			var sc Scorecard
			if _, err := s.Repo.Load(ctx, ScorecardStream(r.id, muni), &sc); err != nil {
				return nil, err
			}
			if sc.OpenContests() {
				return nil, domain.Errorf(domain.Conflict, "%s has a contest not answered yet", muni)
			}
			res, err := result(r, m, muni, sc.AtPublication())
			if err != nil {
				return nil, domain.Wrap(err, "score "+muni)
			}
			pub.Results = append(pub.Results, res)
		}
		return []domain.Event{pub}, nil
	})
}

// Correct corrects a published score, with the reason: the one way a
// score changes after publication.
func (s *Service) Correct(ctx context.Context, meta domain.Meta, cmd Correct) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("correct a published score", assessors...); err != nil {
		return eventstore.AppendResult{}, err
	}
	r, m, err := s.state(ctx, cmd.Round, cmd.Municipality)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	_, err = checkValue(m, "value", cmd.Indicator, cmd.Body, cmd.Value)
	p.Add(err)
	cmd.Reason = required(&p, "reason", cmd.Reason)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if r.published == nil {
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "round %s is not published: score it instead", r.id)
	}
	return s.onScorecard(ctx, meta, cmd.Round, cmd.Municipality, func(sc *Scorecard) ([]domain.Event, error) {
		k := key{cmd.Indicator, cmd.Body}
		was := sc.current[k]
		sc.current[k] = cmd.Value
		res, err := result(r, m, cmd.Municipality, sc.Current())
		sc.current[k] = was
		if err != nil {
			return nil, err
		}
		return []domain.Event{ScoreCorrected{Round: cmd.Round, Municipality: cmd.Municipality, Indicator: cmd.Indicator, Body: cmd.Body,
			Value: cmd.Value, Reason: cmd.Reason, Result: res}}, nil
	})
}

// Verdict is what a replay of a published score finds.
type Verdict string

// The verdicts.
const (
	Unpublished Verdict = "unpublished"
	Followed    Verdict = "followed"
	Mismatch    Verdict = "mismatch"
)

// Replay is a municipality's published score recomputed from its events.
type Replay struct {
	Verdict    Verdict
	Published  *Published
	Recomputed Published
	// Current is the score with corrections after publication applied.
	Current  Published
	Problems []string
}

// ReplayScore recomputes a municipality's published total and blocks
// from its scorecard's events under the round's method version, and
// compares them, and the inputs' digest, with what the publication
// recorded.
func (s *Service) ReplayScore(ctx context.Context, round, municipality string) (Replay, error) {
	r, m, err := s.state(ctx, round, municipality)
	if err != nil {
		return Replay{}, err
	}
	var sc Scorecard
	if _, err := s.Repo.Load(ctx, ScorecardStream(round, municipality), &sc); err != nil {
		return Replay{}, err
	}
	out := Replay{Verdict: Unpublished}
	if out.Recomputed, err = result(r, m, municipality, sc.AtPublication()); err != nil {
		return Replay{}, domain.Wrap(err, "replay")
	}
	if out.Current, err = result(r, m, municipality, sc.Current()); err != nil {
		return Replay{}, domain.Wrap(err, "replay")
	}
	if r.published == nil {
		return out, nil
	}
	for i := range r.published.Results {
		if r.published.Results[i].Municipality == municipality {
			out.Published = &r.published.Results[i]
		}
	}
	out.Verdict = Followed
	switch p := out.Published; {
	case p == nil:
		out.Problems = append(out.Problems, "the publication has no result for "+municipality)
	default:
		out.Problems = append(out.Problems, differences("", *p, out.Recomputed)...)
	}
	if c := sc.corrected; c != nil {
		out.Problems = append(out.Problems, differences("after the last correction, ", *c, out.Current)...)
	}
	if len(out.Problems) > 0 {
		out.Verdict = Mismatch
	}
	return out, nil
}

func show(x *float64) string {
	if x == nil {
		return "no data"
	}
	return fmt.Sprintf("%.2f", *x)
}

// differences lists where a recorded result and its recomputation differ.
func differences(when string, recorded, again Published) []string {
	var out []string
	if recorded.InputsDigest != again.InputsDigest {
		out = append(out, fmt.Sprintf("%sinputs digest recomputed %s; recorded %s", when, again.InputsDigest, recorded.InputsDigest))
	}
	if show(recorded.Total) != show(again.Total) {
		out = append(out, fmt.Sprintf("%stotal recomputed %s; recorded %s", when, show(again.Total), show(recorded.Total)))
	}
	for _, b := range slices.Sorted(maps.Keys(again.Blocks)) {
		if show(recorded.Blocks[b]) != show(again.Blocks[b]) {
			out = append(out, fmt.Sprintf("%sblock %s recomputed %s; recorded %s", when, b, show(again.Blocks[b]), show(recorded.Blocks[b])))
		}
	}
	for _, b := range []Body{CityHall, Sakrebulo} {
		if show(recorded.Bodies[b]) != show(again.Bodies[b]) {
			out = append(out, fmt.Sprintf("%s%s recomputed %s; recorded %s", when, b, show(again.Bodies[b]), show(recorded.Bodies[b])))
		}
	}
	return out
}
