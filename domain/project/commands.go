package project

import "github.com/civicledger/civicledger/domain"

// Register asks to record a project. Service.RegisterProject handles it.
type Register struct {
	// ID is the project's code (heks-eper-2022), chosen by the caller so
	// that a retry is a Conflict, not a second project.
	ID    string
	Title domain.LocalizedText
	// Implementers (one at least) and Partners are organisations of the
	// registry.
	Implementers []string
	Partners     []string
	// Lead is the name of the person leading the project: personal data,
	// sealed in the log (LeadSubject) and erasable.
	Lead string
	// Start and End bound every target and actual of the project,
	// YYYY-MM-DD.
	Start string
	End   string
	// Regions and Municipalities are codes of the registry.
	Regions        []string
	Municipalities []string
	Objectives     []domain.LocalizedText
	// Total is the whole budget, or nil when the sources do not disclose
	// it; with one, contributions are held to it.
	Total *Money
}

// RecordContribution asks to record a donor's contribution to a
// project's budget. Service.RecordContribution handles it.
type RecordContribution struct {
	Project string
	// Donor is an organisation of the registry.
	Donor string
	// Amount is in the budget's currency when the budget is disclosed.
	Amount Money
}

// DefineIndicator asks to add an indicator to one of a project's results.
// Service.DefineIndicator handles it.
type DefineIndicator struct {
	Project string
	// ID is the indicator's code within the project (lg-trained); it is
	// defined once, since targets and actuals name it.
	ID         string
	ResultType ResultType
	Result     domain.LocalizedText
	Title      domain.LocalizedText
	Unit       Unit
	// HigherIsBetter says which way is progress.
	HigherIsBetter bool
	// BaselineYear is 0 when unknown.
	BaselineYear int
	Baseline     float64
}

// SetTarget asks to set an indicator's target for a period within the
// project's; a later one for the same period replaces it.
// Service.SetTarget handles it.
type SetTarget struct {
	Project   string
	Indicator string
	Start     string
	End       string
	Value     float64
}

// RecordActual asks to record what an indicator reached over a period.
// Service.RecordActual handles it.
type RecordActual struct {
	Project string
	// ID is the actual's code within the project (lg-trained-2023): a
	// correction names it.
	ID        string
	Indicator string
	// Start and End lie within the project's period, End not in the
	// future: an actual reports what happened.
	Start string
	End   string
	Value float64
	// Disaggregation splits Value by dimension; in each dimension given,
	// the categories add up to Value.
	Disaggregation []Share
	// Source is required: a figure a donor sees must be traceable.
	Source string
}

// CorrectActual asks to replace an actual's figures, which stay in the log
// beside the correction. Service.CorrectActual handles it.
type CorrectActual struct {
	Project        string
	ID             string
	Value          float64
	Disaggregation []Share
	// Reason is required: whoever compares a report with an earlier one
	// must learn why the figure changed.
	Reason string
}
