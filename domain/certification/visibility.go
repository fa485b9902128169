package certification

import (
	"strings"

	"github.com/civicledger/civicledger/domain"
)

// Who sees certification. The cycles, their rules and the certificate
// registry are public. An application is seen by its own municipality's
// applicant, the experts assigned to it, the judges (the consortium,
// auditors, admins) and, to monitor the programme, analysts and hubs; but
// its questionnaire (answers, answers to information requests, reported
// changes) only by the applicant, its experts and the judges, and which
// expert did what, with their scores and rationales, only by the judges
// and by that expert. Nobody else learns who the experts are, so no
// applicant can lobby them.
var (
	// Readers may see an application.
	Readers = domain.Either(domain.Judges, domain.AnyRole(domain.Analyst, domain.Hub), domain.OwnMunicipality, domain.AssignedExpert)
	// AnswerReaders may see the applicant's own words: its answers, its
	// answers to information requests, the changes it reported.
	AnswerReaders = domain.Either(domain.Judges, domain.OwnMunicipality, domain.AssignedExpert)
	// ScoreReaders may see an application's scores; each score is then
	// seen by the judges and by the expert who gave it (Named).
	ScoreReaders = domain.Either(domain.Judges, domain.AssignedExpert)
	// Named may know which expert did something: the judges and the
	// expert themself.
	Named = domain.Either(domain.Judges, domain.Self)
)

// ExpertSubject is the data subject of an expert's name: what `civic
// erase subject` takes to erase it.
func ExpertSubject(expert string) string { return "expert:" + expert }

// ApplicationScope is an application's scope: its municipality, from its
// ID (<year>-<municipality>), and the experts assigned to it.
func ApplicationScope(id string, experts []string) domain.Scope {
	_, m, _ := strings.Cut(id, "-")
	return domain.Scope{Municipality: m, Assigned: experts}
}

// appScope is the scope of an application's event: the application's,
// with the expert the event names as its subject.
func appScope(id, expert string) domain.Scope {
	s := ApplicationScope(id, nil)
	s.Subject = expert
	return s
}

func declareEvents(t *domain.Types) {
	domain.Declare[CycleOpened](t, domain.Everyone, nil).Show("year", "title", "schedule", "rules")
	domain.Declare[CycleRulesChanged](t, domain.Everyone, nil).Show("year", "rules", "reason")
	// A nomination invites a municipality: its applicant and those who
	// follow the programme see it, but who nominated only the judges and
	// the nominator.
	domain.Declare(t, domain.Either(domain.Judges, domain.AnyRole(domain.Analyst, domain.Hub), domain.OwnMunicipality),
		func(_ string, e MunicipalityNominated) domain.Scope {
			return domain.Scope{Municipality: e.Municipality, Subject: e.By}
		}).
		Show("year", "municipality", "reason").
		Only(Named, "by").
		Notifies("invitation")
	domain.Declare(t, Readers, func(_ string, e ApplicationDrafted) domain.Scope { return appScope(e.ID, "") }).
		Show("id", "year", "municipality")
	domain.Declare(t, Readers, func(_ string, e AnswersSaved) domain.Scope { return appScope(e.ID, "") }).
		Show("id").
		Only(AnswerReaders, "answers")
	domain.Declare(t, Readers, func(_ string, e ApplicationSubmitted) domain.Scope { return appScope(e.ID, "") }).Show("id", "on")
	domain.Declare(t, Readers, func(_ string, e ApplicationWithdrawn) domain.Scope { return appScope(e.ID, "") }).Show("id", "reason")
	domain.Declare(t, Readers, func(_ string, e ProcessStartConfirmed) domain.Scope { return appScope(e.ID, "") }).Show("id")
	domain.Declare(t, Readers, func(_ string, e CompletenessChecked) domain.Scope { return appScope(e.ID, "") }).
		Show("id", "complete", "missing")
	domain.Declare(t, Readers, func(_ string, e InformationRequested) domain.Scope { return appScope(e.ID, e.Expert) }).
		Show("id", "request_id", "question").
		Only(Named, "expert")
	domain.Declare(t, Readers, func(_ string, e InformationProvided) domain.Scope { return appScope(e.ID, "") }).
		Show("id", "request_id").
		Only(AnswerReaders, "answer")
	domain.Declare(t, Readers, func(_ string, e MaterialChangeReported) domain.Scope { return appScope(e.ID, "") }).
		Show("id").
		Only(AnswerReaders, "description")
	domain.Declare(t, Readers, func(_ string, e ExpertAssigned) domain.Scope { return appScope(e.ID, e.Expert) }).
		Assigns(func(e ExpertAssigned) string { return e.Expert }).
		Show("id").
		Only(Named, "expert").
		Personal(Named, func(e ExpertAssigned) string { return ExpertSubject(e.Expert) }, "name")
	domain.Declare(t, Readers, func(_ string, e ConflictOfInterestDeclared) domain.Scope { return appScope(e.ID, e.Expert) }).
		Show("id").
		Only(Named, "expert", "conflict", "details")
	domain.Declare(t, Readers, func(_ string, e ScoreRecorded) domain.Scope { return appScope(e.ID, e.Expert) }).
		Show("id", "criterion", "rules_version").
		Only(Named, "expert", "score", "rationale")
	domain.Declare(t, Readers, func(_ string, e ScoreRevised) domain.Scope { return appScope(e.ID, e.Expert) }).
		Show("id", "criterion", "rules_version").
		Only(Named, "expert", "score", "rationale", "reason")
	// A decision shows what it was taken on, but the experts it counted
	// only to the judges.
	domain.Declare(t, Readers, func(_ string, e DecisionTaken) domain.Scope { return appScope(e.ID, "") }).
		Show("id", "certified", "rules_version", "justification", "recommendations", "progress", "inputs_digest",
			"recommendation.certify", "recommendation.score", "recommendation.criteria", "recommendation.reasons").
		Only(domain.Judges, "recommendation.experts")
	// Outcomes are public once announced: the certificate registry.
	domain.Declare[ResultAnnounced](t, domain.Everyone, nil).Show("id", "on").Notifies("result")
	domain.Declare[CertificateIssued](t, domain.Everyone, nil).Show("id", "number", "valid_from", "valid_until").
		Notifies("certificate")
	domain.Declare[CertificateAwarded](t, domain.Everyone, nil).Show("id", "on")
	domain.Declare[CertificateRevoked](t, domain.Everyone, nil).Show("id", "on", "reason")
}

// DeclareViews declares who sees certification's state in the API.
func DeclareViews(v *domain.Views) {
	v.View("Query", domain.Everyone, "certificationCycles certificationCycle certificates cycleStatistics certificationHistory")
	v.View("Query", domain.Everyone, "").
		Only(domain.SignedIn, "applications application").
		Only(domain.Judges, "certificationAudit replayDecision")
	v.View("Mutation", domain.Everyone, "openCertificationCycle changeCertificationRules nominateMunicipality draftApplication "+
		"saveApplicationAnswers submitApplication withdrawApplication confirmApplicationStart checkApplicationCompleteness "+
		"requestApplicationInformation provideApplicationInformation reportMaterialChange assignExpert declareConflictOfInterest "+
		"scoreApplication decideApplication announceResult awardCertificate revokeCertificate")
	v.View("CertificationCycle", domain.Everyone, "year title schedule rules rulesVersions")
	v.View("CertificationSchedule", domain.Enclosing, "callOpens applicationDeadline questionnaireDeadline resultsDate ceremonyDate")
	v.View("CertificationRules", domain.Enclosing, "version criteria expertsRequired passScore criterionMinimum validityMonths reason")
	v.View("Criterion", domain.Enclosing, "code name guidance weight scaleMin scaleMax")
	v.View("Application", Readers, "id year municipality status submittedOn confirmed completeness missing openRequests requests "+
		"decision certificate previousCertificate timeline version position participatoryBudgets").
		Only(domain.Judges, "experts conflicted scoreSummary").
		Only(AnswerReaders, "answers").
		Only(ScoreReaders, "scores assignments")
	// A score, an assignment and a request are seen whole by the judges
	// and by their own expert; an assigned expert sees only their own.
	v.View("Score", Named, "expert criterion score rationale revisions rulesVersion")
	v.View("ExpertAssignment", Named, "expert conflict nameErased").
		Personal(Named, "name")
	v.View("InformationRequest", domain.Enclosing, "id question requestedAt answeredAt").
		Only(Named, "expert").
		Only(AnswerReaders, "answer")
	// The timeline names experts only to Named: see TimelineLine.
	v.View("TimelineEntry", domain.Enclosing, "position version type occurredAt recordedAt actor role summary")
	v.View("Answer", domain.Enclosing, "question answer")
	v.View("ScoreSummary", domain.Judges, "rulesVersion expertsRequired expertsComplete recommendation")
	v.View("Decision", domain.Enclosing, "certified rulesVersion recommendation justification recommendations progress inputsDigest")
	v.View("Recommendation", domain.Enclosing, "certify score criteria reasons").
		Only(domain.Judges, "experts")
	v.View("CriterionScore", domain.Enclosing, "criterion score")
	v.View("Certificate", domain.Everyone, "number applicationId year municipality validFrom validUntil status awardedOn revokedOn revokedReason recommendations progress")
	v.View("CycleStatistics", domain.Everyone, "year total byRegion")
	v.View("CycleCounts", domain.Enclosing, "applied submitted withdrawn complete decided announced certified revoked")
	v.View("RegionCycleCounts", domain.Enclosing, "region counts")
	v.View("CertificationOutcome", domain.Everyone, "applicationId year status certified certificate")
	v.View("CertificationAudit", domain.Judges, "applicationId events verification inclusion")
	v.View("AuditedEvent", domain.Judges, "position version type occurredAt recordedAt actor role hash data withheld erased")
	v.View("LogVerification", domain.Enclosing, "from to intact events checkpoints firstBad problem")
	v.View("DecisionReplay", domain.Judges, "applicationId verdict decision rules recommendation inputsDigest problems verification inclusion")
	v.View("CertificationPayload", domain.Enclosing, "position application")
}

// Line is one line of an application's timeline, as the read model or a
// replay of the events gives it.
type Line struct {
	Type    string
	Actor   string
	Role    string
	Summary string
	// Expert is the expert the line is about ("" for none): the actor of
	// an expert's step, or the expert an assignment names.
	Expert string
}

// quoting are the steps whose summary (see Describe) quotes what not
// every reader of the application may see, with who may, and what the
// others read instead.
var quoting = map[string]struct {
	audience domain.Audience
	instead  string
}{
	"certification.expert_assigned":               {Named, "An expert was assigned"},
	"certification.conflict_of_interest_declared": {Named, "An expert declared on conflicts of interest"},
	"certification.score_recorded":                {Named, "An expert scored a criterion"},
	"certification.score_revised":                 {Named, "An expert revised a score"},
	"certification.information_requested":         {Named, "An expert requested information"},
	"certification.material_change_reported":      {AnswerReaders, "A material change was reported"},
}

// TimelineLine is what actor, who may see the application with scope app,
// may see of one line of its timeline: the line as recorded, or with the
// summary replaced when it quotes what the actor may not see, and the
// actor of an expert's step withheld ("an expert") from all but the
// judges and that expert.
func TimelineLine(actor domain.Actor, app domain.Scope, l Line) Line {
	s := app
	s.Subject = l.Expert
	if q, ok := quoting[l.Type]; ok && !q.audience.Sees(actor, s) {
		l.Summary = q.instead
	}
	if !domain.ActorAudience(l.Role).Sees(actor, domain.Scope{Subject: l.Actor}) {
		l.Actor = "an expert"
		if l.Role != string(domain.Expert) {
			l.Actor = "withheld"
		}
	}
	return l
}

// ExpertOf is the expert an application's event is about, "" for none.
func ExpertOf(e domain.Event) string {
	switch e := e.(type) {
	case ExpertAssigned:
		return e.Expert
	case ConflictOfInterestDeclared:
		return e.Expert
	case ScoreRecorded:
		return e.Expert
	case ScoreRevised:
		return e.Expert
	case InformationRequested:
		return e.Expert
	}
	return ""
}
