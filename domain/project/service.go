package project

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// Service handles the project commands. Each checks the actor's role
// (admins and the system keep projects), then the input (Invalid, naming
// the field), then decides on the project's own events.
type Service struct {
	Repo *domain.Repository
}

var keepers = []domain.Role{domain.Admin, domain.System}

// RegisterProject records a project; Total is its whole budget, or nil
// when it is not disclosed.
func (s *Service) RegisterProject(ctx context.Context, meta domain.Meta, cmd Registered) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("register a project", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	// Every field is checked, and every problem reported at once.
	var problems domain.Problems
	problems.Add(domain.CheckCode("id", cmd.ID, "heks-eper-2022"))
	cmd.Title = cmd.Title.Normalize()
	problems.Add(cmd.Title.Validate("title"))
	problems.Add(domain.CheckPeriod("start", cmd.Start, "end", cmd.End))
	if cmd.Total != nil {
		problems.Add(cmd.Total.validate("total"))
	}
	if len(cmd.Implementers) == 0 {
		problems.Add(invalid("implementers", "at least one implementing organisation is required"))
	}
	for i, id := range append(slices.Clone(cmd.Implementers), cmd.Partners...) {
		problems.Add(s.knownOrganisation(ctx, fmt.Sprintf("organisations[%d]", i), id))
	}
	for i, code := range cmd.Regions {
		problems.Add(s.known(ctx, fmt.Sprintf("regions[%d]", i), registry.RegionStream(code), code))
	}
	for i, code := range cmd.Municipalities {
		problems.Add(s.known(ctx, fmt.Sprintf("municipalities[%d]", i), registry.MunicipalityStream(code), code))
	}
	for i := range cmd.Objectives {
		cmd.Objectives[i] = cmd.Objectives[i].Normalize()
		problems.Add(cmd.Objectives[i].Validate(fmt.Sprintf("objectives[%d]", i)))
	}
	if err := problems.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.ID, true, func(p *Project) ([]domain.Event, error) {
		if p.id != "" {
			return nil, domain.Errorf(domain.Conflict, "project %s exists already", p.id)
		}
		return []domain.Event{cmd}, nil
	})
}

// RecordContribution records a donor's contribution, in the budget's
// currency; the contributions may not exceed the total. Without a
// disclosed total, any currency is taken and nothing bounds them.
func (s *Service) RecordContribution(ctx context.Context, meta domain.Meta, cmd ContributionRecorded) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("record a contribution", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := cmd.Amount.validate("amount"); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.knownOrganisation(ctx, "donor", cmd.Donor); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) {
		switch {
		case p.total == nil:
		case cmd.Amount.Currency != p.total.Currency:
			return nil, invalid("amount.currency", "%s: the budget is in %s", cmd.Amount.Currency, p.total.Currency)
		case p.contributions+cmd.Amount.Minor > p.total.Minor:
			return nil, invalid("amount", "%s would bring the contributions to %s, over the total budget of %s",
				cmd.Amount, Money{p.contributions + cmd.Amount.Minor, p.total.Currency}, *p.total)
		}
		return []domain.Event{cmd}, nil
	})
}

// DefineIndicator adds an indicator to one of the project's results.
func (s *Service) DefineIndicator(ctx context.Context, meta domain.Meta, cmd IndicatorDefined) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("define an indicator", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := domain.CheckCode("id", cmd.ID, "lg-trained"); err != nil {
		return eventstore.AppendResult{}, err
	}
	switch {
	case !slices.Contains([]ResultType{Output, Outcome, Impact}, cmd.ResultType):
		return eventstore.AppendResult{}, invalid("resultType", "%q is not output, outcome or impact", cmd.ResultType)
	case !slices.Contains([]Unit{Count, Percent, Currency, Qualitative}, cmd.Unit):
		return eventstore.AppendResult{}, invalid("unit", "%q is not count, percent, currency or qualitative", cmd.Unit)
	case cmd.Baseline < 0 || math.IsNaN(cmd.Baseline) || math.IsInf(cmd.Baseline, 0):
		return eventstore.AppendResult{}, invalid("baseline", "%v: a baseline is a number, 0 or more", cmd.Baseline)
	case cmd.BaselineYear != 0 && (cmd.BaselineYear < 1990 || cmd.BaselineYear > 2100):
		return eventstore.AppendResult{}, invalid("baselineYear", "%d is not a plausible year", cmd.BaselineYear)
	}
	for _, t := range []struct {
		f string
		v *domain.LocalizedText
	}{{"result", &cmd.Result}, {"title", &cmd.Title}} {
		*t.v = t.v.Normalize()
		if err := t.v.Validate(t.f); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) {
		if _, ok := p.indicators[cmd.ID]; ok {
			return nil, domain.Errorf(domain.Conflict, "project %s has an indicator %s already", p.id, cmd.ID)
		}
		return []domain.Event{cmd}, nil
	})
}

// SetTarget sets an indicator's target for a period within the project's.
func (s *Service) SetTarget(ctx context.Context, meta domain.Meta, cmd TargetSet) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("set a target", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := domain.CheckPeriod("start", cmd.Start, "end", cmd.End); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := checkValue("value", cmd.Value); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) {
		if err := p.within(cmd.Indicator, cmd.Start, cmd.End); err != nil {
			return nil, err
		}
		return []domain.Event{cmd}, nil
	})
}

// RecordActual records what an indicator reached over a period within the
// project's, with its source; a disaggregation's categories must add up
// to the value in each dimension.
func (s *Service) RecordActual(ctx context.Context, meta domain.Meta, cmd ActualRecorded) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("record an actual", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := domain.CheckCode("id", cmd.ID, "lg-trained-2023"); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := domain.CheckPeriod("start", cmd.Start, "end", cmd.End); err != nil {
		return eventstore.AppendResult{}, err
	}
	if cmd.End > meta.Today() {
		return eventstore.AppendResult{}, invalid("end", "%s is in the future: an actual reports what happened", cmd.End)
	}
	if err := checkFigures(cmd.Value, cmd.Disaggregation); err != nil {
		return eventstore.AppendResult{}, err
	}
	cmd.Source = strings.TrimSpace(cmd.Source)
	if cmd.Source == "" {
		return eventstore.AppendResult{}, invalid("source", "required: where the figure comes from")
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) {
		if _, ok := p.actuals[cmd.ID]; ok {
			return nil, domain.Errorf(domain.Conflict, "project %s has an actual %s already: correct it instead", p.id, cmd.ID)
		}
		if err := p.within(cmd.Indicator, cmd.Start, cmd.End); err != nil {
			return nil, err
		}
		return []domain.Event{cmd}, nil
	})
}

// CorrectActual corrects an actual's figures, with the reason.
func (s *Service) CorrectActual(ctx context.Context, meta domain.Meta, cmd ActualCorrected) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("correct an actual", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := checkFigures(cmd.Value, cmd.Disaggregation); err != nil {
		return eventstore.AppendResult{}, err
	}
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	if cmd.Reason == "" {
		return eventstore.AppendResult{}, invalid("reason", "required: why the figure changes")
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) {
		a, ok := p.actuals[cmd.ID]
		switch {
		case !ok:
			return nil, domain.Errorf(domain.NotFound, "project %s has no actual %q", p.id, cmd.ID)
		case a.value == cmd.Value && slices.Equal(a.shares, cmd.Disaggregation):
			return nil, nil
		}
		return []domain.Event{cmd}, nil
	})
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

// checkValue checks a figure: a number, 0 or more.
func checkValue(field string, v float64) error {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return invalid(field, "%v: a figure is a number, 0 or more", v)
	}
	return nil
}

// checkFigures checks an actual's value and disaggregation: known
// dimensions, each category once, no negative share, and in each dimension
// the categories adding up to the value.
func checkFigures(value float64, shares []Share) error {
	if err := checkValue("value", value); err != nil {
		return err
	}
	sums := map[string]float64{}
	seen := map[string]bool{}
	for i, sh := range shares {
		f := "disaggregation[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(Dimensions, sh.Dimension):
			return invalid(f+".dimension", "%q is not one of %s", sh.Dimension, strings.Join(Dimensions, ", "))
		case strings.TrimSpace(sh.Category) == "":
			return invalid(f+".category", "required")
		case seen[sh.Dimension+"\x00"+sh.Category]:
			return invalid(f+".category", "%s %q is given twice", sh.Dimension, sh.Category)
		}
		if err := checkValue(f+".value", sh.Value); err != nil {
			return err
		}
		seen[sh.Dimension+"\x00"+sh.Category] = true
		sums[sh.Dimension] += sh.Value
	}
	for _, d := range Dimensions {
		if sum, ok := sums[d]; ok && math.Abs(sum-value) > 1e-9 {
			return invalid("disaggregation", "the %s categories add up to %v, not the value %v", d, sum, value)
		}
	}
	return nil
}

func (s *Service) knownOrganisation(ctx context.Context, field, id string) error {
	var o registry.Organisation
	if _, err := s.Repo.Load(ctx, registry.OrganisationStream(id), &o); err != nil {
		return err
	}
	if o.ID() == "" {
		return invalid(field, "%q is not an organisation in the registry", id)
	}
	return nil
}

// known checks that stream (a region's, a municipality's) exists.
func (s *Service) known(ctx context.Context, field, stream, code string) error {
	if err := domain.CheckCode(field, code, "kvemo-kartli"); err != nil {
		return err
	}
	var agg anyAggregate
	version, err := s.Repo.Load(ctx, stream, &agg)
	if err != nil {
		return err
	}
	if version == 0 {
		return invalid(field, "%q is not in the registry", code)
	}
	return nil
}

// anyAggregate accepts any events: loading it only tells whether a stream
// exists.
type anyAggregate struct{}

// Apply implements domain.Aggregate: it accepts any event.
func (*anyAggregate) Apply(domain.Event) error { return nil }

// on loads the project id, has decide decide and saves what it decided.
// Unless registering, the project must exist.
func (s *Service) on(ctx context.Context, meta domain.Meta, id string, registering bool, decide func(*Project) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	if err := domain.CheckCode("project", id, "heks-eper-2022"); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: Stream(id), What: "project " + id, Creates: registering}, decide)
}
