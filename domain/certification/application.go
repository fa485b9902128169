package certification

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/digest"
)

// ApplicationID is the ID of a municipality's application in the cycle of
// year: one per municipality and cycle, which the stream's uniqueness then
// guarantees.
func ApplicationID(year int, municipality string) string {
	return strconv.Itoa(year) + "-" + municipality
}

// ApplicationStream is the stream of the application with ID id.
func ApplicationStream(id string) string { return "application-" + id }

// Status is where an application stands.
type Status string

// The statuses, in the order of the workflow.
const (
	Draft     Status = "draft"
	Submitted Status = "submitted"
	Withdrawn Status = "withdrawn"
	Decided   Status = "decided"
)

// expert is an assigned expert's standing on one application.
type expert struct {
	declared bool
	conflict bool
}

// Application is a municipality's application in one cycle, from draft to
// certificate. Its zero value is an application not drafted yet.
type Application struct {
	id           string
	year         int
	municipality string
	status       Status
	answers      map[string]string
	submittedOn  string
	confirmed    bool
	checked      bool // completeness was checked
	complete     bool
	missing      []string
	requests     map[string]bool // request ID → still open
	experts      map[string]*expert
	scores       Scores
	decision     *DecisionTaken
	announced    bool
	certificate  *CertificateIssued
	awarded      bool
	revoked      bool
}

// ID returns the application's ID, "" when it is not drafted.
func (a *Application) ID() string { return a.id }

// Status returns the application's status.
func (a *Application) Status() Status { return a.status }

// Municipality returns the applicant's municipality code.
func (a *Application) Municipality() string { return a.municipality }

// Year returns the cycle's year.
func (a *Application) Year() int { return a.year }

// Answers returns a copy of the current questionnaire answers.
func (a *Application) Answers() map[string]string { return maps.Clone(a.answers) }

// Scores returns a copy of the current scores, by expert and criterion.
func (a *Application) Scores() Scores {
	out := Scores{}
	for x, s := range a.scores {
		out[x] = maps.Clone(s)
	}
	return out
}

// Decision returns the decision, nil before it.
func (a *Application) Decision() *DecisionTaken { return a.decision }

// Certificate returns the certificate, nil when none was issued.
func (a *Application) Certificate() *CertificateIssued { return a.certificate }

// Revoked reports whether the certificate was revoked.
func (a *Application) Revoked() bool { return a.revoked }

// OpenRequests returns the IDs of the information requests not answered
// yet, sorted.
func (a *Application) OpenRequests() []string {
	var ids []string
	for id, open := range a.requests {
		if open {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// scoringExperts are the assigned experts who declared no conflict.
func (a *Application) scoringExperts() []string {
	var out []string
	for x, st := range a.experts {
		if st.declared && !st.conflict {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// Apply implements domain.Aggregate.
func (a *Application) Apply(e domain.Event) error {
	if _, ok := e.(ApplicationDrafted); !ok && a.id == "" {
		return fmt.Errorf("application: %s before it was drafted", e.EventType())
	}
	switch e := e.(type) {
	case ApplicationDrafted:
		if a.id != "" {
			return fmt.Errorf("application %s: drafted twice", a.id)
		}
		*a = Application{id: e.ID, year: e.Year, municipality: e.Municipality, status: Draft,
			answers: map[string]string{}, requests: map[string]bool{}, experts: map[string]*expert{}, scores: Scores{}}
	case AnswersSaved:
		for q, ans := range e.Answers {
			if ans == "" {
				delete(a.answers, q)
			} else {
				a.answers[q] = ans
			}
		}
	case ApplicationSubmitted:
		a.status, a.submittedOn = Submitted, e.On
	case ApplicationWithdrawn:
		a.status = Withdrawn
	case ProcessStartConfirmed:
		a.confirmed = true
	case CompletenessChecked:
		a.checked, a.complete, a.missing = true, e.Complete, e.Missing
	case InformationRequested:
		a.requests[e.RequestID] = true
	case InformationProvided:
		a.requests[e.RequestID] = false
	case MaterialChangeReported:
		// Recorded for the experts; it changes no state of its own.
	case ExpertAssigned:
		a.experts[e.Expert] = &expert{}
	case ConflictOfInterestDeclared:
		a.experts[e.Expert] = &expert{declared: true, conflict: e.Conflict}
	case ScoreRecorded:
		a.setScore(e.Expert, e.Criterion, e.Score)
	case ScoreRevised:
		a.setScore(e.Expert, e.Criterion, e.Score)
	case DecisionTaken:
		d := e
		a.status, a.decision = Decided, &d
	case ResultAnnounced:
		a.announced = true
	case CertificateIssued:
		c := e
		a.certificate = &c
	case CertificateAwarded:
		a.awarded = true
	case CertificateRevoked:
		a.revoked = true
	default:
		return fmt.Errorf("application %s: unknown event %s", a.id, e.EventType())
	}
	return nil
}

func (a *Application) setScore(x, criterion string, score int) {
	if a.scores[x] == nil {
		a.scores[x] = map[string]int{}
	}
	a.scores[x][criterion] = score
}

// draft decides a new application of municipality in cycle c, on day.
func (a *Application) draft(c *Cycle, day, municipality string) ([]domain.Event, error) {
	if c.year == 0 {
		return nil, domain.Errorf(domain.NotFound, "no cycle is open for that year")
	}
	if a.id != "" {
		return nil, conflict("%s has applied in %d already (application %s)", municipality, c.year, a.id)
	}
	if err := c.inCall(day, "apply"); err != nil {
		return nil, err
	}
	return []domain.Event{ApplicationDrafted{ID: ApplicationID(c.year, municipality), Year: c.year, Municipality: municipality}}, nil
}

// saveAnswers decides a change of questionnaire answers: while the
// application is a draft and the questionnaire deadline has not passed.
func (a *Application) saveAnswers(c *Cycle, day string, answers map[string]string) ([]domain.Event, error) {
	if err := a.exists(); err != nil {
		return nil, err
	}
	if a.status != Draft {
		return nil, conflict("application %s is %s: its answers can no longer change (report a material change instead)", a.id, a.status)
	}
	if day > c.schedule.QuestionnaireDeadline {
		return nil, conflict("the questionnaire deadline was %s", c.schedule.QuestionnaireDeadline)
	}
	changed := map[string]string{}
	for q, ans := range answers {
		if a.answers[q] != ans {
			changed[q] = ans
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	return []domain.Event{AnswersSaved{ID: a.id, Answers: changed}}, nil
}

// submit decides the submission: a draft with answers, by the
// application deadline.
func (a *Application) submit(c *Cycle, day string) ([]domain.Event, error) {
	if err := a.exists(); err != nil {
		return nil, err
	}
	if a.status != Draft {
		return nil, conflict("application %s is %s, not a draft", a.id, a.status)
	}
	if len(a.answers) == 0 {
		return nil, conflict("application %s has no answers to the questionnaire yet", a.id)
	}
	if err := c.inCall(day, "submit an application"); err != nil {
		return nil, err
	}
	return []domain.Event{ApplicationSubmitted{ID: a.id, On: day}}, nil
}

// withdraw decides a withdrawal: any time before the decision.
func (a *Application) withdraw(reason string) ([]domain.Event, error) {
	if err := a.exists(); err != nil {
		return nil, err
	}
	if a.status == Withdrawn || a.status == Decided {
		return nil, conflict("application %s is %s and cannot be withdrawn", a.id, a.status)
	}
	return []domain.Event{ApplicationWithdrawn{ID: a.id, Reason: reason}}, nil
}

// underReview checks that the application is submitted and not decided:
// the evaluation's commands need that.
func (a *Application) underReview(action string) error {
	if err := a.exists(); err != nil {
		return err
	}
	if a.status != Submitted {
		return conflict("cannot %s: application %s is %s", action, a.id, a.status)
	}
	return nil
}

// confirmStart decides the confirmation that evaluation started.
func (a *Application) confirmStart() ([]domain.Event, error) {
	if err := a.underReview("confirm the start"); err != nil {
		return nil, err
	}
	if a.confirmed {
		return nil, nil
	}
	return []domain.Event{ProcessStartConfirmed{ID: a.id}}, nil
}

// checkCompleteness decides the result of the completeness check.
func (a *Application) checkCompleteness(complete bool, missing []string) ([]domain.Event, error) {
	if err := a.underReview("check completeness"); err != nil {
		return nil, err
	}
	if !a.confirmed {
		return nil, conflict("application %s: confirm the start of the process before checking completeness", a.id)
	}
	if complete && len(missing) > 0 {
		return nil, invalid("missing", "a complete application misses nothing")
	}
	if !complete && len(missing) == 0 {
		return nil, invalid("missing", "say what an incomplete application misses")
	}
	return []domain.Event{CompletenessChecked{ID: a.id, Complete: complete, Missing: missing}}, nil
}

// requestInformation decides an expert's request for information.
func (a *Application) requestInformation(by, question string) ([]domain.Event, error) {
	if err := a.underReview("request information"); err != nil {
		return nil, err
	}
	if err := a.scoring(by); err != nil {
		return nil, err
	}
	id := strconv.Itoa(len(a.requests) + 1)
	return []domain.Event{InformationRequested{ID: a.id, RequestID: id, Expert: by, Question: question}}, nil
}

// provideInformation decides the applicant's answer to a request.
func (a *Application) provideInformation(requestID, answer string) ([]domain.Event, error) {
	if err := a.underReview("provide information"); err != nil {
		return nil, err
	}
	open, ok := a.requests[requestID]
	switch {
	case !ok:
		return nil, domain.Errorf(domain.NotFound, "application %s has no information request %q", a.id, requestID)
	case !open:
		return nil, conflict("information request %s of application %s is answered already", requestID, a.id)
	}
	return []domain.Event{InformationProvided{ID: a.id, RequestID: requestID, Answer: answer}}, nil
}

// reportMaterialChange decides the applicant's report of a change.
func (a *Application) reportMaterialChange(description string) ([]domain.Event, error) {
	if err := a.underReview("report a change"); err != nil {
		return nil, err
	}
	return []domain.Event{MaterialChangeReported{ID: a.id, Description: description}}, nil
}

// assignExpert decides an expert's assignment.
func (a *Application) assignExpert(x, name string) ([]domain.Event, error) {
	if err := a.underReview("assign an expert"); err != nil {
		return nil, err
	}
	if _, ok := a.experts[x]; ok {
		return nil, nil
	}
	return []domain.Event{ExpertAssigned{ID: a.id, Expert: x, Name: name}}, nil
}

// declareConflict decides an assigned expert's declaration, made once.
func (a *Application) declareConflict(x string, hasConflict bool, details string) ([]domain.Event, error) {
	if err := a.underReview("declare a conflict of interest"); err != nil {
		return nil, err
	}
	st, ok := a.experts[x]
	switch {
	case !ok:
		return nil, domain.Errorf(domain.Forbidden, "%s is not assigned to application %s", x, a.id)
	case st.declared:
		return nil, conflict("%s has declared already for application %s", x, a.id)
	case hasConflict && details == "":
		return nil, invalid("details", "describe the conflict of interest")
	}
	return []domain.Event{ConflictOfInterestDeclared{ID: a.id, Expert: x, Conflict: hasConflict, Details: details}}, nil
}

// scoring checks that x may score the application: assigned, and
// declared free of conflict.
func (a *Application) scoring(x string) error {
	st, ok := a.experts[x]
	switch {
	case !ok:
		return domain.Errorf(domain.Forbidden, "%s is not assigned to application %s", x, a.id)
	case !st.declared:
		return domain.Errorf(domain.Forbidden, "%s must declare whether they have a conflict of interest with %s first", x, a.municipality)
	case st.conflict:
		return domain.Errorf(domain.Forbidden, "%s declared a conflict of interest with %s and may not evaluate it", x, a.municipality)
	}
	return nil
}

// score decides an expert's score of a criterion under rules: a first
// score, or a revision (which needs a reason).
func (a *Application) score(rules Rules, x, criterion string, value int, rationale, reason string) ([]domain.Event, error) {
	if err := a.underReview("score"); err != nil {
		return nil, err
	}
	if err := a.scoring(x); err != nil {
		return nil, err
	}
	c, ok := rules.criterion(criterion)
	if !ok {
		return nil, invalid("criterion", "%q is not a criterion of the rules in force (version %d)", criterion, rules.Version)
	}
	if value < c.ScaleMin || value > c.ScaleMax {
		return nil, invalid("score", "%d is outside the scale of %s, %d to %d", value, criterion, c.ScaleMin, c.ScaleMax)
	}
	old, scored := a.scores[x][criterion]
	if !scored {
		return []domain.Event{ScoreRecorded{ID: a.id, Expert: x, Criterion: criterion, Score: value, Rationale: rationale, RulesVersion: rules.Version}}, nil
	}
	if reason == "" {
		return nil, invalid("reason", "%s has scored %s already (%d): a revision needs a reason", x, criterion, old)
	}
	return []domain.Event{ScoreRevised{ID: a.id, Expert: x, Criterion: criterion, Score: value, Rationale: rationale, Reason: reason, RulesVersion: rules.Version}}, nil
}

// Decide is the consortium's decision as a command gives it.
type Decide struct {
	Certified       bool
	Justification   string
	Recommendations []domain.LocalizedText
	Progress        domain.LocalizedText
}

// decide decides the consortium's decision under rules: only on a
// complete application with every required score and no open request. A
// decision against the computed recommendation needs a justification.
func (a *Application) decide(rules Rules, d Decide) ([]domain.Event, error) {
	if err := a.underReview("decide"); err != nil {
		return nil, err
	}
	switch {
	case !a.checked:
		return nil, conflict("application %s: its completeness has not been checked", a.id)
	case !a.complete:
		return nil, conflict("application %s is incomplete (%s)", a.id, strings.Join(a.missing, "; "))
	case len(a.OpenRequests()) > 0:
		return nil, conflict("application %s has open information requests (%s)", a.id, strings.Join(a.OpenRequests(), ", "))
	}
	done, missing := rules.complete(a.scores, a.scoringExperts())
	if len(done) < rules.ExpertsRequired {
		why := fmt.Sprintf("%d of the %d experts required have scored every criterion", len(done), rules.ExpertsRequired)
		if len(missing) > 0 {
			why += " (" + strings.Join(missing, "; ") + ")"
		}
		return nil, conflict("application %s cannot be decided yet: %s", a.id, why)
	}
	rec := rules.Recommend(a.scores, done)
	if d.Certified != rec.Certify && d.Justification == "" {
		return nil, invalid("justification", "the decision goes against the recommendation (%s): a justification is required", recommendationText(rec))
	}
	digest, err := InputsDigest(rules, a.scores, done)
	if err != nil {
		return nil, domain.Wrap(err, "decide")
	}
	return []domain.Event{DecisionTaken{
		ID: a.id, Certified: d.Certified, RulesVersion: rules.Version, Recommendation: rec,
		Justification: d.Justification, Recommendations: d.Recommendations, Progress: d.Progress, InputsDigest: digest,
	}}, nil
}

// announce decides the announcement of the result, on or after the
// results date, and the certificate a certified municipality gets with it.
func (a *Application) announce(c *Cycle, day string) ([]domain.Event, error) {
	if err := a.exists(); err != nil {
		return nil, err
	}
	switch {
	case a.status != Decided:
		return nil, conflict("application %s has no decision to announce", a.id)
	case a.announced:
		return nil, nil
	case day < c.schedule.ResultsDate:
		return nil, conflict("results of %d are announced from %s", c.year, c.schedule.ResultsDate)
	}
	events := []domain.Event{ResultAnnounced{ID: a.id, On: day}}
	if a.decision.Certified {
		rules, ok := c.RulesVersion(a.decision.RulesVersion)
		if !ok {
			return nil, domain.Wrap(fmt.Errorf("rules version %d of %d missing", a.decision.RulesVersion, c.year), "announce")
		}
		events = append(events, CertificateIssued{
			ID: a.id, Number: CertificateNumber(a.year, a.municipality),
			ValidFrom: day, ValidUntil: addMonths(day, rules.ValidityMonths),
		})
	}
	return events, nil
}

// award decides the handing over of the certificate, from the ceremony
// day on.
func (a *Application) award(c *Cycle, day string) ([]domain.Event, error) {
	if err := a.exists(); err != nil {
		return nil, err
	}
	switch {
	case a.certificate == nil:
		return nil, conflict("application %s has no certificate to award", a.id)
	case a.revoked:
		return nil, conflict("the certificate of application %s was revoked", a.id)
	case a.awarded:
		return nil, nil
	case day < c.schedule.CeremonyDate:
		return nil, conflict("certificates of %d are awarded at the ceremony on %s", c.year, c.schedule.CeremonyDate)
	}
	return []domain.Event{CertificateAwarded{ID: a.id, On: day}}, nil
}

// revoke decides the revocation of a certificate still valid on day.
func (a *Application) revoke(day, reason string) ([]domain.Event, error) {
	if err := a.exists(); err != nil {
		return nil, err
	}
	switch {
	case a.certificate == nil:
		return nil, conflict("application %s has no certificate to revoke", a.id)
	case a.revoked:
		return nil, conflict("the certificate of application %s is revoked already", a.id)
	case day > a.certificate.ValidUntil:
		return nil, conflict("the certificate of application %s expired on %s", a.id, a.certificate.ValidUntil)
	}
	return []domain.Event{CertificateRevoked{ID: a.id, On: day, Reason: reason}}, nil
}

func (a *Application) exists() error {
	if a.id == "" {
		return domain.Errorf(domain.NotFound, "no such application")
	}
	return nil
}

// CertificateNumber is the number of the certificate of municipality in
// the cycle of year: unique, since a municipality applies once a cycle.
func CertificateNumber(year int, municipality string) string {
	return fmt.Sprintf("CB-%d-%s", year, strings.ToUpper(municipality))
}

// InputsDigest is the fingerprint of what a decision is computed from:
// the rules and the scores of the experts who counted, under the current
// digest version (see package digest and inputsV2). An auditor
// recomputes it from the events to show the decision saw what they see.
func InputsDigest(rules Rules, scores Scores, experts []string) (string, error) {
	return digest.Sum(InputsDigestVersion, inputsV2(rules, scores, experts))
}

// InputsDigestVersion is the version decisions record their inputs
// digest under now.
const InputsDigestVersion = "v2"

// RecomputeInputsDigest recomputes a recorded inputs digest from the
// events' rules and scores, under the version it was recorded with: a
// decision keeps verifying however the code's structs change after it.
func RecomputeInputsDigest(recorded string, rules Rules, scores Scores, experts []string) (string, error) {
	version, ok := digest.Version(recorded)
	switch {
	case !ok:
		return "", fmt.Errorf("the recorded inputs digest %q is no digest", recorded)
	case version == digest.Legacy:
		return inputsV1(rules, scores, experts)
	case version == "v2":
		return digest.Sum(version, inputsV2(rules, scores, experts))
	}
	return "", fmt.Errorf("the recorded inputs digest is of version %s, which this ledger does not know", version)
}

// counted is the scores of the experts who counted.
func counted(scores Scores, experts []string) Scores {
	out := Scores{}
	for _, x := range experts {
		out[x] = scores[x]
	}
	return out
}

// inputsV2 is the document of digest version v2, frozen: the rules as the
// computation uses them (each criterion's code, weight and scale; the
// experts required, pass score, criterion minimum, validity), the
// experts who counted, and their scores. Names and guidance are left
// out: they change no decision. Change it only as a new version.
func inputsV2(rules Rules, scores Scores, experts []string) map[string]any {
	criteria := make([]any, len(rules.Criteria))
	for i, c := range rules.Criteria {
		criteria[i] = map[string]any{"code": c.Code, "weight": c.Weight, "scale_min": c.ScaleMin, "scale_max": c.ScaleMax}
	}
	return map[string]any{
		"rules": map[string]any{"version": rules.Version, "criteria": criteria, "experts_required": rules.ExpertsRequired,
			"pass_score": rules.PassScore, "criterion_minimum": rules.CriterionMinimum, "validity_months": rules.ValidityMonths},
		"experts": slices.Sorted(slices.Values(experts)),
		"scores":  counted(scores, experts),
	}
}

// inputsV1 is the digest decisions recorded before versions were (bare
// hex): SHA-256 of encoding/json's output for this layout, frozen here
// field for field as the structs marshalled then.
func inputsV1(rules Rules, scores Scores, experts []string) (string, error) {
	type textV1 struct {
		Ka string `json:"ka"`
		En string `json:"en,omitempty"`
	}
	type criterionV1 struct {
		Code     string `json:"code"`
		Name     textV1 `json:"name"`
		Guidance textV1 `json:"guidance"`
		Weight   int    `json:"weight"`
		ScaleMin int    `json:"scale_min"`
		ScaleMax int    `json:"scale_max"`
	}
	type rulesV1 struct {
		Version          int           `json:"version"`
		Criteria         []criterionV1 `json:"criteria"`
		ExpertsRequired  int           `json:"experts_required"`
		PassScore        float64       `json:"pass_score"`
		CriterionMinimum float64       `json:"criterion_minimum"`
		ValidityMonths   int           `json:"validity_months"`
	}
	r := rulesV1{Version: rules.Version, ExpertsRequired: rules.ExpertsRequired, PassScore: rules.PassScore,
		CriterionMinimum: rules.CriterionMinimum, ValidityMonths: rules.ValidityMonths}
	for _, c := range rules.Criteria {
		r.Criteria = append(r.Criteria, criterionV1{Code: c.Code, Name: textV1(c.Name), Guidance: textV1(c.Guidance),
			Weight: c.Weight, ScaleMin: c.ScaleMin, ScaleMax: c.ScaleMax})
	}
	b, err := json.Marshal(struct {
		Rules   rulesV1                   `json:"rules"`
		Experts []string                  `json:"experts"`
		Scores  map[string]map[string]int `json:"scores"`
	}{r, slices.Sorted(slices.Values(experts)), counted(scores, experts)})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func recommendationText(r Recommendation) string {
	if r.Certify {
		return fmt.Sprintf("certify, weighted score %.2f", r.Score)
	}
	return fmt.Sprintf("do not certify: %s", strings.Join(r.Reasons, "; "))
}

// CertificateStatus is where a certificate stands on a given day. It is
// computed when read, against the day the reader asks about, so that a
// certificate expires without anything having to happen.
type CertificateStatus string

// The certificate statuses. A revoked certificate stays revoked after its
// validity would have ended: the revocation is the fact that matters.
const (
	ValidCertificate   CertificateStatus = "valid"
	ExpiredCertificate CertificateStatus = "expired"
	RevokedCertificate CertificateStatus = "revoked"
)

// CertificateStatusOn is where a certificate valid until validUntil and
// revoked on revokedOn ("" if never) stands on the day today, all days
// YYYY-MM-DD: revoked from the day of its revocation, expired after its
// last valid day, valid otherwise. The read model's SQL computes the same
// (projections.certStatus, tested against this).
func CertificateStatusOn(today, validUntil, revokedOn string) CertificateStatus {
	switch {
	case revokedOn != "" && today >= revokedOn:
		return RevokedCertificate
	case today > validUntil:
		return ExpiredCertificate
	}
	return ValidCertificate
}
