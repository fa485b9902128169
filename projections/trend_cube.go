package projections

import (
	"fmt"
	"slices"
	"strings"
)

// The trend cubes: participation pre-aggregated by the activities read
// model, so that a dashboard's trend reads a few thousand rows instead of
// a roll-up of hundreds of thousands.
//
// Why not one cube at the grain of (month, municipality, type, project):
// in the benchmark's history (161,388 held activities over 7 years and 64
// municipalities) that grain has about as many cells as activities, so it
// would save nothing. Trends are asked at far coarser grains, so there are
// cubes at the finest grain of the dimensions each serves, by region for
// the trends of Georgia and its regions (a few hundred to a few thousand
// rows each), and by municipality for those of municipalities or of
// certification (which is a municipality's):
//
//   - region and year: (year, region) and (year, municipality), for the
//     groupings and filters by year and place, with up to two attendee
//     dimensions at once (SEX × AGE_BAND, ...);
//   - region_month and month: (year, month, region) and (year, month,
//     municipality), for months and quarters too and date ranges of whole
//     months, with up to one attendee dimension;
//   - region_type and type: (year, region, type, project) and (year,
//     municipality, type, project), for activity types and projects, with
//     up to one attendee dimension.
//
// Region is carried beside municipality (each municipality has one), so
// no trend needs a join. Each cube serves the trends whose dimensions and
// filters it has the columns of; cubeFor takes the first, the coarsest.
//
// Each row of a cube is a cell: its grain's values, the combination of
// attendee dimensions it breaks down by (mask, as SQL's GROUPING gives it:
// a bit set for each of sex, age band, sector and minority membership
// that is summed over), their values (NULL where not recorded, or not
// broken down), the activities with attendees in the cell, and those
// attendees. The activities of a group of cells add up exactly, because
// an activity falls in one cell per combination of values of the
// dimensions it is broken down by: so a trend is answered from the cube
// with the same mask as the attendee dimensions it groups by or filters to
// one value each. A trend filtering an attendee dimension to several
// values without grouping by it is not (an activity with attendees of two
// of the values would count twice), nor one with attendee dimensions
// beyond a cube's: those read the roll-ups and records, as before.
//
// The projection keeps the cubes exact: every attendance record it writes
// or deletes is also written, signed (+1 or -1), into trend_staging, and
// after each batch one statement moves the staged records into the three
// cubes, a cell at a time, and empties the staging table. A staged record
// carries the position of the event that staged it: an activity held and
// corrected in one batch is in it three times (held +1, the correction's
// -1 of the held records, the correction's +1), and counts once. Corrections
// thus take their old records out and put the new ones in. A cell whose
// activities fall to zero stays, and the reads skip it (HAVING).
// TestTrendCubes holds every cube to the aggregate of the raw events.

// cubeGrain is one cube: its table, the activity columns of its grain,
// and the combinations of attendee dimensions it keeps.
type cubeGrain struct {
	table string
	// columns are the activity dimensions' columns the cube keeps, region
	// included (it follows from municipality).
	columns []string
	// maxAttendee is how many attendee dimensions a cell may break down
	// by at once.
	maxAttendee int
}

// key is the columns a cell is known by: the grain's, but region where
// municipality is there too (it follows from it).
func (g cubeGrain) key() []string {
	if !slices.Contains(g.columns, "municipality") {
		return g.columns
	}
	return slices.DeleteFunc(slices.Clone(g.columns), func(c string) bool { return c == "region" })
}

// cubeGrains are the cubes, coarsest first: a trend is read from the
// first that serves it.
var cubeGrains = []cubeGrain{
	{table: "trend_cube_region", columns: []string{"year", "region"}, maxAttendee: 2},
	{table: "trend_cube_region_month", columns: []string{"year", "month", "region"}, maxAttendee: 1},
	{table: "trend_cube_region_type", columns: []string{"year", "region", "type", "project"}, maxAttendee: 1},
	{table: "trend_cube_year", columns: []string{"year", "region", "municipality"}, maxAttendee: 2},
	{table: "trend_cube_month", columns: []string{"year", "month", "region", "municipality"}, maxAttendee: 1},
	{table: "trend_cube_type", columns: []string{"year", "region", "municipality", "type", "project"}, maxAttendee: 1},
}

// cubeColumn says which activity columns each dimension needs of a cube;
// the attendee dimensions need none (they are the cell's breakdown).
var cubeColumn = map[Dimension][]string{
	DimYear:         {"year"},
	DimQuarter:      {"month"},
	DimMonth:        {"month"},
	DimRegion:       {"region"},
	DimMunicipality: {"municipality"},
	DimActivityType: {"type"},
	DimProject:      {"project"},
	DimCertified:    {"year", "municipality"},
}

// cubeBit is each attendee dimension's bit in a cell's mask, as
// GROUPING(sex, age_band, sector, ethnic_minority) numbers them.
var cubeBit = map[Dimension]int{DimSex: 8, DimAgeBand: 4, DimSector: 2, DimEthnicMinority: 1}

// cubeAllBits is the mask of a cell broken down by no attendee dimension.
const cubeAllBits = 15

// cubeTables are the cubes' tables and the staging table, for Tables.
func cubeTables() []string {
	out := []string{"trend_staging"}
	for _, g := range cubeGrains {
		out = append(out, g.table)
	}
	return out
}

// cubeColumnTypes are the SQL types of the columns the cubes may have.
var cubeColumnTypes = map[string]string{
	"year": "smallint NOT NULL", "month": "smallint NOT NULL", "region": "text NOT NULL",
	"municipality": "text NOT NULL", "type": "text NOT NULL", "project": "text",
}

// cubeSetup creates the staging table and the cubes. Each cube's key is
// unique with NULLs not distinct (PostgreSQL 15), NULL being a value
// here: not recorded, or not broken down.
func cubeSetup() string {
	var b strings.Builder
	b.WriteString(`CREATE TABLE trend_staging (
		activity bigint NOT NULL, event bigint NOT NULL, sign smallint NOT NULL, ` + activityDimensions + `,
		sex text, age_band text, sector text, ethnic_minority boolean, count integer NOT NULL);`)
	for _, g := range cubeGrains {
		cols := make([]string, len(g.columns))
		for i, c := range g.columns {
			cols[i] = c + " " + cubeColumnTypes[c]
		}
		key := g.key()
		fmt.Fprintf(&b, `
		CREATE TABLE %[1]s (
			mask smallint NOT NULL, %[2]s,
			sex text, age_band text, sector text, ethnic_minority boolean,
			activities integer NOT NULL, attendance bigint NOT NULL);
		CREATE UNIQUE INDEX %[1]s_cell ON %[1]s (mask, %[3]s, sex, age_band, sector, ethnic_minority) NULLS NOT DISTINCT;`,
			g.table, strings.Join(cols, ", "), strings.Join(key, ", "))
	}
	return b.String()
}

// groupingSets lists the combinations of attendee dimensions a cube with
// at most max at once keeps, as GROUPING SETS entries.
func groupingSets(max int) string {
	dims := []string{"sex", "age_band", "sector", "ethnic_minority"}
	sets := []string{"()"}
	for _, d := range dims {
		sets = append(sets, "("+d+")")
	}
	if max >= 2 {
		for i := range dims {
			for j := i + 1; j < len(dims); j++ {
				sets = append(sets, "("+dims[i]+", "+dims[j]+")")
			}
		}
	}
	return strings.Join(sets, ", ")
}

// flushCubes moves the staged attendance records into every cube and
// empties the staging table, in one statement. Per cube, the records are
// summed per activity, staging event, sign and cell first (an activity
// counts once in a cell per staging, with its sign), then per cell, and
// added to the cell's row.
var flushCubes = func() string {
	ctes := []string{`s AS (DELETE FROM trend_staging RETURNING *)`}
	for i, g := range cubeGrains {
		cols := strings.Join(g.columns, ", ")
		key := strings.Join(g.key(), ", ")
		stmt := fmt.Sprintf(`INSERT INTO %[1]s AS c (mask, %[2]s, sex, age_band, sector, ethnic_minority, activities, attendance)
		SELECT mask, %[2]s, sex, age_band, sector, ethnic_minority, sum(sign), sum(sign * n)
		FROM (SELECT sign, %[2]s, sex, age_band, sector, ethnic_minority, sum(count) AS n,
				GROUPING(sex, age_band, sector, ethnic_minority) AS mask
			FROM s GROUP BY activity, event, sign, %[2]s, GROUPING SETS (%[3]s)) a
		GROUP BY mask, %[2]s, sex, age_band, sector, ethnic_minority
		ON CONFLICT (mask, %[4]s, sex, age_band, sector, ethnic_minority)
		DO UPDATE SET activities = c.activities + excluded.activities, attendance = c.attendance + excluded.attendance`,
			g.table, cols, groupingSets(g.maxAttendee), key)
		if i < len(cubeGrains)-1 {
			ctes = append(ctes, fmt.Sprintf("c%d AS (%s)", i, stmt))
		} else {
			return "WITH " + strings.Join(ctes, ",\n") + "\n" + stmt
		}
	}
	panic("no cubes")
}()

// cubeFor returns the cube that answers a trend, and the mask of its
// cells to read; ok is false when none does. needs are the activity
// columns the grouping and filter use; attendee the attendee dimensions
// they involve; multi whether an attendee dimension is filtered to
// several values without being grouped by; monthly whether the date
// range is of whole months but not of whole years, and unaligned whether
// it is not of whole months.
func cubeFor(needs map[string]bool, attendee map[Dimension]bool, multi, monthly, unaligned bool) (cubeGrain, int, bool) {
	if multi || unaligned {
		return cubeGrain{}, 0, false
	}
	mask := cubeAllBits
	for d := range attendee {
		mask &^= cubeBit[d]
	}
	for _, g := range cubeGrains {
		if len(attendee) > g.maxAttendee || monthly && !slices.Contains(g.columns, "month") {
			continue
		}
		covers := true
		for c := range needs {
			if !slices.Contains(g.columns, c) {
				covers = false
				break
			}
		}
		if covers {
			return g, mask, true
		}
	}
	return cubeGrain{}, 0, false
}
