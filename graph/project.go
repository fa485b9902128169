package graph

import (
	"context"
	"fmt"
	"strings"

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
		out = append(out, *visible(ctx, o))
	}
	return out, nil
}

// moneyOf converts an amount; the decimal string keeps it exact.
func moneyOf(m project.Money) *model.Money {
	sign := ""
	minor := m.Minor
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return &model.Money{Amount: fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100), Currency: m.Currency, Formatted: m.String()}
}

// indicatorOf converts an indicator with its progress.
func indicatorOf(ip projections.IndicatorProgress) model.Indicator {
	ind, p := ip.Indicator, ip.Progress
	out := model.Indicator{
		ID: ind.ID, ResultType: model.ResultType(strings.ToUpper(string(ind.ResultType))), Result: &ind.Result, Title: &ind.Title,
		Unit: model.IndicatorUnit(strings.ToUpper(string(ind.Unit))), HigherIsBetter: ind.HigherIsBetter, Baseline: ind.Baseline,
		Targets: []model.Target{}, Actual: p.Actual, Percent: p.Percent, Elapsed: p.Elapsed,
		Status: model.ProgressStatus(strings.ToUpper(string(p.Status))),
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
