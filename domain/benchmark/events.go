package benchmark

import "github.com/civicledger/civicledger/domain"

// RegisterEvents adds the benchmark's events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[MethodPublished](types)
	domain.Register[RoundOpened](types)
	domain.Register[SelfAssessed](types)
	domain.Register[Scored](types)
	domain.Register[ScorecardReviewed](types)
	domain.Register[PreliminaryShared](types)
	domain.Register[ScoreContested](types)
	domain.Register[ContestAnswered](types)
	domain.Register[RoundPublished](types)
	domain.Register[ScoreCorrected](types)
	domain.Register[PlanAdopted](types)
	domain.Register[PlanProgressReported](types)
	declareEvents(types)
}

// MethodPublished: a version of the method was published. Versions count
// from 1; a round keeps the version it opened with.
type MethodPublished struct {
	Method Method `json:"method"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (MethodPublished) EventType() string { return "benchmark.method_published" }

// Schedule is a round's calendar (YYYY-MM-DD, Tbilisi): scores until
// AssessmentEnd, preliminary results shared by then, comments until
// CommentsUntil, publication after.
type Schedule struct {
	AssessmentEnd string `json:"assessment_end"`
	CommentsUntil string `json:"comments_until"`
}

// RoundOpened: a round of the benchmark began over municipalities, under
// a method version.
type RoundOpened struct {
	ID    string               `json:"id"`
	Title domain.LocalizedText `json:"title"`
	// Year is the year the round judges: computed indicators read the
	// ledger's figures of this year.
	Year           int      `json:"year"`
	MethodVersion  int      `json:"method_version"`
	Municipalities []string `json:"municipalities"`
	Schedule       Schedule `json:"schedule"`
}

// EventType implements domain.Event.
func (RoundOpened) EventType() string { return "benchmark.round_opened" }

// Evidence is what a score rests on.
type Evidence struct {
	// Kind is url, document or foi (a freedom-of-information request).
	Kind string `json:"kind"`
	Ref  string `json:"ref"`
	// AnsweredOn is an FOI request's answer date, "" when unanswered.
	AnsweredOn string `json:"answered_on,omitempty"`
}

// Computed is how a computed indicator's value was read from the ledger:
// the figure's name, the query that produced it and the log position it
// was read at, so anyone can read it again.
type Computed struct {
	Figure   string `json:"figure"`
	Query    string `json:"query"`
	Position int64  `json:"position"`
}

// SelfAssessed: the municipality assessed itself on an indicator. It
// informs the assessor; it is not the score.
type SelfAssessed struct {
	Round        string   `json:"round"`
	Municipality string   `json:"municipality"`
	Indicator    string   `json:"indicator"`
	Body         Body     `json:"body"`
	Value        *float64 `json:"value"`
	Note         string   `json:"note,omitempty"`
}

// EventType implements domain.Event.
func (SelfAssessed) EventType() string { return "benchmark.self_assessed" }

// Scored: an assessor scored an indicator of a municipality, with the
// evidence and the rationale; a nil Value is no data.
type Scored struct {
	Round        string     `json:"round"`
	Municipality string     `json:"municipality"`
	Indicator    string     `json:"indicator"`
	Body         Body       `json:"body"`
	Value        *float64   `json:"value"`
	Evidence     []Evidence `json:"evidence,omitempty"`
	Rationale    string     `json:"rationale"`
	Computed     *Computed  `json:"computed,omitempty"`
}

// EventType implements domain.Event.
func (Scored) EventType() string { return "benchmark.scored" }

// ScorecardReviewed: a reviewer went over a municipality's scorecard
// before the preliminary results: accepted it, or returned it to the
// assessor with a note. A score recorded after an acceptance needs a new
// review.
type ScorecardReviewed struct {
	Round        string `json:"round"`
	Municipality string `json:"municipality"`
	Accepted     bool   `json:"accepted"`
	Note         string `json:"note"`
}

// EventType implements domain.Event.
func (ScorecardReviewed) EventType() string { return "benchmark.scorecard_reviewed" }

// PreliminaryShared: the preliminary results were shown to the
// municipalities, whose comment window opens.
type PreliminaryShared struct {
	Round string `json:"round"`
	On    string `json:"on"`
}

// EventType implements domain.Event.
func (PreliminaryShared) EventType() string { return "benchmark.preliminary_shared" }

// ScoreContested: a municipality contested a preliminary score, with
// evidence.
type ScoreContested struct {
	Round        string     `json:"round"`
	Municipality string     `json:"municipality"`
	Indicator    string     `json:"indicator"`
	Body         Body       `json:"body"`
	Grounds      string     `json:"grounds"`
	Evidence     []Evidence `json:"evidence"`
}

// EventType implements domain.Event.
func (ScoreContested) EventType() string { return "benchmark.score_contested" }

// ContestAnswered: the assessor answered a contest: the score kept, or
// revised to Value, with the reason.
type ContestAnswered struct {
	Round        string   `json:"round"`
	Municipality string   `json:"municipality"`
	Indicator    string   `json:"indicator"`
	Body         Body     `json:"body"`
	Kept         bool     `json:"kept"`
	Value        *float64 `json:"value,omitempty"`
	Reason       string   `json:"reason"`
}

// EventType implements domain.Event.
func (ContestAnswered) EventType() string { return "benchmark.contest_answered" }

// Published is one municipality's published score: its total and blocks
// as Aggregate gave them, and the digest of the values they came from.
type Published struct {
	Municipality string              `json:"municipality"`
	Total        *float64            `json:"total"`
	Blocks       map[string]*float64 `json:"blocks"`
	// Bodies are the City Hall's and the Sakrebulo's scores apart.
	Bodies       map[Body]*float64 `json:"bodies"`
	Coverage     float64           `json:"coverage"`
	InputsDigest string            `json:"inputs_digest"`
}

// RoundPublished: the round's scores were published, each municipality's
// recorded with the digest of its inputs so a replay can check it.
type RoundPublished struct {
	Round   string      `json:"round"`
	On      string      `json:"on"`
	Results []Published `json:"results"`
}

// EventType implements domain.Event.
func (RoundPublished) EventType() string { return "benchmark.round_published" }

// ScoreCorrected: a published score was corrected, with the reason; the
// municipality's result, recomputed with the correction, is recorded
// with it (a replay checks it).
type ScoreCorrected struct {
	Round        string    `json:"round"`
	Municipality string    `json:"municipality"`
	Indicator    string    `json:"indicator"`
	Body         Body      `json:"body"`
	Value        *float64  `json:"value"`
	Reason       string    `json:"reason"`
	Result       Published `json:"result"`
}

// EventType implements domain.Event.
func (ScoreCorrected) EventType() string { return "benchmark.score_corrected" }

// Milestone is a step of a commitment, due by a date.
type Milestone struct {
	Code string               `json:"code"`
	Text domain.LocalizedText `json:"text"`
	Due  string               `json:"due"`
}

// Commitment is what a municipality undertakes in an action plan: the
// indicators it should move, the body responsible, its milestones and
// its due date.
type Commitment struct {
	Code        string               `json:"code"`
	Text        domain.LocalizedText `json:"text"`
	Indicators  []string             `json:"indicators"`
	Responsible Body                 `json:"responsible"`
	Due         string               `json:"due"`
	Milestones  []Milestone          `json:"milestones"`
}

// PlanAdopted: a municipality adopted an action plan drawn from a round's
// findings (OGP Local style: commitments with milestones).
type PlanAdopted struct {
	ID           string               `json:"id"`
	Round        string               `json:"round"`
	Municipality string               `json:"municipality"`
	Title        domain.LocalizedText `json:"title"`
	On           string               `json:"on"`
	Commitments  []Commitment         `json:"commitments"`
}

// EventType implements domain.Event.
func (PlanAdopted) EventType() string { return "benchmark.plan_adopted" }

// PlanProgressReported: progress on a commitment (and one of its
// milestones, when named) was reported.
type PlanProgressReported struct {
	Plan       string         `json:"plan"`
	Commitment string         `json:"commitment"`
	Milestone  string         `json:"milestone,omitempty"`
	Status     ProgressStatus `json:"status"`
	Progress   int            `json:"progress"`
	Note       string         `json:"note"`
	On         string         `json:"on"`
}

// EventType implements domain.Event.
func (PlanProgressReported) EventType() string { return "benchmark.plan_progress_reported" }
