package graph

import (
	"context"
	"encoding/hex"
	"fmt"
	"github.com/99designs/gqlgen/graphql"
	"maps"
	"slices"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/graph/scalar"
	"github.com/civicledger/civicledger/projections"
)

// The roles that read an application whole, with its answers, scores and
// experts, and that audit.
var auditRoles = []domain.Role{domain.Auditor, domain.Consortium, domain.Admin}

// applicationStream reads an application's events, refusing a malformed
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

// verificationOf converts the log's verification; nil means the store
// could not verify.
func verificationOf(v *eventstore.Verification) *model.LogVerification {
	if v == nil {
		why := "the store keeps no hash chain, or none of the events has a log position yet"
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

// audit audits an application, for an actor allowed to.
func (r *Resolver) audit(ctx context.Context, id string, depth certification.Depth) (certification.Audit, error) {
	if err := ActorFrom(ctx).Require("audit an application", auditRoles...); err != nil {
		return certification.Audit{}, err
	}
	return certification.AuditApplication(ctx, r.deps.Store, catalog.Types, id, depth)
}

// certificationAudit lists an application's events with their hashes and
// verifies the log over them.
func (r *Resolver) certificationAudit(ctx context.Context, id string) (*model.CertificationAudit, error) {
	a, err := r.audit(ctx, id, certification.FullChain)
	if err != nil {
		return nil, err
	}
	out := &model.CertificationAudit{ApplicationID: id, Verification: verificationOf(a.Verification)}
	for _, e := range a.Events {
		ae := model.AuditedEvent{
			Position: scalar.Position(e.Position), Version: int(e.Version), Type: e.Type, OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt,
			Actor: e.Metadata.Actor, Role: e.Metadata.Role, Data: scalar.JSON(e.Data),
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
func (r *Resolver) replayDecision(ctx context.Context, id string) (*model.DecisionReplay, error) {
	a, err := r.audit(ctx, id, certification.EventsOnly)
	if err != nil {
		return nil, err
	}
	rep := a.Replay
	out := &model.DecisionReplay{ApplicationID: id, Verdict: model.ReplayVerdict(strings.ToUpper(string(rep.Verdict))),
		Problems: nonNil(rep.Problems), Verification: verificationOf(a.Verification)}
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

// applicationAsOf rebuilds an application from its events up to a
// position or a time; all of them when asOf is nil.
func (r *Resolver) applicationAsOf(ctx context.Context, id string, asOf *model.AsOf) (*model.Application, error) {
	if !ActorFrom(ctx).SignedIn() {
		return nil, domain.Errorf(domain.Unauthenticated, "applications need an API key; certificates are public")
	}
	if asOf == nil {
		asOf = &model.AsOf{}
	} else if (asOf.Position == nil) == (asOf.Time == nil) {
		return nil, domain.Errorf(domain.Invalid, "asOf: give exactly one of position and time")
	}
	stored, err := r.applicationEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	var a certification.Application
	var last int64
	var applied []eventstore.Event
	var decoded []domain.Event
	for _, se := range stored {
		if after(se, asOf) {
			break
		}
		e, err := catalog.Types.Decode(se)
		if err != nil {
			return nil, domain.Wrap(err, "decode")
		}
		if err := a.Apply(e); err != nil {
			return nil, domain.Wrap(err, "replay")
		}
		last = max(last, se.Position)
		applied, decoded = append(applied, se), append(decoded, e)
	}
	if a.ID() == "" {
		return nil, nil // it did not exist yet
	}
	s := a.Snapshot()
	s.Version = applied[len(applied)-1].Version
	if err := canSee(ActorFrom(ctx), s.Municipality, s.Experts); err != nil {
		return nil, err
	}
	// The rules in force at the same moment, from the cycle's events.
	cycleStored, err := r.deps.Store.ReadStream(ctx, certification.CycleStream(s.Year), eventstore.ReadOptions{})
	if err != nil {
		return nil, domain.Wrap(err, "read the cycle")
	}
	var c certification.Cycle
	for _, se := range cycleStored {
		if after(se, asOf) {
			break
		}
		e, err := catalog.Types.Decode(se)
		if err != nil {
			return nil, domain.Wrap(err, "decode")
		}
		if err := c.Apply(e); err != nil {
			return nil, domain.Wrap(err, "replay the cycle")
		}
	}
	out, err := r.applicationOfSnapshot(ctx, s, last)
	if err != nil {
		return nil, err
	}
	actor := ActorFrom(ctx)
	requests := map[string]*projections.InformationRequest{}
	var order []string
	for i, se := range applied {
		out.Timeline = append(out.Timeline, timelineEntry(actor, model.TimelineEntry{
			Position: scalar.Position(se.Position), Version: int(se.Version), Type: se.Type, OccurredAt: se.OccurredAt,
			RecordedAt: se.RecordedAt, Actor: se.Metadata.Actor, Role: se.Metadata.Role, Summary: certification.Describe(decoded[i]),
		}, expertOf(decoded[i])))
		switch e := decoded[i].(type) {
		case certification.InformationRequested:
			requests[e.RequestID] = &projections.InformationRequest{RequestID: e.RequestID, Expert: e.Expert, Question: e.Question, RequestedAt: se.OccurredAt}
			order = append(order, e.RequestID)
		case certification.InformationProvided:
			if q := requests[e.RequestID]; q != nil {
				at := se.OccurredAt
				q.Answer, q.AnsweredAt = e.Answer, &at
			}
		}
	}
	for _, id := range order {
		out.Requests = append(out.Requests, requestOf(actor, *requests[id]))
	}
	if c.Year() != 0 {
		out.ScoreSummary = scoreSummaryOf(actor, c.Rules(), s.Scores, s.Cleared)
	}
	if out.PreviousCertificate, err = r.previousCertificate(ctx, s.Municipality, s.Year); err != nil {
		return nil, err
	}
	return out, nil
}

// canSee checks that actor may read an application of municipality with
// the given assigned experts.
func canSee(actor domain.Actor, municipality string, experts []string) error {
	switch actor.Role {
	case domain.Auditor, domain.Consortium, domain.Admin, domain.Analyst, domain.Hub, domain.System:
		return nil
	case domain.Applicant:
		if actor.Municipality == municipality {
			return nil
		}
		return domain.Errorf(domain.Forbidden, "this key acts for %s and sees only its applications", actor.Municipality)
	case domain.Expert:
		if slices.Contains(experts, actor.ID) {
			return nil
		}
		return domain.Errorf(domain.Forbidden, "experts see only the applications assigned to them")
	}
	return domain.Errorf(domain.Unauthenticated, "applications need an API key; certificates are public")
}

// seesAnswers reports whether actor may read the questionnaire answers of
// an application it may see.
func seesAnswers(actor domain.Actor) bool {
	return actor.Role != domain.Analyst && actor.Role != domain.Hub
}

// applicationOfSnapshot converts a rebuilt application, showing each
// field only to those who may see it.
func (r *Resolver) applicationOfSnapshot(ctx context.Context, s certification.Snapshot, position int64) (*model.Application, error) {
	actor := ActorFrom(ctx)
	munis, err := r.deps.Reads.MunicipalitiesByCode(ctx, []string{s.Municipality})
	if err != nil {
		return nil, err
	}
	m, ok := munis[s.Municipality]
	if !ok {
		return nil, domain.Wrap(fmt.Errorf("municipality %s of application %s is not in the read model", s.Municipality, s.ID), "application")
	}
	out := &model.Application{
		ID: s.ID, Year: s.Year, Municipality: &m, Status: model.ApplicationStatus(strings.ToUpper(string(s.Status))),
		Confirmed: s.Confirmed, Completeness: model.Completeness(strings.ToUpper(s.Completeness)),
		Missing: nonNil(s.Missing), OpenRequests: nonNil(s.OpenRequests), Position: scalar.Position(position),
		Version: int(s.Version), Timeline: []model.TimelineEntry{}, Requests: []model.InformationRequest{},
	}
	if s.SubmittedOn != "" {
		out.SubmittedOn = &s.SubmittedOn
	}
	whole := slices.Contains(auditRoles, actor.Role) || actor.Role == domain.System
	if whole {
		out.Experts, out.Conflicted = nonNil(s.Experts), nonNil(s.Conflicted)
	}
	if seesAnswers(actor) {
		for _, q := range slices.Sorted(maps.Keys(s.Answers)) {
			out.Answers = append(out.Answers, model.Answer{Question: q, Answer: s.Answers[q]})
		}
		if out.Answers == nil {
			out.Answers = []model.Answer{}
		}
	}
	if whole || actor.Role == domain.Expert {
		out.Scores = []model.Score{}
		for _, x := range slices.Sorted(maps.Keys(s.Scores)) {
			if !whole && x != actor.ID {
				continue
			}
			for _, c := range slices.Sorted(maps.Keys(s.Scores[x])) {
				out.Scores = append(out.Scores, model.Score{Expert: x, Criterion: c, Score: s.Scores[x][c]})
			}
		}
	}
	if s.Decision != nil {
		out.Decision = decisionOf(s.Decision)
	}
	if c := s.Certificate; c != nil {
		status := model.CertificateStatusValid
		switch {
		case s.Revoked:
			status = model.CertificateStatusRevoked
		case r.today() > c.ValidUntil:
			status = model.CertificateStatusExpired
		}
		out.Certificate = &model.Certificate{
			Number: c.Number, ApplicationID: s.ID, Year: s.Year, Municipality: &m, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil,
			Status: status, Recommendations: []domain.LocalizedText{},
		}
		if s.Decision != nil {
			out.Certificate.Recommendations = nonNil(s.Decision.Recommendations)
		}
	}
	return out, nil
}

// today is the day of the commands' clock in Tbilisi.
func (r *Resolver) today() string {
	return r.deps.Now().In(domain.Tbilisi).Format(certification.DateLayout)
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

// visibleApplications keeps those of apps the actor may see.
func visibleApplications(actor domain.Actor, apps []projections.Application) ([]projections.Application, error) {
	if !actor.SignedIn() {
		return nil, domain.Errorf(domain.Unauthenticated, "applications need an API key; certificates are public")
	}
	var out []projections.Application
	for _, a := range apps {
		if canSee(actor, a.Municipality.Code, a.Experts) == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// applicationOfRow converts an application of the read model for actor,
// loading the answers, scores and open requests only when asked for.
func (r *Resolver) applicationOfRow(ctx context.Context, a projections.Application, fields map[string]bool) (model.Application, error) {
	actor := ActorFrom(ctx)
	m := a.Municipality
	out := model.Application{
		ID: a.ID, Year: a.Year, Municipality: &m, Status: model.ApplicationStatus(strings.ToUpper(string(a.Status))),
		Confirmed: a.Confirmed, Completeness: model.Completeness(strings.ToUpper(string(a.Completeness))),
		Missing: nonNil(a.Missing), OpenRequests: []string{}, Position: scalar.Position(a.Position),
		Version: int(a.Version), Timeline: []model.TimelineEntry{}, Requests: []model.InformationRequest{},
	}
	if a.SubmittedOn != "" {
		out.SubmittedOn = &a.SubmittedOn
	}
	whole := slices.Contains(auditRoles, actor.Role)
	if whole {
		out.Experts, out.Conflicted = nonNil(a.Experts), nonNil(a.Conflicted)
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
			out.Requests = append(out.Requests, requestOf(actor, q))
		}
	}
	if fields["timeline"] {
		entries, err := r.deps.Reads.ApplicationTimeline(ctx, a.ID)
		if err != nil {
			return out, err
		}
		for _, t := range entries {
			out.Timeline = append(out.Timeline, timelineEntry(actor, model.TimelineEntry{
				Position: scalar.Position(t.Position), Version: int(t.Version), Type: t.Type, OccurredAt: t.OccurredAt,
				RecordedAt: t.RecordedAt, Actor: t.Actor, Role: string(t.Role), Summary: t.Summary,
			}, expertInSummary(t)))
		}
	}
	if fields["previousCertificate"] {
		prev, err := r.previousCertificate(ctx, a.Municipality.Code, a.Year)
		if err != nil {
			return out, err
		}
		out.PreviousCertificate = prev
	}
	if fields["scoreSummary"] && whole {
		c, err := r.deps.Reads.Cycle(ctx, a.Year)
		if err != nil {
			return out, err
		}
		scores, err := r.deps.Reads.ApplicationScores(ctx, a.ID)
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
			out.ScoreSummary = scoreSummaryOf(actor, c.Rules, byExpert, a.Cleared)
		}
	}
	if fields["answers"] && seesAnswers(actor) {
		answers, err := r.deps.Reads.ApplicationAnswers(ctx, a.ID)
		if err != nil {
			return out, err
		}
		out.Answers = []model.Answer{}
		for _, q := range slices.Sorted(maps.Keys(answers)) {
			out.Answers = append(out.Answers, model.Answer{Question: q, Answer: answers[q]})
		}
	}
	if fields["scores"] && (whole || actor.Role == domain.Expert) {
		var scores []projections.Score
		var err error
		if whole {
			scores, err = r.deps.Reads.ApplicationScores(ctx, a.ID)
		} else {
			scores, err = r.deps.Reads.ExpertScores(ctx, a.ID, actor.ID)
		}
		if err != nil {
			return out, err
		}
		out.Scores = []model.Score{}
		for _, s := range scores {
			rationale := s.Rationale
			out.Scores = append(out.Scores, model.Score{Expert: s.Expert, Criterion: s.Criterion, Score: s.Score,
				Rationale: &rationale, Revisions: s.Revisions, RulesVersion: s.RulesVersion})
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
			c.RevokedOn, c.RevokedReason = &a.RevokedOn, &a.RevokedReason
		}
		if a.Decision != nil {
			c.Recommendations = nonNil(a.Decision.Recommendations)
		}
		out.Certificate = c
	}
	return out, nil
}

// certificateStatus is a certificate's status on day today.
func certificateStatus(today, validUntil, revokedOn string) model.CertificateStatus {
	switch {
	case revokedOn != "" && today >= revokedOn:
		return model.CertificateStatusRevoked
	case today > validUntil:
		return model.CertificateStatusExpired
	}
	return model.CertificateStatusValid
}

// certificateOf converts a certificate of the public registry.
func certificateOf(c projections.Certificate) model.Certificate {
	m := c.Municipality
	out := model.Certificate{Number: c.Number, ApplicationID: c.ApplicationID, Year: c.Year, Municipality: &m,
		ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, Status: model.CertificateStatus(strings.ToUpper(string(c.Status))),
		Recommendations: nonNil(c.Recommendations)}
	if c.AwardedOn != "" {
		out.AwardedOn = &c.AwardedOn
	}
	if c.RevokedOn != "" {
		out.RevokedOn, out.RevokedReason = &c.RevokedOn, &c.RevokedReason
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

// expertSteps are the events that name an expert, and what the roles
// that may not know which expert read instead.
var expertSteps = map[string]string{
	"certification.expert_assigned":               "An expert was assigned",
	"certification.conflict_of_interest_declared": "An expert declared on conflicts of interest",
	"certification.score_recorded":                "An expert scored a criterion",
	"certification.score_revised":                 "An expert revised a score",
	"certification.information_requested":         "An expert requested information",
}

// timelineEntry is one line of a timeline as actor may read it: experts
// are named, and scores shown, only to the consortium, auditors and admins,
// and to the expert themself.
func timelineEntry(actor domain.Actor, e model.TimelineEntry, expert string) model.TimelineEntry {
	generic, ok := expertSteps[e.Type]
	if !ok || slices.Contains(auditRoles, actor.Role) || (actor.Role == domain.Expert && expert == actor.ID) {
		return e
	}
	e.Summary = generic
	if e.Role == string(domain.Expert) {
		e.Actor = "an expert"
	}
	return e
}

// expertOf is the expert an application event names, "" for none.
func expertOf(e domain.Event) string {
	switch e := e.(type) {
	case certification.ExpertAssigned:
		return e.Expert
	case certification.ConflictOfInterestDeclared:
		return e.Expert
	case certification.ScoreRecorded:
		return e.Expert
	case certification.ScoreRevised:
		return e.Expert
	case certification.InformationRequested:
		return e.Expert
	}
	return ""
}

// requestOf converts an information request for actor.
func requestOf(actor domain.Actor, q projections.InformationRequest) model.InformationRequest {
	out := model.InformationRequest{ID: q.RequestID, Question: q.Question, RequestedAt: q.RequestedAt, AnsweredAt: q.AnsweredAt}
	if q.AnsweredAt != nil {
		out.Answer = &q.Answer
	}
	if slices.Contains(auditRoles, actor.Role) || actor.ID == q.Expert {
		out.Expert = &q.Expert
	}
	return out
}

// scoreSummaryOf is the preview of the rules over scores, for the roles
// that see scores whole; nil for others.
func scoreSummaryOf(actor domain.Actor, rules certification.Rules, scores certification.Scores, cleared []string) *model.ScoreSummary {
	if !slices.Contains(auditRoles, actor.Role) {
		return nil
	}
	complete, rec := rules.Preview(scores, cleared)
	out := &model.ScoreSummary{RulesVersion: rules.Version, ExpertsRequired: rules.ExpertsRequired, ExpertsComplete: nonNil(complete)}
	if rec != nil {
		out.Recommendation = recommendationOf(*rec)
	}
	return out
}

// expertInSummary is the expert a timeline line of the read model is
// about: the actor of an expert's own step, "" for the consortium's
// assignment (whose line the non-auditing roles read redacted anyway).
func expertInSummary(t projections.TimelineEntry) string {
	if t.Role == domain.Expert {
		return t.Actor
	}
	return ""
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

// after reports whether se comes after the moment asOf names (never, for
// no moment); an event without a position yet comes after any position.
func after(se eventstore.Event, asOf *model.AsOf) bool {
	return asOf.Position != nil && (se.Position == 0 || se.Position > int64(*asOf.Position)) ||
		asOf.Time != nil && se.RecordedAt.After(*asOf.Time)
}
