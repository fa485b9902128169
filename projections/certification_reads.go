package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/jackc/pgx/v5"
)

// The certification read model's queries: what readers ask of the tables
// the projection (certification.go) keeps.

// Completeness is the result of an application's completeness check.
type Completeness string

// The completeness states.
const (
	Unchecked  Completeness = "unchecked"
	Complete   Completeness = "complete"
	Incomplete Completeness = "incomplete"
)

// CertificateStatus is the domain's (certification.CertificateStatusOn),
// which the read model's SQL computes too (certStatus).
type CertificateStatus = certification.CertificateStatus

// The certificate statuses, as the domain has them.
const (
	CertificateValid   = certification.ValidCertificate
	CertificateExpired = certification.ExpiredCertificate
	CertificateRevoked = certification.RevokedCertificate
)

// Cycle is a certification cycle as readers see it, with the rules in
// force.
type Cycle struct {
	Year     int
	Title    domain.LocalizedText
	Schedule certification.Schedule
	// Rules are the rules in force, version RulesVersion; CycleRules lists
	// every version.
	RulesVersion int
	Rules        certification.Rules
	OpenedAt     time.Time
	// UpdatedAt is when the rules last changed (OpenedAt if never).
	UpdatedAt time.Time
}

// dateOf formats a date column as YYYY-MM-DD, "" for NULL: the form the
// events and the API use for days.
func dateOf(col string) string { return `coalesce(to_char(` + col + `, 'YYYY-MM-DD'), '')` }

var cycleColumns = `c.year, c.title_ka, c.title_en, ` + dateOf("c.call_opens") + `, ` + dateOf("c.application_deadline") + `, ` +
	dateOf("c.questionnaire_deadline") + `, ` + dateOf("c.results_date") + `, ` + dateOf("c.ceremony_date") + `,
	c.rules_version, c.rules, c.opened_at, c.updated_at`

func scanCycle(row pgx.Row) (Cycle, error) {
	var c Cycle
	s := &c.Schedule
	err := row.Scan(&c.Year, &c.Title.Ka, &c.Title.En, &s.CallOpens, &s.ApplicationDeadline, &s.QuestionnaireDeadline,
		&s.ResultsDate, &s.CeremonyDate, &c.RulesVersion, &c.Rules, &c.OpenedAt, &c.UpdatedAt)
	return c, err
}

// Cycles returns every cycle, newest first.
func (q *Reads) Cycles(ctx context.Context) ([]Cycle, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+cycleColumns+` FROM rm.cert_cycles c ORDER BY c.year DESC`)
	if err != nil {
		return nil, fmt.Errorf("cycles: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Cycle, error) { return scanCycle(r) })
	if err != nil {
		return nil, fmt.Errorf("cycles: %w", err)
	}
	return list, nil
}

// Cycle returns the cycle of year, or nil when there is none.
func (q *Reads) Cycle(ctx context.Context, year int) (*Cycle, error) {
	c, err := scanCycle(q.DB.QueryRow(ctx, `SELECT `+cycleColumns+` FROM rm.cert_cycles c WHERE c.year = $1`, year))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cycle %d: %w", year, err)
	}
	return &c, nil
}

// RulesChange is one version of a cycle's rules, kept so that an auditor
// sees the rules every decision was taken under.
type RulesChange struct {
	Year    int
	Version int
	Rules   certification.Rules
	// Reason is why the rules changed; "" for version 1, set when the
	// cycle opened.
	Reason    string
	Actor     string
	ChangedAt time.Time
}

// CycleRules returns every version of the rules of the cycle of year, in
// order; none when there is no such cycle.
func (q *Reads) CycleRules(ctx context.Context, year int) ([]RulesChange, error) {
	rows, err := q.DB.Query(ctx, `SELECT year, version, rules, reason, actor, changed_at
		FROM rm.cert_rules WHERE year = $1 ORDER BY version`, year)
	if err != nil {
		return nil, fmt.Errorf("cycle %d rules: %w", year, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RulesChange, error) {
		var c RulesChange
		err := r.Scan(&c.Year, &c.Version, &c.Rules, &c.Reason, &c.Actor, &c.ChangedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("cycle %d rules: %w", year, err)
	}
	return list, nil
}

// Nomination is a municipality proposed for a cycle. It is an invitation:
// the municipality still has to apply.
type Nomination struct {
	Year         int
	Municipality Municipality
	Reason       string
	// NominatedBy is the actor who nominated.
	NominatedBy string
	NominatedAt time.Time
}

// Nominations returns the nominations of the cycle of year, by
// municipality code.
func (q *Reads) Nominations(ctx context.Context, year int) ([]Nomination, error) {
	rows, err := q.DB.Query(ctx, `SELECT n.year, n.municipality, coalesce(m.name_ka, ''), coalesce(m.name_en, ''),
			coalesce(m.kind, ''), coalesce(m.region, ''), m.population_2014, n.reason, n.nominated_by, n.nominated_at
		FROM rm.cert_nominations n LEFT JOIN rm.municipalities m ON m.code = n.municipality
		WHERE n.year = $1 ORDER BY n.municipality`, year)
	if err != nil {
		return nil, fmt.Errorf("nominations %d: %w", year, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Nomination, error) {
		var n Nomination
		m := &n.Municipality
		err := r.Scan(&n.Year, &m.Code, &m.Name.Ka, &m.Name.En, &m.Kind, &m.RegionCode, &m.Population2014,
			&n.Reason, &n.NominatedBy, &n.NominatedAt)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("nominations %d: %w", year, err)
	}
	return list, nil
}

// Decision is the consortium's decision on an application, with what it
// was computed from. Before the result is announced it is internal to the
// consortium (and auditors): the API must not show it to the public or to
// the applicant until Application.AnnouncedOn is set.
type Decision struct {
	Certified    bool
	RulesVersion int
	// Recommendation is what the rules computed from the scores; a
	// decision against it has a Justification.
	Recommendation  certification.Recommendation
	Justification   string
	Recommendations []domain.LocalizedText
	Progress        domain.LocalizedText
	// InputsDigest lets an auditor check a replay of the decision saw the
	// same rules and scores.
	InputsDigest string
	DecidedAt    time.Time
}

// Application is a municipality's application in one cycle as readers
// see it, with its municipality and region (read from the places read
// model; their names are "" if the registry lacks the code). Days are
// YYYY-MM-DD, "" until they happen.
type Application struct {
	ID           string
	Year         int
	Municipality Municipality
	Region       Region
	Status       certification.Status
	// AnswersCount is how many questions have an answer now.
	AnswersCount    int
	SubmittedOn     string
	WithdrawnReason string
	// Confirmed: the programme confirmed the evaluation started.
	Confirmed    bool
	Completeness Completeness
	// Missing is what the last completeness check found missing.
	Missing []string
	// OpenRequests counts information requests not answered yet; the
	// application cannot be decided while there are any.
	OpenRequests    int
	MaterialChanges int
	// Experts are the assigned experts, in order of assignment; Cleared
	// those who declared no conflict of interest (who may score),
	// Conflicted those who declared one.
	Experts    []string
	Cleared    []string
	Conflicted []string
	// Decision is nil until the consortium decides. See Decision for who
	// may see it.
	Decision    *Decision
	AnnouncedOn string
	// The certificate, issued with the announcement of a certification:
	// CertificateNumber is "" when there is none. Its status on a given
	// day comes from Certificates or MunicipalityHistory.
	CertificateNumber string
	ValidFrom         string
	ValidUntil        string
	AwardedOn         string
	RevokedOn         string
	RevokedReason     string
	// DraftedAt (like Decision.DecidedAt, and every time in this read
	// model but UpdatedAt and TimelineEntry.RecordedAt) is business time,
	// the event's OccurredAt: for a past cycle imported later, when it
	// happened. UpdatedAt is when the last event was recorded.
	DraftedAt time.Time
	UpdatedAt time.Time
	// Version is the application stream's version: its number of events.
	Version int64
	// Position is the log position of the last event the row reflects.
	Position int64
}

// placeColumns select the municipality m and its region r of a row.
const placeColumns = `coalesce(m.name_ka, ''), coalesce(m.name_en, ''), coalesce(m.kind, ''), coalesce(m.region, ''),
	m.population_2014, coalesce(r.name_ka, ''), coalesce(r.name_en, ''), coalesce(r.kind, ''), coalesce(r.capital, '')`

// placeJoin joins the municipality m and region r of the application a.
const placeJoin = ` LEFT JOIN rm.municipalities m ON m.code = a.municipality LEFT JOIN rm.regions r ON r.code = m.region`

// placeDest returns the scan destinations of placeColumns.
func placeDest(m *Municipality, r *Region) []any {
	return []any{&m.Name.Ka, &m.Name.En, &m.Kind, &m.RegionCode, &m.Population2014, &r.Name.Ka, &r.Name.En, &r.Kind, &r.Capital}
}

var appColumns = `a.id, a.year, a.municipality, ` + placeColumns + `,
	a.status, a.answers_count, ` + dateOf("a.submitted_on") + `, a.withdrawn_reason, a.confirmed, a.completeness,
	a.missing, a.open_requests, a.material_changes, a.experts, a.cleared, a.conflicted,
	a.certified, a.rules_version, a.recommendation, a.justification, a.recommendations, a.progress_ka, a.progress_en,
	a.inputs_digest, a.decided_at, ` + dateOf("a.announced_on") + `, coalesce(a.certificate_number, ''), ` +
	dateOf("a.valid_from") + `, ` + dateOf("a.valid_until") + `, ` + dateOf("a.awarded_on") + `, ` + dateOf("a.revoked_on") + `,
	a.revoked_reason, a.drafted_at, a.updated_at, a.version, a.position`

func scanApplication(row pgx.Row) (Application, error) {
	var a Application
	var certified *bool
	var rulesVersion *int
	var rec *certification.Recommendation
	var decidedAt *time.Time
	var d Decision
	dest := append([]any{&a.ID, &a.Year, &a.Municipality.Code}, placeDest(&a.Municipality, &a.Region)...)
	dest = append(dest, &a.Status, &a.AnswersCount, &a.SubmittedOn, &a.WithdrawnReason, &a.Confirmed, &a.Completeness,
		&a.Missing, &a.OpenRequests, &a.MaterialChanges, &a.Experts, &a.Cleared, &a.Conflicted,
		&certified, &rulesVersion, &rec, &d.Justification, &d.Recommendations, &d.Progress.Ka, &d.Progress.En,
		&d.InputsDigest, &decidedAt, &a.AnnouncedOn, &a.CertificateNumber,
		&a.ValidFrom, &a.ValidUntil, &a.AwardedOn, &a.RevokedOn, &a.RevokedReason, &a.DraftedAt, &a.UpdatedAt, &a.Version, &a.Position)
	if err := row.Scan(dest...); err != nil {
		return a, err
	}
	a.Region.Code = a.Municipality.RegionCode
	if decidedAt != nil && certified != nil && rulesVersion != nil && rec != nil {
		d.Certified, d.RulesVersion, d.Recommendation, d.DecidedAt = *certified, *rulesVersion, *rec, *decidedAt
		a.Decision = &d
	}
	return a, nil
}

// Application returns the application with ID id ("2019-batumi"), or nil
// when there is none.
func (q *Reads) Application(ctx context.Context, id string) (*Application, error) {
	a, err := scanApplication(q.DB.QueryRow(ctx, `SELECT `+appColumns+` FROM rm.cert_applications a`+placeJoin+` WHERE a.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("application %s: %w", id, err)
	}
	return &a, nil
}

// ApplicationFilter selects applications; zero fields select all.
type ApplicationFilter struct {
	Year         int
	Municipality string
	// Region is a region code: the applications of its municipalities.
	Region string
	// Status is one of certification's statuses: draft, submitted,
	// withdrawn, decided.
	Status string
}

func (f ApplicationFilter) validate() error {
	if f.Year < 0 {
		return domain.Errorf(domain.Invalid, "year: %d is not a year", f.Year)
	}
	switch certification.Status(f.Status) {
	case "", certification.Draft, certification.Submitted, certification.Withdrawn, certification.Decided:
		return nil
	}
	return domain.Errorf(domain.Invalid, "status: %q is not an application status (draft, submitted, withdrawn or decided)", f.Status)
}

// Applications returns the applications matching f, newest cycle first,
// then by municipality code. There are at most a few hundred a cycle, so
// the list is not paged.
func (q *Reads) Applications(ctx context.Context, f ApplicationFilter) ([]Application, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	rows, err := q.DB.Query(ctx, `SELECT `+appColumns+` FROM rm.cert_applications a`+placeJoin+`
		WHERE ($1 = 0 OR a.year = $1) AND ($2 = '' OR a.municipality = $2) AND ($3 = '' OR m.region = $3)
			AND ($4 = '' OR a.status = $4)
		ORDER BY a.year DESC, a.municipality`, f.Year, f.Municipality, f.Region, f.Status)
	if err != nil {
		return nil, fmt.Errorf("applications: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Application, error) { return scanApplication(r) })
	if err != nil {
		return nil, fmt.Errorf("applications: %w", err)
	}
	return list, nil
}

// ApplicationAnswers returns the current questionnaire answers of an
// application, by question code; empty when there is no such application.
func (q *Reads) ApplicationAnswers(ctx context.Context, id string) (map[string]string, error) {
	answers := map[string]string{}
	err := q.DB.QueryRow(ctx, `SELECT answers FROM rm.cert_applications WHERE id = $1`, id).Scan(&answers)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("application %s answers: %w", id, err)
	}
	return answers, nil
}

// Score is an expert's current score of one criterion of an application.
// Scores are internal to the consortium, auditors and, for their own, the
// expert (see ExpertScores).
type Score struct {
	ApplicationID string
	Expert        string
	Criterion     string
	Score         int
	Rationale     string
	// Revisions counts the changes since the first score; LastReason is
	// the reason given for the last.
	Revisions  int
	LastReason string
	// RulesVersion is the rules version whose scale the score is on.
	RulesVersion int
	ScoredAt     time.Time
	UpdatedAt    time.Time
}

const scoreColumns = `application_id, expert, criterion, score, rationale, revisions, last_reason, rules_version, scored_at, updated_at`

func scanScores(rows pgx.Rows) ([]Score, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Score, error) {
		var s Score
		err := r.Scan(&s.ApplicationID, &s.Expert, &s.Criterion, &s.Score, &s.Rationale, &s.Revisions, &s.LastReason,
			&s.RulesVersion, &s.ScoredAt, &s.UpdatedAt)
		return s, err
	})
}

// ApplicationScores returns every current score of an application, by
// expert and criterion.
func (q *Reads) ApplicationScores(ctx context.Context, id string) ([]Score, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+scoreColumns+` FROM rm.cert_scores
		WHERE application_id = $1 ORDER BY expert, criterion`, id)
	if err != nil {
		return nil, fmt.Errorf("application %s scores: %w", id, err)
	}
	list, err := scanScores(rows)
	if err != nil {
		return nil, fmt.Errorf("application %s scores: %w", id, err)
	}
	return list, nil
}

// ExpertScores returns the scores one expert gave an application, by
// criterion: what an expert may see, since experts score independently.
func (q *Reads) ExpertScores(ctx context.Context, id, expert string) ([]Score, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+scoreColumns+` FROM rm.cert_scores
		WHERE application_id = $1 AND expert = $2 ORDER BY criterion`, id, expert)
	if err != nil {
		return nil, fmt.Errorf("application %s scores of %s: %w", id, expert, err)
	}
	list, err := scanScores(rows)
	if err != nil {
		return nil, fmt.Errorf("application %s scores of %s: %w", id, expert, err)
	}
	return list, nil
}

// InformationRequest is an expert's question to an applicant and its
// answer; the applicant needs RequestID to answer.
type InformationRequest struct {
	ApplicationID string
	RequestID     string
	Expert        string
	Question      string
	// Answer is "" and AnsweredAt nil while the request is open.
	Answer      string
	RequestedAt time.Time
	AnsweredAt  *time.Time
}

// ApplicationRequests returns the information requests of an
// application, in the order they were made (the domain numbers them 1, 2,
// ...).
func (q *Reads) ApplicationRequests(ctx context.Context, id string) ([]InformationRequest, error) {
	rows, err := q.DB.Query(ctx, `SELECT application_id, request_id, expert, question, answer, requested_at, answered_at
		FROM rm.cert_requests WHERE application_id = $1 ORDER BY length(request_id), request_id`, id)
	if err != nil {
		return nil, fmt.Errorf("application %s requests: %w", id, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InformationRequest, error) {
		var x InformationRequest
		err := r.Scan(&x.ApplicationID, &x.RequestID, &x.Expert, &x.Question, &x.Answer, &x.RequestedAt, &x.AnsweredAt)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("application %s requests: %w", id, err)
	}
	return list, nil
}

// ExpertAssignment is an expert assigned to an application, with their
// name when the consortium recorded it.
type ExpertAssignment struct {
	Expert string
	// Name is the expert's name: personal data, "" when not recorded or
	// erased (NameErased).
	Name       string
	NameErased bool
}

// ApplicationExperts returns the experts assigned to an application, in
// the order they were assigned.
func (q *Reads) ApplicationExperts(ctx context.Context, id string) ([]ExpertAssignment, error) {
	rows, err := q.DB.Query(ctx, `SELECT expert, name, name_erased FROM rm.cert_experts WHERE application_id = $1 ORDER BY position`, id)
	if err != nil {
		return nil, fmt.Errorf("application %s experts: %w", id, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExpertAssignment, error) {
		var x ExpertAssignment
		err := r.Scan(&x.Expert, &x.Name, &x.NameErased)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("application %s experts: %w", id, err)
	}
	return list, nil
}

// TimelineEntry is one event of an application, as its timeline shows it:
// who did what, when, in one line of English. It names experts and quotes
// scores: certification.TimelineLine says what each reader sees of it.
type TimelineEntry struct {
	ApplicationID string
	// Version is the event's number in the application's stream; Position
	// its place in the global log, for looking it up in the audit trail.
	Version  int64
	Position int64
	// Type is the stored event type, "certification.score_recorded".
	Type       string
	OccurredAt time.Time
	RecordedAt time.Time
	Actor      string
	Role       domain.Role
	Summary    string
	// Expert is the expert the line is about, "" for none.
	Expert string
}

// ApplicationTimeline returns every event of an application, in order.
func (q *Reads) ApplicationTimeline(ctx context.Context, id string) ([]TimelineEntry, error) {
	rows, err := q.DB.Query(ctx, `SELECT application_id, version, position, type, occurred_at, recorded_at, actor, role, summary, expert
		FROM rm.cert_timeline WHERE application_id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("application %s timeline: %w", id, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TimelineEntry, error) {
		var t TimelineEntry
		err := r.Scan(&t.ApplicationID, &t.Version, &t.Position, &t.Type, &t.OccurredAt, &t.RecordedAt, &t.Actor, &t.Role, &t.Summary, &t.Expert)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("application %s timeline: %w", id, err)
	}
	return list, nil
}

// Certificate is an entry of the public certificate registry, as of the
// day the query was asked for.
type Certificate struct {
	ApplicationID string
	Number        string
	Year          int
	Municipality  Municipality
	Region        Region
	ValidFrom     string
	ValidUntil    string
	Status        CertificateStatus
	// AwardedOn is the ceremony's day, "" if not awarded by then.
	AwardedOn string
	// RevokedOn and RevokedReason are "" unless Status is revoked.
	RevokedOn     string
	RevokedReason string
	// Recommendations and Progress are the consortium's advice with the
	// decision, public from the announcement.
	Recommendations []domain.LocalizedText
	Progress        domain.LocalizedText
}

// certColumns select the certificate of the application a as of the day
// $1, whose status s.status the query computes (see certStatus). They
// are never NULL, even on a row without an application (see
// MunicipalityHistory).
var certColumns = `coalesce(a.id, ''), coalesce(a.certificate_number, ''), coalesce(a.year, 0), coalesce(a.municipality, ''), ` +
	placeColumns + `, ` +
	dateOf("a.valid_from") + `, ` + dateOf("a.valid_until") + `, s.status,
	CASE WHEN a.awarded_on <= $1::date THEN to_char(a.awarded_on, 'YYYY-MM-DD') ELSE '' END,
	CASE WHEN s.status = 'revoked' THEN to_char(a.revoked_on, 'YYYY-MM-DD') ELSE '' END,
	CASE WHEN s.status = 'revoked' THEN a.revoked_reason ELSE '' END,
	CASE WHEN a.announced_on IS NOT NULL THEN a.recommendations ELSE '[]' END,
	CASE WHEN a.announced_on IS NOT NULL THEN a.progress_ka ELSE '' END,
	CASE WHEN a.announced_on IS NOT NULL THEN a.progress_en ELSE '' END`

// certStatus computes the status s.status of the certificate of a on the
// day $1, as certification.CertificateStatusOn does (a test holds them to
// the same answers).
const certStatus = ` LEFT JOIN LATERAL (SELECT CASE
		WHEN a.revoked_on <= $1::date THEN 'revoked'
		WHEN $1::date > a.valid_until THEN 'expired'
		ELSE 'valid' END AS status) s ON true`

// certIssued holds for an application whose certificate had been issued
// by the day $1.
const certIssued = `a.certificate_number IS NOT NULL AND a.valid_from <= $1::date`

func scanCertificate(dest []any, c *Certificate) []any {
	dest = append(dest, &c.ApplicationID, &c.Number, &c.Year, &c.Municipality.Code)
	dest = append(dest, placeDest(&c.Municipality, &c.Region)...)
	return append(dest, &c.ValidFrom, &c.ValidUntil, &c.Status, &c.AwardedOn, &c.RevokedOn, &c.RevokedReason,
		&c.Recommendations, &c.Progress.Ka, &c.Progress.En)
}

// CertificateFilter selects certificates; zero fields select all.
type CertificateFilter struct {
	Year         int
	Municipality string
	// Region is a region code: the certificates of its municipalities.
	Region string
	// Status is valid, expired or revoked, on the day asked for.
	Status string
}

// Certificates returns the public certificate registry as of today (a
// YYYY-MM-DD day, normally the current day in Tbilisi): the certificates
// issued by then that match f, newest cycle first, then by municipality
// code, each with its status on that day. Asking for another day shows
// the registry as it stood, or will stand, then.
func (q *Reads) Certificates(ctx context.Context, f CertificateFilter, today string) ([]Certificate, error) {
	if err := domain.CheckDate("today", today); err != nil {
		return nil, err
	}
	if f.Year < 0 {
		return nil, domain.Errorf(domain.Invalid, "year: %d is not a year", f.Year)
	}
	switch CertificateStatus(f.Status) {
	case "", CertificateValid, CertificateExpired, CertificateRevoked:
	default:
		return nil, domain.Errorf(domain.Invalid, "status: %q is not a certificate status (valid, expired or revoked)", f.Status)
	}
	rows, err := q.DB.Query(ctx, `SELECT `+certColumns+` FROM rm.cert_applications a`+placeJoin+certStatus+`
		WHERE `+certIssued+` AND ($2 = 0 OR a.year = $2) AND ($3 = '' OR a.municipality = $3)
			AND ($4 = '' OR m.region = $4) AND ($5 = '' OR s.status = $5)
		ORDER BY a.year DESC, a.municipality`, today, f.Year, f.Municipality, f.Region, f.Status)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Certificate, error) {
		var c Certificate
		err := r.Scan(scanCertificate(nil, &c)...)
		c.Region.Code = c.Municipality.RegionCode
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	return list, nil
}

// CycleCounts count a cycle's applications by how far they got. Each
// counts every application that got there, whatever happened after: a
// submitted application withdrawn later counts in Applied, Submitted and
// Withdrawn.
type CycleCounts struct {
	// Applied counts every application started, withdrawn ones included.
	Applied   int
	Withdrawn int
	Submitted int
	// Complete counts those whose last completeness check found them
	// complete.
	Complete int
	Decided  int
	// Announced counts the results announced; Certified the certificates
	// issued with them (revoked ones included, also counted in Revoked).
	// A decision's outcome is counted only once announced, so these
	// figures may be public.
	Announced int
	Certified int
	Revoked   int
}

// RegionCounts are the counts of one region's applications.
type RegionCounts struct {
	// Region is the region, without its population.
	Region Region
	Counts CycleCounts
}

// CycleStatistics are the figures of one cycle, by region and in total.
type CycleStatistics struct {
	Year int
	// Regions lists the regions with at least one application, by code.
	Regions []RegionCounts
	Total   CycleCounts
}

// CycleStatistics returns the figures of the cycle of year, or nil when
// there is no such cycle. Applications of a municipality missing from the
// registry count in a region with code "".
func (q *Reads) CycleStatistics(ctx context.Context, year int) (*CycleStatistics, error) {
	rows, err := q.DB.Query(ctx, `
		SELECT GROUPING(m.region) = 1, coalesce(m.region, ''), coalesce(r.name_ka, ''), coalesce(r.name_en, ''),
			coalesce(r.kind, ''), coalesce(r.capital, ''),
			count(a.id),
			count(*) FILTER (WHERE a.status = 'withdrawn'),
			count(*) FILTER (WHERE a.submitted_on IS NOT NULL),
			count(*) FILTER (WHERE a.completeness = 'complete'),
			count(*) FILTER (WHERE a.status = 'decided'),
			count(*) FILTER (WHERE a.announced_on IS NOT NULL),
			count(*) FILTER (WHERE a.certificate_number IS NOT NULL),
			count(*) FILTER (WHERE a.revoked_on IS NOT NULL)
		FROM rm.cert_cycles c
		LEFT JOIN rm.cert_applications a ON a.year = c.year`+placeJoin+`
		WHERE c.year = $1
		GROUP BY ROLLUP ((m.region, r.name_ka, r.name_en, r.kind, r.capital))
		-- The grand total has a row even when no cycle matched.
		HAVING count(c.year) > 0 AND (GROUPING(m.region) = 1 OR count(a.id) > 0)
		ORDER BY GROUPING(m.region), m.region`, year)
	if err != nil {
		return nil, fmt.Errorf("cycle %d statistics: %w", year, err)
	}
	var s *CycleStatistics
	var rc RegionCounts
	var total bool
	n := &rc.Counts
	_, err = pgx.ForEachRow(rows, []any{&total, &rc.Region.Code, &rc.Region.Name.Ka, &rc.Region.Name.En, &rc.Region.Kind,
		&rc.Region.Capital, &n.Applied, &n.Withdrawn, &n.Submitted, &n.Complete, &n.Decided, &n.Announced, &n.Certified, &n.Revoked},
		func() error {
			if s == nil {
				s = &CycleStatistics{Year: year}
			}
			if total {
				s.Total = rc.Counts
			} else {
				s.Regions = append(s.Regions, rc)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("cycle %d statistics: %w", year, err)
	}
	return s, nil
}

// MunicipalityApplication is one year of a municipality's history in the
// programme. The outcome shows only once announced, since the history is
// public.
type MunicipalityApplication struct {
	ApplicationID string
	Year          int
	Status        certification.Status
	SubmittedOn   string
	AnnouncedOn   string
	// Certified and Score (the weighted score the rules computed) are nil
	// until the result is announced.
	Certified *bool
	Score     *float64
	// Certificate is nil unless one had been issued by the day asked for.
	Certificate *Certificate
}

// MunicipalityHistory returns every application of the municipality with
// code, newest cycle first, with its outcome once announced and its
// certificate as of today (YYYY-MM-DD, as for Certificates; today decides
// only the certificate and its status). An unknown municipality is a
// NotFound error; one that never applied has an empty history.
func (q *Reads) MunicipalityHistory(ctx context.Context, code, today string) ([]MunicipalityApplication, error) {
	if err := domain.CheckDate("today", today); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, domain.Errorf(domain.Invalid, "municipality: a code is required")
	}
	rows, err := q.DB.Query(ctx, `SELECT a.id IS NOT NULL, coalesce(a.status, ''), `+dateOf("a.submitted_on")+`, `+
		dateOf("a.announced_on")+`,
			CASE WHEN a.announced_on IS NOT NULL THEN a.certified END,
			CASE WHEN a.announced_on IS NOT NULL THEN a.recommendation_score END,
			coalesce(`+certIssued+`, false), `+certColumns+`
		FROM rm.municipalities m LEFT JOIN rm.regions r ON r.code = m.region
		LEFT JOIN rm.cert_applications a ON a.municipality = m.code`+certStatus+`
		WHERE m.code = $2
		ORDER BY a.year DESC`, today, code)
	if err != nil {
		return nil, fmt.Errorf("municipality %s history: %w", code, err)
	}
	defer rows.Close()
	found := false
	var list []MunicipalityApplication
	for rows.Next() {
		found = true
		var h MunicipalityApplication
		var applied, issued bool
		var c Certificate
		if err := rows.Scan(scanCertificate([]any{&applied, &h.Status, &h.SubmittedOn, &h.AnnouncedOn,
			&h.Certified, &h.Score, &issued}, &c)...); err != nil {
			return nil, fmt.Errorf("municipality %s history: %w", code, err)
		}
		if !applied {
			continue // the one row of a municipality that never applied
		}
		h.ApplicationID, h.Year = c.ApplicationID, c.Year
		if issued {
			c.Region.Code = c.Municipality.RegionCode
			h.Certificate = &c
		}
		list = append(list, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("municipality %s history: %w", code, err)
	}
	if !found {
		return nil, domain.Errorf(domain.NotFound, "municipality %q not found", code)
	}
	return list, nil
}
