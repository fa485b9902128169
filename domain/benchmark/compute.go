package benchmark

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// ScoreComputed scores a computed indicator from the ledger: the figure
// of the municipality in the round's year, as Service.Ledger reads it,
// recorded with the query and the log position it was read at. A figure
// with nothing to compute from is recorded as no data.
func (s *Service) ScoreComputed(ctx context.Context, meta domain.Meta, cmd ComputeScore) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("score an indicator", assessors...); err != nil {
		return eventstore.AppendResult{}, err
	}
	r, m, err := s.state(ctx, cmd.Round, cmd.Municipality)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	ind, ok := m.indicator(cmd.Indicator)
	switch {
	case !ok:
		return eventstore.AppendResult{}, domain.InvalidField("indicator", "%q is not an indicator of method version %d", cmd.Indicator, m.Version)
	case ind.Computed == "":
		return eventstore.AppendResult{}, domain.InvalidField("indicator", "indicator %s is judged by an assessor, not computed", ind.Code)
	case s.Ledger == nil:
		return eventstore.AppendResult{}, errors.New("benchmark: no ledger to compute figures from")
	}
	rd, err := s.Ledger.Figure(ctx, Figure(ind.Computed), cmd.Municipality, r.year)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("figure %s of %s: %w", ind.Computed, cmd.Municipality, err)
	}
	shown := "no data"
	if rd.Value != nil {
		shown = strconv.FormatFloat(*rd.Value, 'f', -1, 64)
	}
	return s.Score(ctx, meta, Score{Round: cmd.Round, Municipality: cmd.Municipality, Indicator: ind.Code, Body: ind.Body, Value: rd.Value,
		Rationale: fmt.Sprintf("computed from the ledger: %s of %d is %s", ind.Computed, r.year, shown),
		Computed:  &Computed{Figure: ind.Computed, Query: rd.Query, Position: rd.Position}})
}

// ComputeRound scores every computed indicator of every municipality of
// a round, before its preliminary results are shared, and returns how
// many scores it recorded.
func (s *Service) ComputeRound(ctx context.Context, meta domain.Meta, round string) (int, error) {
	r, m, err := s.state(ctx, round, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, muni := range r.municipalities {
		for _, ind := range m.Indicators {
			if ind.Computed == "" {
				continue
			}
			if _, err := s.ScoreComputed(ctx, meta, ComputeScore{Round: round, Municipality: muni, Indicator: ind.Code}); err != nil {
				return n, domain.Wrap(err, fmt.Sprintf("%s of %s", ind.Code, muni))
			}
			n++
		}
	}
	return n, nil
}
