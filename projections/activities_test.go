package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// actHistory is a log of activities written through activity.Service:
// random (from a fixed seed) over 2019-2025 and a dozen municipalities,
// with every kind of attendance the projection treats apart: groups
// leaving dimensions unrecorded, groups of none, no groups at all, an
// activity of nobody, corrections, reschedules, cancellations, activities
// of a project and none.
type actHistory struct {
	head, after int64
	held        int
}

func makeActHistory(t *testing.T, e *domainEnv, n int) actHistory {
	t.Helper()
	ctx := context.Background()
	hub, _, err := e.registry.RegisterOrganisation(ctx, asSystem(), registry.RegisterOrganisation{Kind: registry.RegionalHub,
		Name: domain.LocalizedText{Ka: "სამოქალაქო ინტეგრაციის ფონდი", En: "Civic Integration Foundation"}, Region: "kvemo-kartli"})
	if err != nil {
		t.Fatal(err)
	}
	repo := &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}
	projects := &project.Service{Repo: repo}
	svc := &activity.Service{Repo: repo}
	meta := asSystem()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(projects.RegisterProject(ctx, meta, project.Register{ID: "heks-eper-2022", Title: domain.LocalizedText{Ka: "პროექტი", En: "Project"},
		Implementers: []string{hub}, Start: "2022-01-01", End: "2025-06-30", Total: &project.Money{Minor: 124991000, Currency: "EUR"}}))
	must(projects.DefineIndicator(ctx, meta, project.DefineIndicator{Project: "heks-eper-2022", ID: "lg-trained", ResultType: project.Output,
		Result: domain.LocalizedText{Ka: "შედეგი", En: "Result"}, Title: domain.LocalizedText{Ka: "ადგ. ხელისუფლება", En: "Local government trained"}, Unit: project.Count, HigherIsBetter: true}))
	must(projects.SetTarget(ctx, meta, project.SetTarget{Project: "heks-eper-2022", Indicator: "lg-trained", Start: "2022-01-01", End: "2025-06-30", Value: 60}))
	places := []string{"marneuli", "bolnisi", "rustavi", "tbilisi", "kutaisi", "batumi", "gori", "telavi", "zugdidi", "akhaltsikhe", "ninotsminda", "ozurgeti"}
	rng := rand.New(rand.NewPCG(5, 2019))
	pick := func(s []string) string {
		if rng.IntN(6) == 0 {
			return "" // not recorded
		}
		return s[rng.IntN(len(s))]
	}
	var h actHistory
	for i := range n {
		if i == 1 {
			h.after = e.settle(t) // the last of act-000's events
		}
		id := fmt.Sprintf("act-%03d", i)
		year := 2019 + i%7
		start := fmt.Sprintf("%d-%02d-%02d", year, 1+rng.IntN(12), 1+rng.IntN(28))
		cmd := activity.Schedule{ID: id, Type: activity.Types[i%len(activity.Types)], Title: domain.LocalizedText{Ka: "შეხვედრა", En: "Meeting " + id},
			Organisers: []string{hub}, Municipality: places[rng.IntN(len(places))], Start: start, End: start}
		switch cmd.Type {
		case activity.Consultation:
			cmd.Channel = activity.Channels[i%3]
		case activity.Training:
			cmd.Topic = "strategic planning"
		}
		if year >= 2022 && i%3 == 0 {
			cmd.Project = "heks-eper-2022"
			if i%2 == 0 && year < 2025 {
				cmd.Indicators = []activity.IndicatorLink{{Indicator: "lg-trained", Sector: "local_government"}}
			}
		}
		must(svc.Schedule(ctx, meta, cmd))
		switch i % 10 {
		case 3:
			must(svc.Cancel(ctx, meta, activity.Cancel{ID: id, Reason: "the hall was taken"}))
			continue
		case 4:
			continue // still scheduled: never held
		case 5:
			next := fmt.Sprintf("%d-12-30", year)
			must(svc.Reschedule(ctx, meta, activity.Reschedule{ID: id, Start: next, End: next, Reason: "moved to the year's end"}))
		}
		at := activity.Attendance{}
		seen := map[string]bool{}
		switch i % 13 {
		case 1: // nobody came
		case 2: // only the number is known
			at.Total = 5 + rng.IntN(30)
		default:
			for range 1 + rng.IntN(12) {
				g := activity.Group{Sex: pick(activity.Sexes), AgeBand: pick(activity.AgeBands), Sector: pick(activity.Sectors), Count: rng.IntN(9)}
				if m := rng.IntN(3); m < 2 {
					minority := m == 0
					g.EthnicMinority = &minority
				}
				key := fmt.Sprintf("%s|%s|%s|%v", g.Sex, g.AgeBand, g.Sector, g.EthnicMinority != nil && *g.EthnicMinority) + fmt.Sprint(g.EthnicMinority == nil)
				if seen[key] {
					continue
				}
				seen[key] = true
				at.Groups = append(at.Groups, g)
				at.Total += g.Count
			}
		}
		if len(cmd.Indicators) > 0 && len(at.Groups) > 0 {
			// Some attendees the link counts, whatever the draw.
			g := activity.Group{Sex: "female", AgeBand: "45_64", Sector: "local_government", Count: 3}
			if key := "female|45_64|local_government|false" + fmt.Sprint(true); !seen[key] {
				at.Groups = append(at.Groups, g)
				at.Total += g.Count
			}
		}
		must(svc.RecordHeld(ctx, meta, activity.Hold{ID: id, Attendance: at}))
		h.held++
		if i%7 == 0 && len(at.Groups) > 0 {
			at.Groups[0].Count++
			at.Total++
			must(svc.CorrectAttendance(ctx, meta, activity.CorrectAttendance{ID: id, Attendance: at, Reason: "a late sign-in sheet"}))
		}
	}
	h.head = e.settle(t)
	return h
}

func TestActivitiesIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeActHistory(t, e, 60)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Activities{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Activities{}, events)
}

func TestActivitiesCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeActHistory(t, e, 40)
	checkCrashRecovery(t, e, projections.Activities{}, h.head, h.after)
}

// rawFacts is the attendance straight from the raw events in the store,
// in plain SQL: each activity's latest dates (scheduled or rescheduled)
// and latest attendance (held or corrected), one row per group with
// attendees, or one of unrecorded dimensions with the total. It shares
// nothing with the projection but the meaning of the events.
const rawFacts = `
	WITH sched AS (
		SELECT data->>'id' AS id, data->>'type' AS type, data->>'region' AS region, data->>'municipality' AS municipality,
			nullif(data->>'project', '') AS project
		FROM eventstore.events WHERE type = 'activity.scheduled'),
	dates AS (
		SELECT DISTINCT ON (stream_id) data->>'id' AS id, (data->>'start')::date AS day
		FROM eventstore.events WHERE type IN ('activity.scheduled', 'activity.rescheduled')
		ORDER BY stream_id, version DESC),
	att AS (
		SELECT DISTINCT ON (stream_id) data->>'id' AS id, data::jsonb->'attendance' AS a
		FROM eventstore.events WHERE type IN ('activity.held', 'activity.attendance_corrected')
		ORDER BY stream_id, version DESC),
	grp AS (
		SELECT att.id, g.sex, g.age_band, g.sector, g.ethnic_minority, g.count
		FROM att, jsonb_to_recordset(coalesce(att.a->'groups', '[]')) AS g(sex text, age_band text, sector text, ethnic_minority boolean, count int)
		WHERE g.count > 0
		UNION ALL
		SELECT att.id, NULL, NULL, NULL, NULL, (att.a->>'total')::int FROM att
		WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(coalesce(att.a->'groups', '[]')) e WHERE (e->>'count')::int > 0))
	SELECT grp.id, dates.day, extract(year FROM dates.day)::int AS year, extract(quarter FROM dates.day)::int AS quarter,
		extract(month FROM dates.day)::int AS month, sched.region, sched.municipality, sched.type AS activity_type, sched.project,
		grp.sector, grp.sex, grp.age_band, grp.ethnic_minority, grp.count
	FROM grp JOIN sched USING (id) JOIN dates USING (id)`

// rawTrend is the plain aggregate of rawFacts the projection must match.
func rawTrend(t *testing.T, e *domainEnv, groupBy []projections.Dimension, where string, args ...any) []projections.TrendRow {
	t.Helper()
	keys := make([]string, len(groupBy))
	for i, d := range groupBy {
		keys[i] = string(d)
	}
	sel, group := "", ""
	if len(keys) > 0 {
		texts := make([]string, len(keys))
		for i, k := range keys {
			texts[i] = "coalesce(" + k + "::text, '')"
		}
		sel = strings.Join(texts, ", ") + ", "
		group = " GROUP BY " + strings.Join(keys, ", ") + " ORDER BY " + strings.Join(keys, ", ")
	}
	if where == "" {
		where = "true"
	}
	rows, err := e.pool.Query(context.Background(), `SELECT `+sel+`count(DISTINCT id), sum(count) FROM (`+rawFacts+`) f WHERE `+where+group, args...)
	if err != nil {
		t.Fatalf("raw trend: %v", err)
	}
	defer rows.Close()
	var out []projections.TrendRow
	for rows.Next() {
		vals := make([]string, len(keys))
		var r projections.TrendRow
		dest := []any{}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		var sum *int64
		if err := rows.Scan(append(dest, &r.Activities, &sum)...); err != nil {
			t.Fatal(err)
		}
		if r.Activities == 0 && len(keys) == 0 {
			continue // no group at all: the aggregate of nothing
		}
		r.Values = vals
		if sum != nil {
			r.Attendance = *sum
		}
		out = append(out, r)
	}
	return out
}

// checkTrend checks ParticipationTrend(groupBy, f) against rawTrend with
// the same grouping and where, which must not be empty.
func checkTrend(t *testing.T, e *domainEnv, name string, groupBy []projections.Dimension, f projections.TrendFilter, where string, args ...any) {
	t.Helper()
	got, err := e.reads.ParticipationTrend(context.Background(), groupBy, f)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	want := rawTrend(t, e, groupBy, where, args...)
	if len(want) == 0 {
		t.Errorf("%s: the raw aggregate is empty: the history does not exercise it", name)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %v\nwant %v", name, got, want)
	}
}

// TestParticipationTrend checks ParticipationTrend against the plain
// aggregate of the raw events: by every dimension alone, by pairs, by
// nothing, and under every filter.
func TestParticipationTrend(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeActHistory(t, e, 180)
	e.startRunner(t, h.head, projections.Activities{})
	ctx := context.Background()
	all := []projections.Dimension{projections.DimYear, projections.DimQuarter, projections.DimMonth, projections.DimRegion,
		projections.DimMunicipality, projections.DimActivityType, projections.DimProject, projections.DimSector, projections.DimSex,
		projections.DimAgeBand, projections.DimEthnicMinority}
	type check struct {
		name    string
		groupBy []projections.Dimension
		filter  projections.TrendFilter
		where   string
		args    []any
	}
	checks := []check{{name: "nothing"}}
	for _, d := range all {
		checks = append(checks, check{name: string(d), groupBy: []projections.Dimension{d}})
	}
	pairs := [][2]projections.Dimension{{projections.DimYear, projections.DimRegion}, {projections.DimSex, projections.DimSector},
		{projections.DimYear, projections.DimQuarter}, {projections.DimProject, projections.DimEthnicMinority},
		{projections.DimActivityType, projections.DimAgeBand}, {projections.DimMunicipality, projections.DimSex}}
	for _, p := range pairs {
		checks = append(checks, check{name: string(p[0]) + "×" + string(p[1]), groupBy: p[:]})
	}
	yr := []projections.Dimension{projections.DimYear, projections.DimRegion}
	checks = append(checks,
		check{"women by year and region", yr, projections.TrendFilter{Sexes: []string{"female"}}, "sex = $1", []any{"female"}},
		check{"sex unrecorded or male, by sector", []projections.Dimension{projections.DimSector}, projections.TrendFilter{Sexes: []string{"", "male"}},
			"coalesce(sex, '') = ANY($1)", []any{[]string{"", "male"}}},
		check{"2021 to mid 2023", yr, projections.TrendFilter{From: "2021-01-01", To: "2023-06-30"}, "day BETWEEN $1 AND $2", []any{"2021-01-01", "2023-06-30"}},
		check{"two regions by month", []projections.Dimension{projections.DimMonth}, projections.TrendFilter{Regions: []string{"kvemo-kartli", "tbilisi"}},
			"region = ANY($1)", []any{[]string{"kvemo-kartli", "tbilisi"}}},
		check{"minority members by year", []projections.Dimension{projections.DimYear}, projections.TrendFilter{EthnicMinority: []string{"true"}},
			"ethnic_minority", nil},
		check{"no project, by type", []projections.Dimension{projections.DimActivityType}, projections.TrendFilter{Projects: []string{""}},
			"project IS NULL", nil},
		check{"trainings in marneuli, of local government, by age", []projections.Dimension{projections.DimAgeBand},
			projections.TrendFilter{Types: []string{"training"}, Municipalities: []string{"marneuli"}, Sectors: []string{"local_government"}},
			"activity_type = 'training' AND municipality = 'marneuli' AND sector = 'local_government'", nil},
		check{"young, unrecorded minority, overall", nil, projections.TrendFilter{AgeBands: []string{"18_29"}, EthnicMinority: []string{""}},
			"age_band = '18_29' AND ethnic_minority IS NULL", nil},
	)
	for _, c := range checks {
		checkTrend(t, e, c.name, c.groupBy, c.filter, c.where, c.args...)
	}
	// The totals: every held activity counted once, and its attendees.
	total, err := e.reads.ParticipationTrend(ctx, nil, projections.TrendFilter{})
	if err != nil || len(total) != 1 || total[0].Activities != int64(h.held) {
		t.Fatalf("ParticipationTrend() = %v, %v; want the %d held activities", total, err, h.held)
	}
	bySex, err := e.reads.ParticipationTrend(ctx, []projections.Dimension{projections.DimSex}, projections.TrendFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range bySex {
		sum += r.Attendance
	}
	if sum != total[0].Attendance {
		t.Errorf("attendance by sex adds up to %d, not the total %d", sum, total[0].Attendance)
	}

	for _, bad := range []struct {
		groupBy []projections.Dimension
		filter  projections.TrendFilter
		want    string
	}{
		{[]projections.Dimension{"colour"}, projections.TrendFilter{}, `groupBy[0]: "colour" is not a dimension`},
		{[]projections.Dimension{projections.DimSex, projections.DimSex}, projections.TrendFilter{}, "groupBy[1]: sex is given twice"},
		{nil, projections.TrendFilter{From: "2023-13-01"}, `filter.from: "2023-13-01" is not a date`},
		{nil, projections.TrendFilter{From: "2023-02-01", To: "2023-01-01"}, "filter.to: 2023-01-01 is before filter.from 2023-02-01"},
		{nil, projections.TrendFilter{EthnicMinority: []string{"maybe"}}, `filter.ethnicMinority: "maybe"`},
	} {
		_, err := e.reads.ParticipationTrend(ctx, bad.groupBy, bad.filter)
		if domain.KindOf(err) != domain.Invalid || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParticipationTrend(%v, %+v) = %v; want Invalid %q", bad.groupBy, bad.filter, err, bad.want)
		}
	}
}

// TestTrendCubes checks the trends the cubes answer against the plain
// aggregate of the raw events, and that each shape is answered by the
// cube meant for it (or, where no cube can count activities exactly, by
// the roll-ups and records). The history has corrections, so cells
// lose records as well as gain them.
func TestTrendCubes(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeActHistory(t, e, 240)
	e.startRunner(t, h.head, projections.Activities{})
	ctx := context.Background()
	type D = projections.Dimension
	const (
		year, quarter, month, region, muni    = projections.DimYear, projections.DimQuarter, projections.DimMonth, projections.DimRegion, projections.DimMunicipality
		typ, proj, sex, age, sector, minority = projections.DimActivityType, projections.DimProject, projections.DimSex, projections.DimAgeBand, projections.DimSector, projections.DimEthnicMinority
	)
	for _, c := range []struct {
		name    string
		groupBy []D
		filter  projections.TrendFilter
		source  string
		where   string
		args    []any
	}{
		{name: "nothing", source: "trend_cube_region"},
		{name: "year, region", groupBy: []D{year, region}, source: "trend_cube_region"},
		{name: "year, region, sex", groupBy: []D{year, region, sex}, source: "trend_cube_region"},
		{name: "municipality by sex and age", groupBy: []D{muni, sex, age}, source: "trend_cube_year"},
		{name: "sector by minority", groupBy: []D{sector, minority}, source: "trend_cube_region"},
		{name: "women by age in two years", groupBy: []D{age}, filter: projections.TrendFilter{Sexes: []string{"female"}, From: "2021-01-01", To: "2022-12-31"},
			source: "trend_cube_region", where: "sex = 'female' AND year BETWEEN 2021 AND 2022"},
		{name: "unrecorded sex by year", groupBy: []D{year}, filter: projections.TrendFilter{Sexes: []string{""}},
			source: "trend_cube_region", where: "sex IS NULL"},
		{name: "minority members by region", groupBy: []D{region}, filter: projections.TrendFilter{EthnicMinority: []string{"true"}},
			source: "trend_cube_region", where: "ethnic_minority"},
		{name: "two regions by year and sex", groupBy: []D{year, sex}, filter: projections.TrendFilter{Regions: []string{"kvemo-kartli", "tbilisi"}},
			source: "trend_cube_region", where: "region IN ('kvemo-kartli', 'tbilisi')"},
		{name: "women in Marneuli by age", groupBy: []D{age}, filter: projections.TrendFilter{Sexes: []string{"female"}, Municipalities: []string{"marneuli"}},
			source: "trend_cube_year", where: "sex = 'female' AND municipality = 'marneuli'"},
		{name: "month", groupBy: []D{month}, source: "trend_cube_region_month"},
		{name: "year, quarter, sex", groupBy: []D{year, quarter, sex}, source: "trend_cube_region_month"},
		{name: "municipality by month", groupBy: []D{muni, month}, source: "trend_cube_month"},
		{name: "by year, March 2021 to June 2023", groupBy: []D{year}, filter: projections.TrendFilter{From: "2021-03-01", To: "2023-06-30"},
			source: "trend_cube_region_month", where: "day BETWEEN '2021-03-01' AND '2023-06-30'"},
		{name: "age by region, February 2024 (a leap year's)", groupBy: []D{region, age}, filter: projections.TrendFilter{From: "2024-02-01", To: "2024-02-29"},
			source: "trend_cube_region_month", where: "day BETWEEN '2024-02-01' AND '2024-02-29'"},
		{name: "type", groupBy: []D{typ}, source: "trend_cube_region_type"},
		{name: "project by sector", groupBy: []D{proj, sector}, source: "trend_cube_region_type"},
		{name: "no project, by year and type", groupBy: []D{year, typ}, filter: projections.TrendFilter{Projects: []string{""}},
			source: "trend_cube_region_type", where: "project IS NULL"},
		{name: "trainings by municipality and sex", groupBy: []D{muni, sex}, filter: projections.TrendFilter{Types: []string{"training"}},
			source: "trend_cube_type", where: "activity_type = 'training'"},
		// What no cube counts exactly.
		{name: "sex unrecorded or male, by year", groupBy: []D{year}, filter: projections.TrendFilter{Sexes: []string{"", "male"}},
			source: "attendance_sex", where: "coalesce(sex, '') IN ('', 'male')"},
		{name: "a day range", groupBy: []D{year}, filter: projections.TrendFilter{From: "2021-03-15", To: "2023-06-30"},
			source: "participation", where: "day BETWEEN '2021-03-15' AND '2023-06-30'"},
		{name: "three attendee dimensions", groupBy: []D{sex, age, sector}, source: "attendance"},
		{name: "month by sex and age", groupBy: []D{month, sex, age}, source: "attendance"},
		{name: "type by month", groupBy: []D{typ, month}, source: "participation"},
	} {
		source, err := projections.TrendSource(c.groupBy, c.filter)
		if err != nil || source != c.source {
			t.Errorf("%s: read from %q (%v); want %q", c.name, source, err, c.source)
		}
		checkTrend(t, e, c.name, c.groupBy, c.filter, c.where, c.args...)
	}
	// The staging table is empty between batches: every staged record
	// reached the cubes.
	var staged int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM rm.trend_staging`).Scan(&staged); err != nil || staged != 0 {
		t.Errorf("trend_staging holds %d rows (%v) after the batches; want none", staged, err)
	}
}

// TestActivitiesCalendar reads the calendar in pages and one activity
// back, and checks that linked attendance counts towards the project's
// indicator.
func TestActivitiesCalendar(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeActHistory(t, e, 50)
	e.startRunner(t, h.head, projections.Activities{}, projections.Projects{})
	ctx := context.Background()
	var ids []string
	var starts []string
	after := ""
	for {
		page, err := e.reads.Activities(ctx, projections.ActivityFilter{}, projections.Page{First: 7, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Nodes {
			ids, starts = append(ids, a.ID), append(starts, a.Start+" "+a.ID)
		}
		if !page.HasNext {
			break
		}
		after = page.Cursors[len(page.Cursors)-1]
	}
	if len(ids) != 50 || !slices.IsSorted(starts) {
		t.Fatalf("the calendar in pages of 7: %d activities, sorted %v; want 50 by day", len(ids), slices.IsSorted(starts))
	}
	cancelled, err := e.reads.Activities(ctx, projections.ActivityFilter{Status: activity.StatusCancelled}, projections.Page{First: 100})
	if err != nil || len(cancelled.Nodes) != 5 {
		t.Fatalf("cancelled activities: %d, %v; want 5", len(cancelled.Nodes), err)
	}
	for _, a := range cancelled.Nodes {
		if a.Attendance != nil || a.Reason != "the hall was taken" {
			t.Errorf("cancelled %s: attendance %v, reason %q", a.ID, a.Attendance, a.Reason)
		}
	}
	in2021, err := e.reads.Activities(ctx, projections.ActivityFilter{From: "2021-01-01", To: "2021-12-31", Region: "kvemo-kartli"}, projections.Page{First: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range in2021.Nodes {
		if a.Region != "kvemo-kartli" || !strings.HasPrefix(a.Start, "2021") {
			t.Errorf("filtered to Kvemo Kartli in 2021, got %s in %s on %s", a.ID, a.Region, a.Start)
		}
	}

	// act-007 was held, then corrected.
	a, err := e.reads.Activity(ctx, "act-007")
	if err != nil || a == nil || a.Attendance == nil {
		t.Fatalf("Activity(act-007) = %+v, %v", a, err)
	}
	var agg activity.Activity
	if _, err := (&domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}).Load(ctx, activity.Stream("act-007"), &agg); err != nil {
		t.Fatal(err)
	}
	read, _ := json.Marshal(*a.Attendance)
	stored, _ := json.Marshal(agg.Attendance())
	if string(read) != string(stored) || a.Corrections != 1 || a.Status != activity.StatusHeld {
		t.Errorf("act-007 reads %+v (%d corrections); the aggregate has %+v", *a.Attendance, a.Corrections, agg.Attendance())
	}

	// The indicator: its actual is the local government attendees of the
	// linked activities held by the day, as corrected.
	var want float64
	for _, id := range ids {
		var act activity.Activity
		if _, err := (&domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}).Load(ctx, activity.Stream(id), &act); err != nil {
			t.Fatal(err)
		}
		info, _ := e.reads.Activity(ctx, id)
		if act.Status() != activity.StatusHeld || len(info.Indicators) == 0 || info.End > "2025-06-30" {
			continue
		}
		want += float64(info.Indicators[0].Counted(act.Attendance()))
	}
	progress, err := e.reads.ProjectProgress(ctx, "heks-eper-2022", "2025-06-30")
	if err != nil || len(progress) != 1 {
		t.Fatalf("ProjectProgress = %v, %v", progress, err)
	}
	if want == 0 || progress[0].Progress.Actual != want {
		t.Errorf("lg-trained actual on 2025-06-30 = %v; want %v, the linked local government attendees", progress[0].Progress.Actual, want)
	}
}
