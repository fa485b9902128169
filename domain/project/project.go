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

// actual is an actual as corrected so far.
type actual struct {
	indicator  string
	start, end string
	value      float64
	shares     []Share
}

// Project is a project with its budget, indicators, targets and actuals.
// Its zero value is a project not registered yet.
//
// Its verb methods (Register, RecordContribution, DefineIndicator,
// SetTarget, RecordActual, CorrectActual) decide on the project's own
// state alone: Service checks the actor and the input first, and saves
// what they decide.
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

// Register decides the recording of a project whose input is checked
// already. An ID taken already is a Conflict, so that a retried command
// does not record a second project.
func (p *Project) Register(cmd Register) ([]domain.Event, error) {
	if p.id != "" {
		return nil, domain.Errorf(domain.Conflict, "project %s exists already", p.id)
	}
	return []domain.Event{Registered{
		ID: cmd.ID, Title: cmd.Title, Implementers: cmd.Implementers, Partners: cmd.Partners, Lead: cmd.Lead,
		Start: cmd.Start, End: cmd.End, Regions: cmd.Regions, Municipalities: cmd.Municipalities,
		Objectives: cmd.Objectives, Total: cmd.Total,
	}}, nil
}

// RecordContribution decides a donor's contribution of a checked amount.
// A disclosed total bounds the contributions, in its currency, so that
// the budget's parts never add up to more than the whole; without one, any
// currency is taken and nothing bounds them.
func (p *Project) RecordContribution(cmd RecordContribution) ([]domain.Event, error) {
	switch {
	case p.total == nil:
	case cmd.Amount.Currency != p.total.Currency:
		return nil, invalid("amount.currency", "%s: the budget is in %s", cmd.Amount.Currency, p.total.Currency)
	case p.contributions+cmd.Amount.Minor > p.total.Minor:
		return nil, invalid("amount", "%s would bring the contributions to %s, over the total budget of %s",
			cmd.Amount, Money{p.contributions + cmd.Amount.Minor, p.total.Currency}, *p.total)
	}
	return []domain.Event{ContributionRecorded{Project: cmd.Project, Donor: cmd.Donor, Amount: cmd.Amount}}, nil
}

// DefineIndicator decides a new indicator, checked. An indicator is
// defined once: its targets and actuals name it by its ID, and would no
// longer say which definition they were set against.
func (p *Project) DefineIndicator(cmd DefineIndicator) ([]domain.Event, error) {
	if _, ok := p.indicators[cmd.ID]; ok {
		return nil, domain.Errorf(domain.Conflict, "project %s has an indicator %s already", p.id, cmd.ID)
	}
	return []domain.Event{IndicatorDefined{
		Project: cmd.Project, ID: cmd.ID, ResultType: cmd.ResultType, Result: cmd.Result, Title: cmd.Title, Unit: cmd.Unit,
		HigherIsBetter: cmd.HigherIsBetter, BaselineYear: cmd.BaselineYear, Baseline: cmd.Baseline,
	}}, nil
}

// SetTarget decides a checked target of one of the project's indicators,
// for a period within the project's.
func (p *Project) SetTarget(cmd SetTarget) ([]domain.Event, error) {
	if err := p.within(cmd.Indicator, cmd.Start, cmd.End); err != nil {
		return nil, err
	}
	return []domain.Event{TargetSet{Project: cmd.Project, Indicator: cmd.Indicator, Start: cmd.Start, End: cmd.End, Value: cmd.Value}}, nil
}

// RecordActual decides a checked actual of one of the project's
// indicators, over a period within the project's. An actual's ID is
// recorded once: a figure that changes is corrected, so that every figure
// a donor saw stays traceable.
func (p *Project) RecordActual(cmd RecordActual) ([]domain.Event, error) {
	if _, ok := p.actuals[cmd.ID]; ok {
		return nil, domain.Errorf(domain.Conflict, "project %s has an actual %s already: correct it instead", p.id, cmd.ID)
	}
	if err := p.within(cmd.Indicator, cmd.Start, cmd.End); err != nil {
		return nil, err
	}
	return []domain.Event{ActualRecorded{
		Project: cmd.Project, ID: cmd.ID, Indicator: cmd.Indicator, Start: cmd.Start, End: cmd.End, Value: cmd.Value,
		Disaggregation: cmd.Disaggregation, Source: cmd.Source,
	}}, nil
}

// CorrectActual decides a correction of an actual's figures, checked,
// with its reason. The same figures again are no change.
func (p *Project) CorrectActual(cmd CorrectActual) ([]domain.Event, error) {
	a, ok := p.actuals[cmd.ID]
	switch {
	case !ok:
		return nil, domain.Errorf(domain.NotFound, "project %s has no actual %q", p.id, cmd.ID)
	case a.value == cmd.Value && slices.Equal(a.shares, cmd.Disaggregation):
		return nil, nil
	}
	return []domain.Event{ActualCorrected{Project: cmd.Project, ID: cmd.ID, Value: cmd.Value, Disaggregation: cmd.Disaggregation, Reason: cmd.Reason}}, nil
}

// within checks that indicator exists and start..end lies in the
// project's period.
func (p *Project) within(indicator, start, end string) error {
	if _, ok := p.indicators[indicator]; !ok {
		return invalid("indicator", "project %s has no indicator %q", p.id, indicator)
	}
	if start < p.start || end > p.end {
		return invalid("start", "%s to %s is not within the project's period, %s to %s", start, end, p.start, p.end)
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
