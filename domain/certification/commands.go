package certification

import "github.com/civicledger/civicledger/domain"

// OpenCycle is the command that sets up a year's cycle.
type OpenCycle struct {
	Year     int
	Title    domain.LocalizedText
	Schedule Schedule
	Rules    Rules
}

// ChangeRules is the command that makes a new version of a cycle's rules.
type ChangeRules struct {
	Year   int
	Rules  Rules
	Reason string
}

// Nominate is the command that proposes a municipality for a cycle.
type Nominate struct {
	Year         int
	Municipality string
	Reason       string
}

// DraftApplication is the command that starts a municipality's application.
type DraftApplication struct {
	Year         int
	Municipality string
}

// SaveAnswers is the command that saves questionnaire answers, by
// question code; an empty answer clears one.
type SaveAnswers struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	Answers         map[string]string
}

// Submit is the command that submits an application.
type Submit struct {
	ApplicationID string
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
}

// Withdraw is the command that withdraws an application.
type Withdraw struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	Reason          string
}

// ConfirmStart is the command that confirms an evaluation started.
type ConfirmStart struct {
	ApplicationID string
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
}

// CheckCompleteness is the command that records a completeness check.
type CheckCompleteness struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	Complete        bool
	Missing         []string
}

// RequestInformation is the command by which an expert asks the applicant
// for more.
type RequestInformation struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	Question        string
}

// ProvideInformation is the command that answers a request for
// information.
type ProvideInformation struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	RequestID       string
	Answer          string
}

// ReportMaterialChange is the command by which an applicant reports a
// change to what its application says.
type ReportMaterialChange struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	Description     string
}

// AssignExpert is the command that assigns an expert to an application.
type AssignExpert struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	// Expert is the expert's actor ID, as their API key names them
	// ("key:<name>").
	Expert string
	// Name is the expert's name (optional, at most 200 characters):
	// personal data, sealed in the log and erasable.
	Name string
}

// DeclareConflict is the command by which an assigned expert declares
// whether they have a conflict of interest with the municipality.
type DeclareConflict struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	Conflict        bool
	Details         string
}

// Score is the command by which an expert scores, or revises the score
// of, a criterion.
type Score struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	Criterion       string
	Score           int
	Rationale       string
	// Reason is required to revise a score recorded before.
	Reason string
}

// DecideApplication is the command that records the consortium's decision.
type DecideApplication struct {
	ApplicationID string
	// ExpectedVersion, when above 0, is the application's version the
	// consortium decided on: a Conflict if a score or anything else
	// changed since.
	ExpectedVersion int64
	Decide
}

// ApplicationCommand names an application, for the commands that need
// nothing else: announcing a result, awarding a certificate.
type ApplicationCommand struct {
	ApplicationID string
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
}

// Revoke is the command that revokes a certificate.
type Revoke struct {
	// ExpectedVersion, when above 0, is the application's version the
	// caller decided on: a Conflict if it moved on.
	ExpectedVersion int64
	ApplicationID   string
	Reason          string
}
