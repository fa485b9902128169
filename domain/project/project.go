// Package project records donor-funded projects: who carries them out and
// pays for them, over which period and places, and how they advance against
// numeric targets, after the IATI results model (results of a type, their
// indicators with a unit, a direction, a baseline, targets per period, and
// actuals over time with their disaggregation and source). An actual is
// corrected by an event, never overwritten, so every figure a donor saw can
// be traced.
package project

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/civicledger/civicledger/domain"
)

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

// Stream is the stream of the project with ID id.
func Stream(id string) string { return "project-" + id }

// DateLayout is the form of every date in project events.
const DateLayout = domain.DateLayout

// ResultType is the level of a result in the IATI results model.
type ResultType string

// The result types.
const (
	Output  ResultType = "output"
	Outcome ResultType = "outcome"
	Impact  ResultType = "impact"
)

// Unit is what an indicator counts.
type Unit string

// The units.
const (
	Count       Unit = "count"
	Percent     Unit = "percent"
	Currency    Unit = "currency"
	Qualitative Unit = "qualitative"
)

// Dimensions are what an actual may be disaggregated by.
var Dimensions = []string{"sex", "age_band", "ethnicity", "sector", "municipality"}

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

// actual is an actual as corrected so far.
type actual struct {
	indicator  string
	start, end string
	value      float64
	shares     []Share
}

// Project is a project with its budget, indicators, targets and actuals.
// Its zero value is a project not registered yet.
type Project struct {
	id            string
	start, end    string
	total         *Money
	contributions int64
	indicators    map[string]IndicatorDefined
	targets       map[string][]TargetSet // by indicator, latest per period
	actuals       map[string]*actual
	order         []string // actual IDs in the order recorded
}

// ID returns the project's ID, "" before it is registered.
func (p *Project) ID() string { return p.id }

// Indicator returns the indicator id, and whether the project has it.
func (p *Project) Indicator(id string) (IndicatorDefined, bool) {
	ind, ok := p.indicators[id]
	return ind, ok
}

// Apply implements domain.Aggregate.
func (p *Project) Apply(e domain.Event) error {
	if _, ok := e.(Registered); !ok && p.id == "" {
		return fmt.Errorf("project: %s before it was registered", e.EventType())
	}
	switch e := e.(type) {
	case Registered:
		if p.id != "" {
			return fmt.Errorf("project %s: registered twice", p.id)
		}
		*p = Project{id: e.ID, start: e.Start, end: e.End, total: e.Total,
			indicators: map[string]IndicatorDefined{}, targets: map[string][]TargetSet{}, actuals: map[string]*actual{}}
	case ContributionRecorded:
		p.contributions += e.Amount.Minor
	case IndicatorDefined:
		p.indicators[e.ID] = e
	case TargetSet:
		ts := p.targets[e.Indicator]
		ts = slices.DeleteFunc(ts, func(t TargetSet) bool { return t.Start == e.Start && t.End == e.End })
		p.targets[e.Indicator] = append(ts, e)
	case ActualRecorded:
		p.actuals[e.ID] = &actual{indicator: e.Indicator, start: e.Start, end: e.End, value: e.Value, shares: e.Disaggregation}
		p.order = append(p.order, e.ID)
	case ActualCorrected:
		if a := p.actuals[e.ID]; a != nil {
			a.value, a.shares = e.Value, e.Disaggregation
		}
	default:
		return fmt.Errorf("project %s: unknown event %s", p.id, e.EventType())
	}
	return nil
}

// Status says whether an indicator keeps pace with its target.
type Status string

// The statuses.
const (
	// OnTrack: the share of the target achieved is at least the share of
	// the target's period elapsed.
	OnTrack Status = "on_track"
	// AtRisk: behind that pace.
	AtRisk Status = "at_risk"
	// Missed: the target's period is over and the target was not reached.
	Missed Status = "missed"
	// Achieved: the target is reached.
	Achieved Status = "achieved"
	// NoTarget: no target covers the day.
	NoTarget Status = "no_target"
	// NotMeasured: a qualitative indicator, whose pace a number cannot
	// tell.
	NotMeasured Status = "not_measured"
)

// Progress is an indicator's standing on a day against the target whose
// period covers it (or the last one, once they are all past).
type Progress struct {
	Indicator string
	Target    *TargetSet
	// Actual sums the corrected actuals whose periods lie within the
	// target's.
	Actual float64
	// Percent of the way from the baseline to the target, 0 when there is
	// no target.
	Percent float64
	// Elapsed is the share, in percent, of the target's period gone by.
	Elapsed float64
	Status  Status
}

// Progress computes an indicator's progress on day (YYYY-MM-DD).
func (p *Project) Progress(indicator, day string) (Progress, error) {
	ind, ok := p.indicators[indicator]
	if !ok {
		return Progress{}, domain.Errorf(domain.NotFound, "project %s has no indicator %q", p.id, indicator)
	}
	var measures []Measure
	for _, id := range p.order {
		if a := p.actuals[id]; a.indicator == indicator {
			measures = append(measures, Measure{Start: a.start, End: a.end, Value: a.value})
		}
	}
	return ComputeProgress(ind, p.targets[indicator], measures, day), nil
}

// Measure is an actual as progress counts it: its period and its value as
// corrected.
type Measure struct {
	Start, End string
	Value      float64
}

// ComputeProgress is an indicator's progress on day, given its targets
// and its actuals in the order recorded. The target is the one whose
// period covers the day, or once all are past, the last to end. Counts and
// amounts add up over the actuals within the target's period reported by
// the day; a percentage or a qualitative measure is its latest actual. It
// is a pure function, so the aggregate and the read model give the same
// answer.
func ComputeProgress(ind IndicatorDefined, targets []TargetSet, actuals []Measure, day string) Progress {
	out := Progress{Indicator: ind.ID, Status: NoTarget}
	var target *TargetSet
	for i := range targets {
		if targets[i].Start <= day && day <= targets[i].End {
			target = &targets[i]
			break
		}
	}
	if target == nil { // past every target: the one that ended last
		for i := range targets {
			if targets[i].End < day && (target == nil || targets[i].End > target.End) {
				target = &targets[i]
			}
		}
	}
	if target == nil {
		return out
	}
	out.Target = target
	cumulative := ind.Unit == Count || ind.Unit == Currency
	var latest string
	for _, a := range actuals {
		if a.Start < target.Start || a.End > target.End || a.End > day {
			continue
		}
		if cumulative {
			out.Actual += a.Value
		} else if a.End >= latest {
			out.Actual, latest = a.Value, a.End
		}
	}
	out.Elapsed = elapsed(target.Start, target.End, day)
	if ind.Unit == Qualitative {
		out.Status = NotMeasured
		return out
	}
	span, moved := target.Value-ind.Baseline, out.Actual-ind.Baseline
	if !ind.HigherIsBetter {
		span, moved = ind.Baseline-target.Value, ind.Baseline-out.Actual
	}
	if cumulative && ind.HigherIsBetter {
		// What is counted adds up from zero; the baseline says where the
		// place stood, not where counting starts.
		span, moved = target.Value, out.Actual
	}
	if span > 0 {
		out.Percent = math.Round(10000*moved/span) / 100
	}
	switch {
	case out.Percent >= 100:
		out.Status = Achieved
	case day > target.End:
		out.Status = Missed
	case out.Percent >= out.Elapsed:
		out.Status = OnTrack
	default:
		out.Status = AtRisk
	}
	return out
}

// elapsed is the share, in percent rounded to two decimals, of the days
// from start to end (both included) gone by on day.
func elapsed(start, end, day string) float64 {
	s, err1 := time.Parse(DateLayout, start)
	e, err2 := time.Parse(DateLayout, end)
	d, err3 := time.Parse(DateLayout, day)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0
	}
	total := e.Sub(s).Hours()/24 + 1
	gone := d.Sub(s).Hours()/24 + 1
	return math.Round(10000*math.Max(0, math.Min(gone, total))/total) / 100
}

var invalid = domain.InvalidField
