package graph

import (
	"context"
	"encoding/hex"
	"fmt"
	"github.com/99designs/gqlgen/graphql"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/graph/scalar"
	"github.com/civicledger/civicledger/projections"
)

// applicationEvents reads an application's events, refusing a malformed
// ID and reporting NotFound for one without events.
func (r *Resolver) applicationEvents(ctx context.Context, id string) ([]eventstore.Event, error) {
	if _, _, ok := strings.Cut(id, "-"); !ok {
		return nil, domain.Errorf(domain.Invalid, "applicationId: %q is not an application ID (<year>-<municipality>, for example 2019-batumi)", id)
	}
	events, err := r.deps.Store.ReadStream(ctx, certification.ApplicationStream(id), eventstore.ReadOptions{})
	if err != nil {
		return nil, domain.Wrap(err, "read application "+id)
	}
	if len(events) == 0 {
		return nil, domain.Errorf(domain.NotFound, "no application %s", id)
	}
	return events, nil
}

// opened returns a copy of events with their personal fields opened (see
// domain.Types.Unseal), and for each the personal fields found erased;
// events keeps the stored bytes, which the log's hashes are over.
func (r *Resolver) opened(ctx context.Context, events []eventstore.Event) ([]eventstore.Event, [][]string, error) {
	out := slices.Clone(events)
	erased, err := catalog.Types.Unseal(ctx, r.deps.Keyring, out)
	if err != nil {
		return nil, nil, domain.Wrap(err, "open personal data")
	}
	if erased == nil {
		erased = make([][]string, len(out))
	}
	return out, erased, nil
}

// verificationOf converts the log's verification; nil means the store
// could not verify.
func verificationOf(v *eventstore.Verification) *model.LogVerification {
	if v == nil {
		why := "the store keeps no Merkle tree, or none of the events has a log position yet"
		return &model.LogVerification{Problem: &why}
	}
	out := &model.LogVerification{From: scalar.Position(v.From), To: scalar.Position(v.To), Intact: v.Intact(),
		Events: int(v.Events), Checkpoints: v.Checkpoints}
	if !v.Intact() {
		bad := scalar.Position(v.FirstBad)
		out.FirstBad, out.Problem = &bad, &v.Problem
	}
	return out
}

// audit audits an application, for an actor allowed to (the judges; the
// policy refuses the others before the resolver runs, and this check
// keeps it so for any other caller of audit).
func (r *Resolver) audit(ctx context.Context, id string, depth certification.Depth, checkpoint *scalar.Position) (certification.Audit, error) {
	if !r.sees(ctx, "Query", "certificationAudit", domain.Scope{}) {
		return certification.Audit{}, refusal(ActorFrom(ctx), "an audit", domain.Judges)
	}
	var size int64
	if checkpoint != nil {
		if size = int64(*checkpoint); size < 1 {
			return certification.Audit{}, domain.Errorf(domain.Invalid, "checkpoint: %d is not a tree size (1 or more)", size)
		}
	}
	return certification.AuditApplication(ctx, r.deps.Store, catalog.Types, id, depth, size)
}

// auditInclusion is an audit's inclusion proofs of the events actor may
// see: a hidden event's position is not told, even as a proof.
func (r *Resolver) auditInclusion(ctx context.Context, a certification.Audit) (*model.LogInclusion, error) {
	if a.Inclusion == nil {
		return nil, nil
	}
	opened, _, err := r.opened(ctx, a.Inclusion.Events)
	if err != nil {
		return nil, err
	}
	assigned, err := catalog.Types.Assigned(opened)
	if err != nil {
		return nil, domain.Wrap(err, "audit")
	}
	byPosition := make(map[int64]int, len(opened))
	for i, e := range opened {
		byPosition[e.Position] = i
	}
	actor := ActorFrom(ctx)
	return inclusionFor(a.Inclusion, func(e eventstore.Event) (bool, error) {
		v, err := catalog.Types.See(actor, opened[byPosition[e.Position]], assigned)
		return err == nil && v.Sight != domain.Hidden, err
	})
}

// certificationAudit lists an application's events with their hashes and
// verifies the log over them. Each event's data is shown as the domain's
// rules let the caller see it (a judge sees it whole, personal fields
// open); positions and hashes are shown for every event, since they reveal
// nothing of the data and are what an auditor checks the chain with.
func (r *Resolver) certificationAudit(ctx context.Context, id string, checkpoint *scalar.Position) (*model.CertificationAudit, error) {
	a, err := r.audit(ctx, id, certification.FullChain, checkpoint)
	if err != nil {
		return nil, err
	}
	inclusion, err := r.auditInclusion(ctx, a)
	if err != nil {
		return nil, err
	}
	stored := make([]eventstore.Event, len(a.Events))
	for i, e := range a.Events {
		stored[i] = e.Event
	}
	opened, erased, err := r.opened(ctx, stored)
	if err != nil {
		return nil, err
	}
	assigned, err := catalog.Types.Assigned(opened)
	if err != nil {
		return nil, domain.Wrap(err, "audit")
	}
	actor := ActorFrom(ctx)
	out := &model.CertificationAudit{ApplicationID: id, Verification: verificationOf(a.Verification), Inclusion: inclusion}
	for i, e := range a.Events {
		v, err := catalog.Types.See(actor, opened[i], assigned)
		if err != nil {
			return nil, domain.Wrap(err, "audit")
		}
		if v.Sight == domain.Hidden {
			continue
		}
		ae := model.AuditedEvent{
			Position: scalar.Position(e.Position), Version: int(e.Version), Type: e.Type, OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt,
			Actor: e.Metadata.Actor, Role: e.Metadata.Role, Data: scalar.JSON(v.Data), Withheld: nonNil(v.Withheld), Erased: nonNil(erased[i]),
		}
		if v.ActorHidden {
			ae.Actor = "withheld"
		}
		if e.Hash != nil {
			s := hex.EncodeToString(e.Hash)
			ae.Hash = &s
		}
		out.Events = append(out.Events, ae)
	}
	return out, nil
}

// replayDecision replays an application's decision from the events.
func (r *Resolver) replayDecision(ctx context.Context, id string, checkpoint *scalar.Position) (*model.DecisionReplay, error) {
	a, err := r.audit(ctx, id, certification.EventsOnly, checkpoint)
	if err != nil {
		return nil, err
	}
	inclusion, err := r.auditInclusion(ctx, a)
	if err != nil {
		return nil, err
	}
	rep := a.Replay
	out := &model.DecisionReplay{ApplicationID: id, Verdict: rep.Verdict,
		Problems: nonNil(rep.Problems), Verification: verificationOf(a.Verification), Inclusion: inclusion}
	if rep.Decision != nil {
		out.Decision = decisionOf(rep.Decision)
		if rep.Rules.Version > 0 {
			out.Rules = rulesOf(rep.Rules, "")
		}
		if rep.InputsDigest != "" {
			out.Recommendation = recommendationOf(rep.Recommendation)
			out.InputsDigest = &rep.InputsDigest
		}
	}
	return out, nil
}

// applicationAsOf rebuilds an application from its events at the moment
// asOf names, all of them when asOf is nil. Who may see the application is
// judged first, by its municipality and the experts assigned to it now,
// so whether it existed at some moment is not told to those who may not
// see it at all.
func (r *Resolver) applicationAsOf(ctx context.Context, id string, asOf *model.AsOf) (*model.Application, error) {
	actor := ActorFrom(ctx)
	m, err := momentOf(asOf)
	if err != nil {
		return nil, err
	}
	stored, err := r.applicationEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	assigned, err := catalog.Types.Assigned(stored)
	if err != nil {
		return nil, domain.Wrap(err, "application "+id)
	}
	about := certification.ApplicationScope(id, assigned)
	if !r.views.SeesView(actor, "Application", about) {
		return nil, refusal(actor, "application "+id, certification.Readers)
	}
	opened, erased, err := r.opened(ctx, stored)
	if err != nil {
		return nil, err
	}
	h, err := certification.ApplicationAt(catalog.Types, opened, m.Moment)
	if err != nil {
		return nil, err
	}
	if len(h.Events) == 0 {
		return nil, m.before(id, stored[0])
	}
	s := h.Snapshot
	// The rules in force at the same moment, from the cycle's events.
	cycleStored, err := r.deps.Store.ReadStream(ctx, certification.CycleStream(s.Year), eventstore.ReadOptions{})
	if err != nil {
		return nil, domain.Wrap(err, "read the cycle")
	}
	rules, cycleBegun, err := certification.RulesAt(catalog.Types, cycleStored, m.Moment)
	if err != nil {
		return nil, err
	}
	out, err := r.applicationOfSnapshot(ctx, s, h.Last)
	if err != nil {
		return nil, err
	}
	out.About = about
	for i, se := range h.Events {
		line := certification.TimelineLine(actor, about, certification.Line{Type: se.Type, Actor: se.Metadata.Actor,
			Role: se.Metadata.Role, Summary: certification.Describe(h.Decoded[i]), Expert: certification.ExpertOf(h.Decoded[i])})
		out.Timeline = append(out.Timeline, model.TimelineEntry{
			Position: scalar.Position(se.Position), Version: int(se.Version), Type: se.Type, OccurredAt: se.OccurredAt,
			RecordedAt: se.RecordedAt, Actor: line.Actor, Role: line.Role, Summary: line.Summary,
		})
	}
	for _, x := range h.Assignments {
		out.Assignments = append(out.Assignments, assignmentOf(projections.ExpertAssignment{Expert: x.Expert, Name: x.Name,
			NameErased: slices.Contains(erased[x.Event], "name")}, s.Cleared, s.Conflicted))
	}
	for _, q := range h.Requests {
		out.Requests = append(out.Requests, requestOf(projections.InformationRequest{RequestID: q.ID, Expert: q.Expert,
			Question: q.Question, Answer: q.Answer, RequestedAt: q.RequestedAt, AnsweredAt: q.AnsweredAt}))
	}
	if cycleBegun && r.sees(ctx, "Application", "scoreSummary", about) {
		out.ScoreSummary = scoreSummaryOf(rules, s.Scores, s.Cleared)
	}
	if out.PreviousCertificate, err = r.previousCertificate(ctx, s.Municipality, s.Year); err != nil {
		return nil, err
	}
	return out, nil
}

// applicationOfSnapshot converts a rebuilt application whole: the policy
// shows each field only to those who may see it.
func (r *Resolver) applicationOfSnapshot(ctx context.Context, s certification.Snapshot, position int64) (*model.Application, error) {
	munis, err := r.deps.Reads.MunicipalitiesByCode(ctx, []string{s.Municipality})
	if err != nil {
		return nil, err
	}
	m, ok := munis[s.Municipality]
	if !ok {
		return nil, domain.Wrap(fmt.Errorf("municipality %s of application %s is not in the read model", s.Municipality, s.ID), "application")
	}
	out := &model.Application{
		ID: s.ID, Year: s.Year, Municipality: &m, Status: certification.Status(s.Status),
		Confirmed: s.Confirmed, Completeness: projections.Completeness(s.Completeness),
		Missing: nonNil(s.Missing), OpenRequests: nonNil(s.OpenRequests), Position: scalar.Position(position),
		Version: int(s.Version), Timeline: []model.TimelineEntry{}, Requests: []model.InformationRequest{},
		Experts: nonNil(s.Experts), Conflicted: nonNil(s.Conflicted), Assignments: []model.ExpertAssignment{},
		Answers: []model.Answer{}, Scores: []model.Score{},
		About: certification.ApplicationScope(s.ID, s.Experts),
	}
	if s.SubmittedOn != "" {
		out.SubmittedOn = &s.SubmittedOn
	}
	for _, q := range slices.Sorted(maps.Keys(s.Answers)) {
		out.Answers = append(out.Answers, model.Answer{Question: q, Answer: s.Answers[q]})
	}
	for _, x := range slices.Sorted(maps.Keys(s.Scores)) {
		for _, c := range slices.Sorted(maps.Keys(s.Scores[x])) {
			out.Scores = append(out.Scores, model.Score{Expert: x, Criterion: c, Score: s.Scores[x][c]})
		}
	}
	if s.Decision != nil {
		out.Decision = decisionOf(s.Decision)
	}
	if c := s.Certificate; c != nil {
		// Revoked in the state as of the day asked about: revoked from
		// that day on, whatever its date.
		revokedOn := ""
		if s.Revoked {
			revokedOn = r.today()
		}
		out.Certificate = &model.Certificate{
			Number: c.Number, ApplicationID: s.ID, Year: s.Year, Municipality: &m, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil,
			Status: certificateStatus(r.today(), c.ValidUntil, revokedOn), Recommendations: []domain.LocalizedText{},
		}
		if s.Decision != nil {
			out.Certificate.Recommendations = nonNil(s.Decision.Recommendations)
		}
	}
	return out, nil
}

// moment is the moment of an application's history a query asks for
// (domain.Moment), with the errors that name the query's arguments.
type moment struct{ domain.Moment }

// momentOf reads asOf: nil is now (every event).
func momentOf(asOf *model.AsOf) (moment, error) {
	if asOf == nil {
		return moment{}, nil
	}
	n := 0
	var m moment
	if asOf.Position != nil {
		n++
		m.Position = int64(*asOf.Position)
		if m.Position < 1 {
			return moment{}, domain.InvalidField("asOf.position", "%d is not a log position (they start at 1)", m.Position)
		}
	}
	if asOf.RecordedAt != nil {
		n++
		m.RecordedAt = asOf.RecordedAt
	}
	if asOf.OccurredAt != nil {
		n++
		m.OccurredAt = asOf.OccurredAt
	}
	if n != 1 {
		return moment{}, domain.InvalidField("asOf", "give exactly one of position, recordedAt (what the ledger knew then) and occurredAt (what had happened by then)")
	}
	return m, nil
}

// before is the error for an application that had not begun by the
// moment: when it did begin, on every clock, so the caller can tell an
// application imported after the fact from one that did not exist.
func (m moment) before(id string, first eventstore.Event) error {
	begun := fmt.Sprintf("its first event occurred at %s, was recorded at %s and is at position %d",
		first.OccurredAt.UTC().Format(time.RFC3339), first.RecordedAt.UTC().Format(time.RFC3339), first.Position)
	switch {
	case m.RecordedAt != nil:
		hint := ""
		if !first.OccurredAt.After(*m.RecordedAt) {
			hint = "; it had happened by then, but was recorded later: ask with asOf.occurredAt for what had happened by then"
		}
		return domain.Errorf(domain.NotFound, "asOf.recordedAt: the ledger held nothing of application %s at %s: %s%s",
			id, m.RecordedAt.UTC().Format(time.RFC3339), begun, hint)
	case m.OccurredAt != nil:
		return domain.Errorf(domain.NotFound, "asOf.occurredAt: application %s had not begun by %s: %s",
			id, m.OccurredAt.UTC().Format(time.RFC3339), begun)
	}
	return domain.Errorf(domain.NotFound, "asOf.position: application %s had no event at or before position %d: %s", id, m.Position, begun)
}

// today is the day of the commands' clock in Tbilisi.
func (r *Resolver) today() string {
	return domain.DayOf(r.deps.Now())
}

func decisionOf(d *certification.DecisionTaken) *model.Decision {
	out := &model.Decision{
		Certified: d.Certified, RulesVersion: d.RulesVersion, Recommendation: recommendationOf(d.Recommendation),
		Recommendations: nonNil(d.Recommendations), InputsDigest: d.InputsDigest,
	}
	if d.Justification != "" {
		out.Justification = &d.Justification
	}
	if d.Progress.Ka != "" || d.Progress.En != "" {
		p := d.Progress
		out.Progress = &p
	}
	return out
}

func recommendationOf(r certification.Recommendation) *model.Recommendation {
	out := &model.Recommendation{Certify: r.Certify, Score: r.Score, Experts: nonNil(r.Experts), Reasons: nonNil(r.Reasons),
		Criteria: []model.CriterionScore{}}
	for _, c := range slices.Sorted(maps.Keys(r.Criteria)) {
		out.Criteria = append(out.Criteria, model.CriterionScore{Criterion: c, Score: r.Criteria[c]})
	}
	return out
}

func rulesOf(r certification.Rules, reason string) *model.CertificationRules {
	out := &model.CertificationRules{Version: r.Version, ExpertsRequired: r.ExpertsRequired, PassScore: r.PassScore,
		CriterionMinimum: r.CriterionMinimum, ValidityMonths: r.ValidityMonths, Criteria: []model.Criterion{}}
	if reason != "" {
		out.Reason = &reason
	}
	for _, c := range r.Criteria {
		name := c.Name
		mc := model.Criterion{Code: c.Code, Name: &name, Weight: c.Weight, ScaleMin: c.ScaleMin, ScaleMax: c.ScaleMax}
		if c.Guidance.Ka != "" || c.Guidance.En != "" {
			g := c.Guidance
			mc.Guidance = &g
		}
		out.Criteria = append(out.Criteria, mc)
	}
	return out
}

func rulesInput(in model.RulesInput) certification.Rules {
	r := certification.Rules{ExpertsRequired: in.ExpertsRequired, PassScore: in.PassScore,
		CriterionMinimum: deref(in.CriterionMinimum), ValidityMonths: deref(in.ValidityMonths)}
	for _, c := range in.Criteria {
		r.Criteria = append(r.Criteria, certification.Criterion{Code: c.Code, Name: localized(c.Name), Guidance: localized(c.Guidance),
			Weight: c.Weight, ScaleMin: c.ScaleMin, ScaleMax: c.ScaleMax})
	}
	return r
}

// certificationPayload returns a mutation's position (the head when
// nothing was written) and the application it concerns (id, when not "").
func (r *Resolver) certificationPayload(ctx context.Context, res eventstore.AppendResult, id string) (*model.CertificationPayload, error) {
	pos, err := r.mutationPosition(ctx, res)
	if err != nil {
		return nil, err
	}
	p := &model.CertificationPayload{Position: pos}
	if id == "" {
		return p, nil
	}
	// Rebuilt from its events, it shows the mutation without waiting for
	// the read model. A caller who may not read it (a nominator) gets none.
	a, err := r.applicationAsOf(ctx, id, nil)
	switch k := domain.KindOf(err); {
	case err == nil:
		p.Application = a
	case k != domain.Forbidden && k != domain.Unauthenticated:
		return nil, err
	}
	return p, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// certificationResult turns a certification command's outcome into its
// payload: the error as it is, or the position, and the application (id,
// when not "") as the read model shows it once caught up.
func (r *Resolver) certificationResult(ctx context.Context, id string, res eventstore.AppendResult, err error) (*model.CertificationPayload, error) {
	if err != nil {
		return nil, err
	}
	return r.certificationPayload(ctx, res, id)
}

// visibleApplications keeps those of apps the caller may see, so that
// nothing is loaded for the others (the policy would drop them anyway).
func (r *Resolver) visibleApplications(ctx context.Context, apps []projections.Application) []projections.Application {
	actor := ActorFrom(ctx)
	var out []projections.Application
	for _, a := range apps {
		if r.views.SeesView(actor, "Application", certification.ApplicationScope(a.ID, a.Experts)) {
			out = append(out, a)
		}
	}
	return out
}

// applicationOfRow converts an application of the read model whole,
// loading the answers, scores, requests and timeline only when asked for
// and the caller may see them: the policy shows each field only to those
// who may.
func (r *Resolver) applicationOfRow(ctx context.Context, a projections.Application, fields map[string]bool) (model.Application, error) {
	actor := ActorFrom(ctx)
	m := a.Municipality
	about := certification.ApplicationScope(a.ID, a.Experts)
	out := model.Application{
		ID: a.ID, Year: a.Year, Municipality: &m, Status: certification.Status(a.Status),
		Confirmed: a.Confirmed, Completeness: a.Completeness,
		Missing: nonNil(a.Missing), OpenRequests: []string{}, Position: scalar.Position(a.Position),
		Version: int(a.Version), Timeline: []model.TimelineEntry{}, Requests: []model.InformationRequest{},
		Experts: nonNil(a.Experts), Conflicted: nonNil(a.Conflicted), About: about,
	}
	sees := func(field string) bool { return fields[field] && r.sees(ctx, "Application", field, about) }
	if a.SubmittedOn != "" {
		out.SubmittedOn = &a.SubmittedOn
	}
	if fields["openRequests"] && a.OpenRequests > 0 || fields["requests"] {
		reqs, err := r.deps.Reads.ApplicationRequests(ctx, a.ID)
		if err != nil {
			return out, err
		}
		for _, q := range reqs {
			if q.AnsweredAt == nil {
				out.OpenRequests = append(out.OpenRequests, q.RequestID)
			}
			out.Requests = append(out.Requests, requestOf(q))
		}
	}
	if fields["timeline"] {
		entries, err := r.deps.Reads.ApplicationTimeline(ctx, a.ID)
		if err != nil {
			return out, err
		}
		for _, t := range entries {
			line := certification.TimelineLine(actor, about, certification.Line{Type: t.Type, Actor: t.Actor, Role: string(t.Role),
				Summary: t.Summary, Expert: t.Expert})
			out.Timeline = append(out.Timeline, model.TimelineEntry{
				Position: scalar.Position(t.Position), Version: int(t.Version), Type: t.Type, OccurredAt: t.OccurredAt,
				RecordedAt: t.RecordedAt, Actor: line.Actor, Role: line.Role, Summary: line.Summary,
			})
		}
	}
	if fields["previousCertificate"] {
		prev, err := r.previousCertificate(ctx, a.Municipality.Code, a.Year)
		if err != nil {
			return out, err
		}
		out.PreviousCertificate = prev
	}
	if sees("assignments") {
		xs, err := r.deps.Reads.ApplicationExperts(ctx, a.ID)
		if err != nil {
			return out, err
		}
		out.Assignments = []model.ExpertAssignment{}
		for _, x := range xs {
			out.Assignments = append(out.Assignments, assignmentOf(x, a.Cleared, a.Conflicted))
		}
	}
	// The summary and the scores read the same rows: once for both.
	var scores []projections.Score
	if sees("scoreSummary") || sees("scores") {
		var err error
		if scores, err = r.deps.Reads.ApplicationScores(ctx, a.ID); err != nil {
			return out, err
		}
	}
	if sees("scoreSummary") {
		c, err := r.deps.Reads.Cycle(ctx, a.Year)
		if err != nil {
			return out, err
		}
		byExpert := certification.Scores{}
		for _, sc := range scores {
			if byExpert[sc.Expert] == nil {
				byExpert[sc.Expert] = map[string]int{}
			}
			byExpert[sc.Expert][sc.Criterion] = sc.Score
		}
		if c != nil {
			out.ScoreSummary = scoreSummaryOf(c.Rules, byExpert, a.Cleared)
		}
	}
	if sees("answers") {
		answers, err := r.deps.Reads.ApplicationAnswers(ctx, a.ID)
		if err != nil {
			return out, err
		}
		out.Answers = []model.Answer{}
		for _, q := range slices.Sorted(maps.Keys(answers)) {
			out.Answers = append(out.Answers, model.Answer{Question: q, Answer: answers[q]})
		}
	}
	if sees("scores") {
		out.Scores = []model.Score{}
		for _, s := range scores {
			out.Scores = append(out.Scores, model.Score{Expert: s.Expert, Criterion: s.Criterion, Score: s.Score,
				Rationale: model.Optional(s.Rationale), Revisions: s.Revisions, RulesVersion: s.RulesVersion})
		}
	}
	if d := a.Decision; d != nil {
		out.Decision = decisionOf(&certification.DecisionTaken{Certified: d.Certified, RulesVersion: d.RulesVersion,
			Recommendation: d.Recommendation, Justification: d.Justification, Recommendations: d.Recommendations,
			Progress: d.Progress, InputsDigest: d.InputsDigest})
	}
	if a.CertificateNumber != "" {
		c := &model.Certificate{Number: a.CertificateNumber, ApplicationID: a.ID, Year: a.Year, Municipality: &m,
			ValidFrom: a.ValidFrom, ValidUntil: a.ValidUntil, Status: certificateStatus(r.today(), a.ValidUntil, a.RevokedOn),
			Recommendations: []domain.LocalizedText{}}
		if a.AwardedOn != "" {
			c.AwardedOn = &a.AwardedOn
		}
		if a.RevokedOn != "" {
			c.RevokedOn, c.RevokedReason = &a.RevokedOn, model.Optional(a.RevokedReason)
		}
		if a.Decision != nil {
			c.Recommendations = nonNil(a.Decision.Recommendations)
		}
		out.Certificate = c
	}
	return out, nil
}

// assignmentOf converts an expert's assignment, with whether they declared
// a conflict of interest (nil before they declared).
func assignmentOf(x projections.ExpertAssignment, cleared, conflicted []string) model.ExpertAssignment {
	out := model.ExpertAssignment{Expert: x.Expert, NameErased: x.NameErased}
	if x.Name != "" {
		out.Name = &x.Name
	}
	switch {
	case slices.Contains(conflicted, x.Expert):
		out.Conflict = new(bool)
		*out.Conflict = true
	case slices.Contains(cleared, x.Expert):
		out.Conflict = new(bool)
	}
	return out
}

// certificateStatus is a certificate's status on day today.
func certificateStatus(today, validUntil, revokedOn string) certification.CertificateStatus {
	return certification.CertificateStatusOn(today, validUntil, revokedOn)
}

// certificateOf converts a certificate of the public registry.
func certificateOf(c projections.Certificate) model.Certificate {
	m := c.Municipality
	out := model.Certificate{Number: c.Number, ApplicationID: c.ApplicationID, Year: c.Year, Municipality: &m,
		ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, Status: c.Status,
		Recommendations: nonNil(c.Recommendations)}
	if c.AwardedOn != "" {
		out.AwardedOn = &c.AwardedOn
	}
	if c.RevokedOn != "" {
		out.RevokedOn, out.RevokedReason = &c.RevokedOn, model.Optional(c.RevokedReason)
	}
	if c.Progress.Ka != "" || c.Progress.En != "" {
		p := c.Progress
		out.Progress = &p
	}
	return out
}

func cycleCountsOf(c projections.CycleCounts) *model.CycleCounts {
	return &model.CycleCounts{Applied: c.Applied, Submitted: c.Submitted, Withdrawn: c.Withdrawn, Complete: c.Complete,
		Decided: c.Decided, Announced: c.Announced, Certified: c.Certified, Revoked: c.Revoked}
}

// cycleOf converts a cycle with every version of its rules.
func (r *Resolver) cycleOf(ctx context.Context, c projections.Cycle) (model.CertificationCycle, error) {
	changes, err := r.deps.Reads.CycleRules(ctx, c.Year)
	if err != nil {
		return model.CertificationCycle{}, err
	}
	s := c.Schedule
	title := c.Title
	out := model.CertificationCycle{Year: c.Year, Title: &title, Rules: rulesOf(c.Rules, ""),
		Schedule: &model.CertificationSchedule{CallOpens: s.CallOpens, ApplicationDeadline: s.ApplicationDeadline,
			QuestionnaireDeadline: s.QuestionnaireDeadline, ResultsDate: s.ResultsDate, CeremonyDate: s.CeremonyDate},
		RulesVersions: []model.CertificationRules{}}
	for _, ch := range changes {
		out.RulesVersions = append(out.RulesVersions, *rulesOf(ch.Rules, ch.Reason))
		if ch.Version == c.RulesVersion {
			out.Rules = rulesOf(ch.Rules, ch.Reason)
		}
	}
	return out, nil
}

// requestedFields are the fields the query selects of each element of the
// list or object the resolver returns.
func requestedFields(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		out[f.Name] = true
	}
	return out
}

// requestOf converts an information request whole: the policy shows who
// asked, and the answer, only to those who may see them.
func requestOf(q projections.InformationRequest) model.InformationRequest {
	out := model.InformationRequest{ID: q.RequestID, Question: q.Question, RequestedAt: q.RequestedAt, AnsweredAt: q.AnsweredAt}
	if q.AnsweredAt != nil {
		out.Answer = &q.Answer
	}
	if q.Expert != "" {
		out.Expert = &q.Expert
	}
	return out
}

// scoreSummaryOf is the preview of the rules over scores.
func scoreSummaryOf(rules certification.Rules, scores certification.Scores, cleared []string) *model.ScoreSummary {
	complete, rec := rules.Preview(scores, cleared)
	out := &model.ScoreSummary{RulesVersion: rules.Version, ExpertsRequired: rules.ExpertsRequired, ExpertsComplete: nonNil(complete)}
	if rec != nil {
		out.Recommendation = recommendationOf(*rec)
	}
	return out
}

// previousCertificate is the certificate of municipality from the latest
// cycle before year, nil when none.
func (r *Resolver) previousCertificate(ctx context.Context, municipality string, year int) (*model.Certificate, error) {
	hist, err := r.deps.Reads.MunicipalityHistory(ctx, municipality, r.today())
	if err != nil {
		return nil, err
	}
	var prev *projections.Certificate
	for _, h := range hist {
		if h.Year < year && h.Certificate != nil && (prev == nil || h.Year > prev.Year) {
			prev = h.Certificate
		}
	}
	if prev == nil {
		return nil, nil
	}
	c := certificateOf(*prev)
	return &c, nil
}
