package graph

import (
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/graph/generated"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/graph/scalar"
	"github.com/civicledger/civicledger/projections"
)

// setComplexity weights list fields by how many rows they can return, so
// the complexity limit bounds rows fetched, not just fields named: fifty
// organisations with their regions cost fifty times one organisation.
func setComplexity(c *generated.ComplexityRoot) {
	c.Query.Organisations = func(child int, first *int, _ *string, _ *model.OrganisationFilter) int {
		// A page over the cap is refused by the resolver with a clearer
		// message than the complexity limit's, so count at most a full page.
		n := 20
		if first != nil && *first > 0 {
			n = min(*first, projections.MaxPage)
		}
		return 1 + n*child
	}
	// Georgia has 12 first-level units and 69 municipalities; a region has
	// at most 12 of them.
	c.Query.Regions = func(child int) int { return 1 + 12*child }
	c.Query.Municipalities = func(child int, _ *string, _ *registry.MunicipalityKind) int { return 1 + 69*child }
	c.Region.Municipalities = func(child int) int { return 1 + 12*child }

	// Fields whose cost is in the database, not in their rows: an alias
	// of one counts as often as it appears. A trend groups the attendance
	// (127,000 groups in the demo) by each dimension asked for: 0.3 s
	// for all eleven on the demo; each dimension adds to the grouping.
	c.Query.ParticipationTrend = func(child int, groupBy []projections.Dimension, _ *model.ParticipationFilter, _ *bool, _ []model.TrendOrder, _ *int) int {
		return 300 + 250*len(groupBy) + child
	}
	// The subscription runs the same statement now and at each change.
	c.Subscription.Trend = func(child int, groupBy []projections.Dimension, f *model.ParticipationFilter, perCapita *bool, orderBy []model.TrendOrder, limit *int) int {
		return c.Query.ParticipationTrend(child, groupBy, f, perCapita, orderBy, limit)
	}
	// The budgets' trend groups their voters (one row each) the same way.
	c.Query.BudgetingTrend = func(child int, groupBy []projections.BudgetDimension, _ *model.BudgetTrendFilter) int {
		return 300 + 250*len(groupBy) + child
	}
	// An audit and a replay read an application's events and verify the
	// log over them.
	c.Query.CertificationAudit = func(child int, _ string, _ *scalar.Position) int { return 500 + child }
	c.Query.ReplayDecision = func(child int, _ string, _ *scalar.Position) int { return 500 + child }
	c.Query.LogProof = func(child int, positions []scalar.Position, _ *scalar.Position) int {
		return 20 + 20*len(positions) + child
	}
	c.Query.LogConsistency = func(child int, _, _ scalar.Position) int { return 50 + child }
	c.Query.Activities = func(child int, first *int, _ *string, _ *model.ActivityFilter) int {
		n := 20
		if first != nil && *first > 0 {
			n = min(*first, projections.MaxPage)
		}
		return 10 + n*child
	}
	// Participatory budgets: pages of cycles and of a cycle's ideas count
	// their rows, as the other lists do. A cycle's statistics are four
	// aggregates over its ideas and voters. Its ballot, and its results'
	// votes, hold a row per project on the ballot, up to a page's worth
	// (Keda's of 2023 put 126 of its 138 ideas to the vote), and read every
	// idea of the cycle. A recount reads every ballot of the cycle from the
	// log, counts them and checks them against the log's tree, like a
	// replay.
	c.Query.BudgetCycles = func(child int, first *int, _ *string, _ *model.BudgetCycleFilter) int {
		return 10 + pageSize(first)*child
	}
	c.BudgetCycle.Ideas = func(child int, first *int, _ *string, _ *model.BudgetIdeaFilter) int {
		return 10 + pageSize(first)*child
	}
	c.BudgetCycle.Statistics = func(child int) int { return 20 + child }
	c.BudgetCycle.Ballot = func(child int) int { return 10 + projections.MaxPage*child }
	c.BudgetCycle.Results = func(child int) int { return 10 + projections.MaxPage*child }
	c.Query.RecountCycle = func(child int, _ string) int { return 500 + child }
	// A year has at most one application per municipality; the registry
	// of certificates, a few per municipality.
	c.Query.Applications = func(child int, _ *model.ApplicationFilter) int { return 10 + 69*child }
	c.Query.Certificates = func(child int, _ *model.CertificateFilter) int { return 10 + 69*child }

	// The benchmark. A round covers at most Georgia's 69 municipalities;
	// a ranking reads its results and the previous round's, and ranks
	// them. A trend has a row per municipality and round asked for (all
	// rounds counted as five, LSGI's since 2017). A method holds at most
	// benchmark.MaxIndicators indicators, so a scorecard or a comparison
	// at most twice as many lines (each body of an indicator of both), read
	// in one statement: counted as a hundred, the response's size cap
	// bounding the rest. A replay reads a scorecard's events, as a
	// decision's replay does.
	const munis = 69
	c.Query.Ranking = func(child int, _ string, _ *string, _ *benchmark.Body, _ *model.BenchmarkFilter) int {
		return 50 + munis*child
	}
	c.Query.BenchmarkTrend = func(child int, municipalities []string, rounds []string, _ *model.BenchmarkFilter) int {
		r, m := len(rounds), len(municipalities)
		if r == 0 {
			r = 5 // LSGI's rounds: every two years since 2017
		}
		if m == 0 {
			m = munis
		}
		return 50*r + m*r*child
	}
	c.Query.BenchmarkRounds = func(child int) int { return 10 + 20*child }
	c.BenchmarkRound.Municipalities = func(child int) int { return munis * child }
	c.BenchmarkRound.Average = func(child int) int { return 50 + child }
	c.BenchmarkMethod.Indicators = func(child int) int { return 100 * child }
	c.Query.BenchmarkMethods = func(child int) int { return 10 + 10*child }
	c.Scorecard.Lines = func(child int) int { return 20 + 100*child }
	c.Query.CompareMunicipalities = func(child int, _ string, municipalities []string) int { return 50 + child }
	c.MunicipalityComparison.Indicators = func(child int) int { return 100 * child }
	c.IndicatorComparison.Values = func(child int) int { return 10 * child }
	c.MunicipalityComparison.Entries = func(child int) int { return 10 * child }
	c.Query.ActionPlans = func(child int, _, _, _ *string) int { return 20 + munis*child }
	c.Query.ReplayScore = func(child int, _, _ string) int { return 500 + child }
	c.Mutation.ScoreComputedIndicators = func(child int, _ string) int { return 500 + child }
}

// pageSize is the rows a page asks for, as a list's complexity counts
// them: a page over the cap is refused by its resolver with a clearer
// message than the complexity limit's, so at most a full page counts.
func pageSize(first *int) int {
	if first != nil && *first > 0 {
		return min(*first, projections.MaxPage)
	}
	return 20
}
