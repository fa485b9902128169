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
// every invalid field at once), then lets the project decide on its own
// events (Project's verb methods) through domain.Handle: NotFound for an
// unknown project or actual, Conflict when its state forbids the command
// or the stream moved on meanwhile. A command that would change nothing
// writes nothing.
type Service struct {
	Repo *domain.Repository
}

var keepers = []domain.Role{domain.Admin, domain.System}

// RegisterProject records a project; Total is its whole budget, or nil
// when it is not disclosed. Roles: admin, system. The organisations,
// regions and municipalities must be in the registry (Invalid); an ID
// taken already is a Conflict.
func (s *Service) RegisterProject(ctx context.Context, meta domain.Meta, cmd Register) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("register a project", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
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
	return s.on(ctx, meta, cmd.ID, true, func(p *Project) ([]domain.Event, error) { return p.Register(cmd) })
}

// RecordContribution records a donor's contribution, in the budget's
// currency; the contributions may not exceed the total (Invalid). Without
// a disclosed total, any currency is taken and nothing bounds them. Roles:
// admin, system.
func (s *Service) RecordContribution(ctx context.Context, meta domain.Meta, cmd RecordContribution) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("record a contribution", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var problems domain.Problems
	problems.Add(checkProjectID(cmd.Project))
	problems.Add(cmd.Amount.validate("amount"))
	if problems.Err() == nil {
		// Only once the input is well-formed: a lookup costs a read, and
		// an ID the store cannot name fails as an internal error, which
		// must not hide the caller's typing errors.
		problems.Add(s.knownOrganisation(ctx, "donor", cmd.Donor))
	}
	if err := problems.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) { return p.RecordContribution(cmd) })
}

// DefineIndicator adds an indicator to one of the project's results.
// Roles: admin, system. An indicator defined already is a Conflict.
func (s *Service) DefineIndicator(ctx context.Context, meta domain.Meta, cmd DefineIndicator) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("define an indicator", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var problems domain.Problems
	problems.Add(checkProjectID(cmd.Project))
	problems.Add(domain.CheckCode("id", cmd.ID, "lg-trained"))
	if !slices.Contains([]ResultType{Output, Outcome, Impact}, cmd.ResultType) {
		problems.Add(invalid("resultType", "%q is not output, outcome or impact", cmd.ResultType))
	}
	if !slices.Contains([]Unit{Count, Percent, Currency, Qualitative}, cmd.Unit) {
		problems.Add(invalid("unit", "%q is not count, percent, currency or qualitative", cmd.Unit))
	}
	if cmd.Baseline < 0 || math.IsNaN(cmd.Baseline) || math.IsInf(cmd.Baseline, 0) {
		problems.Add(invalid("baseline", "%v: a baseline is a number, 0 or more", cmd.Baseline))
	}
	if cmd.BaselineYear != 0 && (cmd.BaselineYear < 1990 || cmd.BaselineYear > 2100) {
		problems.Add(invalid("baselineYear", "%d is not a plausible year", cmd.BaselineYear))
	}
	cmd.Result = cmd.Result.Normalize()
	problems.Add(cmd.Result.Validate("result"))
	cmd.Title = cmd.Title.Normalize()
	problems.Add(cmd.Title.Validate("title"))
	if err := problems.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) { return p.DefineIndicator(cmd) })
}

// SetTarget sets an indicator's target for a period within the project's.
// Roles: admin, system. An unknown indicator, or a period outside the
// project's, is Invalid.
func (s *Service) SetTarget(ctx context.Context, meta domain.Meta, cmd SetTarget) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("set a target", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var problems domain.Problems
	problems.Add(checkProjectID(cmd.Project))
	problems.Add(domain.CheckPeriod("start", cmd.Start, "end", cmd.End))
	problems.Add(checkValue("value", cmd.Value))
	if err := problems.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) { return p.SetTarget(cmd) })
}

// RecordActual records what an indicator reached over a period within the
// project's, with its source; a disaggregation's categories must add up
// to the value in each dimension. Roles: admin, system. An actual
// recorded already is a Conflict: correct it instead.
func (s *Service) RecordActual(ctx context.Context, meta domain.Meta, cmd RecordActual) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("record an actual", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var problems domain.Problems
	problems.Add(checkProjectID(cmd.Project))
	problems.Add(domain.CheckCode("id", cmd.ID, "lg-trained-2023"))
	if problems.Add(domain.CheckPeriod("start", cmd.Start, "end", cmd.End)) && cmd.End > meta.Today() {
		problems.Add(invalid("end", "%s is in the future: an actual reports what happened", cmd.End))
	}
	problems.Add(checkFigures(cmd.Value, cmd.Disaggregation))
	cmd.Source = strings.TrimSpace(cmd.Source)
	if cmd.Source == "" {
		problems.Add(invalid("source", "required: where the figure comes from"))
	}
	if err := problems.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) { return p.RecordActual(cmd) })
}

// CorrectActual corrects an actual's figures, with the reason. Roles:
// admin, system. An unknown actual is NotFound; the same figures again
// change nothing.
func (s *Service) CorrectActual(ctx context.Context, meta domain.Meta, cmd CorrectActual) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("correct an actual", keepers...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var problems domain.Problems
	problems.Add(checkProjectID(cmd.Project))
	problems.Add(checkFigures(cmd.Value, cmd.Disaggregation))
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	if cmd.Reason == "" {
		problems.Add(invalid("reason", "required: why the figure changes"))
	}
	if err := problems.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.Project, false, func(p *Project) ([]domain.Event, error) { return p.CorrectActual(cmd) })
}

// checkProjectID checks the ID of the project a command acts on.
func checkProjectID(id string) error { return domain.CheckCode("project", id, "heks-eper-2022") }

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

// knownOrganisation checks that id is an organisation of the registry;
// field names the reference in the error.
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

// on runs decide on the project id through domain.Handle. Unless
// registering, the project must exist.
func (s *Service) on(ctx context.Context, meta domain.Meta, id string, registering bool, decide func(*Project) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: Stream(id), What: "project " + id, Creates: registering}, decide)
}
