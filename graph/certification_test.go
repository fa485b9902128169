package graph_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
)

// day is noon of a Tbilisi day, for the commands' clock.
func day(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02", s, domain.Tbilisi)
	if err != nil {
		t.Fatal(err)
	}
	return d.Add(12 * time.Hour)
}

const openCycle = `mutation($in: OpenCycleInput!) { openCertificationCycle(input: $in) { position } }`

func cycle2030() map[string]any {
	crit := func(code string, weight int) map[string]any {
		return map[string]any{"code": code, "name": map[string]any{"ka": code, "en": code}, "weight": weight, "scaleMin": 0, "scaleMax": 10}
	}
	return map[string]any{"in": map[string]any{
		"year": 2030, "title": map[string]any{"ka": "სერტიფიცირება 2030", "en": "Certification 2030"},
		"schedule": map[string]any{"callOpens": "2030-02-01", "applicationDeadline": "2030-03-31", "questionnaireDeadline": "2030-04-15",
			"resultsDate": "2030-06-15", "ceremonyDate": "2030-06-30"},
		"rules": map[string]any{"criteria": []any{crit("motivation", 3), crit("impact", 2)}, "expertsRequired": 1, "passScore": 60, "criterionMinimum": 30},
	}}
}

// mutate runs a certification mutation as role and returns its position.
func (e *env) mutate(role domain.Role, field, query string, vars map[string]any) string {
	e.t.Helper()
	r := e.do(role, query, vars).ok(e.t)
	return fmt.Sprint(r.get(field + ".position"))
}

// head is the log's head.
func (e *env) head() int64 {
	e.t.Helper()
	h, err := e.store.Head(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// TestCertificationCycle walks a whole cycle over HTTP: call, application,
// evaluation, decision, certificate, ceremony and expiry; then audits and
// replays the decision, and replays it again after a score was altered in
// the database behind the store's back.
func TestCertificationCycle(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	e.clock.Set(day(t, "2030-02-10"))
	const id = "2030-rustavi"

	e.mutate(domain.Admin, "openCertificationCycle", openCycle, cycle2030())
	e.mutate(domain.Applicant, "draftApplication", `mutation { draftApplication(year: 2030, municipality: "rustavi") { position } }`, nil)
	e.mutate(domain.Applicant, "saveApplicationAnswers", `mutation { saveApplicationAnswers(applicationId: "2030-rustavi",
		answers: [{question: "q1", answer: "2% of the budget since 2024"}, {question: "q2", answer: "18 projects"}]) { position } }`, nil)
	submittedAt := e.mutate(domain.Applicant, "submitApplication", `mutation { submitApplication(applicationId: "2030-rustavi") { position } }`, nil)

	// The applicant's key acts for Rustavi only.
	before := e.head()
	if r := e.do(domain.Applicant, `mutation { draftApplication(year: 2030, municipality: "batumi") { position } }`, nil); r.code() != "FORBIDDEN" {
		t.Fatalf("drafting for another municipality: %+v; want FORBIDDEN", r.Errors)
	}
	if e.head() != before {
		t.Fatal("a refused mutation wrote events")
	}

	e.mutate(domain.Consortium, "confirmApplicationStart", `mutation { confirmApplicationStart(applicationId: "2030-rustavi") { position } }`, nil)
	e.mutate(domain.Consortium, "checkApplicationCompleteness", `mutation { checkApplicationCompleteness(applicationId: "2030-rustavi", complete: true) { position } }`, nil)
	expert := fmt.Sprint(e.do(domain.Expert, `{ viewer { name } }`, nil).ok(t).get("viewer.name"))
	e.mutate(domain.Consortium, "assignExpert", `mutation($x: String!) { assignExpert(applicationId: "2030-rustavi", expert: $x) { position } }`, map[string]any{"x": expert})
	e.mutate(domain.Expert, "declareConflictOfInterest", `mutation { declareConflictOfInterest(applicationId: "2030-rustavi", conflict: false) { position } }`, nil)
	e.mutate(domain.Expert, "scoreApplication", `mutation { scoreApplication(applicationId: "2030-rustavi", criterion: "motivation", score: 8, rationale: "council adopted PB rules") { position } }`, nil)
	e.mutate(domain.Expert, "scoreApplication", `mutation { scoreApplication(applicationId: "2030-rustavi", criterion: "impact", score: 5, rationale: "first year") { position } }`, nil)
	e.mutate(domain.Expert, "scoreApplication", `mutation { scoreApplication(applicationId: "2030-rustavi", criterion: "impact", score: 7, rationale: "votes counted", reason: "the vote count arrived") { position } }`, nil)
	e.mutate(domain.Expert, "requestApplicationInformation", `mutation { requestApplicationInformation(applicationId: "2030-rustavi", question: "How many citizens voted?") { position } }`, nil)

	// Before the decision: the consortium previews the recommendation; the
	// applicant sees the question it must answer, and the timeline without
	// the expert's name or scores.
	r := e.do(domain.Consortium, `{ application(id: "2030-rustavi") { version scoreSummary { rulesVersion expertsRequired expertsComplete recommendation { certify score } } } }`, nil).ok(t)
	if got := fmt.Sprint(r.get("application.scoreSummary")); got != "map[expertsComplete:["+expert+"] expertsRequired:1 recommendation:map[certify:true score:76] rulesVersion:1]" {
		t.Fatalf("score summary: %s", got)
	}
	version := r.get("application.version")
	if version != 11.0 {
		t.Fatalf("version %v; want 11", version)
	}
	r = e.do(domain.Applicant, `{ application(id: "2030-rustavi") { requests { id question expert answer } timeline { type actor summary } scoreSummary { rulesVersion } } }`, nil).ok(t)
	if got := fmt.Sprint(r.get("application.requests")); got != "[map[answer:<nil> expert:<nil> id:1 question:How many citizens voted?]]" {
		t.Fatalf("the applicant's requests: %s", got)
	}
	if r.get("application.scoreSummary") != nil {
		t.Fatalf("the applicant sees a score summary: %v", r.get("application.scoreSummary"))
	}
	timeline := r.get("application.timeline").([]any)
	if len(timeline) != 11 || fmt.Sprint(timeline[7]) != "map[actor:an expert summary:An expert scored a criterion type:certification.score_recorded]" {
		t.Fatalf("the applicant's timeline (%d entries): %v", len(timeline), timeline)
	}
	for _, entry := range timeline {
		if strings.Contains(fmt.Sprint(entry), "test-expert") {
			t.Fatalf("the applicant's timeline names the expert: %v", entry)
		}
	}

	const decide = `mutation { decideApplication(input: {applicationId: "2030-rustavi", certified: true,
		recommendations: [{ka: "გამოაქვეყნეთ ხმის მიცემის შედეგები", en: "Publish the vote counts"}]}) { position } }`
	if r := e.do(domain.Consortium, decide, nil); r.code() != "CONFLICT" || !strings.Contains(r.Errors[0].Message, "open information requests") {
		t.Fatalf("deciding with an open request: %+v; want CONFLICT", r.Errors)
	}
	e.mutate(domain.Applicant, "provideApplicationInformation", `mutation { provideApplicationInformation(applicationId: "2030-rustavi", requestId: "1", answer: "2,310") { position } }`, nil)
	// A decision on the version seen before the answer arrived is stale.
	stale := `mutation($v: Int) { decideApplication(input: {applicationId: "2030-rustavi", certified: true, expectedVersion: $v}) { position } }`
	before = e.head()
	if r := e.do(domain.Consortium, stale, map[string]any{"v": version}); r.code() != "CONFLICT" || !strings.Contains(r.Errors[0].Message, "not 11 as expected") || e.head() != before {
		t.Fatalf("deciding on a stale version: %+v; want CONFLICT and nothing written", r.Errors)
	}
	e.mutate(domain.Consortium, "decideApplication", decide, nil)

	e.clock.Set(day(t, "2030-06-14"))
	if r := e.do(domain.Consortium, `mutation { announceResult(applicationId: "2030-rustavi") { position } }`, nil); r.code() != "CONFLICT" {
		t.Fatalf("announcing before the results date: %+v; want CONFLICT", r.Errors)
	}
	e.clock.Set(day(t, "2030-06-15"))
	announced := e.mutate(domain.Consortium, "announceResult", `mutation { announceResult(applicationId: "2030-rustavi") { position } }`, nil)
	e.clock.Set(day(t, "2030-06-30"))
	awarded := e.mutate(domain.Consortium, "awardCertificate", `mutation { awardCertificate(applicationId: "2030-rustavi") { position } }`, nil)

	// The public registry, anonymously: valid now, expired once its day
	// has passed, with nothing run in between.
	const certs = `{ certificates(filter: {year: 2030}) { number status validFrom validUntil awardedOn municipality { code } recommendations { en } } }`
	r = e.do(domain.Anonymous, certs, nil, "Civic-Min-Position", awarded).ok(t)
	want := `[map[awardedOn:2030-06-30 municipality:map[code:rustavi] number:CB-2030-RUSTAVI recommendations:[map[en:Publish the vote counts]] status:VALID validFrom:2030-06-15 validUntil:2031-06-14]]`
	if got := fmt.Sprint(r.get("certificates")); got != want {
		t.Fatalf("certificates: %s; want %s", got, want)
	}
	e.clock.Set(day(t, "2031-06-15"))
	if got := fmt.Sprint(e.do(domain.Anonymous, `{ certificates(filter: {year: 2030}) { status } }`, nil).ok(t).get("certificates")); got != "[map[status:EXPIRED]]" {
		t.Fatalf("a day after validUntil: %s; want EXPIRED", got)
	}
	r = e.do(domain.Anonymous, `{ cycleStatistics(year: 2030) { total { applied submitted complete decided announced certified } byRegion { region { code } counts { certified } } }
		certificationHistory(municipality: "rustavi") { applicationId year status certified certificate { status } } }`, nil).ok(t)
	if got := fmt.Sprint(r.get("cycleStatistics.total")); got != "map[announced:1 applied:1 certified:1 complete:1 decided:1 submitted:1]" {
		t.Fatalf("statistics: %s", got)
	}
	if got := fmt.Sprint(r.get("cycleStatistics.byRegion")); got != "[map[counts:map[certified:1] region:map[code:kvemo-kartli]]]" {
		t.Fatalf("statistics by region: %s", got)
	}
	if got := fmt.Sprint(r.get("certificationHistory")); got != "[map[applicationId:2030-rustavi certificate:map[status:EXPIRED] certified:true status:DECIDED year:2030]]" {
		t.Fatalf("history: %s", got)
	}

	// Who sees the application in the list, and how much of it.
	const list = `{ applications(filter: {year: 2030}) { id answers { question } scores { expert score } experts openRequests } }`
	if r := e.do(domain.Anonymous, list, nil); r.code() != "UNAUTHENTICATED" {
		t.Fatalf("anonymous list: %+v; want UNAUTHENTICATED", r.Errors)
	}
	for role, want := range map[domain.Role]string{
		domain.Applicant:  "[map[answers:[map[question:q1] map[question:q2]] experts:<nil> id:2030-rustavi openRequests:[] scores:<nil>]]",
		domain.Expert:     "[map[answers:[map[question:q1] map[question:q2]] experts:<nil> id:2030-rustavi openRequests:[] scores:[map[expert:" + expert + " score:7] map[expert:" + expert + " score:8]]]]",
		domain.Analyst:    "[map[answers:<nil> experts:<nil> id:2030-rustavi openRequests:[] scores:<nil>]]",
		domain.Consortium: "[map[answers:[map[question:q1] map[question:q2]] experts:[" + expert + "] id:2030-rustavi openRequests:[] scores:[map[expert:" + expert + " score:7] map[expert:" + expert + " score:8]]]]",
	} {
		if got := fmt.Sprint(e.do(role, list, nil).ok(t).get("applications")); got != want {
			t.Errorf("%s sees %s; want %s", role, got, want)
		}
	}

	// The state as of the submission, rebuilt from the events.
	r = e.do(domain.Applicant, `query($p: Position!) { application(id: "2030-rustavi", asOf: {position: $p}) { status completeness answers { question } scores { score } } }`,
		map[string]any{"p": submittedAt}).ok(t)
	if r.get("application.status") != "SUBMITTED" || r.get("application.completeness") != "UNCHECKED" || len(r.get("application.answers").([]any)) != 2 || r.get("application.scores") != nil {
		t.Fatalf("as of the submission: %+v; want SUBMITTED, UNCHECKED, two answers and no scores for the applicant", r.Data)
	}
	if r := e.do(domain.Anonymous, `{ application(id: "2030-rustavi", asOf: {position: 1}) { status } }`, nil); r.code() != "UNAUTHENTICATED" {
		t.Fatalf("anonymous asOf: %+v; want UNAUTHENTICATED", r.Errors)
	}

	// The audit: every event with its hash, the chain intact.
	r = e.do(domain.Auditor, `{ certificationAudit(applicationId: "2030-rustavi") { events { position type actor role hash recordedAt }
		verification { intact events checkpoints firstBad } } }`, nil, "Civic-Min-Position", awarded).ok(t)
	events := r.get("certificationAudit.events").([]any)
	if len(events) != 16 {
		t.Fatalf("audit lists %d events; want 16", len(events))
	}
	for _, ev := range events {
		m := ev.(map[string]any)
		if m["hash"] == nil || len(fmt.Sprint(m["hash"])) != 64 || m["actor"] == "" || m["role"] == "" {
			t.Fatalf("audited event %+v; want a 64-hex hash, an actor and a role", m)
		}
	}
	if r.get("certificationAudit.verification.intact") != true {
		t.Fatalf("verification %+v; want intact", r.get("certificationAudit.verification"))
	}
	// Time travel by time: as the log stood when the submission was
	// recorded, and a moment before.
	recorded := fmt.Sprint(events[2].(map[string]any)["recordedAt"])
	if events[2].(map[string]any)["type"] != "certification.application_submitted" {
		t.Fatalf("the third event is %v; want the submission", events[2])
	}
	at, err := time.Parse(time.RFC3339Nano, recorded)
	if err != nil {
		t.Fatal(err)
	}
	const asOfTime = `query($t: DateTime!) { application(id: "2030-rustavi", asOf: {recordedAt: $t}) { status version } }`
	if got := fmt.Sprint(e.do(domain.Consortium, asOfTime, map[string]any{"t": at.Format(time.RFC3339Nano)}).ok(t).get("application")); got != "map[status:SUBMITTED version:3]" {
		t.Fatalf("as of the submission's time: %s", got)
	}
	if got := fmt.Sprint(e.do(domain.Consortium, asOfTime, map[string]any{"t": at.Add(-time.Microsecond).Format(time.RFC3339Nano)}).ok(t).get("application")); got != "map[status:DRAFT version:2]" {
		t.Fatalf("a moment before the submission: %s", got)
	}
	if r := e.do(domain.Consortium, `{ application(id: "2030-rustavi", asOf: {position: 1, recordedAt: "2030-01-01T00:00:00Z"}) { status } }`, nil); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("asOf with both a position and a time: %+v; want BAD_USER_INPUT", r.Errors)
	}
	for _, role := range []domain.Role{domain.Anonymous, domain.Applicant, domain.Expert, domain.Analyst} {
		if r := e.do(role, `{ certificationAudit(applicationId: "2030-rustavi") { applicationId } }`, nil); r.code() != "FORBIDDEN" && r.code() != "UNAUTHENTICATED" {
			t.Fatalf("%s auditing: %+v; want FORBIDDEN or UNAUTHENTICATED", role, r.Errors)
		}
	}

	const replay = `{ replayDecision(applicationId: "2030-rustavi") { verdict problems recommendation { certify score } decision { certified inputsDigest } inputsDigest verification { intact firstBad problem } } }`
	r = e.do(domain.Auditor, replay, nil).ok(t)
	if r.get("replayDecision.verdict") != "FOLLOWED" || r.get("replayDecision.recommendation.score") != 76.0 ||
		r.get("replayDecision.inputsDigest") != r.get("replayDecision.decision.inputsDigest") || r.get("replayDecision.verification.intact") != true {
		t.Fatalf("replay: %+v; want FOLLOWED at 76 with the recorded digest, the log intact", r.Data)
	}
	_ = announced

	// The next year, the new application shows the certificate whose
	// recommendations the next decision assesses progress against.
	e.clock.Set(day(t, "2031-02-10"))
	next := cycle2030()
	in := next["in"].(map[string]any)
	in["year"] = 2031
	in["schedule"] = map[string]any{"callOpens": "2031-02-01", "applicationDeadline": "2031-03-31", "questionnaireDeadline": "2031-04-15",
		"resultsDate": "2031-06-15", "ceremonyDate": "2031-06-30"}
	e.mutate(domain.Admin, "openCertificationCycle", openCycle, next)
	r = e.do(domain.Applicant, `mutation { draftApplication(year: 2031, municipality: "rustavi") { application { id status previousCertificate { number status recommendations { en } } } } }`, nil).ok(t)
	if got := fmt.Sprint(r.get("draftApplication.application")); got != "map[id:2031-rustavi previousCertificate:map[number:CB-2030-RUSTAVI recommendations:[map[en:Publish the vote counts]] status:VALID] status:DRAFT]" {
		t.Fatalf("the 2031 application: %s", got)
	}

	// Alter the revised impact score in the database, as someone with
	// access to it could: the replay must show the decision no longer
	// matches its events, and the log verification where it broke.
	ctx := context.Background()
	var pos int64
	if err := e.db.QueryRow(ctx, `SELECT l.position FROM eventstore.events ev JOIN eventstore.log l ON l.tx = ev.tx AND l.seq = ev.seq
		WHERE ev.stream_id = 'application-2030-rustavi' AND ev.type = 'certification.score_revised'`).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	conn, err := e.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The append-only triggers stand in the way of an honest user, not of
	// a superuser who switches them off.
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE eventstore.events SET data = jsonb_set(data::jsonb, '{score}', '10')::json
		WHERE stream_id = 'application-2030-rustavi' AND type = 'certification.score_revised'`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SET session_replication_role = DEFAULT`); err != nil {
		t.Fatal(err)
	}
	conn.Release()
	r = e.do(domain.Auditor, replay, nil).ok(t)
	if r.get("replayDecision.verdict") != "MISMATCH" || r.get("replayDecision.recommendation.score") != 88.0 ||
		r.get("replayDecision.verification.intact") != false || fmt.Sprint(r.get("replayDecision.verification.firstBad")) != fmt.Sprint(pos) {
		t.Fatalf("replay after the edit: %+v; want MISMATCH (recomputed 88) and the log broken at %d", r.Data, pos)
	}
	if problems := r.get("replayDecision.problems").([]any); len(problems) != 2 {
		t.Fatalf("problems %v; want the digest and the recommendation", problems)
	}
}

// TestCertificationRoles sends every certification mutation as every role
// the workflow does not name for it: each must be refused, with nothing
// written.
func TestCertificationRoles(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	// The budgeting roles (officer, ballot-box) take part in no step of
	// certification, nominating included, though their keys act for a
	// municipality.
	all := []domain.Role{domain.Anonymous, domain.Analyst, domain.Applicant, domain.Expert, domain.Consortium, domain.Auditor, domain.Admin,
		domain.Officer, domain.BallotBox}
	applicant := []domain.Role{domain.Applicant}
	consortium := []domain.Role{domain.Consortium}
	expert := []domain.Role{domain.Expert}
	signedIn := []domain.Role{domain.Analyst, domain.Applicant, domain.Expert, domain.Consortium, domain.Auditor, domain.Admin}
	tests := []struct {
		mutation string
		allowed  []domain.Role
	}{
		{`openCertificationCycle(input: {year: 2031, title: {ka: "ა"}, schedule: {callOpens: "2031-02-01", applicationDeadline: "2031-03-01",
			questionnaireDeadline: "2031-03-02", resultsDate: "2031-06-01", ceremonyDate: "2031-06-02"},
			rules: {criteria: [{code: "a", name: {ka: "ა"}, weight: 1, scaleMin: 0, scaleMax: 5}], expertsRequired: 1, passScore: 50}})`, []domain.Role{domain.Admin}},
		{`changeCertificationRules(input: {year: 2031, reason: "r", rules: {criteria: [{code: "a", name: {ka: "ა"}, weight: 1, scaleMin: 0, scaleMax: 5}], expertsRequired: 1, passScore: 50}})`, []domain.Role{domain.Admin}},
		{`nominateMunicipality(input: {year: 2031, municipality: "gori", reason: "r"})`, signedIn},
		{`draftApplication(year: 2031, municipality: "rustavi")`, applicant},
		{`saveApplicationAnswers(applicationId: "2031-rustavi", answers: [{question: "q1", answer: "a"}])`, applicant},
		{`submitApplication(applicationId: "2031-rustavi")`, applicant},
		{`withdrawApplication(applicationId: "2031-rustavi")`, applicant},
		{`confirmApplicationStart(applicationId: "2031-rustavi")`, consortium},
		{`checkApplicationCompleteness(applicationId: "2031-rustavi", complete: true)`, consortium},
		{`requestApplicationInformation(applicationId: "2031-rustavi", question: "q")`, expert},
		{`provideApplicationInformation(applicationId: "2031-rustavi", requestId: "1", answer: "a")`, applicant},
		{`reportMaterialChange(applicationId: "2031-rustavi", description: "d")`, applicant},
		{`assignExpert(applicationId: "2031-rustavi", expert: "key:x#000000000000")`, consortium},
		{`declareConflictOfInterest(applicationId: "2031-rustavi", conflict: false)`, expert},
		{`scoreApplication(applicationId: "2031-rustavi", criterion: "a", score: 1, rationale: "r")`, expert},
		{`decideApplication(input: {applicationId: "2031-rustavi", certified: true})`, consortium},
		{`announceResult(applicationId: "2031-rustavi")`, consortium},
		{`awardCertificate(applicationId: "2031-rustavi")`, consortium},
		{`revokeCertificate(applicationId: "2031-rustavi", reason: "r")`, consortium},
	}
	for _, tt := range tests {
		name := tt.mutation[:strings.Index(tt.mutation, "(")]
		for _, role := range all {
			if slices.Contains(tt.allowed, role) {
				continue
			}
			before := e.head()
			r := e.do(role, "mutation { "+tt.mutation+" { position } }", nil)
			want := "FORBIDDEN"
			if role == domain.Anonymous {
				want = "UNAUTHENTICATED"
			}
			if r.code() != want {
				t.Errorf("%s as %s: %+v; want %s", name, role, r.Errors, want)
			}
			if e.head() != before {
				t.Errorf("%s as %s was refused but wrote events", name, role)
			}
		}
	}
}
