package projections

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain"
)

// BudgetDimension is one way to group or filter participatory budgets.
type BudgetDimension string

// The dimensions. Year, region and municipality are the cycle's; channel
// (online or paper), sex and age band the voter's.
const (
	BudgetYear         BudgetDimension = "year"
	BudgetRegion       BudgetDimension = "region"
	BudgetMunicipality BudgetDimension = "municipality"
	BudgetChannel      BudgetDimension = "channel"
	BudgetSex          BudgetDimension = "sex"
	BudgetAgeBand      BudgetDimension = "age_band"
)

// budgetDimensions maps each dimension to its expression over the voters'
// roll-up (v, rm.budget_turnout), the cycles (c) and the municipalities
// (m), and says whether it is a voter's.
var budgetDimensions = map[BudgetDimension]struct {
	expr  string
	voter bool
}{
	BudgetYear:         {"c.year", false},
	BudgetRegion:       {"m.region", false},
	BudgetMunicipality: {"c.municipality", false},
	BudgetChannel:      {"v.channel", true},
	BudgetSex:          {"v.sex", true},
	BudgetAgeBand:      {"v.age_band", true},
}

// BudgetTrendFilter narrows the cycles and voters counted; an empty list
// matches anything, and "" in Sexes or AgeBands stands for not recorded.
type BudgetTrendFilter struct {
	FromYear, ToYear int
	Regions          []string
	Municipalities   []string
	Channels         []string
	Sexes            []string
	AgeBands         []string
}

// BudgetTrendRow is one group: its value in each dimension grouped by, in
// the order asked ("" for not recorded), the cycles with voters in it and
// its voters; and, when it is grouped by the cycles' dimensions alone,
// the cycles' ideas, money (in minor units, the demo's and Georgia's
// currency being GEL) and the census population of their municipalities
// (nil otherwise: a voter's sex does not divide a budget).
type BudgetTrendRow struct {
	Values     []string
	Cycles     int64
	Voters     int64
	Ideas      *int64
	Amount     *int64
	Population *int64
}

// BudgetingTrend aggregates participatory budgets by the dimensions
// given, over the cycles and voters the filter keeps, in at most two SQL
// statements: the voters by every dimension, and, grouped by the cycles'
// dimensions alone, the cycles' own figures.
func (q *Reads) BudgetingTrend(ctx context.Context, groupBy []BudgetDimension, f BudgetTrendFilter) ([]BudgetTrendRow, error) {
	voterDims := false
	seen := map[BudgetDimension]bool{}
	for i, d := range groupBy {
		dim, ok := budgetDimensions[d]
		switch {
		case !ok:
			return nil, domain.Errorf(domain.Invalid, "groupBy[%d]: %q is not a dimension", i, d)
		case seen[d]:
			return nil, domain.Errorf(domain.Invalid, "groupBy[%d]: %s is given twice", i, d)
		}
		seen[d] = true
		voterDims = voterDims || dim.voter
	}
	if f.FromYear != 0 && f.ToYear != 0 && f.ToYear < f.FromYear {
		return nil, domain.InvalidField("filter.toYear", "%d is before filter.fromYear %d", f.ToYear, f.FromYear)
	}
	// Georgia's municipalities alone: a cycle imported from another
	// country's published data is counted on its own, never in a trend
	// of Georgia's (its voters against no census would skew the turnout).
	cycleConds := []string{"c.unit = ''"}
	var voterConds []string
	var args []any
	add := func(to *[]string, cond string, v any) {
		args = append(args, v)
		*to = append(*to, fmt.Sprintf(cond, len(args)))
	}
	if f.FromYear != 0 {
		add(&cycleConds, "c.year >= $%d", f.FromYear)
	}
	if f.ToYear != 0 {
		add(&cycleConds, "c.year <= $%d", f.ToYear)
	}
	if len(f.Regions) > 0 {
		add(&cycleConds, "m.region = ANY($%d)", f.Regions)
	}
	if len(f.Municipalities) > 0 {
		add(&cycleConds, "c.municipality = ANY($%d)", f.Municipalities)
	}
	for _, l := range []struct {
		expr   string
		values []string
	}{{"v.channel", f.Channels}, {"v.sex", f.Sexes}, {"v.age_band", f.AgeBands}} {
		if len(l.values) > 0 {
			add(&voterConds, l.expr+" = ANY($%d)", l.values)
			voterDims = true
		}
	}
	keys := make([]string, len(groupBy))
	names := make([]string, len(groupBy))
	for i, d := range groupBy {
		keys[i] = fmt.Sprintf("%s::text AS k%d", budgetDimensions[d].expr, i)
		names[i] = fmt.Sprintf("k%d", i)
	}
	group, order := "", ""
	if len(groupBy) > 0 {
		group = " GROUP BY " + strings.Join(names, ", ")
		order = " ORDER BY " + strings.Join(names, ", ")
	}
	sel := strings.Join(append(keys, ""), ", ")
	limit := " LIMIT " + strconv.Itoa(MaxTrendRows+1)
	where := func(conds ...[]string) string {
		all := slices.Concat(conds...)
		if len(all) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(all, " AND ")
	}
	batch := []string{`SELECT ` + sel + `count(DISTINCT v.cycle), coalesce(sum(v.voters), 0)::bigint FROM rm.budget_turnout v
		JOIN rm.budget_cycles c ON c.id = v.cycle LEFT JOIN rm.municipalities m ON m.code = c.municipality` +
		where(cycleConds, voterConds) + group + order + limit}
	if !voterDims {
		batch = append(batch, `SELECT `+sel+`count(*), coalesce(sum(i.n), 0)::bigint, coalesce(sum(c.total_minor), 0)::bigint,
				coalesce(sum(m.population_2014), 0)::bigint
			FROM rm.budget_cycles c LEFT JOIN rm.municipalities m ON m.code = c.municipality
			LEFT JOIN (SELECT cycle, count(*) AS n FROM rm.budget_ideas GROUP BY cycle) i ON i.cycle = c.id`+
			where(cycleConds)+group+order+limit)
	}
	rowsByKey := map[string]*BudgetTrendRow{}
	var out []*BudgetTrendRow
	row := func(vals []*string) *BudgetTrendRow {
		strs := make([]string, len(vals))
		for i, v := range vals {
			if v != nil {
				strs[i] = *v
			}
		}
		k := strings.Join(strs, "\x00")
		r, ok := rowsByKey[k]
		if !ok {
			r = &BudgetTrendRow{Values: strs}
			rowsByKey[k] = r
			out = append(out, r)
		}
		return r
	}
	for s, sql := range batch {
		rows, err := q.DB.Query(ctx, sql, args...)
		if err != nil {
			return nil, fmt.Errorf("budgeting trend: %w", err)
		}
		for rows.Next() {
			vals := make([]*string, len(groupBy))
			dest := make([]any, 0, len(groupBy)+4)
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			var a, b, c, d int64
			if s == 0 {
				dest = append(dest, &a, &b)
			} else {
				dest = append(dest, &a, &b, &c, &d)
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("budgeting trend: %w", err)
			}
			r := row(vals)
			if s == 0 {
				r.Cycles, r.Voters = a, b
			} else {
				r.Cycles = a
				r.Ideas, r.Amount, r.Population = &b, &c, &d
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("budgeting trend: %w", err)
		}
	}
	if len(out) > MaxTrendRows {
		return nil, domain.Errorf(domain.Invalid, "groupBy: the grouping gives more than %d groups; group by fewer dimensions or narrow the filter", MaxTrendRows)
	}
	// Both statements are ordered; merged, the groups only in the second
	// (cycles without voters) are sorted in.
	slices.SortStableFunc(out, func(a, b *BudgetTrendRow) int {
		for i := range a.Values {
			if c := compareValues(groupBy[i], a.Values[i], b.Values[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	res := make([]BudgetTrendRow, len(out))
	for i, r := range out {
		res[i] = *r
	}
	return res, nil
}

// compareValues orders two values of a dimension as the SQL did: years
// as numbers, the rest as text.
func compareValues(d BudgetDimension, a, b string) int {
	if d == BudgetYear {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	}
	return strings.Compare(a, b)
}
