package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/privacy"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Certification is the read model of municipality certification: the
// yearly cycles with every version of their rules, nominations,
// applications from draft to certificate, the experts' scores, information
// requests, and each application's timeline. The public certificate
// registry, the statistics and a municipality's history are queries over
// these tables; a certificate's expiry is computed when it is read, so no
// job has to move it along.
type Certification struct{}

var _ Projection = Certification{}

// Name implements Projection.
func (Certification) Name() string { return "certification" }

// Version implements Projection. Version 2 keeps the experts' names
// (cert_experts), dropped when an expert's data subject is erased, and
// the expert each timeline line is about.
func (Certification) Version() int { return 2 }

// Tables implements Projection.
func (Certification) Tables() []string {
	return []string{"cert_cycles", "cert_rules", "cert_nominations", "cert_applications",
		"cert_scores", "cert_requests", "cert_timeline", "cert_experts"}
}

// Setup implements Projection. Days are dates (Tbilisi calendar days, as
// the events give them), so queries compare them with a date and never
// with a time. Georgian and English texts have columns of their own;
// lists of bilingual texts are jsonb arrays of {ka, en}. answers holds the
// questionnaire as the application stands, which answers_count needs
// since an AnswersSaved event carries only what changed.
func (Certification) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		CREATE TABLE cert_cycles (
			year                   integer PRIMARY KEY,
			title_ka               text NOT NULL,
			title_en               text NOT NULL,
			call_opens             date NOT NULL,
			application_deadline   date NOT NULL,
			questionnaire_deadline date NOT NULL,
			results_date           date NOT NULL,
			ceremony_date          date NOT NULL,
			rules_version          integer NOT NULL,
			rules                  jsonb NOT NULL,
			opened_at              timestamptz NOT NULL,
			updated_at             timestamptz NOT NULL,
			position               bigint NOT NULL
		);
		CREATE TABLE cert_rules (
			year       integer NOT NULL,
			version    integer NOT NULL,
			rules      jsonb NOT NULL,
			reason     text NOT NULL,
			actor      text NOT NULL,
			changed_at timestamptz NOT NULL,
			position   bigint NOT NULL,
			PRIMARY KEY (year, version)
		);
		CREATE TABLE cert_nominations (
			year         integer NOT NULL,
			municipality text NOT NULL,
			reason       text NOT NULL,
			nominated_by text NOT NULL,
			nominated_at timestamptz NOT NULL,
			position     bigint NOT NULL,
			PRIMARY KEY (year, municipality)
		);
		CREATE TABLE cert_applications (
			id                     text PRIMARY KEY,
			year                   integer NOT NULL,
			municipality           text NOT NULL,
			status                 text NOT NULL,
			answers                jsonb NOT NULL DEFAULT '{}',
			answers_count          integer NOT NULL DEFAULT 0,
			submitted_on           date,
			withdrawn_reason       text NOT NULL DEFAULT '',
			confirmed              boolean NOT NULL DEFAULT false,
			completeness           text NOT NULL DEFAULT 'unchecked',
			missing                text[] NOT NULL DEFAULT '{}',
			open_requests          integer NOT NULL DEFAULT 0,
			material_changes       integer NOT NULL DEFAULT 0,
			experts                text[] NOT NULL DEFAULT '{}',
			cleared                text[] NOT NULL DEFAULT '{}',
			conflicted             text[] NOT NULL DEFAULT '{}',
			certified              boolean,
			recommendation         jsonb,
			recommendation_certify boolean,
			recommendation_score   double precision,
			rules_version          integer,
			justification          text NOT NULL DEFAULT '',
			recommendations        jsonb NOT NULL DEFAULT '[]',
			progress_ka            text NOT NULL DEFAULT '',
			progress_en            text NOT NULL DEFAULT '',
			inputs_digest          text NOT NULL DEFAULT '',
			decided_at             timestamptz,
			announced_on           date,
			certificate_number     text,
			valid_from             date,
			valid_until            date,
			awarded_on             date,
			revoked_on             date,
			revoked_reason         text NOT NULL DEFAULT '',
			drafted_at             timestamptz NOT NULL,
			updated_at             timestamptz NOT NULL,
			version                bigint NOT NULL,
			position               bigint NOT NULL
		);
		CREATE INDEX cert_applications_year ON cert_applications (year DESC, municipality);
		CREATE INDEX cert_applications_municipality ON cert_applications (municipality, year);
		CREATE TABLE cert_scores (
			application_id text NOT NULL,
			expert         text NOT NULL,
			criterion      text NOT NULL,
			score          integer NOT NULL,
			rationale      text NOT NULL,
			revisions      integer NOT NULL,
			last_reason    text NOT NULL,
			rules_version  integer NOT NULL,
			scored_at      timestamptz NOT NULL,
			updated_at     timestamptz NOT NULL,
			position       bigint NOT NULL,
			PRIMARY KEY (application_id, expert, criterion)
		);
		CREATE TABLE cert_requests (
			application_id text NOT NULL,
			request_id     text NOT NULL,
			expert         text NOT NULL,
			question       text NOT NULL,
			answer         text NOT NULL DEFAULT '',
			requested_at   timestamptz NOT NULL,
			answered_at    timestamptz,
			position       bigint NOT NULL,
			PRIMARY KEY (application_id, request_id)
		);
		CREATE TABLE cert_timeline (
			application_id text NOT NULL,
			version        bigint NOT NULL,
			position       bigint NOT NULL,
			type           text NOT NULL,
			occurred_at    timestamptz NOT NULL,
			recorded_at    timestamptz NOT NULL,
			actor          text NOT NULL,
			role           text NOT NULL,
			summary        text NOT NULL,
			expert         text NOT NULL DEFAULT '',
			PRIMARY KEY (application_id, version)
		);
		CREATE TABLE cert_experts (
			application_id text NOT NULL,
			expert         text NOT NULL,
			name           text NOT NULL,
			name_erased    boolean NOT NULL DEFAULT false,
			position       bigint NOT NULL,
			PRIMARY KEY (application_id, expert)
		);
		CREATE INDEX cert_experts_expert ON cert_experts (expert);`)
	return err
}

// Apply implements Projection, a few statements per event (volumes are a
// few thousand events a year, so folding a batch would buy nothing).
//
// Replays stay exact: rows that change (a cycle, an application, a score,
// a request) keep the position of the last event applied to them, and an
// event changes a row only when it is newer. That is what makes the
// relative changes (a counter, an expert appended to a list, a score's
// revisions) safe: each event of a stream applies to its row exactly once.
// Rows written once (a rules version, a nomination, a timeline entry, a
// new application) are inserted with ON CONFLICT DO NOTHING.
func (Certification) Apply(b *Batch, events []eventstore.Event) error {
	return b.Each(events, func(se eventstore.Event) error { return applyCertification(b, se) })
}

func applyCertification(b *Batch, se eventstore.Event) error {
	if !strings.HasPrefix(se.Type, "certification.") && se.Type != "privacy.subject_erased" {
		return nil
	}
	e, err := catalog.Types.Decode(se)
	if err != nil {
		return fmt.Errorf("certification: %w", err)
	}
	c := certEvent{b: b, se: se}
	switch e := e.(type) {
	case privacy.SubjectErased:
		if x, ok := strings.CutPrefix(e.Subject, "expert:"); ok {
			b.Queue(`UPDATE cert_experts SET name = '', name_erased = true, position = $2 WHERE expert = $1 AND position < $2`, x, se.Position)
		}
		return nil
	case certification.CycleOpened:
		return c.cycleOpened(e)
	case certification.CycleRulesChanged:
		return c.rulesChanged(e)
	case certification.MunicipalityNominated:
		b.Queue(`INSERT INTO cert_nominations (year, municipality, reason, nominated_by, nominated_at, position)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (year, municipality) DO NOTHING`,
			e.Year, e.Municipality, e.Reason, e.By, se.OccurredAt, se.Position)
		return nil
	}
	id, summary, err := c.application(e)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO cert_timeline (application_id, version, position, type, occurred_at, recorded_at, actor, role, summary, expert)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (application_id, version) DO NOTHING`,
		id, se.Version, se.Position, se.Type, se.OccurredAt, se.RecordedAt, se.Metadata.Actor, se.Metadata.Role, summary,
		certification.ExpertOf(e))
	return nil
}

// certEvent queues the statements of one certification event.
type certEvent struct {
	b  *Batch
	se eventstore.Event
}

func (c certEvent) cycleOpened(e certification.CycleOpened) error {
	rules, err := json.Marshal(e.Rules)
	if err != nil {
		return fmt.Errorf("certification: cycle %d: %w", e.Year, err)
	}
	s, se := e.Schedule, c.se
	c.b.Queue(`INSERT INTO cert_cycles (year, title_ka, title_en, call_opens, application_deadline,
			questionnaire_deadline, results_date, ceremony_date, rules_version, rules, opened_at, updated_at, position)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) ON CONFLICT (year) DO NOTHING`,
		e.Year, e.Title.Ka, e.Title.En, s.CallOpens, s.ApplicationDeadline, s.QuestionnaireDeadline,
		s.ResultsDate, s.CeremonyDate, e.Rules.Version, rules, se.OccurredAt, se.Position)
	c.b.Queue(`INSERT INTO cert_rules (year, version, rules, reason, actor, changed_at, position)
		VALUES ($1, $2, $3, '', $4, $5, $6) ON CONFLICT (year, version) DO NOTHING`,
		e.Year, e.Rules.Version, rules, se.Metadata.Actor, se.OccurredAt, se.Position)
	return nil
}

func (c certEvent) rulesChanged(e certification.CycleRulesChanged) error {
	rules, err := json.Marshal(e.Rules)
	if err != nil {
		return fmt.Errorf("certification: cycle %d: %w", e.Year, err)
	}
	se := c.se
	c.b.Queue(`UPDATE cert_cycles SET rules_version = $2, rules = $3, updated_at = $4, position = $5
		WHERE year = $1 AND position < $5`, e.Year, e.Rules.Version, rules, se.OccurredAt, se.Position)
	c.b.Queue(`INSERT INTO cert_rules (year, version, rules, reason, actor, changed_at, position)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (year, version) DO NOTHING`,
		e.Year, e.Rules.Version, rules, e.Reason, se.Metadata.Actor, se.OccurredAt, se.Position)
	return nil
}

// update queues the change an event makes to its application's row: sets
// (whose arguments are numbered from $5) and the row's version, updated_at
// and position, only when the event is newer than the row.
func (c certEvent) update(id, sets string, args ...any) {
	if sets != "" {
		sets += ", "
	}
	c.b.Queue(`UPDATE cert_applications SET `+sets+`version = $2, updated_at = $3, position = $4
		WHERE id = $1 AND position < $4`, append([]any{id, c.se.Version, c.se.RecordedAt, c.se.Position}, args...)...)
}

// application queues what an application event changes, and returns the
// application's ID and the event's line in the timeline.
func (c certEvent) application(e any) (id, summary string, err error) {
	se := c.se
	switch e := e.(type) {
	case certification.ApplicationDrafted:
		c.b.Queue(`INSERT INTO cert_applications (id, year, municipality, status, drafted_at, updated_at, version, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Year, e.Municipality, string(certification.Draft), se.OccurredAt, se.RecordedAt, se.Version, se.Position)
		return e.ID, certification.Describe(e), nil
	case certification.AnswersSaved:
		set, cleared := map[string]string{}, []string{}
		for q, a := range e.Answers {
			if a == "" {
				cleared = append(cleared, q)
			} else {
				set[q] = a
			}
		}
		c.update(e.ID, `answers = (answers || $5::jsonb) - $6::text[],
			answers_count = (SELECT count(*) FROM jsonb_object_keys((answers || $5::jsonb) - $6::text[]))`, set, cleared)
		return e.ID, certification.Describe(e), nil
	case certification.ApplicationSubmitted:
		c.update(e.ID, `status = $5, submitted_on = $6`, string(certification.Submitted), e.On)
		return e.ID, certification.Describe(e), nil
	case certification.ApplicationWithdrawn:
		c.update(e.ID, `status = $5, withdrawn_reason = $6`, string(certification.Withdrawn), e.Reason)
		return e.ID, certification.Describe(e), nil
	case certification.ProcessStartConfirmed:
		c.update(e.ID, `confirmed = true`)
		return e.ID, certification.Describe(e), nil
	case certification.CompletenessChecked:
		if e.Complete {
			c.update(e.ID, `completeness = $5, missing = '{}'`, string(Complete))
			return e.ID, certification.Describe(e), nil
		}
		c.update(e.ID, `completeness = $5, missing = coalesce($6::text[], '{}')`, string(Incomplete), e.Missing)
		return e.ID, certification.Describe(e), nil
	case certification.InformationRequested:
		c.update(e.ID, `open_requests = open_requests + 1`)
		c.b.Queue(`INSERT INTO cert_requests (application_id, request_id, expert, question, requested_at, position)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (application_id, request_id) DO NOTHING`,
			e.ID, e.RequestID, e.Expert, e.Question, se.OccurredAt, se.Position)
		return e.ID, certification.Describe(e), nil
	case certification.InformationProvided:
		c.update(e.ID, `open_requests = open_requests - 1`)
		c.b.Queue(`UPDATE cert_requests SET answer = $3, answered_at = $4, position = $5
			WHERE application_id = $1 AND request_id = $2 AND position < $5`,
			e.ID, e.RequestID, e.Answer, se.OccurredAt, se.Position)
		return e.ID, certification.Describe(e), nil
	case certification.MaterialChangeReported:
		c.update(e.ID, `material_changes = material_changes + 1`)
		return e.ID, certification.Describe(e), nil
	case certification.ExpertAssigned:
		c.update(e.ID, `experts = array_append(array_remove(experts, $5::text), $5::text)`, e.Expert)
		c.b.Queue(`INSERT INTO cert_experts (application_id, expert, name, position) VALUES ($1, $2, $3, $4)
			ON CONFLICT (application_id, expert) DO NOTHING`, e.ID, e.Expert, e.Name, se.Position)
		return e.ID, certification.Describe(e), nil
	case certification.ConflictOfInterestDeclared:
		if e.Conflict {
			c.update(e.ID, `conflicted = array_append(array_remove(conflicted, $5::text), $5::text),
				cleared = array_remove(cleared, $5::text)`, e.Expert)
			return e.ID, certification.Describe(e), nil
		}
		c.update(e.ID, `cleared = array_append(array_remove(cleared, $5::text), $5::text),
			conflicted = array_remove(conflicted, $5::text)`, e.Expert)
		return e.ID, certification.Describe(e), nil
	case certification.ScoreRecorded:
		c.update(e.ID, ``)
		c.b.Queue(`INSERT INTO cert_scores AS s (application_id, expert, criterion, score, rationale, revisions,
				last_reason, rules_version, scored_at, updated_at, position)
			VALUES ($1, $2, $3, $4, $5, 0, '', $6, $7, $7, $8)
			ON CONFLICT (application_id, expert, criterion) DO UPDATE SET score = excluded.score,
				rationale = excluded.rationale, rules_version = excluded.rules_version,
				updated_at = excluded.updated_at, position = excluded.position
			WHERE s.position < excluded.position`,
			e.ID, e.Expert, e.Criterion, e.Score, e.Rationale, e.RulesVersion, se.OccurredAt, se.Position)
		return e.ID, certification.Describe(e), nil
	case certification.ScoreRevised:
		c.update(e.ID, ``)
		c.b.Queue(`INSERT INTO cert_scores AS s (application_id, expert, criterion, score, rationale, revisions,
				last_reason, rules_version, scored_at, updated_at, position)
			VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $8, $9)
			ON CONFLICT (application_id, expert, criterion) DO UPDATE SET score = excluded.score,
				rationale = excluded.rationale, revisions = s.revisions + 1, last_reason = excluded.last_reason,
				rules_version = excluded.rules_version, updated_at = excluded.updated_at, position = excluded.position
			WHERE s.position < excluded.position`,
			e.ID, e.Expert, e.Criterion, e.Score, e.Rationale, e.Reason, e.RulesVersion, se.OccurredAt, se.Position)
		return e.ID, certification.Describe(e), nil
	case certification.DecisionTaken:
		rec, err := json.Marshal(e.Recommendation)
		if err != nil {
			return "", "", fmt.Errorf("certification: application %s: %w", e.ID, err)
		}
		advice := e.Recommendations
		if advice == nil {
			advice = []domain.LocalizedText{}
		}
		recs, err := json.Marshal(advice)
		if err != nil {
			return "", "", fmt.Errorf("certification: application %s: %w", e.ID, err)
		}
		c.update(e.ID, `status = $5, certified = $6, rules_version = $7, recommendation = $8,
			recommendation_certify = $9, recommendation_score = $10, justification = $11, recommendations = $12,
			progress_ka = $13, progress_en = $14, inputs_digest = $15, decided_at = $16`,
			string(certification.Decided), e.Certified, e.RulesVersion, rec, e.Recommendation.Certify,
			e.Recommendation.Score, e.Justification, recs, e.Progress.Ka, e.Progress.En, e.InputsDigest, se.OccurredAt)
		return e.ID, certification.Describe(e), nil
	case certification.ResultAnnounced:
		c.update(e.ID, `announced_on = $5`, e.On)
		return e.ID, certification.Describe(e), nil
	case certification.CertificateIssued:
		c.update(e.ID, `certificate_number = $5, valid_from = $6, valid_until = $7`, e.Number, e.ValidFrom, e.ValidUntil)
		return e.ID, certification.Describe(e), nil
	case certification.CertificateAwarded:
		c.update(e.ID, `awarded_on = $5`, e.On)
		return e.ID, certification.Describe(e), nil
	case certification.CertificateRevoked:
		c.update(e.ID, `revoked_on = $5, revoked_reason = $6`, e.On, e.Reason)
		return e.ID, certification.Describe(e), nil
	}
	// A certification event this projection does not know would leave the
	// read model wrong: stop here, so the runner shows it, rather than skip.
	return "", "", fmt.Errorf("certification: no handling for event type %s", se.Type)
}
