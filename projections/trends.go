package projections

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
)

// Dimension is one way to group or filter participation.
type Dimension string

// The dimensions. Year, quarter and month are of an activity's first day;
// quarter and month alone group across years (seasons), with year they
// make a time series. Sex, age band, sector and ethnic-minority membership
// are the attendees'; the others the activity's.
const (
	DimYear           Dimension = "year"
	DimQuarter        Dimension = "quarter"
	DimMonth          Dimension = "month"
	DimRegion         Dimension = "region"
	DimMunicipality   Dimension = "municipality"
	DimActivityType   Dimension = "activity_type"
	DimProject        Dimension = "project"
	DimSector         Dimension = "sector"
	DimSex            Dimension = "sex"
	DimAgeBand        Dimension = "age_band"
	DimEthnicMinority Dimension = "ethnic_minority"
	// DimCertified: whether the activity's municipality held a civic
	// budgeting certificate valid at some time in the activity's year
	// ("true" or "false").
	DimCertified Dimension = "certified"
)

// dimensions maps each dimension to its column (or expression), the same
// in the participation table and the attendance facts, and says whether
// it is an attendee's (found in the facts only).
var dimensions = map[Dimension]struct {
	expr     string
	attendee bool
}{
	DimYear:           {"year", false},
	DimQuarter:        {"((month + 2) / 3)", false},
	DimMonth:          {"month", false},
	DimRegion:         {"region", false},
	DimMunicipality:   {"municipality", false},
	DimActivityType:   {"type", false},
	DimProject:        {"project", false},
	DimSector:         {"sector", true},
	DimSex:            {"sex", true},
	DimAgeBand:        {"age_band", true},
	DimEthnicMinority: {"ethnic_minority", true},
	DimCertified:      {"(cy IS NOT NULL)", false},
}

// certifiedYears is the (municipality, year) pairs in which the
// municipality held a certificate valid at some time of the year, not
// revoked before it began: the rule of the benchmark's certified filter
// (certifiedIn), joined to the facts by a trend that asks for it.
const certifiedYears = `WITH cert AS (SELECT DISTINCT a.municipality AS cm, y AS cy FROM rm.cert_applications a,
	generate_series(extract(year FROM a.valid_from)::int,
		extract(year FROM CASE WHEN a.revoked_on IS NOT NULL AND a.revoked_on - 1 < a.valid_until THEN a.revoked_on - 1 ELSE a.valid_until END)::int) y
	WHERE a.certified AND a.valid_from IS NOT NULL AND a.valid_until IS NOT NULL) `

// TrendFilter narrows participation. A list matches any of its values; an
// empty list anything. In the attendee dimensions and Projects, "" stands
// for not recorded (no project); EthnicMinority takes "true", "false" and
// "". From and To bound the activity's first day, inclusive.
type TrendFilter struct {
	From, To       string
	Regions        []string
	Municipalities []string
	Types          []string
	Projects       []string
	Sectors        []string
	Sexes          []string
	AgeBands       []string
	EthnicMinority []string
	// Certified keeps the activities of municipalities certified (true)
	// or not (false) in the activity's year (DimCertified).
	Certified *bool
}

// lists pairs each list of the filter with its dimension.
func (f TrendFilter) lists() []struct {
	dim    Dimension
	values []string
} {
	return []struct {
		dim    Dimension
		values []string
	}{
		{DimRegion, f.Regions}, {DimMunicipality, f.Municipalities}, {DimActivityType, f.Types}, {DimProject, f.Projects},
		{DimSector, f.Sectors}, {DimSex, f.Sexes}, {DimAgeBand, f.AgeBands}, {DimEthnicMinority, f.EthnicMinority},
	}
}

// TrendRow is one group: its value in each dimension grouped by, in the
// order asked ("" for not recorded, or no project; years, quarters and
// months in digits; "true" or "false" for minority membership), the held
// activities with attendees in the group, and the attendees.
type TrendRow struct {
	Values     []string
	Activities int64
	Attendance int64
}

// MaxTrendRows caps the groups of one answer: a dashboard asking for every
// municipality by month by sector gets a clear error, not megabytes.
const MaxTrendRows = 10000

// ParticipationTrend aggregates the attendance of held activities by the
// dimensions given, over those matching the filter, in one SQL statement.
// Without an attendee dimension (in groupBy or the filter) it reads the
// participation table, one row per held activity. With one, that
// dimension's roll-up; with more, the attendance records. Those are
// aggregated per group and activity first, so an activity with several
// groups of attendees counts once in each group it has attendees in.
func (q *Reads) ParticipationTrend(ctx context.Context, groupBy []Dimension, f TrendFilter) ([]TrendRow, error) {
	sql, args, _, err := trendSQL(groupBy, f)
	if err != nil {
		return nil, err
	}
	rows, err := q.DB.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("participation trend: %w", err)
	}
	defer rows.Close()
	var out []TrendRow
	for rows.Next() {
		dest := make([]any, len(groupBy)+2)
		vals := make([]*string, len(groupBy))
		for i := range vals {
			dest[i] = &vals[i]
		}
		var row TrendRow
		dest[len(groupBy)], dest[len(groupBy)+1] = &row.Activities, &row.Attendance
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("participation trend: %w", err)
		}
		row.Values = make([]string, len(vals))
		for i, v := range vals {
			if v != nil {
				row.Values[i] = *v
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("participation trend: %w", err)
	}
	if len(out) > MaxTrendRows {
		return nil, domain.Errorf(domain.Invalid, "groupBy: the grouping gives more than %d groups; group by fewer dimensions or narrow the filter", MaxTrendRows)
	}
	return out, nil
}

// trendSQL builds the statement of ParticipationTrend, and names the
// table it reads (a cube, the participation table, a roll-up or the
// records). Values are always parameters; only the fixed column
// expressions of dimensions are spliced in.
func trendSQL(groupBy []Dimension, f TrendFilter) (sql string, args []any, source string, err error) {
	attendee := map[Dimension]bool{} // the attendee dimensions involved
	seen := map[Dimension]bool{}
	needs := map[string]bool{} // the activity columns involved, for the cubes
	for i, d := range groupBy {
		dim, ok := dimensions[d]
		switch {
		case !ok:
			return "", nil, "", domain.Errorf(domain.Invalid, "groupBy[%d]: %q is not a dimension", i, d)
		case seen[d]:
			return "", nil, "", domain.Errorf(domain.Invalid, "groupBy[%d]: %s is given twice", i, d)
		}
		seen[d] = true
		if dim.attendee {
			attendee[d] = true
		}
		for _, c := range cubeColumn[d] {
			needs[c] = true
		}
	}
	if err := checkRange(f.From, f.To); err != nil {
		return "", nil, "", err
	}
	multi := false // an attendee dimension filtered to several values, not grouped by
	for _, l := range f.lists() {
		if len(l.values) == 0 {
			continue
		}
		if dimensions[l.dim].attendee {
			attendee[l.dim] = true
			multi = multi || len(l.values) > 1 && !seen[l.dim]
		}
		for _, c := range cubeColumn[l.dim] {
			needs[c] = true
		}
	}
	certified := seen[DimCertified] || f.Certified != nil
	if f.Certified != nil {
		for _, c := range cubeColumn[DimCertified] {
			needs[c] = true
		}
	}
	yearly := (f.From == "" || f.From[5:] == "01-01") && (f.To == "" || f.To[5:] == "12-31")
	monthly := (f.From == "" || f.From[8:] == "01") && (f.To == "" || lastOfMonth(f.To))
	cube, mask, useCube := cubeFor(needs, attendee, multi, !yearly, !monthly)

	var conds []string
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if useCube {
		add("mask = $%d", mask)
	}
	if f.Certified != nil {
		add("(cy IS NOT NULL) = $%d", *f.Certified)
	}
	switch {
	case !useCube:
		if f.From != "" {
			add("day >= $%d", f.From)
		}
		if f.To != "" {
			add("day <= $%d", f.To)
		}
	case yearly:
		if f.From != "" {
			add("year >= $%d", atoi(f.From[:4]))
		}
		if f.To != "" {
			add("year <= $%d", atoi(f.To[:4]))
		}
	default:
		if f.From != "" {
			add("year * 100 + month >= $%d", atoi(f.From[:4])*100+atoi(f.From[5:7]))
		}
		if f.To != "" {
			add("year * 100 + month <= $%d", atoi(f.To[:4])*100+atoi(f.To[5:7]))
		}
	}
	for _, l := range f.lists() {
		if len(l.values) == 0 {
			continue
		}
		expr := dimensions[l.dim].expr
		if l.dim == DimEthnicMinority {
			for _, v := range l.values {
				if v != "true" && v != "false" && v != "" {
					return "", nil, "", domain.Errorf(domain.Invalid, "filter.ethnicMinority: %q is not true, false or unrecorded", v)
				}
			}
			expr = "ethnic_minority::text"
		}
		if slices.Contains(l.values, "") {
			expr = "coalesce(" + expr + ", '')"
		}
		add(expr+" = ANY($%d)", l.values)
	}
	keys := make([]string, len(groupBy))
	for i, d := range groupBy {
		keys[i] = fmt.Sprintf("%s AS k%d", dimensions[d].expr, i)
	}
	names := make([]string, len(groupBy))
	texts := make([]string, len(groupBy))
	for i := range groupBy {
		names[i] = fmt.Sprintf("k%d", i)
		texts[i] = fmt.Sprintf("k%d::text AS v%d", i, i)
	}
	where := ""
	if len(conds) > 0 {
		where = " AND " + strings.Join(conds, " AND ")
	}
	groupList, order := "", ""
	if len(groupBy) > 0 {
		groupList = " GROUP BY " + strings.Join(names, ", ")
		order = " ORDER BY " + strings.Join(names, ", ")
	}
	selectKeys := strings.Join(append(texts, ""), ", ")
	limit := " LIMIT " + strconv.Itoa(MaxTrendRows+1)
	with, join := "", ""
	if certified {
		with, join = certifiedYears, " LEFT JOIN cert ON cm = municipality AND cy = year"
	}
	if useCube {
		// A group is there when an activity is: cells of a corrected
		// attendance can be left with none.
		having := ""
		if len(groupBy) > 0 {
			having = " HAVING sum(activities) > 0"
		}
		inner := strings.Join(append(keys, "activities", "attendance"), ", ")
		return with + `SELECT ` + selectKeys + `coalesce(sum(activities), 0)::bigint, coalesce(sum(attendance), 0)::bigint FROM (SELECT ` + inner +
			` FROM rm.` + cube.table + join + ` WHERE true` + where + `) c` + groupList + having + order + limit, args, cube.table, nil
	}
	if len(attendee) == 0 {
		inner := strings.Join(append(keys, "total"), ", ")
		return with + `SELECT ` + selectKeys + `count(*), coalesce(sum(total), 0)::bigint FROM (SELECT ` + inner +
			` FROM rm.participation` + join + ` WHERE true` + where + `) a` + groupList + order + limit, args, "participation", nil
	}
	// One attendee dimension: its roll-up has what the records have,
	// summed per activity and category. More: the records.
	table := "attendance"
	if len(attendee) == 1 {
		for d := range attendee {
			table = "attendance_" + string(d)
		}
	}
	inner := strings.Join(append(keys, "activity", "sum(count) AS n"), ", ")
	innerGroup := strings.Join(append(names, "activity"), ", ")
	return with + `SELECT ` + selectKeys + `count(*), coalesce(sum(n), 0)::bigint FROM (SELECT ` + inner +
		` FROM rm.` + table + join + ` WHERE true` + where + ` GROUP BY ` + innerGroup + `) g` + groupList + order + limit, args, table, nil
}

// lastOfMonth says whether day (YYYY-MM-DD, checked) is its month's last.
func lastOfMonth(day string) bool {
	t, err := time.Parse(time.DateOnly, day)
	return err == nil && t.AddDate(0, 0, 1).Day() == 1
}

// atoi reads the digits of a checked date's part.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// checkRange checks a filter's optional bounds: each a day, to not before
// from.
func checkRange(from, to string) error {
	for _, b := range []struct{ field, day string }{{"filter.from", from}, {"filter.to", to}} {
		if b.day != "" {
			if err := domain.CheckDate(b.field, b.day); err != nil {
				return err
			}
		}
	}
	if from != "" && to != "" && to < from {
		return domain.InvalidField("filter.to", "%s is before filter.from %s", to, from)
	}
	return nil
}
