package project

import "github.com/civicledger/civicledger/domain"

// RegisterEvents adds the project events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[Registered](types)
	domain.Register[ContributionRecorded](types)
	domain.Register[IndicatorDefined](types)
	domain.Register[TargetSet](types)
	domain.Register[ActualRecorded](types)
	domain.Register[ActualCorrected](types)
	declareEvents(types)
}

// Registered: a project was recorded, with its total budget.
type Registered struct {
	ID             string                 `json:"id"`
	Title          domain.LocalizedText   `json:"title"`
	Implementers   []string               `json:"implementers"`
	Partners       []string               `json:"partners,omitempty"`
	Lead           string                 `json:"lead,omitempty"`
	Start          string                 `json:"start"`
	End            string                 `json:"end"`
	Regions        []string               `json:"regions,omitempty"`
	Municipalities []string               `json:"municipalities,omitempty"`
	Objectives     []domain.LocalizedText `json:"objectives,omitempty"`
	// Total is the whole budget; nil when the sources do not disclose it.
	Total *Money `json:"total,omitempty"`
}

// EventType implements domain.Event.
func (Registered) EventType() string { return "project.registered" }

// ContributionRecorded: a donor's contribution to the budget.
type ContributionRecorded struct {
	Project string `json:"project"`
	Donor   string `json:"donor"`
	Amount  Money  `json:"amount"`
}

// EventType implements domain.Event.
func (ContributionRecorded) EventType() string { return "project.contribution_recorded" }

// IndicatorDefined: an indicator of one of the project's results.
type IndicatorDefined struct {
	Project    string               `json:"project"`
	ID         string               `json:"id"`
	ResultType ResultType           `json:"result_type"`
	Result     domain.LocalizedText `json:"result"`
	Title      domain.LocalizedText `json:"title"`
	Unit       Unit                 `json:"unit"`
	// HigherIsBetter says which way is progress.
	HigherIsBetter bool    `json:"higher_is_better"`
	BaselineYear   int     `json:"baseline_year"`
	Baseline       float64 `json:"baseline"`
}

// EventType implements domain.Event.
func (IndicatorDefined) EventType() string { return "project.indicator_defined" }

// TargetSet: an indicator's target for a period; a later one for the same
// period replaces it.
type TargetSet struct {
	Project   string  `json:"project"`
	Indicator string  `json:"indicator"`
	Start     string  `json:"start"`
	End       string  `json:"end"`
	Value     float64 `json:"value"`
}

// EventType implements domain.Event.
func (TargetSet) EventType() string { return "project.target_set" }

// Share is one category of a disaggregation: of the actual's value, this
// much was, say, women.
type Share struct {
	Dimension string  `json:"dimension"`
	Category  string  `json:"category"`
	Value     float64 `json:"value"`
}

// ActualRecorded: what an indicator reached over a period, where from.
type ActualRecorded struct {
	Project        string  `json:"project"`
	ID             string  `json:"id"`
	Indicator      string  `json:"indicator"`
	Start          string  `json:"start"`
	End            string  `json:"end"`
	Value          float64 `json:"value"`
	Disaggregation []Share `json:"disaggregation,omitempty"`
	Source         string  `json:"source"`
}

// EventType implements domain.Event.
func (ActualRecorded) EventType() string { return "project.actual_recorded" }

// ActualCorrected: an actual's figures were corrected, with the reason.
type ActualCorrected struct {
	Project        string  `json:"project"`
	ID             string  `json:"id"`
	Value          float64 `json:"value"`
	Disaggregation []Share `json:"disaggregation,omitempty"`
	Reason         string  `json:"reason"`
}

// EventType implements domain.Event.
func (ActualCorrected) EventType() string { return "project.actual_corrected" }
