package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"

	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/projections"
)

// organisationsOf loads organisations by ID, in the order given, with
// contact details only for those allowed them.
func (r *Resolver) organisationsOf(ctx context.Context, ids []string) ([]model.Organisation, error) {
	out := make([]model.Organisation, 0, len(ids))
	for _, id := range ids {
		o, err := loadersFrom(ctx).organisations.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *organisationOf(o))
	}
	return out, nil
}

// moneyOf converts an amount; the decimal string keeps it exact.
func moneyOf(m project.Money) *model.Money {
	return &model.Money{Amount: m.Decimal(), Currency: m.Currency, Formatted: m.String()}
}

// indicatorOf converts an indicator with its progress.
func indicatorOf(ip projections.IndicatorProgress) model.Indicator {
	ind, p := ip.Indicator, ip.Progress
	out := model.Indicator{
		ID: ind.ID, ResultType: ind.ResultType, Result: &ind.Result, Title: &ind.Title,
		Unit: ind.Unit, HigherIsBetter: ind.HigherIsBetter, Baseline: ind.Baseline,
		Targets: []model.Target{}, Actual: p.Actual, Percent: p.Percent, Elapsed: p.Elapsed,
		Status: p.Status,
	}
	if ind.BaselineYear != 0 {
		out.BaselineYear = &ind.BaselineYear
	}
	for _, t := range ip.Targets {
		out.Targets = append(out.Targets, model.Target{Start: t.Start, End: t.End, Value: t.Value})
	}
	if p.Target != nil {
		out.Target = &model.Target{Start: p.Target.Start, End: p.Target.End, Value: p.Target.Value}
	}
	return out
}

// moneyInput reads an amount into minor units, exactly (project.ParseMoney).
func moneyInput(field string, in model.MoneyInput) (project.Money, error) {
	return project.ParseMoney(field, in.Amount, in.Currency)
}

func sharesOf(in []model.ShareInput) []project.Share {
	var out []project.Share
	for _, s := range in {
		out = append(out, project.Share{Dimension: s.Dimension, Category: s.Category, Value: s.Value})
	}
	return out
}

func localizedList(in []model.LocalizedTextInput) []domain.LocalizedText {
	var out []domain.LocalizedText
	for i := range in {
		out = append(out, localized(&in[i]))
	}
	return out
}

func (r *Resolver) registerProject(ctx context.Context, in model.RegisterProjectInput) (*model.ProjectPayload, error) {
	var total *project.Money
	if in.Total != nil {
		m, err := moneyInput("total", *in.Total)
		if err != nil {
			return nil, err
		}
		total = &m
	}
	res, err := r.deps.Projects.RegisterProject(ctx, r.meta(ctx), project.Register{
		ID: in.ID, Title: localized(in.Title), Implementers: in.Implementers, Partners: in.Partners, Lead: deref(in.Lead),
		Start: in.Start, End: in.End, Regions: in.Regions, Municipalities: in.Municipalities,
		Objectives: localizedList(in.Objectives), Total: total,
	})
	return r.projectResult(ctx, in.ID, res, err)
}

func (r *Resolver) recordContribution(ctx context.Context, projectID, donor string, amount model.MoneyInput) (*model.ProjectPayload, error) {
	m, err := moneyInput("amount", amount)
	if err != nil {
		return nil, err
	}
	res, err := r.deps.Projects.RecordContribution(ctx, r.meta(ctx), project.RecordContribution{Project: projectID, Donor: donor, Amount: m})
	return r.projectResult(ctx, projectID, res, err)
}

func (r *Resolver) defineIndicator(ctx context.Context, in model.IndicatorInput) (*model.ProjectPayload, error) {
	res, err := r.deps.Projects.DefineIndicator(ctx, r.meta(ctx), project.DefineIndicator{
		Project: in.Project, ID: in.ID, ResultType: in.ResultType,
		Result: localized(in.Result), Title: localized(in.Title), Unit: in.Unit,
		HigherIsBetter: in.HigherIsBetter, Baseline: deref(in.Baseline), BaselineYear: deref(in.BaselineYear),
	})
	return r.projectResult(ctx, in.Project, res, err)
}

func (r *Resolver) setTarget(ctx context.Context, projectID, indicator, start, end string, value float64) (*model.ProjectPayload, error) {
	res, err := r.deps.Projects.SetTarget(ctx, r.meta(ctx), project.SetTarget{Project: projectID, Indicator: indicator, Start: start, End: end, Value: value})
	return r.projectResult(ctx, projectID, res, err)
}

func (r *Resolver) recordActual(ctx context.Context, in model.ActualInput) (*model.ProjectPayload, error) {
	res, err := r.deps.Projects.RecordActual(ctx, r.meta(ctx), project.RecordActual{
		Project: in.Project, ID: in.ID, Indicator: in.Indicator, Start: in.Start, End: in.End, Value: in.Value,
		Disaggregation: sharesOf(in.Disaggregation), Source: in.Source,
	})
	return r.projectResult(ctx, in.Project, res, err)
}

func (r *Resolver) correctActual(ctx context.Context, projectID, id string, value float64, shares []model.ShareInput, reason string) (*model.ProjectPayload, error) {
	res, err := r.deps.Projects.CorrectActual(ctx, r.meta(ctx), project.CorrectActual{Project: projectID, ID: id, Value: value,
		Disaggregation: sharesOf(shares), Reason: reason})
	return r.projectResult(ctx, projectID, res, err)
}

// projectResult turns a project command's outcome into its payload: the
// position, and the project once the read model shows the change.
func (r *Resolver) projectResult(ctx context.Context, id string, res eventstore.AppendResult, err error) (*model.ProjectPayload, error) {
	if err != nil {
		return nil, err
	}
	pos, err := r.mutationPosition(ctx, res)
	if err != nil {
		return nil, err
	}
	p := &model.ProjectPayload{Position: pos}
	if err := r.caughtUp(ctx, int64(pos), "projects"); err != nil {
		graphql.AddError(ctx, err)
		return p, nil
	}
	p.Project, err = r.deps.Reads.Project(ctx, id)
	return p, err
}
