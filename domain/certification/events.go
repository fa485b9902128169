package certification

import "github.com/civicledger/civicledger/domain"

// RegisterEvents adds the certification events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[CycleOpened](types)
	domain.Register[CycleRulesChanged](types)
	domain.Register[MunicipalityNominated](types)
	domain.Register[ApplicationDrafted](types)
	domain.Register[AnswersSaved](types)
	domain.Register[ApplicationSubmitted](types)
	domain.Register[ApplicationWithdrawn](types)
	domain.Register[ProcessStartConfirmed](types)
	domain.Register[CompletenessChecked](types)
	domain.Register[InformationRequested](types)
	domain.Register[InformationProvided](types)
	domain.Register[MaterialChangeReported](types)
	domain.Register[ExpertAssigned](types)
	domain.Register[ConflictOfInterestDeclared](types)
	domain.Register[ScoreRecorded](types)
	domain.Register[ScoreRevised](types)
	domain.Register[DecisionTaken](types)
	domain.Register[ResultAnnounced](types)
	domain.Register[CertificateIssued](types)
	domain.Register[CertificateAwarded](types)
	domain.Register[CertificateRevoked](types)
	declareEvents(types)
}

// Schedule is a cycle's calendar. Dates are calendar days (YYYY-MM-DD) in
// Tbilisi; a deadline includes its day.
type Schedule struct {
	CallOpens             string `json:"call_opens"`
	ApplicationDeadline   string `json:"application_deadline"`
	QuestionnaireDeadline string `json:"questionnaire_deadline"`
	ResultsDate           string `json:"results_date"`
	CeremonyDate          string `json:"ceremony_date"`
}

// CycleOpened: the yearly certification cycle was set up, with its
// calendar and its first rules.
type CycleOpened struct {
	Year     int                  `json:"year"`
	Title    domain.LocalizedText `json:"title"`
	Schedule Schedule             `json:"schedule"`
	Rules    Rules                `json:"rules"`
}

// EventType implements domain.Event.
func (CycleOpened) EventType() string { return "certification.cycle_opened" }

// CycleRulesChanged: the cycle's rules changed; decisions already taken
// keep the version they recorded.
type CycleRulesChanged struct {
	Year   int    `json:"year"`
	Rules  Rules  `json:"rules"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (CycleRulesChanged) EventType() string { return "certification.cycle_rules_changed" }

// MunicipalityNominated: someone proposed a municipality for the cycle.
// The municipality is invited; it must still apply itself.
type MunicipalityNominated struct {
	Year         int    `json:"year"`
	Municipality string `json:"municipality"`
	Reason       string `json:"reason"`
	// By is the actor who nominated.
	By string `json:"by"`
}

// EventType implements domain.Event.
func (MunicipalityNominated) EventType() string { return "certification.municipality_nominated" }

// ApplicationDrafted: a municipality started its application for a cycle.
type ApplicationDrafted struct {
	ID           string `json:"id"`
	Year         int    `json:"year"`
	Municipality string `json:"municipality"`
}

// EventType implements domain.Event.
func (ApplicationDrafted) EventType() string { return "certification.application_drafted" }

// AnswersSaved: answers to the C1 questionnaire were saved. Answers holds
// only the questions saved this time; an empty answer clears one.
type AnswersSaved struct {
	ID      string            `json:"id"`
	Answers map[string]string `json:"answers"`
}

// EventType implements domain.Event.
func (AnswersSaved) EventType() string { return "certification.answers_saved" }

// ApplicationSubmitted: the municipality submitted its application.
type ApplicationSubmitted struct {
	ID string `json:"id"`
	// On is the day of submission, in Tbilisi.
	On string `json:"on"`
}

// EventType implements domain.Event.
func (ApplicationSubmitted) EventType() string { return "certification.application_submitted" }

// ApplicationWithdrawn: the municipality withdrew its application.
type ApplicationWithdrawn struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (ApplicationWithdrawn) EventType() string { return "certification.application_withdrawn" }

// ProcessStartConfirmed: the programme confirmed to the applicant that its
// evaluation has started.
type ProcessStartConfirmed struct {
	ID string `json:"id"`
}

// EventType implements domain.Event.
func (ProcessStartConfirmed) EventType() string { return "certification.process_start_confirmed" }

// CompletenessChecked: the application was checked for completeness.
type CompletenessChecked struct {
	ID       string `json:"id"`
	Complete bool   `json:"complete"`
	// Missing says what is missing when it is not complete.
	Missing []string `json:"missing,omitempty"`
}

// EventType implements domain.Event.
func (CompletenessChecked) EventType() string { return "certification.completeness_checked" }

// InformationRequested: an expert asked the applicant for more
// information; the request stays open until it is provided.
type InformationRequested struct {
	ID        string `json:"id"`
	RequestID string `json:"request_id"`
	Expert    string `json:"expert"`
	Question  string `json:"question"`
}

// EventType implements domain.Event.
func (InformationRequested) EventType() string { return "certification.information_requested" }

// InformationProvided: the applicant answered a request for information.
type InformationProvided struct {
	ID        string `json:"id"`
	RequestID string `json:"request_id"`
	Answer    string `json:"answer"`
}

// EventType implements domain.Event.
func (InformationProvided) EventType() string { return "certification.information_provided" }

// MaterialChangeReported: the applicant reported a change to what its
// application says, as it must.
type MaterialChangeReported struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

// EventType implements domain.Event.
func (MaterialChangeReported) EventType() string { return "certification.material_change_reported" }

// ExpertAssigned: the consortium assigned an expert to the application.
// The expert may score only after declaring no conflict of interest.
type ExpertAssigned struct {
	ID     string `json:"id"`
	Expert string `json:"expert"`
	// Name is the expert's name, when the consortium recorded it: the
	// expert is known to the log by their key's actor ID, and their name is
	// personal data (sealed in the log under ExpertSubject, erasable).
	Name string `json:"name,omitempty"`
}

// EventType implements domain.Event.
func (ExpertAssigned) EventType() string { return "certification.expert_assigned" }

// ConflictOfInterestDeclared: an assigned expert declared whether they have
// a conflict of interest with the municipality. One with a conflict may
// not score it.
type ConflictOfInterestDeclared struct {
	ID       string `json:"id"`
	Expert   string `json:"expert"`
	Conflict bool   `json:"conflict"`
	// Details describe the conflict, when there is one.
	Details string `json:"details,omitempty"`
}

// EventType implements domain.Event.
func (ConflictOfInterestDeclared) EventType() string {
	return "certification.conflict_of_interest_declared"
}

// ScoreRecorded: an expert scored a criterion, with the rationale.
type ScoreRecorded struct {
	ID        string `json:"id"`
	Expert    string `json:"expert"`
	Criterion string `json:"criterion"`
	Score     int    `json:"score"`
	Rationale string `json:"rationale"`
	// RulesVersion is the rules version whose scale the score is on.
	RulesVersion int `json:"rules_version"`
}

// EventType implements domain.Event.
func (ScoreRecorded) EventType() string { return "certification.score_recorded" }

// ScoreRevised: an expert changed a score before the decision, saying why.
type ScoreRevised struct {
	ID           string `json:"id"`
	Expert       string `json:"expert"`
	Criterion    string `json:"criterion"`
	Score        int    `json:"score"`
	Rationale    string `json:"rationale"`
	Reason       string `json:"reason"`
	RulesVersion int    `json:"rules_version"`
}

// EventType implements domain.Event.
func (ScoreRevised) EventType() string { return "certification.score_revised" }

// DecisionTaken: the consortium decided. It records what it decided on:
// the rules version, the recommendation those rules computed from the
// scores, and a digest of those inputs, so an auditor can replay it.
type DecisionTaken struct {
	ID             string         `json:"id"`
	Certified      bool           `json:"certified"`
	RulesVersion   int            `json:"rules_version"`
	Recommendation Recommendation `json:"recommendation"`
	// Justification explains a decision against the recommendation.
	Justification string `json:"justification,omitempty"`
	// Recommendations are the consortium's advice to the municipality.
	Recommendations []domain.LocalizedText `json:"recommendations"`
	// Progress assesses the municipality's progress against its previous
	// certificate's recommendations, if it had one.
	Progress domain.LocalizedText `json:"progress"`
	// InputsDigest is the SHA-256 of the inputs the decision saw (see
	// InputsDigest).
	InputsDigest string `json:"inputs_digest"`
}

// EventType implements domain.Event.
func (DecisionTaken) EventType() string { return "certification.decision_taken" }

// ResultAnnounced: the result was announced to the applicant (on or after
// the cycle's results date); the notification goes out from here.
type ResultAnnounced struct {
	ID string `json:"id"`
	On string `json:"on"`
}

// EventType implements domain.Event.
func (ResultAnnounced) EventType() string { return "certification.result_announced" }

// CertificateIssued: a certified municipality got its certificate when
// its result was announced.
type CertificateIssued struct {
	ID         string `json:"id"`
	Number     string `json:"number"`
	ValidFrom  string `json:"valid_from"`
	ValidUntil string `json:"valid_until"`
}

// EventType implements domain.Event.
func (CertificateIssued) EventType() string { return "certification.certificate_issued" }

// CertificateAwarded: the certificate was handed over at the ceremony.
type CertificateAwarded struct {
	ID string `json:"id"`
	On string `json:"on"`
}

// EventType implements domain.Event.
func (CertificateAwarded) EventType() string { return "certification.certificate_awarded" }

// CertificateRevoked: the certificate was withdrawn before it expired.
type CertificateRevoked struct {
	ID     string `json:"id"`
	On     string `json:"on"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (CertificateRevoked) EventType() string { return "certification.certificate_revoked" }
